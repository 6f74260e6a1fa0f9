#include "tensor.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <utility>

namespace tfc {

size_t TypeSize(TfLiteType type) {
  switch (type) {
    case kTfLiteFloat32: return 4;
    case kTfLiteInt32: return 4;
    case kTfLiteUInt8: return 1;
    case kTfLiteInt64: return 8;
    case kTfLiteBool: return 1;
    case kTfLiteInt16: return 2;
    case kTfLiteComplex64: return 8;
    case kTfLiteInt8: return 1;
    case kTfLiteFloat16: return 2;
    case kTfLiteFloat64: return 8;
    case kTfLiteComplex128: return 16;
    case kTfLiteUInt64: return 8;
    case kTfLiteUInt32: return 4;
    case kTfLiteUInt16: return 2;
    case kTfLiteBFloat16: return 2;
    case kTfLiteInt4: return 1;  // stored one value per byte once unpacked
    default: return 0;
  }
}

const char* TypeName(TfLiteType type) {
  switch (type) {
    case kTfLiteNoType: return "NOTYPE";
    case kTfLiteFloat32: return "FLOAT32";
    case kTfLiteInt32: return "INT32";
    case kTfLiteUInt8: return "UINT8";
    case kTfLiteInt64: return "INT64";
    case kTfLiteString: return "STRING";
    case kTfLiteBool: return "BOOL";
    case kTfLiteInt16: return "INT16";
    case kTfLiteComplex64: return "COMPLEX64";
    case kTfLiteInt8: return "INT8";
    case kTfLiteFloat16: return "FLOAT16";
    case kTfLiteFloat64: return "FLOAT64";
    case kTfLiteComplex128: return "COMPLEX128";
    case kTfLiteUInt64: return "UINT64";
    case kTfLiteResource: return "RESOURCE";
    case kTfLiteVariant: return "VARIANT";
    case kTfLiteUInt32: return "UINT32";
    case kTfLiteUInt16: return "UINT16";
    case kTfLiteInt4: return "INT4";
    case kTfLiteBFloat16: return "BFLOAT16";
  }
  return "UNKNOWN";
}

AlignedBuffer::~AlignedBuffer() { Release(); }

AlignedBuffer::AlignedBuffer(AlignedBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      capacity_(std::exchange(other.capacity_, 0)),
      mapped_(std::exchange(other.mapped_, 0)),
      pool_(std::exchange(other.pool_, nullptr)),
      generation_(other.generation_) {}

AlignedBuffer& AlignedBuffer::operator=(AlignedBuffer&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = std::exchange(other.data_, nullptr);
    capacity_ = std::exchange(other.capacity_, 0);
    mapped_ = std::exchange(other.mapped_, 0);
    pool_ = std::exchange(other.pool_, nullptr);
    generation_ = other.generation_;
  }
  return *this;
}

static size_t PageBytes() {
  const long page = sysconf(_SC_PAGESIZE);
  return page > 0 ? static_cast<size_t>(page) : 4096;
}

// Maps `bytes` (rounded up to the page size) at a kHugeBytes boundary (over-maps by
// one huge page and unmaps the slack on both sides). Null on failure. Only
// whole 2 MiB ranges become huge pages; the tail keeps 4 KiB pages, so the
// resident size does not grow by up to 2 MiB per block. `flags`: more mmap flags.
static void* MapHuge(size_t bytes, size_t* mapped, int flags = 0) {
  const size_t huge = AlignedBuffer::kHugeBytes;
  const size_t small = PageBytes();
  if (huge % small != 0) return nullptr;  // pages larger than 2 MiB: plain heap blocks
  const size_t size = (bytes + small - 1) / small * small;
  if (size < bytes || size + huge < size) return nullptr;
  void* raw = mmap(nullptr, size + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + huge - 1) / huge * huge;
  if (aligned > start) munmap(raw, aligned - start);
  const size_t tail = start + size + huge - (aligned + size);
  if (tail) munmap(reinterpret_cast<void*>(aligned + size), tail);
  void* p = reinterpret_cast<void*>(aligned);
#ifdef MADV_HUGEPAGE
  madvise(p, size, MADV_HUGEPAGE);  // a hint: kernels without THP keep 4 KiB pages
#endif
  *mapped = size;
  return p;
}

bool AlignedBuffer::Reserve(size_t bytes, WeightPool* pool) {
  if (pool && !WeightPool::Holds(bytes)) pool = nullptr;  // a heap block, kept across Prepares
  const bool same_source = pool_ == pool && (!pool || generation_ == pool->generation());
  if (bytes <= capacity_ && data_ && same_source) return true;
  Release();
  if (pool) {
    if (void* p = pool->Take(bytes)) {
      data_ = p;
      capacity_ = bytes;
      pool_ = pool;
      generation_ = pool->generation();
      return true;
    }
  }
  if (bytes >= kHugeBytes) {
    size_t mapped = 0;
    if (void* p = MapHuge(bytes, &mapped)) {
      data_ = p;
      capacity_ = bytes;
      mapped_ = mapped;
      return true;
    }
  }
  void* p = nullptr;
  // Never zero bytes, so data() is non-null for empty tensors too.
  if (posix_memalign(&p, kAlign, bytes ? bytes : kAlign) != 0) return false;
  data_ = p;
  capacity_ = bytes;
  return true;
}

void AlignedBuffer::Release() {
  if (!pool_) {  // else the pool's memory, given back with the pool
    if (mapped_)
      munmap(data_, mapped_);
    else
      free(data_);
  }
  data_ = nullptr;
  capacity_ = 0;
  mapped_ = 0;
  pool_ = nullptr;
}

WeightPool::~WeightPool() {
  if (base_) munmap(base_, mapped_);
}

void WeightPool::Reset(size_t bytes) {
  ++generation_;
  used_ = 0;
  if (bytes <= mapped_) return;  // keep the mapping: its pages are reused
  if (base_) munmap(base_, mapped_);
  base_ = nullptr;
  mapped_ = 0;
#if defined(__SANITIZE_ADDRESS__)
  return;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return;
#endif
#endif
#ifdef MAP_NORESERVE
  const int flags = MAP_NORESERVE;  // address space only: pages are committed when written
#else
  const int flags = 0;
#endif
  // One 4 KiB page past the last whole huge page, written here: the mapping's first write fault (which
  // gives it its anonymous-memory bookkeeping) is then this thread's. The packing helper's own faults
  // lock only this mapping; as the first, one would take the whole address space's lock, and the
  // helper, preempted while zeroing a huge page under it, held up this thread's next brk() or mmap()
  // (measured: allocate_tensors 3.9 ms instead of 1.0 beside numpy's spinning BLAS thread).
  const size_t small = PageBytes();
  size_t size = (bytes + small - 1) / small * small;
  if (size % AlignedBuffer::kHugeBytes == 0) size += small;
  if (bytes) base_ = static_cast<uint8_t*>(MapHuge(size, &mapped_, flags));
  if (!base_) {
    mapped_ = 0;
    return;
  }
  base_[mapped_ - 1] = 0;
}

void* WeightPool::Take(size_t bytes) {
  const size_t start = (used_ + AlignedBuffer::kAlign - 1) / AlignedBuffer::kAlign * AlignedBuffer::kAlign;
  if (!base_ || !Holds(bytes) || start > mapped_ || bytes > mapped_ - start) return nullptr;
  used_ = start + bytes;
  return base_ + start;
}

void WeightPool::Trim() {
  if (!base_) return;
  const size_t small = PageBytes();
  const size_t begin = (used_ + small - 1) / small * small;
  if (mapped_ > begin) madvise(base_ + begin, mapped_ - begin, MADV_DONTNEED);
}

}  // namespace tfc
