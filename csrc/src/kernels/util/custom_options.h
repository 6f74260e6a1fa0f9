// Reading a custom op's options (Operator.custom_options in the model). This
// is the one place that reads them; kernels use nothing else.
//
// Two encodings occur in practice:
// - a raw C struct of the converter's host (TfLiteTransposeConvParams,
//   TfLitePoolParams) copied byte for byte: a run of little-endian int32
//   fields, read with GetCustomOptions + ReadRawInt32Fields;
// - a FlexBuffers map (TFLite_Detection_PostProcess, most MediaPipe ops),
//   read with FlexOptions:
//
//   FlexOptions o;
//   TFC_OK(o.Open(ctx));                                   // verifies the bytes first
//   int32_t n;   TFC_OK(o.RequireInt(ctx, "num_classes", &n));
//   float t;     TFC_OK(o.GetFloat(ctx, "nms_score_threshold", 0.f, &t));
//   bool r;      TFC_OK(o.GetBool(ctx, "use_regular_nms", false, &r));
//   std::vector<int32_t> v;  TFC_OK(o.RequireIntVector(ctx, "subset_idxs", &v));
//
// Open() runs flexbuffers' verifier over the whole buffer before anything is
// read, so malformed bytes (truncated, offsets out of range, bad widths) give
// ctx.Error instead of reads out of bounds. An operator without custom options
// reads as an empty map: every key is absent, so a Require* read reports the
// key as missing. A key whose stored value is null counts as absent too (the
// official kernels test IsNull()).
//
// Conversions follow what the format's writers produce and what the official
// kernels accept, and report everything else as an error naming the key
// (never a silent 0, as a bare flexbuffers As*() read would give):
// - integers: int, uint or bool (0 / 1) values, or floats holding an exact
//   integer, in the int32 range (GetInt64 for the full range);
// - floats: int, uint or float values that are finite as float32;
// - bools: bool values, or ints (non-zero is true);
// - strings: string or key values;
// - integer vectors: typed (the usual encoding), fixed-size or untyped
//   vectors whose elements convert as integers above.
// Use only in Prepare (the lookups are not meant for Eval's hot path).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

// flexbuffers.h pulls in flatbuffers' util.h, whose locale-independent number
// parsing needs a symbol of the flatbuffers library, which we do not link:
// CMakeLists.txt builds the engine with FLATBUFFERS_LOCALE_INDEPENDENT=0 (plain
// strto*; option strings are never parsed as numbers here anyway). Include
// flexbuffers.h only through this header.
#if !defined(FLATBUFFERS_LOCALE_INDEPENDENT) || FLATBUFFERS_LOCALE_INDEPENDENT != 0
#error "build with -DFLATBUFFERS_LOCALE_INDEPENDENT=0 (see CMakeLists.txt)"
#endif
#include "flatbuffers/flexbuffers.h"
#include "kernels/kernel.h"

namespace tfc {

struct CustomOptions {
  const uint8_t* data = nullptr;
  size_t size = 0;
};

// The operator's custom_options bytes (empty when absent). Options stored
// outside the flatbuffer (large_custom_options_*, for > 2 GB models) are
// not supported: `*out_of_line` is set when the model uses them.
inline CustomOptions GetCustomOptions(const OpContext& ctx, bool* out_of_line = nullptr) {
  CustomOptions o;
  if (out_of_line) *out_of_line = false;
  const fb::Operator* op = ctx.op();
  if (!op) return o;
  if (const auto* v = op->custom_options()) {
    o.data = v->data();
    o.size = v->size();
  } else if (out_of_line && op->large_custom_options_size() > 0) {
    *out_of_line = true;
  }
  return o;
}

// The first `count` int32 fields of a raw struct. False when the options are
// shorter than that (trailing fields of newer struct versions are ignored).
inline bool ReadRawInt32Fields(const CustomOptions& o, int count, int32_t* out) {
  const size_t need = static_cast<size_t>(count) * sizeof(int32_t);
  if (!o.data || o.size < need) return false;
  std::memcpy(out, o.data, need);  // the converter's host order: little endian
  return true;
}

// A verified FlexBuffers map with typed, checked reads by key (see the top of
// this file). Errors go through ctx.Error and name the key.
class FlexOptions {
 public:
  // The options of ctx's operator (its custom_options bytes).
  TfLiteStatus Open(OpContext& ctx) {
    bool out_of_line = false;
    const CustomOptions o = GetCustomOptions(ctx, &out_of_line);
    if (out_of_line)
      return ctx.ErrorStatus(kTfLiteUnresolvedOps,
                             "custom options stored outside the flatbuffer (large_custom_options) are not "
                             "supported");
    return Open(ctx, o);
  }

