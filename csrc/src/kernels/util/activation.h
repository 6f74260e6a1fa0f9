// Fused activations (the ActivationFunctionType of conv, FC, elementwise and
// concatenation options) as a clamp range applied to float outputs.
#pragma once

#include <algorithm>
#include <limits>

#include "tflite_generated.h"

namespace tfc {

struct FloatRange {
  float lo = -std::numeric_limits<float>::infinity();
  float hi = std::numeric_limits<float>::infinity();
  float Apply(float x) const { return std::min(std::max(x, lo), hi); }
};

// The clamp range of a fused activation. SIGN_BIT and TANH are not clamps:
// `supported` is set false for them (the kernel must reject the model).
inline FloatRange ActivationRange(fb::ActivationFunctionType act, bool* supported = nullptr) {
  FloatRange r;
  if (supported) *supported = true;
  switch (act) {
    case fb::ActivationFunctionType_NONE:
      break;
    case fb::ActivationFunctionType_RELU:
      r.lo = 0.f;
      break;
    case fb::ActivationFunctionType_RELU_N1_TO_1:
      r.lo = -1.f;
      r.hi = 1.f;
      break;
    case fb::ActivationFunctionType_RELU6:
      r.lo = 0.f;
      r.hi = 6.f;
      break;
    default:
      if (supported) *supported = false;
      break;
  }
  return r;
}

}  // namespace tfc
