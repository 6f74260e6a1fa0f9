#include "model.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "kernels/kernel.h"
#include "tensor.h"

namespace tfc {
namespace {

std::string Format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string Format(const char* fmt, ...) {
  char buf[512];
  va_list args;
  va_start(args, fmt);
  vsnprintf(buf, sizeof(buf), fmt, args);
  va_end(args);
  return buf;
}

constexpr int kSchemaVersion = 3;
// Bounds that keep a hostile file from making the verifier or the loader do
// unbounded work.
constexpr flatbuffers::uoffset_t kMaxDepth = 64;
constexpr flatbuffers::uoffset_t kMaxTables = 100u * 1000u * 1000u;

}  // namespace

int MapTensorType(int t) {
  switch (t) {
    case fb::TensorType_FLOAT32: return kTfLiteFloat32;
    case fb::TensorType_FLOAT16: return kTfLiteFloat16;
    case fb::TensorType_INT32: return kTfLiteInt32;
    case fb::TensorType_UINT8: return kTfLiteUInt8;
    case fb::TensorType_INT64: return kTfLiteInt64;
    case fb::TensorType_STRING: return kTfLiteString;
    case fb::TensorType_BOOL: return kTfLiteBool;
    case fb::TensorType_INT16: return kTfLiteInt16;
    case fb::TensorType_COMPLEX64: return kTfLiteComplex64;
    case fb::TensorType_INT8: return kTfLiteInt8;
    case fb::TensorType_FLOAT64: return kTfLiteFloat64;
    case fb::TensorType_COMPLEX128: return kTfLiteComplex128;
    case fb::TensorType_UINT64: return kTfLiteUInt64;
    case fb::TensorType_RESOURCE: return kTfLiteResource;
    case fb::TensorType_VARIANT: return kTfLiteVariant;
    case fb::TensorType_UINT32: return kTfLiteUInt32;
    case fb::TensorType_UINT16: return kTfLiteUInt16;
    case fb::TensorType_INT4: return kTfLiteInt4;
    case fb::TensorType_BFLOAT16: return kTfLiteBFloat16;
    default: return kTfLiteNoType;
  }
}

bool CheckedByteSize(const int32_t* dims, size_t rank, size_t elem_size, size_t* bytes) {
  uint64_t n = elem_size;
  for (size_t i = 0; i < rank; ++i) {
    if (dims[i] < 0) return false;
    n *= static_cast<uint64_t>(dims[i]);
    if (n > kMaxTensorBytes) return false;
  }
  *bytes = static_cast<size_t>(n);
  return true;
}

std::shared_ptr<Model> Model::FromFile(const char* path, std::string* error) {
  if (!path) {
    *error = "model path is NULL";
    return nullptr;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = Format("cannot open model file '%s': %s", path, strerror(errno));
    return nullptr;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    *error = Format("'%s' is not a regular file", path);
    close(fd);
    return nullptr;
  }
  size_t size = static_cast<size_t>(st.st_size);
  if (size == 0) {
    *error = Format("model file '%s' is empty", path);
    close(fd);
    return nullptr;
  }
  void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (map == MAP_FAILED) {
    *error = Format("cannot map model file '%s': %s", path, strerror(errno));
    return nullptr;
  }
  std::shared_ptr<Model> model(new Model());
  model->mapping_ = map;
  model->mapping_size_ = size;
  model->base_ = static_cast<const uint8_t*>(map);
  model->size_ = size;
  if (!model->Verify(error)) {
    *error = Format("'%s' is not a valid .tflite model: ", path) + *error;
    return nullptr;
  }
  return model;
}

void Model::DropPages(const void* data, size_t bytes) const {
  if (!mapping_ || !data || bytes == 0) return;
  const uintptr_t map_begin = reinterpret_cast<uintptr_t>(mapping_);
  const uintptr_t begin = reinterpret_cast<uintptr_t>(data);
  if (begin < map_begin || begin - map_begin > mapping_size_ || bytes > mapping_size_ - (begin - map_begin)) return;
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t first = (begin + page - 1) / page * page;
  const uintptr_t last = (begin + bytes) / page * page;
  if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

void Model::DropPagesOutside(std::vector<std::pair<const void*, size_t>>& keep) const {
  if (!mapping_) return;
  const uint8_t* map = static_cast<const uint8_t*>(mapping_);
  std::sort(keep.begin(), keep.end());
  const uint8_t* gap = map;  // start of the bytes not yet kept or dropped
  for (const auto& k : keep) {
    const uint8_t* begin = static_cast<const uint8_t*>(k.first);
    if (!begin || k.second == 0 || begin < map || begin - map >= static_cast<ptrdiff_t>(mapping_size_)) continue;
    if (begin > gap) DropPages(gap, static_cast<size_t>(begin - gap));
    gap = std::max(gap, std::min(begin + k.second, map + mapping_size_));
  }
  if (gap < map + mapping_size_) DropPages(gap, static_cast<size_t>(map + mapping_size_ - gap));
}

std::shared_ptr<Model> Model::FromBuffer(const void* data, size_t size, std::string* error) {
  if (!data || size == 0) {
    *error = "model buffer is empty";
    return nullptr;
  }
  std::shared_ptr<Model> model(new Model());
  model->base_ = static_cast<const uint8_t*>(data);
  model->size_ = size;
  if (!model->Verify(error)) {
    *error = "the buffer is not a valid .tflite model: " + *error;
    return nullptr;
  }
  return model;
}

Model::~Model() {
  if (mapping_) munmap(mapping_, mapping_size_);
}

const uint8_t* Model::BufferData(uint32_t index, size_t* size) const {
  *size = 0;
  const auto* buffers = model_->buffers();
  if (!buffers || index >= buffers->size()) return nullptr;
  const fb::Buffer* b = buffers->Get(index);
  if (!b) return nullptr;
  if (b->offset() > 1) {  // data stored after the flatbuffer (large models)
    *size = static_cast<size_t>(b->size());
    return base_ + b->offset();
  }
  if (!b->data() || b->data()->size() == 0) return nullptr;
  *size = b->data()->size();
  return b->data()->data();
}

int32_t Model::BuiltinCode(uint32_t opcode_index) const {
  const fb::OperatorCode* oc = model_->operator_codes()->Get(opcode_index);
  int32_t a = oc->deprecated_builtin_code();
  int32_t b = static_cast<int32_t>(oc->builtin_code());
  return a > b ? a : b;
}

int32_t Model::OpVersion(uint32_t opcode_index) const {
  return model_->operator_codes()->Get(opcode_index)->version();
}

std::string Model::OpName(uint32_t opcode_index) const {
  int32_t code = BuiltinCode(opcode_index);
  if (code == fb::BuiltinOperator_CUSTOM) {
    const auto* name = model_->operator_codes()->Get(opcode_index)->custom_code();
    return name ? name->str() : std::string("CUSTOM");
  }
  return BuiltinName(code);
}

// Structure first (the flatbuffers verifier: every offset, vector and string
// inside the buffer), then the meaning: indices in range, shapes sane,
// constant buffers as large as their tensors claim.
bool Model::Verify(std::string* error) {
  if (size_ < 8) {
    *error = Format("%zu bytes is too small for a flatbuffer", size_);
    return false;
  }
  if (!fb::ModelBufferHasIdentifier(base_)) {
    *error = "missing the TFL3 file identifier (not a .tflite file, or truncated)";
    return false;
  }
  flatbuffers::Verifier::Options opts;
  opts.max_depth = kMaxDepth;
  opts.max_tables = kMaxTables;
  opts.check_alignment = true;
  // Files over 2 GB keep buffers after the flatbuffer; verify the flatbuffer part.
  const size_t verify_size = size_ < FLATBUFFERS_MAX_BUFFER_SIZE ? size_ : FLATBUFFERS_MAX_BUFFER_SIZE - 1;
  flatbuffers::Verifier verifier(base_, verify_size, opts);
  if (!fb::VerifyModelBuffer(verifier)) {
    *error = "the flatbuffer failed verification (corrupted or truncated file)";
    return false;
  }
  model_ = fb::GetModel(base_);
  const fb::Model* m = model_;
  if (m->version() > static_cast<uint32_t>(kSchemaVersion)) {
    *error = Format("schema version %u is newer than the supported %d", m->version(), kSchemaVersion);
    return false;
  }
  const auto* buffers = m->buffers();
  const auto* opcodes = m->operator_codes();
  const auto* subgraphs = m->subgraphs();
  if (!subgraphs || subgraphs->size() == 0) {
    *error = "the model has no subgraph";
    return false;
  }
  const uint32_t num_buffers = buffers ? buffers->size() : 0;
  const uint32_t num_opcodes = opcodes ? opcodes->size() : 0;
  for (uint32_t i = 0; i < num_buffers; ++i) {
    const fb::Buffer* b = buffers->Get(i);
    if (b && b->offset() > 1) {
      if (b->offset() > size_ || b->size() > size_ - b->offset()) {
        *error = Format("buffer %u points past the end of the file (offset %llu, size %llu)", i,
                        static_cast<unsigned long long>(b->offset()),
                        static_cast<unsigned long long>(b->size()));
        return false;
      }
    }
  }
  for (uint32_t i = 0; i < num_opcodes; ++i) {
    const fb::OperatorCode* oc = opcodes->Get(i);
    if (!oc) {
      *error = Format("operator code %u is missing", i);
      return false;
    }
    int32_t code = BuiltinCode(i);
    if (code < 0 || code > fb::BuiltinOperator_MAX) {
      *error = Format("operator code %u has unknown builtin code %d", i, code);
      return false;
    }
    if (code == fb::BuiltinOperator_CUSTOM && !oc->custom_code()) {
      *error = Format("operator code %u is CUSTOM without a name", i);
      return false;
    }
  }
  for (uint32_t s = 0; s < subgraphs->size(); ++s) {
    const fb::SubGraph* g = subgraphs->Get(s);
    if (!g) {
      *error = Format("subgraph %u is missing", s);
      return false;
    }
    const uint32_t num_tensors = g->tensors() ? g->tensors()->size() : 0;
    // Who may write each tensor: nobody for constants and subgraph inputs, one operator otherwise (a tensor
    // written twice, or a constant overwritten, would let a kernel write past what the planner gave it).
    enum : uint8_t { kFree = 0, kConstant, kGraphInput, kWritten };
    std::vector<uint8_t> writer(num_tensors, kFree);
    for (uint32_t t = 0; t < num_tensors; ++t) {
      const fb::Tensor* tensor = g->tensors()->Get(t);
      if (!tensor) {
        *error = Format("subgraph %u: tensor %u is missing", s, t);
        return false;
      }
      TfLiteType type = static_cast<TfLiteType>(MapTensorType(tensor->type()));
      if (type == kTfLiteNoType) {
        *error = Format("subgraph %u: tensor %u has unknown type %d", s, t, static_cast<int>(tensor->type()));
        return false;
      }
      const auto* shape = tensor->shape();
      const uint32_t rank = shape ? shape->size() : 0;
      if (rank > static_cast<uint32_t>(kMaxRank)) {
        *error = Format("subgraph %u: tensor %u has rank %u (at most %d)", s, t, rank, kMaxRank);
        return false;
      }
      const auto* sig = tensor->shape_signature();
      if (sig && sig->size() > 0 && sig->size() != rank) {
        *error = Format("subgraph %u: tensor %u: shape_signature rank %u differs from shape rank %u", s, t,
                        sig->size(), rank);
        return false;
      }
      size_t bytes = 0;
      const size_t elem = TypeSize(type);
      if (rank > 0 && !CheckedByteSize(shape->data(), rank, elem ? elem : 1, &bytes)) {
        *error = Format("subgraph %u: tensor %u has a negative or oversized shape", s, t);
        return false;
      }
      if (rank == 0) bytes = elem;
      if (tensor->buffer() >= num_buffers && !(num_buffers == 0 && tensor->buffer() == 0)) {
        *error = Format("subgraph %u: tensor %u refers to buffer %u of %u", s, t, tensor->buffer(), num_buffers);
        return false;
      }
      size_t data_size = 0;
      const uint8_t* data = num_buffers ? BufferData(tensor->buffer(), &data_size) : nullptr;
      if (data) writer[t] = kConstant;
      if (data && elem != 0 && !tensor->sparsity() && data_size != bytes) {
        *error = Format("subgraph %u: tensor %u ('%s') holds %zu bytes of data, its shape needs %zu", s, t,
                        tensor->name() ? tensor->name()->c_str() : "", data_size, bytes);
        return false;
      }
      if (const auto* q = tensor->quantization()) {
        size_t ns = q->scale() ? q->scale()->size() : 0;
        size_t nz = q->zero_point() ? q->zero_point()->size() : 0;
        if (ns != nz && nz != 0) {
          *error = Format("subgraph %u: tensor %u has %zu scales but %zu zero points", s, t, ns, nz);
          return false;
        }
        if (ns > 1 && (q->quantized_dimension() < 0 || static_cast<uint32_t>(q->quantized_dimension()) >= rank ||
                       static_cast<int64_t>(ns) != shape->Get(q->quantized_dimension()))) {
          *error = Format("subgraph %u: tensor %u has %zu per-channel scales that do not match dimension %d", s,
                          t, ns, q->quantized_dimension());
          return false;
        }
      }
    }
    auto check_indices = [&](const flatbuffers::Vector<int32_t>* v, const char* what, bool allow_absent) {
      if (!v) return true;
      for (uint32_t k = 0; k < v->size(); ++k) {
        int32_t idx = v->Get(k);
        if ((idx == -1 && allow_absent) || (idx >= 0 && static_cast<uint32_t>(idx) < num_tensors)) continue;
        *error = Format("subgraph %u: %s refers to tensor %d of %u", s, what, idx, num_tensors);
        return false;
      }
      return true;
    };
    if (!check_indices(g->inputs(), "an input", false) || !check_indices(g->outputs(), "an output", false))
      return false;
    if (g->inputs()) {
      for (int32_t idx : *g->inputs()) {
        if (writer[idx] == kFree) writer[idx] = kGraphInput;
      }
    }
    const uint32_t num_ops = g->operators() ? g->operators()->size() : 0;
    for (uint32_t o = 0; o < num_ops; ++o) {
      const fb::Operator* op = g->operators()->Get(o);
      if (!op) {
        *error = Format("subgraph %u: operator %u is missing", s, o);
        return false;
      }
      if (op->opcode_index() >= num_opcodes) {
        *error = Format("subgraph %u: operator %u uses operator code %u of %u", s, o, op->opcode_index(),
                        num_opcodes);
        return false;
      }
      char what[64];
      snprintf(what, sizeof(what), "operator %u", o);
      if (!check_indices(op->inputs(), what, true) || !check_indices(op->outputs(), what, true) ||
          !check_indices(op->intermediates(), what, true))
        return false;
      if (op->outputs()) {
        for (int32_t idx : *op->outputs()) {
          if (idx < 0) continue;
          static const char* const kWhy[] = {"", "a constant", "an input of the subgraph",
                                             "also the output of an earlier operator"};
          if (writer[idx] != kFree) {
            *error = Format("subgraph %u: operator %u writes tensor %d, which is %s", s, o, idx, kWhy[writer[idx]]);
            return false;
          }
          if (op->inputs() && std::find(op->inputs()->begin(), op->inputs()->end(), idx) != op->inputs()->end()) {
            *error = Format("subgraph %u: operator %u reads and writes tensor %d", s, o, idx);
            return false;
          }
          writer[idx] = kWritten;
        }
      }
    }
  }
  if (const auto* sigs = m->signature_defs()) {
    for (uint32_t i = 0; i < sigs->size(); ++i) {
      const fb::SignatureDef* sd = sigs->Get(i);
      if (!sd || sd->subgraph_index() >= subgraphs->size()) {
        *error = Format("signature %u refers to a missing subgraph", i);
        return false;
      }
      const fb::SubGraph* g = subgraphs->Get(sd->subgraph_index());
      const uint32_t nt = g->tensors() ? g->tensors()->size() : 0;
      for (const auto* maps : {sd->inputs(), sd->outputs()}) {
        if (!maps) continue;
        for (uint32_t k = 0; k < maps->size(); ++k) {
          const fb::TensorMap* tm = maps->Get(k);
          if (!tm || !tm->name() || tm->tensor_index() >= nt) {
            *error = Format("signature %u has a bad tensor map entry %u", i, k);
            return false;
          }
        }
      }
    }
  }
  return true;
}

}  // namespace tfc
