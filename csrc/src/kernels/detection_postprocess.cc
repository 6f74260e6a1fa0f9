// TFLite_Detection_PostProcess: the custom op that ends SSD-style detectors
// (SSD MobileNet, EfficientDet Lite): box decoding against anchors followed by
// non-max suppression. Custom op version 1 (the only one the official
// resolver accepts).
//
// Inputs: box encodings [1, N, K >= 4] (y, x, h, w first), class predictions
// [1, N, C] with C = num_classes (+1 when column 0 is a background class),
// anchors [N, 4] (y, x, h, w). FLOAT32, or UINT8 / INT8 with per-tensor
// scale and zero point (each input dequantized with its own parameters as
// (float(q - zero_point)) * scale; the official kernel takes UINT8 only).
// Outputs, FLOAT32: boxes [1, D, 4] (ymin, xmin, ymax, xmax), classes [1, D],
// scores [1, D], num_detections [1], with D = max_detections *
// max_classes_per_detection. Options: a FlexBuffers map in custom_options.
//
// Numerics and ordering follow the official kernel (ai-edge-litert 2.x):
// - decoding in double, rounded to float: yc = y / y_scale * ha + ya,
//   half_h = 0.5 * exp(h / h_scale) * ha (x, w alike); corners in float;
//   a decoded box with ymin > ymax or xmin > xmax is an error;
// - one class NMS: keep scores >= nms_score_threshold, visit them by score
//   descending (ties: lower anchor first), take a box, drop later boxes with
//   IoU > nms_iou_threshold (IoU is 0 when a box has no area), stop at the
//   limit;
// - fast NMS (use_regular_nms false): each anchor's classes are ranked by
//   score and the top max_classes_per_detection kept, in the order of
//   libstdc++'s std::partial_sort (heap select then heap sort: its tie order
//   is what the official runtime produces on Linux, so it is replicated here
//   to be the same on every target); with one class per detection, the first
//   highest class. NMS runs once over each anchor's best score; output row
//   i * max_classes_per_detection + j holds the j-th class of the i-th kept
//   anchor; num_detections counts anchors;
// - regular NMS: NMS per class with at most min(detections_per_class,
//   max_detections) boxes, merged class after class into one list by score
//   descending, a tie keeping the earlier class first (a stable merge) and,
//   within a class, NMS order; the first max_detections are output. (Older
//   TensorFlow releases merged with ">=", putting the later class first on a
//   tie; the official runtime's multi-threaded path depends on scheduling.
//   This is its one-thread result.)
// Rows the official kernel leaves unwritten (after the detections; its arena
// then holds stale values there) are zero here.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF  // products and sums rounded as written, as the official kernel is
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "kernels/kernel.h"
#include "kernels/util/custom_options.h"
#include "kernels/util/quant_params.h"

namespace tfc {
namespace {

constexpr int kMaxOutputRows = 1 << 20;  // max_detections * max_classes_per_detection
constexpr int kDefaultDetectionsPerClass = 100;

struct Options {
  int32_t max_detections = 0;
  int32_t max_classes_per_detection = 0;
  int32_t detections_per_class = kDefaultDetectionsPerClass;
  bool use_regular_nms = false;
  float score_threshold = 0.f;
  float iou_threshold = 0.f;
  int32_t num_classes = 0;
  float y_scale = 0.f, x_scale = 0.f, h_scale = 0.f, w_scale = 0.f;
};

struct Corners {
  float ymin, xmin, ymax, xmax;
};

struct Candidate {  // one detection of regular NMS
  int32_t anchor;
  int32_t cls;
  float score;
};

// Reads element i of a FLOAT32, UINT8 or INT8 tensor as float.
struct Reader {
  const void* data = nullptr;
  TfLiteType type = kTfLiteNoType;
  float scale = 1.f;
  int32_t zero_point = 0;
  float operator()(int64_t i) const {
    switch (type) {
      case kTfLiteUInt8:
        return static_cast<float>(static_cast<int32_t>(static_cast<const uint8_t*>(data)[i]) - zero_point) * scale;
      case kTfLiteInt8:
        return static_cast<float>(static_cast<int32_t>(static_cast<const int8_t*>(data)[i]) - zero_point) * scale;
      default:
        return static_cast<const float*>(data)[i];
    }
  }
};

// IoU of two decoded boxes, in float as the official kernel computes it.
float IoU(const Corners& a, const Corners& b) {
  const float area_a = (a.ymax - a.ymin) * (a.xmax - a.xmin);
  const float area_b = (b.ymax - b.ymin) * (b.xmax - b.xmin);
  if (area_a <= 0.f || area_b <= 0.f) return 0.f;
  const float h = std::max(std::min(a.ymax, b.ymax) - std::max(a.ymin, b.ymin), 0.f);
  const float w = std::max(std::min(a.xmax, b.xmax) - std::max(a.xmin, b.xmin), 0.f);
  const float inter = h * w;
  return inter / (area_a + area_b - inter);
}

// libstdc++'s heap primitives, for a ranking of indices by descending value
// whose ties come out exactly as std::partial_sort leaves them there.
// before(i, j): index i ranks strictly before index j.
struct HeapRank {
  const float* values;
  bool before(int32_t i, int32_t j) const { return values[i] > values[j]; }

