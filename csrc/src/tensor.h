// Tensors as the engine sees them. `struct TfLiteTensor` is opaque in the C
// API; this is its definition.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tflite_cffi/c_api.h"

namespace tfc {

// Where a tensor's bytes live.
enum class Storage : uint8_t {
  kNone,        // not allocated yet
  kConstant,    // read-only bytes of the model (mapped file or caller buffer)
  kArena,       // planned into the interpreter's arena; shared over lifetimes
  kPersistent,  // owned heap block for the interpreter's lifetime: variables,
                // outputs folded at Prepare (e.g. dequantized fp16 weights)
  kDynamic,     // owned heap block resized at Eval (data-dependent shapes)
};

struct Quantization {
  std::vector<float> scale;
  std::vector<int64_t> zero_point;
  int32_t quantized_dimension = 0;
  bool empty() const { return scale.empty(); }
  bool per_channel() const { return scale.size() > 1; }
};

// Byte size of one element; 0 for kTfLiteString and unknown types.
size_t TypeSize(TfLiteType type);
// "FLOAT32", "INT8", ...
const char* TypeName(TfLiteType type);

// A heap block aligned for SIMD loads, owned by one tensor or kernel.
class AlignedBuffer {
 public:
  static constexpr size_t kAlign = 64;
  AlignedBuffer() = default;
  ~AlignedBuffer();
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  AlignedBuffer(AlignedBuffer&& other) noexcept;
  AlignedBuffer& operator=(AlignedBuffer&& other) noexcept;
  // Grows (never shrinks) to hold `bytes`; contents are not kept. False when
  // out of memory.
  bool Reserve(size_t bytes);
  void* data() const { return data_; }
  size_t capacity() const { return capacity_; }
  void Release();

  // Blocks of at least this size are mapped directly, 2 MiB aligned, and
  // offered to transparent huge pages: packed weights and the arena then
  // fault in 2 MiB at a time instead of 4 KiB (a third of allocate_tensors()
  // went to page faults).
  static constexpr size_t kHugeBytes = size_t{2} << 20;

 private:
  void* data_ = nullptr;
  size_t capacity_ = 0;
  size_t mapped_ = 0;  // bytes mapped with mmap; 0 for posix_memalign blocks
};

}  // namespace tfc

struct TfLiteTensor {
  TfLiteType type = kTfLiteNoType;
  std::vector<int32_t> dims;
  std::vector<int32_t> dims_signature;  // from the model; empty when absent
  void* data = nullptr;
  size_t bytes = 0;  // byte size of the current shape
  std::string name;
  tfc::Quantization quant;
  tfc::Storage storage = tfc::Storage::kNone;
  bool is_variable = false;
  int32_t index = -1;               // index within its subgraph
  int32_t subgraph = 0;             // index of its subgraph
  void* owner = nullptr;            // the tfc::Interpreter it belongs to
  const void* sparsity = nullptr;   // const tfc::fb::SparsityParameters*, or null
  tfc::AlignedBuffer owned;         // backing of kPersistent and kDynamic

  int rank() const { return static_cast<int>(dims.size()); }
  int32_t dim(int i) const { return dims[static_cast<size_t>(i)]; }
  int64_t num_elements() const {
    int64_t n = 1;
    for (int32_t d : dims) n *= d;
    return n;
  }
  // Constant for the interpreter's lifetime: model weights, or folded at Prepare.
  bool is_constant() const {
    return storage == tfc::Storage::kConstant ||
           (storage == tfc::Storage::kPersistent && !is_variable);
  }
  template <class T>
  T* data_as() const {
    return static_cast<T*>(data);
  }
};
