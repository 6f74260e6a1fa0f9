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

class WeightPool;

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
  // out of memory. With a pool, the block is taken from it when it has room
  // (and taken again after the pool's Reset); else from the heap.
  bool Reserve(size_t bytes, WeightPool* pool = nullptr);
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
  WeightPool* pool_ = nullptr;  // the block is the pool's (of generation_)
  uint64_t generation_ = 0;
};

// The packed weights of one subgraph's kernels, one after the other in one
// mapping that is 2 MiB aligned and offered to transparent huge pages. A
// model's weights are packed into blocks of 4 KiB to 2 MiB per layer; as 4 KiB
// pages they cost one page fault each (mobilenet_v1 float32: 17 MB, 4000
// faults, 40% of allocate_tensors()). The mapping reserves address space
// only; pages exist once written.
class WeightPool {
 public:
  WeightPool() = default;
  ~WeightPool();
  WeightPool(const WeightPool&) = delete;
  WeightPool& operator=(const WeightPool&) = delete;
  // Forgets every block (their buffers take new ones at their next Reserve)
  // and makes room for `bytes` in all.
  void Reset(size_t bytes);
  // `bytes` from the pool, kAlign aligned; null when it has no room, for
  // blocks it does not hold, and under AddressSanitizer (which sees overflows
  // of heap blocks only).
  void* Take(size_t bytes);
  // Blocks under kMinBytes stay on the heap: malloc serves them from memory
  // the process often has resident already (freed by earlier work), where the
  // pool's pages would be new ones; larger ones malloc maps afresh (its
  // default mmap threshold), 4 KiB pages that each cost a fault.
  static constexpr size_t kMinBytes = size_t{128} << 10;
  static bool Holds(size_t bytes) { return bytes >= kMinBytes; }
  // Gives back the pages after the last block: the huge page holding the end
  // of the last block would otherwise keep up to 2 MiB unused but resident
  // (and an earlier Prepare's blocks may have reached further).
  void Trim();
  uint64_t generation() const { return generation_; }
  size_t used() const { return used_; }  // bytes taken since Reset (alignment gaps included)

 private:
  uint8_t* base_ = nullptr;
  size_t mapped_ = 0, used_ = 0;
  uint64_t generation_ = 0;
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
