// DENSIFY: expands a constant tensor stored in the format's sparse layout
// (SparsityParameters: a traversal order over the dims and optional block
// dims, each level DENSE or SPARSE_CSR) into its dense form, once, at Prepare.
#include <cstring>
#include <vector>

#include "kernels/kernel.h"

namespace tfc {
namespace {

// One level of the traversal: a dense run, or CSR segments + indices.
struct Level {
  bool dense = true;
  int32_t size = 0;                  // dense levels
  std::vector<int64_t> segments;     // sparse levels: size = parent positions + 1
  std::vector<int64_t> indices;
};

bool ReadIndexVector(const fb::DimensionMetadata* dm, bool segments, std::vector<int64_t>* out) {
  auto copy = [out](const auto* v) {
    if (!v || !v->values()) return false;
    out->assign(v->values()->begin(), v->values()->end());
    return true;
  };
  if (segments) {
    if (dm->array_segments_as_Int32Vector()) return copy(dm->array_segments_as_Int32Vector());
    if (dm->array_segments_as_Uint16Vector()) return copy(dm->array_segments_as_Uint16Vector());
    return copy(dm->array_segments_as_Uint8Vector());
  }
  if (dm->array_indices_as_Int32Vector()) return copy(dm->array_indices_as_Int32Vector());
  if (dm->array_indices_as_Uint16Vector()) return copy(dm->array_indices_as_Uint16Vector());
  return copy(dm->array_indices_as_Uint8Vector());
}

class Densify final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE(ctx, ctx.num_inputs() == 1 && ctx.num_outputs() == 1);
    const TfLiteTensor* in = ctx.input(0);
    TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, in && out);
    TFC_ENSURE_MSG(ctx, in->is_constant(), "DENSIFY needs a constant input");
    TFC_ENSURE_MSG(ctx, in->type == out->type, "input and output types differ");
    const auto* sp = static_cast<const fb::SparsityParameters*>(in->sparsity);
    TFC_ENSURE_MSG(ctx, sp && sp->traversal_order() && sp->dim_metadata(),
                   "input '%s' has no sparsity parameters", in->name.c_str());
    const size_t elem = TypeSize(in->type);
    TFC_ENSURE_MSG(ctx, elem > 0, "DENSIFY of %s tensors is not supported", TypeName(in->type));
    // The dense shape is the tensor's shape; the data holds only the values.
    TFC_OK(ctx.ResizeOutput(0, in->dims));
    TFC_OK(ctx.FoldOutput(0));
    std::memset(out->data, 0, out->bytes);
    return Expand(ctx, *sp, static_cast<const uint8_t*>(in->data), in->bytes,
                  static_cast<uint8_t*>(out->data), out->dims, elem);
  }

  TfLiteStatus Eval(OpContext&) override { return kTfLiteOk; }  // folded at Prepare

 private:
  TfLiteStatus Expand(OpContext& ctx, const fb::SparsityParameters& sp, const uint8_t* values, size_t value_bytes,
                      uint8_t* dense, const std::vector<int32_t>& dims, size_t elem) {
    const int rank = static_cast<int>(dims.size());
    const auto& order = *sp.traversal_order();
    const int levels = static_cast<int>(order.size());
    const int blocks = sp.block_map() ? static_cast<int>(sp.block_map()->size()) : 0;
    TFC_ENSURE_MSG(ctx, levels == rank + blocks && static_cast<int>(sp.dim_metadata()->size()) == levels,
                   "sparsity: %d traversal levels for rank %d with %d block dims", levels, rank, blocks);
    std::vector<int> level_of(static_cast<size_t>(levels), -1);
    for (int l = 0; l < levels; ++l) {
      int d = order[static_cast<uint32_t>(l)];
      TFC_ENSURE_MSG(ctx, d >= 0 && d < levels && level_of[static_cast<size_t>(d)] < 0,
                     "sparsity: traversal_order is not a permutation");
      level_of[static_cast<size_t>(d)] = l;
    }
    std::vector<Level> lv(static_cast<size_t>(levels));
    int64_t positions = 1;  // positions at the current depth
    for (int l = 0; l < levels; ++l) {
      const fb::DimensionMetadata* dm = sp.dim_metadata()->Get(static_cast<uint32_t>(l));
      TFC_ENSURE_MSG(ctx, dm, "sparsity: missing dim_metadata %d", l);
      Level& L = lv[static_cast<size_t>(l)];
      L.dense = dm->format() == fb::DimensionType_DENSE;
      if (L.dense) {
        L.size = dm->dense_size();
        TFC_ENSURE_MSG(ctx, L.size >= 0, "sparsity: negative dense_size");
        positions *= L.size;
      } else {
        TFC_ENSURE_MSG(ctx, ReadIndexVector(dm, true, &L.segments) && ReadIndexVector(dm, false, &L.indices),
                       "sparsity: level %d lacks segments or indices", l);
        TFC_ENSURE_MSG(ctx, static_cast<int64_t>(L.segments.size()) == positions + 1,
                       "sparsity: level %d has %zu segments for %lld positions", l, L.segments.size(),
                       static_cast<long long>(positions));
        for (size_t k = 0; k < L.segments.size(); ++k) {
          TFC_ENSURE_MSG(ctx,
                         L.segments[k] >= 0 && L.segments[k] <= static_cast<int64_t>(L.indices.size()) &&
                             (k == 0 || L.segments[k] >= L.segments[k - 1]),
                         "sparsity: level %d segments are not increasing within the indices", l);
        }
        positions = static_cast<int64_t>(L.indices.size());
      }
      if (positions > (int64_t{1} << 40)) return ctx.Error("sparsity: too many positions");
    }
    TFC_ENSURE_MSG(ctx, static_cast<uint64_t>(positions) * elem == value_bytes,
                   "sparsity: %lld values expected, the buffer holds %zu bytes", static_cast<long long>(positions),
                   value_bytes);
    // Extent of each expanded dim: original dims (block counts when blocked) then block sizes.
    std::vector<int64_t> extent(static_cast<size_t>(levels));
    std::vector<int> block_of_dim(static_cast<size_t>(rank), -1);
    for (int j = 0; j < blocks; ++j) {
      int d = sp.block_map()->Get(static_cast<uint32_t>(j));
      TFC_ENSURE_MSG(ctx, d >= 0 && d < rank, "sparsity: block_map entry %d out of range", d);
      const Level& L = lv[static_cast<size_t>(level_of[static_cast<size_t>(rank + j)])];
      TFC_ENSURE_MSG(ctx, L.dense && L.size > 0 && dims[static_cast<size_t>(d)] % L.size == 0,
                     "sparsity: block %d must be dense and divide dim %d", j, d);
      block_of_dim[static_cast<size_t>(d)] = j;
      extent[static_cast<size_t>(rank + j)] = L.size;
    }
    for (int d = 0; d < rank; ++d) {
      int j = block_of_dim[static_cast<size_t>(d)];
      extent[static_cast<size_t>(d)] =
          j < 0 ? dims[static_cast<size_t>(d)] : dims[static_cast<size_t>(d)] / extent[static_cast<size_t>(rank + j)];
    }
    std::vector<int64_t> strides(static_cast<size_t>(rank), 1);
    for (int d = rank - 2; d >= 0; --d)
      strides[static_cast<size_t>(d)] = strides[static_cast<size_t>(d + 1)] * dims[static_cast<size_t>(d + 1)];
    std::vector<int64_t> coord(static_cast<size_t>(levels), 0);  // per expanded dim
    bool bad = false;
    // Depth-first walk; `pos` is the position within the current level.
    auto visit = [&](auto&& self, int l, int64_t pos) -> void {
      if (bad) return;
      if (l == levels) {
        int64_t offset = 0;
        for (int d = 0; d < rank; ++d) {
          int64_t c = coord[static_cast<size_t>(d)];
          int j = block_of_dim[static_cast<size_t>(d)];
          if (j >= 0) c = c * extent[static_cast<size_t>(rank + j)] + coord[static_cast<size_t>(rank + j)];
          offset += c * strides[static_cast<size_t>(d)];
        }
        std::memcpy(dense + offset * static_cast<int64_t>(elem), values + pos * static_cast<int64_t>(elem), elem);
        return;
      }
      const Level& L = lv[static_cast<size_t>(l)];
      const size_t dim = static_cast<size_t>(order[static_cast<uint32_t>(l)]);
      if (L.dense) {
        for (int32_t i = 0; i < L.size; ++i) {
          coord[dim] = i;
          self(self, l + 1, pos * L.size + i);
        }
      } else {
        for (int64_t k = L.segments[static_cast<size_t>(pos)]; k < L.segments[static_cast<size_t>(pos) + 1]; ++k) {
          const int64_t idx = L.indices[static_cast<size_t>(k)];
          if (idx < 0 || idx >= extent[dim]) {
            bad = true;
            return;
          }
          coord[dim] = idx;
          self(self, l + 1, k);
        }
      }
    };
    // Dense extents must match the dims they traverse.
    for (int l = 0; l < levels; ++l) {
      const Level& L = lv[static_cast<size_t>(l)];
      if (L.dense)
        TFC_ENSURE_MSG(ctx, L.size == extent[static_cast<size_t>(order[static_cast<uint32_t>(l)])],
                       "sparsity: dense level %d has size %d, its dim has %lld", l, L.size,
                       static_cast<long long>(extent[static_cast<size_t>(order[static_cast<uint32_t>(l)])]));
    }
    visit(visit, 0, 0);
    TFC_ENSURE_MSG(ctx, !bad, "sparsity: an index is outside its dimension");
    return kTfLiteOk;
  }
};

}  // namespace

TFC_REGISTER_OP(DENSIFY, 1, 1, Densify);

}  // namespace tfc
