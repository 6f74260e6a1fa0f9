// tflite_cffi_selftest: runs one model on .npy inputs and compares its
// outputs with expected .npy arrays, through the public C API only.
//
// Built statically so that it runs under user-mode emulation (the ARMv6 /
// Raspberry Pi Zero check: qemu-arm -cpu arm1176 tflite_cffi_selftest ...).
//
//   tflite_cffi_selftest MODEL.tflite INPUT_0.npy [INPUT_1.npy ...]
//                        --expect OUTPUT_0.npy [...] [--atol X] [--threads N]
//
// Inputs are given in the model's input order, expected arrays in its output
// order. .npy files: format version 1, 2 or 3, C order, little-endian dtypes
// <f4 <f2 <f8 <i8 <i4 <i2 <u2 |i1 |u1 |b1. The array's dtype must be the
// tensor's; its shape must be the tensor's, or differ only in dimensions the
// model's shape signature leaves open (-1), in which case the input is resized.
//
// Comparison: float outputs pass when max |out - expected| <=
// atol * max(1, max |expected|) (atol 1e-4 unless --atol; NaN must match NaN);
// integer and bool outputs must be equal, or within atol when --atol is given.
// Prints one line per output and "selftest: N passed, M failed". Exit code: 0
// when all outputs pass, 1 on a failed comparison or error, 2 on bad usage.
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tflite_cffi/c_api.h"

namespace {

void Usage(FILE* f) {
  std::fprintf(f,
               "usage: tflite_cffi_selftest MODEL.tflite INPUT_0.npy [INPUT_1.npy ...]\n"
               "                            --expect OUTPUT_0.npy [...] [--atol X] [--threads N]\n"
               "\n"
               "Runs MODEL on the inputs (in the model's input order) and compares every output\n"
               "with the expected array (in the model's output order). Float outputs pass when\n"
               "max|out - expected| <= atol * max(1, max|expected|) (default atol 1e-4); integer\n"
               "and bool outputs must match exactly unless --atol is given. --threads N sets the\n"
               "interpreter's thread count (default 1). Exit code 0 when every output passes.\n");
}

// ---- .npy ------------------------------------------------------------------

struct Array {
  std::string path;
  std::string descr;  // normalized: "<f4", "|i1", ...
  TfLiteType type = kTfLiteNoType;
  size_t item = 0;
  std::vector<int64_t> shape;
  std::vector<unsigned char> data;  // little-endian, C order