  // Moves `value` up from `hole` toward `top` while its parent ranks before it.
  void SiftUp(int32_t* h, int64_t hole, int64_t top, int32_t value) const {
    int64_t parent = (hole - 1) / 2;
    while (hole > top && before(h[parent], value)) {
      h[hole] = h[parent];
      hole = parent;
      parent = (hole - 1) / 2;
    }
    h[hole] = value;
  }
  // Fills the hole at `hole` by walking down the children that rank later,
  // then places `value` on the way back up (libstdc++'s __adjust_heap).
  void Adjust(int32_t* h, int64_t hole, int64_t len, int32_t value) const {
    const int64_t top = hole;
    int64_t child = hole;
    while (child < (len - 1) / 2) {
      child = 2 * (child + 1);
      if (before(h[child], h[child - 1])) child--;
      h[hole] = h[child];
      hole = child;
    }
    if ((len & 1) == 0 && child == (len - 2) / 2) {
      child = 2 * (child + 1);
      h[hole] = h[child - 1];
      hole = child - 1;
    }
    SiftUp(h, hole, top, value);
  }
  void MakeHeap(int32_t* h, int64_t len) const {
    if (len < 2) return;
    for (int64_t parent = (len - 2) / 2;; parent--) {
      Adjust(h, parent, len, h[parent]);
      if (parent == 0) return;
    }
  }
  // Moves the heap's top to *out, and *out's old value into the heap.
  void PopTo(int32_t* h, int64_t len, int32_t* out) const {
    const int32_t value = *out;
    *out = h[0];
    Adjust(h, 0, len, value);
  }
  // idx[0, n) ranked; the first k end up in order (std::partial_sort).
  void PartialSort(int32_t* idx, int64_t k, int64_t n) const {
    MakeHeap(idx, k);
    for (int64_t i = k; i < n; ++i) {
      if (before(idx[i], idx[0])) PopTo(idx, k, idx + i);
    }
    for (int64_t last = k; last > 1;) {
      --last;
      PopTo(idx, last, idx + last);
    }
  }
};

class DetectionPostProcess final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_OK(ReadOptions(ctx));
    TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 3 && ctx.num_outputs() == 4,
                   "takes 3 inputs (box encodings, class predictions, anchors) and 4 outputs, got %d and %d",
                   ctx.num_inputs(), ctx.num_outputs());
    const TfLiteTensor* boxes = ctx.input(0);
    const TfLiteTensor* scores = ctx.input(1);
    const TfLiteTensor* anchors = ctx.input(2);
    TFC_ENSURE_MSG(ctx, boxes && scores && anchors, "all 3 inputs are required");
    TFC_ENSURE_MSG(ctx, boxes->rank() == 3 && boxes->dim(0) == 1 && boxes->dim(2) >= 4,
                   "box encodings '%s' must be [1, num_anchors, >=4]", boxes->name.c_str());
    num_anchors_ = boxes->dim(1);
    box_stride_ = boxes->dim(2);
    TFC_ENSURE_MSG(ctx, num_anchors_ >= 1, "box encodings '%s' hold no anchors", boxes->name.c_str());
    TFC_ENSURE_MSG(ctx, scores->rank() == 3 && scores->dim(0) == 1 && scores->dim(1) == num_anchors_,
                   "class predictions '%s' must be [1, %d, num_classes(+1)]", scores->name.c_str(), num_anchors_);
    TFC_ENSURE_MSG(ctx, anchors->rank() == 2 && anchors->dim(0) == num_anchors_ && anchors->dim(1) == 4,
                   "anchors '%s' must be [%d, 4]", anchors->name.c_str(), num_anchors_);
    columns_ = scores->dim(2);
    TFC_ENSURE_MSG(ctx, columns_ == opt_.num_classes || columns_ == opt_.num_classes + 1,
                   "class predictions '%s' have %d columns; num_classes = %d needs %d or %d (with background)",
                   scores->name.c_str(), columns_, opt_.num_classes, opt_.num_classes, opt_.num_classes + 1);
    label_offset_ = columns_ - opt_.num_classes;
    TFC_ENSURE_MSG(ctx, static_cast<int64_t>(num_anchors_) * columns_ <= std::numeric_limits<int32_t>::max(),
                   "%d anchors x %d classes is too many", num_anchors_, columns_);

