// A loaded, verified .tflite model: the flatbuffer read in place (mapped file
// or caller buffer) after a full structural and semantic check.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tflite_generated.h"

namespace tfc {

class Model {
 public:
  // Maps the file read-only. Null with *error set on failure.
  static std::shared_ptr<Model> FromFile(const char* path, std::string* error);
  // Reads the caller's buffer in place; it must outlive the model.
  static std::shared_ptr<Model> FromBuffer(const void* data, size_t size, std::string* error);
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const fb::Model* fb() const { return model_; }
  // Bytes of buffer `index` (inline data or the offset/size form); nullptr
  // and 0 when the buffer is empty.
  const uint8_t* BufferData(uint32_t index, size_t* size) const;
  // Builtin code of operator code `index`: the larger of the deprecated
  // 8-bit field and the 32-bit one (the format's rule for codes >= 127).
  int32_t BuiltinCode(uint32_t opcode_index) const;
  int32_t OpVersion(uint32_t opcode_index) const;
  // "CONV_2D", or the custom op's name.
  std::string OpName(uint32_t opcode_index) const;
  // Gives the whole pages inside [data, data + bytes) of a memory-mapped model
  // back to the OS (a later read faults them in from the file again). Does
  // nothing for caller buffers, which are not ours to drop.
  void DropPages(const void* data, size_t bytes) const;
  // Gives back every whole page of a memory-mapped model that no range of
  // `keep` touches: the tables and quantization parameters read at load and
  // allocation, and weights already copied. Reads later fault pages in again.
  // Sorts `keep` (in place: it frees nothing, see WeightPacker).
  void DropPagesOutside(std::vector<std::pair<const void*, size_t>>& keep) const;

 private:
  Model() = default;
  bool Verify(std::string* error);

  const uint8_t* base_ = nullptr;
  size_t size_ = 0;
  void* mapping_ = nullptr;  // from mmap, or null for caller buffers
  size_t mapping_size_ = 0;
  const fb::Model* model_ = nullptr;
};

// Largest rank a tensor may have.
constexpr int kMaxRank = 8;
// Largest byte size of one tensor we accept (guards size arithmetic).
constexpr uint64_t kMaxTensorBytes = uint64_t{1} << 40;

// Element count of `dims` times `elem_size`, or false on a negative dim or
// overflow past kMaxTensorBytes.
bool CheckedByteSize(const int32_t* dims, size_t rank, size_t elem_size, size_t* bytes);

// Maps a schema TensorType to the C API's TfLiteType (kTfLiteNoType if unknown).
int MapTensorType(int fb_type);

}  // namespace tfc