  int64_t count() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

bool LittleEndianHost() {
  const uint16_t one = 1;
  unsigned char b;
  std::memcpy(&b, &one, 1);
  return b == 1;
}

struct DtypeInfo {
  const char* code;  // without the byte-order character
  TfLiteType type;
  size_t size;
};

const DtypeInfo kDtypes[] = {
    {"f4", kTfLiteFloat32, 4}, {"f2", kTfLiteFloat16, 2}, {"f8", kTfLiteFloat64, 8},
    {"i8", kTfLiteInt64, 8},   {"i4", kTfLiteInt32, 4},   {"i2", kTfLiteInt16, 2},
    {"u2", kTfLiteUInt16, 2},  {"i1", kTfLiteInt8, 1},    {"u1", kTfLiteUInt8, 1},
    {"b1", kTfLiteBool, 1},
};

// Value of key 'key' in the header dict, as the raw text up to the next
// top-level ',' or '}' (tuples kept whole).
bool HeaderField(const std::string& h, const char* key, std::string* value) {
  const std::string k1 = std::string("'") + key + "'";
  const std::string k2 = std::string("\"") + key + "\"";
  size_t p = h.find(k1);
  size_t klen = k1.size();
  if (p == std::string::npos) {
    p = h.find(k2);
    klen = k2.size();
  }
  if (p == std::string::npos) return false;
  p = h.find(':', p + klen);
  if (p == std::string::npos) return false;
  ++p;
  while (p < h.size() && (h[p] == ' ' || h[p] == '\t')) ++p;
  size_t e = p;
  int depth = 0;
  for (; e < h.size(); ++e) {
    const char c = h[e];
    if (c == '(' || c == '[') ++depth;
    if (c == ')' || c == ']') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
  }
  if (e >= h.size()) return false;
  *value = h.substr(p, e - p);
  while (!value->empty() && (value->back() == ' ' || value->back() == '\t')) value->pop_back();
  return true;
}

bool ParseShape(const std::string& text, std::vector<int64_t>* shape) {
  shape->clear();
  if (text.size() < 2 || text.front() != '(' || text.back() != ')') return false;
  const std::string body = text.substr(1, text.size() - 2);
  size_t i = 0;
  while (i < body.size()) {
    while (i < body.size() && (body[i] == ' ' || body[i] == ',')) ++i;
    if (i >= body.size()) break;
    if (body[i] < '0' || body[i] > '9') return false;
    int64_t v = 0;
    while (i < body.size() && body[i] >= '0' && body[i] <= '9') {
      v = v * 10 + (body[i] - '0');
      if (v > (int64_t{1} << 40)) return false;
      ++i;
    }
    while (i < body.size() && body[i] == 'L') ++i;  // python 2 longs
    shape->push_back(v);
  }
  return true;
}

bool LoadNpy(const char* path, Array* a, std::string* err) {
  a->path = path;
  FILE* f = std::fopen(path, "rb");
  if (!f) {
    *err = std::string(path) + ": " + std::strerror(errno);
    return false;
  }
  std::vector<unsigned char> bytes;
  unsigned char buf[65536];
  size_t got;
  while ((got = std::fread(buf, 1, sizeof(buf), f)) > 0) bytes.insert(bytes.end(), buf, buf + got);
  const bool read_error = std::ferror(f) != 0;
  std::fclose(f);
  if (read_error) {
    *err = std::string(path) + ": read error";
    return false;
  }
  static const unsigned char kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (bytes.size() < 10 || std::memcmp(bytes.data(), kMagic, 6) != 0) {
    *err = std::string(path) + ": not a .npy file";
    return false;
  }
  const int major = bytes[6];
  size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = bytes[8] | (size_t{bytes[9]} << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) {
      *err = std::string(path) + ": truncated header";
      return false;
    }
    header_len = bytes[8] | (size_t{bytes[9]} << 8) | (size_t{bytes[10]} << 16) |
                 (size_t{bytes[11]} << 24);
    offset = 12;
  } else {
    *err = std::string(path) + ": unsupported .npy format version " + std::to_string(major);
    return false;
  }
  if (header_len > bytes.size() - offset) {
    *err = std::string(path) + ": truncated header";
    return false;
  }
  const std::string header(reinterpret_cast<const char*>(bytes.data() + offset), header_len);
  std::string descr, fortran, shape;
  if (!HeaderField(header, "descr", &descr) || !HeaderField(header, "fortran_order", &fortran) ||
      !HeaderField(header, "shape", &shape)) {
    *err = std::string(path) + ": malformed header: " + header;
    return false;
  }
  if (fortran != "False") {
    *err = std::string(path) + ": Fortran-order arrays are not supported (save C order)";
    return false;
  }
  if (descr.size() < 2 || (descr.front() != '\'' && descr.front() != '"') ||
      descr.back() != descr.front()) {
    *err = std::string(path) + ": unsupported dtype " + descr + " (structured arrays?)";
    return false;
  }
  descr = descr.substr(1, descr.size() - 2);
  if (descr.size() != 3) {
    *err = std::string(path) + ": unsupported dtype '" + descr + "'";
    return false;
  }
  const char order = descr[0];
  const std::string code = descr.substr(1);
  const DtypeInfo* info = nullptr;
  for (const DtypeInfo& d : kDtypes) {
    if (code == d.code) info = &d;
  }
  const bool one_byte = info && info->size == 1;
  const bool order_ok = order == '<' || (order == '=' && LittleEndianHost()) ||
                        (order == '|' && one_byte) || (order == '>' && one_byte);
  if (!info || !order_ok) {
    *err = std::string(path) + ": unsupported dtype '" + descr +
           "' (supported: <f4 <f2 <f8 <i8 <i4 <i2 <u2 |i1 |u1 |b1)";
    return false;
  }
  if (!ParseShape(shape, &a->shape)) {
    *err = std::string(path) + ": bad shape " + shape;
    return false;
  }
  a->descr = std::string(one_byte ? "|" : "<") + code;
  a->type = info->type;
  a->item = info->size;
  const size_t data_off = offset + header_len;
  const uint64_t need = static_cast<uint64_t>(a->count()) * a->item;
  if (bytes.size() - data_off != need) {
    *err = std::string(path) + ": holds " + std::to_string(bytes.size() - data_off) +
           " data bytes, shape needs " + std::to_string(need);
    return false;
  }
  a->data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(data_off), bytes.end());
  return true;
}

std::string ShapeText(const std::vector<int64_t>& s) {
  std::string t = "[";
  for (size_t i = 0; i < s.size(); ++i) t += (i ? "," : "") + std::to_string(s[i]);
  return t + "]";
}