  // Options from raw bytes (copied: FlexBuffers reads 8-byte scalars in place, and the model may
  // place the bytes at any 4-byte boundary).
  TfLiteStatus Open(OpContext& ctx, const CustomOptions& o) {
    words_.clear();
    size_ = 0;
    if (o.size == 0) return kTfLiteOk;
    if (!o.data) return ctx.Error("custom options: null data of size %zu", o.size);
    // The verifier asserts sizes below 2 GiB; options are never that large.
    if (o.size >= static_cast<size_t>(std::numeric_limits<int32_t>::max()))
      return ctx.Error("custom options: %zu bytes is too large", o.size);
    std::vector<uint64_t> words((o.size + sizeof(uint64_t) - 1) / sizeof(uint64_t), 0);
    std::memcpy(words.data(), o.data, o.size);
    const uint8_t* data = reinterpret_cast<const uint8_t*>(words.data());
    if (!flexbuffers::VerifyBuffer(data, o.size))
      return ctx.Error("custom options: malformed FlexBuffers data (%zu bytes failed verification)", o.size);
    const flexbuffers::Reference root = flexbuffers::GetRoot(data, o.size);
    if (root.IsNull()) return kTfLiteOk;
    if (!root.IsMap())
      return ctx.Error("custom options: the FlexBuffer root is %s, expected a map", TypeText(root.GetType()));
    words_ = std::move(words);
    size_ = o.size;
    return kTfLiteOk;
  }

  // Whether the map holds a non-null value for key.
  bool Has(const char* key) const { return !Find(key).IsNull(); }

  TfLiteStatus GetInt64(OpContext& ctx, const char* key, int64_t default_value, int64_t* out) const {
    const flexbuffers::Reference r = Find(key);
    if (r.IsNull()) {
      *out = default_value;
      return kTfLiteOk;
    }
    return ToInt64(ctx, r, key, out);
  }

  TfLiteStatus GetInt(OpContext& ctx, const char* key, int32_t default_value, int32_t* out) const {
    const flexbuffers::Reference r = Find(key);
    if (r.IsNull()) {
      *out = default_value;
      return kTfLiteOk;
    }
    return ToInt32(ctx, r, key, out);
  }

  TfLiteStatus GetFloat(OpContext& ctx, const char* key, float default_value, float* out) const {
    const flexbuffers::Reference r = Find(key);
    if (r.IsNull()) {
      *out = default_value;
      return kTfLiteOk;
    }
    double d;
    if (r.IsFloat()) {
      d = r.AsDouble();
    } else if (r.IsInt()) {
      d = static_cast<double>(r.AsInt64());
    } else if (r.IsUInt()) {
      d = static_cast<double>(r.AsUInt64());
    } else {
      return ctx.Error("custom option '%s' has type %s, expected a number", key, TypeText(r.GetType()));
    }
    const float f = static_cast<float>(d);
    if (!std::isfinite(f)) return ctx.Error("custom option '%s' = %g is not a finite float32", key, d);
    *out = f;
    return kTfLiteOk;
  }

  TfLiteStatus GetBool(OpContext& ctx, const char* key, bool default_value, bool* out) const {
    const flexbuffers::Reference r = Find(key);
    if (r.IsNull()) {
      *out = default_value;
      return kTfLiteOk;
    }
    if (r.IsBool() || r.IsIntOrUint()) {
      *out = r.AsBool();
      return kTfLiteOk;
    }
    return ctx.Error("custom option '%s' has type %s, expected a bool", key, TypeText(r.GetType()));
  }

  TfLiteStatus GetString(OpContext& ctx, const char* key, const std::string& default_value,
                         std::string* out) const {
    const flexbuffers::Reference r = Find(key);
    if (r.IsNull()) {
      *out = default_value;
      return kTfLiteOk;
    }
    if (r.IsString() || r.IsKey()) {
      *out = r.IsString() ? r.AsString().str() : std::string(r.AsKey());
      return kTfLiteOk;
    }
    return ctx.Error("custom option '%s' has type %s, expected a string", key, TypeText(r.GetType()));
  }

  // The same for options without a default: absent is an error.
  TfLiteStatus RequireInt(OpContext& ctx, const char* key, int32_t* out) const {
    if (!Has(key)) return Missing(ctx, key);
    return GetInt(ctx, key, 0, out);
  }
  TfLiteStatus RequireFloat(OpContext& ctx, const char* key, float* out) const {
    if (!Has(key)) return Missing(ctx, key);
    return GetFloat(ctx, key, 0.f, out);
  }
  TfLiteStatus RequireBool(OpContext& ctx, const char* key, bool* out) const {
    if (!Has(key)) return Missing(ctx, key);
    return GetBool(ctx, key, false, out);
  }
  TfLiteStatus RequireString(OpContext& ctx, const char* key, std::string* out) const {
    if (!Has(key)) return Missing(ctx, key);
    return GetString(ctx, key, std::string(), out);
  }

