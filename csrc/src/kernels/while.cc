// WHILE: runs the body subgraph while the cond subgraph returns true; the
// loop variables are the op's inputs, and its outputs their final values.
#include "kernels/kernel.h"
#include "kernels/util/control_flow.h"

namespace tfc {
namespace {

class While final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    const auto* opts = ctx.options<fb::WhileOptions>();
    TFC_ENSURE_MSG(ctx, opts, "WHILE without WhileOptions");
    TFC_ENSURE_MSG(ctx, ctx.num_inputs() == ctx.num_outputs(), "WHILE has %d inputs but %d outputs",
                   ctx.num_inputs(), ctx.num_outputs());
    cond_ = CalledSubgraph(ctx, opts->cond_subgraph_index(), "cond");
    body_ = CalledSubgraph(ctx, opts->body_subgraph_index(), "body");
    if (!cond_ || !body_) return kTfLiteError;
    std::vector<TfLiteTensor*> vars;
    for (int i = 0; i < ctx.num_inputs(); ++i) {
      TfLiteTensor* in = ctx.input(i);
      TFC_ENSURE_MSG(ctx, in, "WHILE input %d is missing", i);
      vars.push_back(in);
    }
    TFC_OK(PrepareCallee(ctx, cond_, vars, "cond"));
    TFC_OK(PrepareCallee(ctx, body_, vars, "body"));
    TFC_ENSURE_MSG(ctx, cond_->outputs().size() == 1, "cond subgraph must have one output");
    const TfLiteTensor* c = cond_->tensor(cond_->outputs()[0]);
    TFC_ENSURE_MSG(ctx, c->type == kTfLiteBool && c->num_elements() == 1,
                   "cond subgraph must return one BOOL value");
    TFC_ENSURE_MSG(ctx, body_->outputs().size() == vars.size(), "body subgraph returns %zu values for %zu variables",
                   body_->outputs().size(), vars.size());
    for (size_t i = 0; i < vars.size(); ++i) {
      const TfLiteTensor* b = body_->tensor(body_->outputs()[i]);
      TFC_ENSURE_MSG(ctx, b->type == vars[i]->type, "body output %zu has type %s, the variable is %s", i,
                     TypeName(b->type), TypeName(vars[i]->type));
      TFC_ENSURE_MSG(ctx, ctx.output(static_cast<int>(i))->type == vars[i]->type,
                     "WHILE output %zu has type %s, the variable is %s", i,
                     TypeName(ctx.output(static_cast<int>(i))->type), TypeName(vars[i]->type));
      TFC_ENSURE_MSG(ctx, b->dims == vars[i]->dims && b->storage != Storage::kDynamic,
                     "loop variable %zu changes shape in the body; WHILE loops with changing shapes are not "
                     "supported yet",
                     i);
      TFC_OK(ctx.ResizeOutput(static_cast<int>(i), vars[i]->dims));
    }
    return kTfLiteOk;
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    const int n = ctx.num_outputs();
    for (int i = 0; i < n; ++i) TFC_OK(CopyTensorData(ctx, ctx.output(i), ctx.input(i)));
    const TfLiteTensor* c = cond_->tensor(cond_->outputs()[0]);
    for (;;) {
      for (int i = 0; i < n; ++i)
        TFC_OK(CopyTensorData(ctx, cond_->tensor(cond_->inputs()[static_cast<size_t>(i)]), ctx.output(i)));
      TFC_OK(InvokeCallee(ctx, cond_));
      if (!*static_cast<const bool*>(c->data)) break;
      for (int i = 0; i < n; ++i)
        TFC_OK(CopyTensorData(ctx, body_->tensor(body_->inputs()[static_cast<size_t>(i)]), ctx.output(i)));
      TFC_OK(InvokeCallee(ctx, body_));
      for (int i = 0; i < n; ++i)
        TFC_OK(CopyTensorData(ctx, ctx.output(i), body_->tensor(body_->outputs()[static_cast<size_t>(i)])));
    }
    return kTfLiteOk;
  }

 private:
  Subgraph* cond_ = nullptr;
  Subgraph* body_ = nullptr;
};

}  // namespace

TFC_REGISTER_OP(WHILE, 1, 1, While);

}  // namespace tfc