std::vector<int64_t> TensorShape(const TfLiteTensor* t) {
  std::vector<int64_t> s;
  for (int32_t i = 0; i < TfLiteTensorNumDims(t); ++i) s.push_back(TfLiteTensorDim(t, i));
  return s;
}

const char* TypeText(TfLiteType t) {
  switch (t) {
    case kTfLiteFloat32: return "float32";
    case kTfLiteFloat16: return "float16";
    case kTfLiteFloat64: return "float64";
    case kTfLiteInt64: return "int64";
    case kTfLiteInt32: return "int32";
    case kTfLiteInt16: return "int16";
    case kTfLiteUInt16: return "uint16";
    case kTfLiteInt8: return "int8";
    case kTfLiteUInt8: return "uint8";
    case kTfLiteBool: return "bool";
    case kTfLiteString: return "string";
    default: return "other";
  }
}

// ---- comparison ------------------------------------------------------------

float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t mag = h & 0x7fffu;
  uint32_t bits;
  if (mag >= 0x7c00u) {
    bits = sign | 0x7f800000u | (mag << 13);
  } else if (mag >= 0x0400u) {
    bits = sign | ((mag << 13) + (112u << 23));
  } else {
    float f = static_cast<float>(mag) * 5.9604644775390625e-08f;
    std::memcpy(&bits, &f, 4);
    bits |= sign;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

double ValueAt(const unsigned char* p, TfLiteType type, int64_t i) {
  switch (type) {
    case kTfLiteFloat32: { float v; std::memcpy(&v, p + 4 * i, 4); return v; }
    case kTfLiteFloat64: { double v; std::memcpy(&v, p + 8 * i, 8); return v; }
    case kTfLiteFloat16: { uint16_t v; std::memcpy(&v, p + 2 * i, 2); return HalfToFloat(v); }
    case kTfLiteInt64: { int64_t v; std::memcpy(&v, p + 8 * i, 8); return static_cast<double>(v); }
    case kTfLiteInt32: { int32_t v; std::memcpy(&v, p + 4 * i, 4); return v; }
    case kTfLiteInt16: { int16_t v; std::memcpy(&v, p + 2 * i, 2); return v; }
    case kTfLiteUInt16: { uint16_t v; std::memcpy(&v, p + 2 * i, 2); return v; }
    case kTfLiteInt8: return static_cast<int8_t>(p[i]);
    case kTfLiteUInt8: return p[i];
    case kTfLiteBool: return p[i] ? 1.0 : 0.0;
    default: return 0.0;
  }
}

bool IsFloat(TfLiteType t) {
  return t == kTfLiteFloat32 || t == kTfLiteFloat16 || t == kTfLiteFloat64;
}

bool Compare(int index, const TfLiteTensor* out, const Array& want, double atol, bool atol_given) {
  const char* name = TfLiteTensorName(out);
  const TfLiteType type = TfLiteTensorType(out);
  const std::vector<int64_t> shape = TensorShape(out);
  std::printf("output %d '%s' %s%s: ", index, name ? name : "", TypeText(type),
              ShapeText(shape).c_str());
  if (type != want.type) {
    std::printf("FAIL: expected dtype %s (%s), got %s\n", TypeText(want.type), want.descr.c_str(),
                TypeText(type));
    return false;
  }
  if (shape != want.shape) {
    std::printf("FAIL: expected shape %s\n", ShapeText(want.shape).c_str());
    return false;
  }
  const void* data = TfLiteTensorData(out);
  const int64_t n = want.count();
  if (n > 0 && (!data || TfLiteTensorByteSize(out) != want.data.size())) {
    std::printf("FAIL: output holds %zu bytes, expected %zu\n", TfLiteTensorByteSize(out),
                want.data.size());
    return false;
  }
  const unsigned char* got = static_cast<const unsigned char*>(data);
  const unsigned char* exp = want.data.data();
  double max_diff = 0.0, max_expected = 0.0;
  int64_t worst = -1, first_special = -1, mismatches = 0, special_mismatches = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double g = ValueAt(got, type, i);
    const double e = ValueAt(exp, type, i);
    if (std::isnan(e) || std::isnan(g) || std::isinf(e) || std::isinf(g)) {
      // NaN must meet NaN, an infinity the same infinity.
      const bool same = (std::isnan(e) && std::isnan(g)) || e == g;
      if (!same) {
        ++special_mismatches;
        if (first_special < 0) first_special = i;
      }
      continue;
    }
    max_expected = std::fmax(max_expected, std::fabs(e));
    const double d = std::fabs(g - e);
    if (d > 0) ++mismatches;
    if (d > max_diff) {
      max_diff = d;
      worst = i;
    }
  }
  double limit;
  if (IsFloat(type)) {
    limit = atol * std::fmax(1.0, max_expected);
  } else {
    limit = atol_given ? atol : 0.0;
  }
  const bool pass = special_mismatches == 0 && max_diff <= limit;
  std::printf("%s max_abs_diff=%.6g limit=%.6g mismatches=%lld/%lld", pass ? "PASS" : "FAIL",
              max_diff, limit, static_cast<long long>(mismatches + special_mismatches),
              static_cast<long long>(n));
  if (special_mismatches) {
    std::printf(" nan/inf_mismatches=%lld (first at flat index %lld: got %.9g, expected %.9g)",
                static_cast<long long>(special_mismatches), static_cast<long long>(first_special),
                ValueAt(got, type, first_special), ValueAt(exp, type, first_special));
  }
  if (!pass && worst >= 0 && max_diff > limit) {
    std::printf(" (worst at flat index %lld: got %.9g, expected %.9g)",
                static_cast<long long>(worst), ValueAt(got, type, worst), ValueAt(exp, type, worst));
  }
  std::printf("\n");
  return pass;
}

