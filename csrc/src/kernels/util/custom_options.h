// Reading a custom op's options (Operator.custom_options in the model).
//
// Two encodings occur in practice:
// - a raw C struct of the converter's host (TfLiteTransposeConvParams,
//   TfLitePoolParams) copied byte for byte: a run of little-endian int32
//   fields, read with ReadRawInt32Fields;
// - a FlexBuffers map, verified (flexbuffers::VerifyBuffer) before any read,
//   then read through the FlexMap helpers, which fail on a missing key or a
//   value of the wrong kind instead of defaulting silently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

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

// A verified FlexBuffers map with typed, checked reads. Usage:
//   FlexMap m;
//   std::string err;
//   int32_t h;
//   if (!m.Parse(options, &err) || !m.Int32("output_height", &h, &err))
//     return ctx.Error("%s", err.c_str());
class FlexMap {
 public:
  bool Parse(const CustomOptions& o, std::string* err) {
    if (!o.data || o.size == 0) return Fail(err, "custom options are missing (expected a FlexBuffers map)");
    if (o.size >= (size_t{1} << 31) || !flexbuffers::VerifyBuffer(o.data, o.size))
      return Fail(err, "custom options are not a valid FlexBuffers buffer");
    const flexbuffers::Reference root = flexbuffers::GetRoot(o.data, o.size);
    if (!root.IsMap()) return Fail(err, "custom options are not a FlexBuffers map");
    map_ = root.AsMap();
    ok_ = true;
    return true;
  }

  bool Has(const char* key) const { return ok_ && !map_[key].IsNull(); }

  bool Int32(const char* key, int32_t* out, std::string* err) const {
    const flexbuffers::Reference r = Get(key);
    if (r.IsNull()) return Missing(key, err);
    return ToInt32(r, key, out, err);
  }

  bool Float(const char* key, float* out, std::string* err) const {
    const flexbuffers::Reference r = Get(key);
    if (r.IsNull()) return Missing(key, err);
    if (!r.IsNumeric()) return Fail(err, std::string("option '") + key + "' is not a number");
    *out = r.IsFloat() ? static_cast<float>(r.AsDouble()) : static_cast<float>(r.AsInt64());
    return true;
  }

  bool String(const char* key, std::string* out, std::string* err) const {
    const flexbuffers::Reference r = Get(key);
    if (r.IsNull()) return Missing(key, err);
    if (!r.IsString() && !r.IsKey()) return Fail(err, std::string("option '") + key + "' is not a string");
    *out = r.IsString() ? r.AsString().str() : std::string(r.AsKey());
    return true;
  }

  // A vector of integers: typed (the usual encoding), untyped, or fixed-size.
  bool Int32Vector(const char* key, std::vector<int32_t>* out, std::string* err) const {
    const flexbuffers::Reference r = Get(key);
    if (r.IsNull()) return Missing(key, err);
    out->clear();
    if (r.IsTypedVector()) {
      const flexbuffers::TypedVector v = r.AsTypedVector();
      return Collect(v, v.size(), key, out, err);
    }
    if (r.IsFixedTypedVector()) {
      const flexbuffers::FixedTypedVector v = r.AsFixedTypedVector();
      return Collect(v, v.size(), key, out, err);
    }
    if (r.IsVector()) {
      const flexbuffers::Vector v = r.AsVector();
      return Collect(v, v.size(), key, out, err);
    }
    return Fail(err, std::string("option '") + key + "' is not a vector");
  }

 private:
  flexbuffers::Reference Get(const char* key) const {
    return ok_ ? map_[key] : flexbuffers::Reference();
  }

  template <class V>
  static bool Collect(const V& v, size_t n, const char* key, std::vector<int32_t>* out,
                      std::string* err) {
    out->reserve(n);
    for (size_t i = 0; i < n; ++i) {
      int32_t x = 0;
      if (!ToInt32(v[i], key, &x, err)) return false;
      out->push_back(x);
    }
    return true;
  }

  static bool ToInt32(const flexbuffers::Reference& r, const char* key, int32_t* out,
                      std::string* err) {
    if (r.IsUInt()) {
      const uint64_t u = r.AsUInt64();
      if (u > static_cast<uint64_t>(std::numeric_limits<int32_t>::max()))
        return Fail(err, std::string("option '") + key + "' is out of the int32 range");
      *out = static_cast<int32_t>(u);
      return true;
    }
    if (r.IsInt() || r.IsBool()) {
      const int64_t v = r.AsInt64();
      if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())
        return Fail(err, std::string("option '") + key + "' is out of the int32 range");
      *out = static_cast<int32_t>(v);
      return true;
    }
    return Fail(err, std::string("option '") + key + "' is not an integer");
  }

  static bool Missing(const char* key, std::string* err) {
    return Fail(err, std::string("option '") + key + "' is missing");
  }
  static bool Fail(std::string* err, const std::string& message) {
    if (err) *err = message;
    return false;
  }

  flexbuffers::Map map_ = flexbuffers::Map::EmptyMap();
  bool ok_ = false;
};

}  // namespace tfc
