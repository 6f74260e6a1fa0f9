// Helpers for ops that run other subgraphs (WHILE, IF, CALL_ONCE).
#pragma once

#include <cstring>

#include "interpreter.h"
#include "kernels/kernel.h"
#include "subgraph.h"

namespace tfc {

// The subgraph `index` for a control-flow op, or an error in ctx when it does
// not exist, is the caller itself, or is already running (recursion).
inline Subgraph* CalledSubgraph(OpContext& ctx, int index, const char* role) {
  Subgraph* g = ctx.interpreter().subgraph(index);
  if (!g) {
    ctx.Error("%s subgraph %d does not exist (the model has %d)", role, index,
              ctx.interpreter().subgraph_count());
    return nullptr;
  }
  if (g == ctx.subgraph() || g->busy) {
    ctx.Error("%s subgraph %d calls itself: recursive control flow is not allowed", role, index);
    return nullptr;
  }
  return g;
}

// Gives `callee`'s inputs the types and shapes of `tensors` and prepares it.
inline TfLiteStatus PrepareCallee(OpContext& ctx, Subgraph* callee, const std::vector<TfLiteTensor*>& tensors,
                                  const char* role) {
  if (callee->inputs().size() != tensors.size())
    return ctx.Error("%s subgraph %d takes %zu inputs, the op passes %zu", role, callee->index(),
                     callee->inputs().size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    TfLiteTensor* dst = callee->tensor(callee->inputs()[i]);
    if (dst->type != tensors[i]->type)
      return ctx.Error("%s subgraph %d input %zu has type %s, the op passes %s", role, callee->index(), i,
                       TypeName(dst->type), TypeName(tensors[i]->type));
    TFC_OK(callee->ResizeInput(dst->index, tensors[i]->dims));
  }
  if (callee->prepared()) return kTfLiteOk;
  callee->busy = true;
  TfLiteStatus s = callee->Prepare();
  callee->busy = false;
  return s;
}

// Copies the bytes of `src` into `dst`. Prepare checked that types and shapes agree; a mismatch here
// (a model that changed them behind the checks) is an error, never an overflow.
inline TfLiteStatus CopyTensorData(OpContext& ctx, TfLiteTensor* dst, const TfLiteTensor* src) {
  if (dst->data == src->data || src->bytes == 0) return kTfLiteOk;
  if (dst->type != src->type || dst->bytes != src->bytes || !dst->data || !src->data)
    return ctx.Error("cannot pass tensor '%s' (%s, %zu bytes) to '%s' (%s, %zu bytes)", src->name.c_str(),
                     TypeName(src->type), src->bytes, dst->name.c_str(), TypeName(dst->type), dst->bytes);
  std::memcpy(dst->data, src->data, src->bytes);
  return kTfLiteOk;
}

inline TfLiteStatus InvokeCallee(OpContext& ctx, Subgraph* callee) {
  if (callee->busy) return ctx.Error("subgraph %d is already running", callee->index());
  callee->busy = true;
  TfLiteStatus s = callee->Invoke();
  callee->busy = false;
  return s;
}

}  // namespace tfc