    TFC_OK(CheckInput(ctx, boxes));
    TFC_OK(CheckInput(ctx, scores));
    TFC_OK(CheckInput(ctx, anchors));
    for (int i = 0; i < 4; ++i) TFC_ENSURE_TYPE(ctx, ctx.output(i), kTfLiteFloat32);

    const int32_t rows = opt_.max_detections * opt_.max_classes_per_detection;
    TFC_OK(ctx.ResizeOutput(0, {1, rows, 4}));
    TFC_OK(ctx.ResizeOutput(1, {1, rows}));
    TFC_OK(ctx.ResizeOutput(2, {1, rows}));
    TFC_OK(ctx.ResizeOutput(3, {1}));

    const size_t n = static_cast<size_t>(num_anchors_);
    top_k_ = std::min(opt_.max_classes_per_detection, opt_.num_classes);
    per_class_ = std::min(opt_.detections_per_class, opt_.max_detections);
    scratch_decoded_ = ctx.RequestScratch(n * sizeof(Corners));
    scratch_scores_ = scores->type == kTfLiteFloat32
                          ? -1
                          : ctx.RequestScratch(n * static_cast<size_t>(columns_) * sizeof(float));
    scratch_candidate_ = ctx.RequestScratch(n * sizeof(float));
    scratch_order_ = ctx.RequestScratch(n * sizeof(int32_t));
    scratch_active_ = ctx.RequestScratch(n);
    scratch_selected_ = ctx.RequestScratch(n * sizeof(int32_t));
    if (opt_.use_regular_nms) {
      const size_t list = static_cast<size_t>(opt_.max_detections) + static_cast<size_t>(per_class_);
      scratch_list_ = ctx.RequestScratch(list * sizeof(Candidate));
      scratch_merge_ = ctx.RequestScratch(list * sizeof(Candidate));
    } else {
      scratch_top_ = ctx.RequestScratch(n * static_cast<size_t>(top_k_) * sizeof(int32_t));
      scratch_rank_ = ctx.RequestScratch(static_cast<size_t>(opt_.num_classes) * sizeof(int32_t));
    }
    return kTfLiteOk;
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    auto* decoded = static_cast<Corners*>(ctx.Scratch(scratch_decoded_));
    TFC_OK(Decode(ctx, decoded));

    const TfLiteTensor* in_scores = ctx.input(1);
    const float* scores = in_scores->data_as<const float>();
    if (in_scores->type != kTfLiteFloat32) {
      float* deq = static_cast<float*>(ctx.Scratch(scratch_scores_));
      const Reader read = MakeReader(in_scores);
      const int64_t total = static_cast<int64_t>(num_anchors_) * columns_;
      for (int64_t i = 0; i < total; ++i) deq[i] = read(i);
      scores = deq;
    }