  // A vector of int32 (MediaPipe's converter writes typed int vectors; fixed-
  // size and untyped vectors are read too). Absent is an error.
  TfLiteStatus RequireIntVector(OpContext& ctx, const char* key, std::vector<int32_t>* out) const {
    const flexbuffers::Reference r = Find(key);
    if (r.IsNull()) return Missing(ctx, key);
    out->clear();
    if (r.IsTypedVector()) return Collect(ctx, r.AsTypedVector(), key, out);
    if (r.IsFixedTypedVector()) return Collect(ctx, r.AsFixedTypedVector(), key, out);
    if (r.GetType() == flexbuffers::FBT_VECTOR) return Collect(ctx, r.AsVector(), key, out);
    return ctx.Error("custom option '%s' has type %s, expected a vector of integers", key,
                     TypeText(r.GetType()));
  }

  // A readable name for a FlexBuffer value type.
  static const char* TypeText(flexbuffers::Type t) {
    switch (t) {
      case flexbuffers::FBT_NULL: return "null";
      case flexbuffers::FBT_INT:
      case flexbuffers::FBT_INDIRECT_INT: return "int";
      case flexbuffers::FBT_UINT:
      case flexbuffers::FBT_INDIRECT_UINT: return "uint";
      case flexbuffers::FBT_FLOAT:
      case flexbuffers::FBT_INDIRECT_FLOAT: return "float";
      case flexbuffers::FBT_BOOL: return "bool";
      case flexbuffers::FBT_KEY: return "key";
      case flexbuffers::FBT_STRING: return "string";
      case flexbuffers::FBT_MAP: return "map";
      case flexbuffers::FBT_BLOB: return "blob";
      default: return "vector";
    }
  }

 private:
  static TfLiteStatus Missing(OpContext& ctx, const char* key) {
    return ctx.Error("custom option '%s' is missing (it has no default)", key);
  }

  // r (the value of `name`: a key, or a key and an element index) as an
  // integer: int, uint, bool, or a float holding an exact integer.
  static TfLiteStatus ToInt64(OpContext& ctx, const flexbuffers::Reference& r, const char* name, int64_t* out) {
    if (r.IsInt() || r.IsBool()) {
      *out = r.AsInt64();
      return kTfLiteOk;
    }
    if (r.IsUInt()) {
      const uint64_t u = r.AsUInt64();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return ctx.Error("custom option '%s' = %llu is out of range", name, static_cast<unsigned long long>(u));
      *out = static_cast<int64_t>(u);
      return kTfLiteOk;
    }
    if (r.IsFloat()) {
      const double d = r.AsDouble();
      // 2^63 is the first double above the int64 range.
      if (!(std::fabs(d) < 9223372036854775808.0) || d != std::trunc(d))
        return ctx.Error("custom option '%s' = %g is not an integer", name, d);
      *out = static_cast<int64_t>(d);
      return kTfLiteOk;
    }
    return ctx.Error("custom option '%s' has type %s, not an integer", name, TypeText(r.GetType()));
  }

  static TfLiteStatus ToInt32(OpContext& ctx, const flexbuffers::Reference& r, const char* name, int32_t* out) {
    int64_t v;
    TFC_OK(ToInt64(ctx, r, name, &v));
    if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())
      return ctx.Error("custom option '%s' = %lld is out of the int32 range", name, static_cast<long long>(v));
    *out = static_cast<int32_t>(v);
    return kTfLiteOk;
  }

  template <class V>
  static TfLiteStatus Collect(OpContext& ctx, const V& v, const char* key, std::vector<int32_t>* out) {
    const size_t n = v.size();
    out->reserve(n);
    for (size_t i = 0; i < n; ++i) {
      const std::string name = std::string(key) + "[" + std::to_string(i) + "]";  // for messages
      int32_t x = 0;
      TFC_OK(ToInt32(ctx, v[i], name.c_str(), &x));
      out->push_back(x);
    }
    return kTfLiteOk;
  }

  // The value for key; a null reference when absent or without options.
  flexbuffers::Reference Find(const char* key) const {
    if (words_.empty() || !key) return flexbuffers::Reference();
    return flexbuffers::GetRoot(reinterpret_cast<const uint8_t*>(words_.data()), size_).AsMap()[key];
  }

  std::vector<uint64_t> words_;  // an 8-byte aligned copy of a verified buffer whose root is a map, or empty
  size_t size_ = 0;
};

}  // namespace tfc
