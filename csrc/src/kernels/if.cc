// IF: runs the then or the else subgraph on inputs 1..n, chosen by the
// boolean input 0; the op's outputs are the chosen subgraph's outputs.
#include "kernels/kernel.h"
#include "kernels/util/control_flow.h"

namespace tfc {
namespace {

class If final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    const auto* opts = ctx.options<fb::IfOptions>();
    TFC_ENSURE_MSG(ctx, opts, "IF without IfOptions");
    TFC_ENSURE_MSG(ctx, ctx.num_inputs() >= 1 && ctx.input(0), "IF needs a condition input");
    const TfLiteTensor* cond = ctx.input(0);
    TFC_ENSURE_MSG(ctx, cond->type == kTfLiteBool && cond->num_elements() == 1,
                   "the condition must be one BOOL value");
    branches_[0] = CalledSubgraph(ctx, opts->then_subgraph_index(), "then");
    branches_[1] = CalledSubgraph(ctx, opts->else_subgraph_index(), "else");
    if (!branches_[0] || !branches_[1]) return kTfLiteError;
    std::vector<TfLiteTensor*> args;
    for (int i = 1; i < ctx.num_inputs(); ++i) {
      TfLiteTensor* in = ctx.input(i);
      TFC_ENSURE_MSG(ctx, in, "IF input %d is missing", i);
      args.push_back(in);
    }
    TFC_OK(PrepareCallee(ctx, branches_[0], args, "then"));
    TFC_OK(PrepareCallee(ctx, branches_[1], args, "else"));
    dynamic_ = false;
    for (int i = 0; i < ctx.num_outputs(); ++i) {
      for (Subgraph* g : branches_) {
        TFC_ENSURE_MSG(ctx, g->outputs().size() == static_cast<size_t>(ctx.num_outputs()),
                       "subgraph %d returns %zu values, IF has %d outputs", g->index(), g->outputs().size(),
                       ctx.num_outputs());
        TFC_ENSURE_MSG(ctx, g->tensor(g->outputs()[static_cast<size_t>(i)])->type == ctx.output(i)->type,
                       "subgraph %d output %d has another type than IF output %d", g->index(), i, i);
      }
      const TfLiteTensor* a = branches_[0]->tensor(branches_[0]->outputs()[static_cast<size_t>(i)]);
      const TfLiteTensor* b = branches_[1]->tensor(branches_[1]->outputs()[static_cast<size_t>(i)]);
      if (a->dims != b->dims || a->storage == Storage::kDynamic || b->storage == Storage::kDynamic) dynamic_ = true;
    }
    for (int i = 0; i < ctx.num_outputs(); ++i) {
      if (dynamic_)
        ctx.MarkOutputDynamic(i);
      else
        TFC_OK(ctx.ResizeOutput(i, branches_[0]->tensor(branches_[0]->outputs()[static_cast<size_t>(i)])->dims));
    }
    return kTfLiteOk;
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    Subgraph* g = branches_[*static_cast<const bool*>(ctx.input(0)->data) ? 0 : 1];
    for (int i = 1; i < ctx.num_inputs(); ++i)
      TFC_OK(CopyTensorData(ctx, g->tensor(g->inputs()[static_cast<size_t>(i - 1)]), ctx.input(i)));
    TFC_OK(InvokeCallee(ctx, g));
    for (int i = 0; i < ctx.num_outputs(); ++i) {
      const TfLiteTensor* src = g->tensor(g->outputs()[static_cast<size_t>(i)]);
      if (dynamic_) TFC_OK(ctx.ResizeOutput(i, src->dims));
      TFC_OK(CopyTensorData(ctx, ctx.output(i), src));
    }
    return kTfLiteOk;
  }

 private:
  Subgraph* branches_[2] = {nullptr, nullptr};
  bool dynamic_ = false;
};

}  // namespace

TFC_REGISTER_OP(IF, 1, 1, If);

}  // namespace tfc
