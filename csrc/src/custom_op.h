// Operators registered by the user through the C API (TfLiteOperator, see
// "Custom operators" in c_api.h): their definition, and the OpKernel that runs
// one for a node. The C functions of the operator API and of the opaque
// context/node/tensor accessors live in custom_op.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "kernels/kernel.h"
#include "tflite_cffi/c_api.h"

// What TfLiteOperatorCreate makes and the Set* functions fill in. Copyable:
// TfLiteInterpreterCreate keeps a copy, so the caller's object may go away.
struct TfLiteOperator {
  int32_t builtin_code = 0;
  bool has_custom_name = false;
  std::string custom_name;
  int version = 1;
  void* user_data = nullptr;
  void* (*init)(TfLiteOpaqueContext*, const char*, size_t) = nullptr;
  void* (*init_with_data)(void*, TfLiteOpaqueContext*, const char*, size_t) = nullptr;
  void (*free_fn)(TfLiteOpaqueContext*, void*) = nullptr;
  void (*free_with_data)(void*, TfLiteOpaqueContext*, void*) = nullptr;
  TfLiteStatus (*prepare)(TfLiteOpaqueContext*, TfLiteOpaqueNode*) = nullptr;
  TfLiteStatus (*prepare_with_data)(void*, TfLiteOpaqueContext*, TfLiteOpaqueNode*) = nullptr;
  TfLiteStatus (*invoke)(TfLiteOpaqueContext*, TfLiteOpaqueNode*) = nullptr;
  TfLiteStatus (*invoke_with_data)(void*, TfLiteOpaqueContext*, TfLiteOpaqueNode*) = nullptr;
};

namespace tfc {

class Subgraph;
struct Node;

// Whether `op` is the operator for a node with this builtin code, name
// ("ADD" or the custom op's name) and version.
bool OperatorMatches(const TfLiteOperator& op, int32_t builtin_code, const std::string& name, int version);

// The kernel running `op` for node `node_index` of `subgraph`. Calls the
// operator's init with the node's custom options now; its free runs when the
// kernel is destroyed.
std::unique_ptr<OpKernel> CreateExternalKernel(std::shared_ptr<const TfLiteOperator> op, Subgraph* subgraph,
                                               Node* node, int node_index);

}  // namespace tfc