struct Handles {
  TfLiteModel* model = nullptr;
  TfLiteInterpreterOptions* options = nullptr;
  TfLiteInterpreter* interpreter = nullptr;
  ~Handles() {
    TfLiteInterpreterDelete(interpreter);
    TfLiteInterpreterOptionsDelete(options);
    TfLiteModelDelete(model);
  }
};

// An error before the comparison: every expected output counts as failed.
size_t g_num_expected = 1;

int Fail(const char* what, const char* detail) {
  std::fprintf(stderr, "selftest: %s: %s\n", what, detail && *detail ? detail : "(no message)");
  std::printf("selftest: 0 passed, %zu failed\n", g_num_expected);
  return 1;
}

bool ParseDouble(const char* s, double* v) {
  char* end = nullptr;
  errno = 0;
  *v = std::strtod(s, &end);
  return errno == 0 && end != s && *end == '\0' && std::isfinite(*v) && *v >= 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    Usage(stderr);
    return 2;
  }
  const char* model_path = nullptr;
  std::vector<const char*> input_paths, expect_paths;
  double atol = 1e-4;
  bool atol_given = false;
  int threads = 1;
  bool in_expect = false;
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    if (std::strcmp(a, "-h") == 0 || std::strcmp(a, "--help") == 0) {
      Usage(stdout);
      return 0;
    } else if (std::strcmp(a, "--expect") == 0) {
      in_expect = true;
    } else if (std::strcmp(a, "--atol") == 0 || std::strcmp(a, "--threads") == 0) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "selftest: %s needs a value\n", a);
        Usage(stderr);
        return 2;
      }
      const char* v = argv[++i];
      if (std::strcmp(a, "--atol") == 0) {
        if (!ParseDouble(v, &atol)) {
          std::fprintf(stderr, "selftest: bad --atol value '%s'\n", v);
          return 2;
        }
        atol_given = true;
      } else {
        char* end = nullptr;
        const long t = std::strtol(v, &end, 10);
        if (end == v || *end != '\0' || t < -1 || t == 0 || t > 1024) {
          std::fprintf(stderr, "selftest: bad --threads value '%s'\n", v);
          return 2;
        }
        threads = static_cast<int>(t);
      }
    } else if (a[0] == '-' && a[1] == '-') {
      std::fprintf(stderr, "selftest: unknown option %s\n", a);
      Usage(stderr);
      return 2;
    } else if (!model_path) {
      model_path = a;
    } else if (in_expect) {
      expect_paths.push_back(a);
    } else {
      input_paths.push_back(a);
    }
  }
  if (!model_path || expect_paths.empty()) {
    std::fprintf(stderr, "selftest: %s\n", !model_path ? "no model given" : "no --expect arrays given");
    Usage(stderr);
    return 2;
  }

  g_num_expected = expect_paths.size();
  std::vector<Array> inputs(input_paths.size()), expected(expect_paths.size());
  std::string err;
  for (size_t i = 0; i < input_paths.size(); ++i) {
    if (!LoadNpy(input_paths[i], &inputs[i], &err)) return Fail("input", err.c_str());
  }
  for (size_t i = 0; i < expect_paths.size(); ++i) {
    if (!LoadNpy(expect_paths[i], &expected[i], &err)) return Fail("expected output", err.c_str());
  }

  Handles h;
  h.model = TfLiteModelCreateFromFile(model_path);
  if (!h.model) return Fail(model_path, TfLiteCffiLastCreateError());
  h.options = TfLiteInterpreterOptionsCreate();
  if (!h.options) return Fail("options", "TfLiteInterpreterOptionsCreate failed");
  TfLiteInterpreterOptionsSetNumThreads(h.options, threads);
  h.interpreter = TfLiteInterpreterCreate(h.model, h.options);
  if (!h.interpreter) return Fail("interpreter", TfLiteCffiLastCreateError());
  TfLiteInterpreter* interp = h.interpreter;

  const int32_t n_in = TfLiteInterpreterGetInputTensorCount(interp);
  const int32_t n_out = TfLiteInterpreterGetOutputTensorCount(interp);
  if (static_cast<size_t>(n_in) != inputs.size()) {
    const std::string m = "the model has " + std::to_string(n_in) + " inputs, " +
                          std::to_string(inputs.size()) + " .npy files given";
    return Fail("inputs", m.c_str());
  }
  if (static_cast<size_t>(n_out) != expected.size()) {
    const std::string m = "the model has " + std::to_string(n_out) + " outputs, " +
                          std::to_string(expected.size()) + " expected arrays given";
    return Fail("outputs", m.c_str());
  }

  // Types and shapes; resize inputs whose signature leaves dims open.
  for (int32_t i = 0; i < n_in; ++i) {
    TfLiteTensor* t = TfLiteInterpreterGetInputTensor(interp, i);
    const Array& a = inputs[static_cast<size_t>(i)];
    const char* tname = TfLiteTensorName(t);
    if (TfLiteTensorType(t) != a.type) {
      const std::string m = a.path + ": dtype " + a.descr + " but input " + std::to_string(i) +
                            " '" + (tname ? tname : "") + "' is " + TypeText(TfLiteTensorType(t));
      return Fail("input", m.c_str());
    }
    const std::vector<int64_t> shape = TensorShape(t);
    if (shape == a.shape) continue;
    std::vector<int32_t> sig(64);
    const int32_t rank = TfLiteCffiTensorShapeSignature(t, sig.data(), 64);
    bool resizable = rank == static_cast<int32_t>(a.shape.size()) && rank <= 64;
    for (int32_t d = 0; resizable && d < rank; ++d) {
      if (sig[static_cast<size_t>(d)] != -1 && sig[static_cast<size_t>(d)] != a.shape[static_cast<size_t>(d)]) {
        resizable = false;
      }
      if (a.shape[static_cast<size_t>(d)] > INT32_MAX) resizable = false;
    }
    if (!resizable) {
      const std::string m = a.path + ": shape " + ShapeText(a.shape) + " but input " +
                            std::to_string(i) + " '" + (tname ? tname : "") + "' has shape " +
                            ShapeText(shape);
      return Fail("input", m.c_str());
    }
    std::vector<int> dims(a.shape.begin(), a.shape.end());
    if (TfLiteInterpreterResizeInputTensor(interp, i, dims.data(), static_cast<int32_t>(dims.size())) !=
        kTfLiteOk) {
      return Fail("resize input", TfLiteCffiInterpreterLastError(interp));
    }
  }
  if (TfLiteInterpreterAllocateTensors(interp) != kTfLiteOk) {
    return Fail("AllocateTensors", TfLiteCffiInterpreterLastError(interp));
  }
  for (int32_t i = 0; i < n_in; ++i) {
    TfLiteTensor* t = TfLiteInterpreterGetInputTensor(interp, i);
    const Array& a = inputs[static_cast<size_t>(i)];
    if (TfLiteTensorCopyFromBuffer(t, a.data.data(), a.data.size()) != kTfLiteOk) {
      const std::string m = a.path + ": " + TfLiteCffiInterpreterLastError(interp);
      return Fail("copy input", m.c_str());
    }
  }
  if (TfLiteInterpreterInvoke(interp) != kTfLiteOk) {
    return Fail("Invoke", TfLiteCffiInterpreterLastError(interp));
  }
  int passed = 0, failed = 0;
  for (int32_t i = 0; i < n_out; ++i) {
    const TfLiteTensor* t = TfLiteInterpreterGetOutputTensor(interp, i);
    if (Compare(i, t, expected[static_cast<size_t>(i)], atol, atol_given)) {
      ++passed;
    } else {
      ++failed;
    }
  }
  std::printf("selftest: %d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