    TfLiteTensor* out_boxes = ctx.output(0);
    TfLiteTensor* out_classes = ctx.output(1);
    TfLiteTensor* out_scores = ctx.output(2);
    std::memset(out_boxes->data, 0, out_boxes->bytes);
    std::memset(out_classes->data, 0, out_classes->bytes);
    std::memset(out_scores->data, 0, out_scores->bytes);
    const int count = opt_.use_regular_nms ? RegularNms(ctx, decoded, scores) : FastNms(ctx, decoded, scores);
    ctx.output(3)->data_as<float>()[0] = static_cast<float>(count);
    return kTfLiteOk;
  }

 private:
  TfLiteStatus ReadOptions(OpContext& ctx) {
    FlexOptions o;
    TFC_OK(o.Open(ctx));
    Options v;
    TFC_OK(o.RequireInt(ctx, "max_detections", &v.max_detections));
    TFC_OK(o.RequireInt(ctx, "max_classes_per_detection", &v.max_classes_per_detection));
    TFC_OK(o.GetInt(ctx, "detections_per_class", kDefaultDetectionsPerClass, &v.detections_per_class));
    TFC_OK(o.GetBool(ctx, "use_regular_nms", false, &v.use_regular_nms));
    TFC_OK(o.GetFloat(ctx, "nms_score_threshold", 0.f, &v.score_threshold));
    TFC_OK(o.RequireFloat(ctx, "nms_iou_threshold", &v.iou_threshold));
    TFC_OK(o.RequireInt(ctx, "num_classes", &v.num_classes));
    TFC_OK(o.RequireFloat(ctx, "y_scale", &v.y_scale));
    TFC_OK(o.RequireFloat(ctx, "x_scale", &v.x_scale));
    TFC_OK(o.RequireFloat(ctx, "h_scale", &v.h_scale));
    TFC_OK(o.RequireFloat(ctx, "w_scale", &v.w_scale));

    TFC_ENSURE_MSG(ctx, v.max_detections > 0, "max_detections = %d must be > 0", v.max_detections);
    TFC_ENSURE_MSG(ctx, v.max_classes_per_detection > 0, "max_classes_per_detection = %d must be > 0",
                   v.max_classes_per_detection);
    TFC_ENSURE_MSG(ctx, static_cast<int64_t>(v.max_detections) * v.max_classes_per_detection <= kMaxOutputRows,
                   "max_detections (%d) x max_classes_per_detection (%d) is above %d output rows",
                   v.max_detections, v.max_classes_per_detection, kMaxOutputRows);
    if (v.use_regular_nms)
      TFC_ENSURE_MSG(ctx, v.detections_per_class > 0, "detections_per_class = %d must be > 0",
                     v.detections_per_class);
    TFC_ENSURE_MSG(ctx, v.num_classes > 0, "num_classes = %d must be > 0", v.num_classes);
    TFC_ENSURE_MSG(ctx, v.iou_threshold > 0.f && v.iou_threshold <= 1.f, "nms_iou_threshold = %g must be in (0, 1]",
                   static_cast<double>(v.iou_threshold));
    TFC_ENSURE_MSG(ctx, v.y_scale > 0.f && v.x_scale > 0.f && v.h_scale > 0.f && v.w_scale > 0.f,
                   "y_scale, x_scale, h_scale, w_scale (%g, %g, %g, %g) must be > 0", static_cast<double>(v.y_scale),
                   static_cast<double>(v.x_scale), static_cast<double>(v.h_scale), static_cast<double>(v.w_scale));
    opt_ = v;
    return kTfLiteOk;
  }

  static TfLiteStatus CheckInput(OpContext& ctx, const TfLiteTensor* t) {
    if (t->type == kTfLiteFloat32) return kTfLiteOk;
    if (t->type != kTfLiteUInt8 && t->type != kTfLiteInt8)
      return ctx.ErrorStatus(kTfLiteUnresolvedOps, "input '%s' has type %s; this kernel takes FLOAT32, UINT8, INT8",
                             t->name.c_str(), TypeName(t->type));
    float scale;
    int32_t zero_point;
    return qp::PerTensor(ctx, t, &scale, &zero_point);
  }

  static Reader MakeReader(const TfLiteTensor* t) {
    Reader r;
    r.data = t->data;
    r.type = t->type;
    if (t->type != kTfLiteFloat32) {
      r.scale = t->quant.scale[0];
      r.zero_point = t->quant.zero_point.empty() ? 0 : static_cast<int32_t>(t->quant.zero_point[0]);
    }
    return r;
  }

  TfLiteStatus Decode(OpContext& ctx, Corners* out) const {
    const Reader enc = MakeReader(ctx.input(0));
    const Reader anc = MakeReader(ctx.input(2));
    const double sy = opt_.y_scale, sx = opt_.x_scale, sh = opt_.h_scale, sw = opt_.w_scale;
    for (int32_t i = 0; i < num_anchors_; ++i) {
      const int64_t e = static_cast<int64_t>(i) * box_stride_;
      const int64_t a = static_cast<int64_t>(i) * 4;
      const double y = enc(e), x = enc(e + 1), h = enc(e + 2), w = enc(e + 3);
      const double ay = anc(a), ax = anc(a + 1), ah = anc(a + 2), aw = anc(a + 3);
      const float yc = static_cast<float>(y / sy * ah + ay);
      const float xc = static_cast<float>(x / sx * aw + ax);
      const float half_h = static_cast<float>(0.5 * std::exp(h / sh) * ah);
      const float half_w = static_cast<float>(0.5 * std::exp(w / sw) * aw);
      Corners& c = out[i];
      c.ymin = yc - half_h;
      c.xmin = xc - half_w;
      c.ymax = yc + half_h;
      c.xmax = xc + half_w;
      if (c.ymin > c.ymax || c.xmin > c.xmax)
        return ctx.Error("decoded box %d is inverted (ymin %g > ymax %g or xmin %g > xmax %g): a negative anchor "
                         "height or width?",
                         i, static_cast<double>(c.ymin), static_cast<double>(c.ymax), static_cast<double>(c.xmin),
                         static_cast<double>(c.xmax));
    }
    return kTfLiteOk;
  }

  // NMS over one score per anchor; writes up to `limit` anchor indices to
  // `selected` in selection order and returns their count.
  int SingleClassNms(OpContext& ctx, const Corners* boxes, const float* score, int limit, int32_t* selected) const {
    int32_t* order = static_cast<int32_t*>(ctx.Scratch(scratch_order_));
    uint8_t* active = static_cast<uint8_t*>(ctx.Scratch(scratch_active_));
    int kept = 0;
    for (int32_t i = 0; i < num_anchors_; ++i) {
      if (score[i] >= opt_.score_threshold) order[kept++] = i;
    }
    // Descending score, ties by anchor index: what a stable sort of the kept
    // anchors gives (the comparison is a strict total order on kept scores,
    // which are never NaN).
    std::sort(order, order + kept, [score](int32_t a, int32_t b) {
      return score[a] > score[b] || (score[a] == score[b] && a < b);
    });
    const int wanted = std::min(kept, limit);
    std::memset(active, 1, static_cast<size_t>(kept));
    int remaining = kept;
    int count = 0;
    for (int i = 0; i < kept && remaining > 0 && count < wanted; ++i) {
      if (!active[i]) continue;
      active[i] = 0;
      remaining--;
      selected[count++] = order[i];
      const Corners& b = boxes[order[i]];
      for (int j = i + 1; j < kept; ++j) {
        if (active[j] && IoU(b, boxes[order[j]]) > opt_.iou_threshold) {
          active[j] = 0;
          remaining--;
        }
      }
    }
    return count;
  }

  int FastNms(OpContext& ctx, const Corners* boxes, const float* scores) const {
    float* best = static_cast<float*>(ctx.Scratch(scratch_candidate_));
    int32_t* top = static_cast<int32_t*>(ctx.Scratch(scratch_top_));
    int32_t* rank = static_cast<int32_t*>(ctx.Scratch(scratch_rank_));
    const int32_t nc = opt_.num_classes;
    for (int32_t a = 0; a < num_anchors_; ++a) {
      const float* s = scores + static_cast<int64_t>(a) * columns_ + label_offset_;
      int32_t* t = top + static_cast<int64_t>(a) * top_k_;
      if (top_k_ == 1) {
        int32_t arg = 0;  // first of the highest
        for (int32_t c = 1; c < nc; ++c) {
          if (s[c] > s[arg]) arg = c;
        }
        t[0] = arg;
      } else {
        for (int32_t c = 0; c < nc; ++c) rank[c] = c;
        HeapRank{s}.PartialSort(rank, top_k_, nc);
        std::memcpy(t, rank, static_cast<size_t>(top_k_) * sizeof(int32_t));
      }
      best[a] = s[t[0]];
    }
    int32_t* selected = static_cast<int32_t*>(ctx.Scratch(scratch_selected_));
    const int count = SingleClassNms(ctx, boxes, best, opt_.max_detections, selected);
    Corners* out_boxes = ctx.output(0)->data_as<Corners>();
    float* out_classes = ctx.output(1)->data_as<float>();
    float* out_scores = ctx.output(2)->data_as<float>();
    for (int i = 0; i < count; ++i) {
      const int32_t a = selected[i];
      const float* s = scores + static_cast<int64_t>(a) * columns_ + label_offset_;
      const int32_t* t = top + static_cast<int64_t>(a) * top_k_;
      for (int j = 0; j < top_k_; ++j) {
        const int64_t row = static_cast<int64_t>(i) * opt_.max_classes_per_detection + j;
        out_boxes[row] = boxes[a];
        out_classes[row] = static_cast<float>(t[j]);
        out_scores[row] = s[t[j]];
      }
    }
    return count;
  }

  int RegularNms(OpContext& ctx, const Corners* boxes, const float* scores) const {
    float* class_scores = static_cast<float*>(ctx.Scratch(scratch_candidate_));
    int32_t* selected = static_cast<int32_t*>(ctx.Scratch(scratch_selected_));
    Candidate* list = static_cast<Candidate*>(ctx.Scratch(scratch_list_));
    Candidate* merged = static_cast<Candidate*>(ctx.Scratch(scratch_merge_));
    const int max_det = opt_.max_detections;
    int size = 0;
    for (int32_t c = 0; c < opt_.num_classes; ++c) {
      const float* column = scores + label_offset_ + c;
      for (int32_t a = 0; a < num_anchors_; ++a) class_scores[a] = column[static_cast<int64_t>(a) * columns_];
      const int picked = SingleClassNms(ctx, boxes, class_scores, per_class_, selected);
      if (picked == 0) continue;
      // Merge by descending score; on a tie the earlier classes stay first.
      int i = 0, j = 0, n = 0;
      const int total = std::min(size + picked, max_det);
      while (n < total) {
        const bool take_new = j < picked && (i >= size || class_scores[selected[j]] > list[i].score);
        if (take_new) {
          merged[n++] = Candidate{selected[j], c, class_scores[selected[j]]};
          ++j;
        } else {
          merged[n++] = list[i++];
        }
      }
      std::memcpy(list, merged, static_cast<size_t>(total) * sizeof(Candidate));
      size = total;
    }
    Corners* out_boxes = ctx.output(0)->data_as<Corners>();
    float* out_classes = ctx.output(1)->data_as<float>();
    float* out_scores = ctx.output(2)->data_as<float>();
    for (int i = 0; i < size; ++i) {
      out_boxes[i] = boxes[list[i].anchor];
      out_classes[i] = static_cast<float>(list[i].cls);
      out_scores[i] = list[i].score;
    }
    return size;
  }

  Options opt_;
  int32_t num_anchors_ = 0, box_stride_ = 4, columns_ = 0, label_offset_ = 0;
  int32_t top_k_ = 1, per_class_ = 1;
  int scratch_decoded_ = -1, scratch_scores_ = -1, scratch_candidate_ = -1, scratch_order_ = -1;
  int scratch_active_ = -1, scratch_selected_ = -1, scratch_list_ = -1, scratch_merge_ = -1;
  int scratch_top_ = -1, scratch_rank_ = -1;
};

}  // namespace

TFC_REGISTER_CUSTOM_OP("TFLite_Detection_PostProcess", DetectionPostProcess, 1, 1, DetectionPostProcess);

}  // namespace tfc
