#include "arena.h"

#include <algorithm>
#include <numeric>

namespace tfc {

size_t PlanArena(const std::vector<ArenaRequest>& requests, size_t align, std::vector<size_t>* offsets) {
  const size_t n = requests.size();
  offsets->assign(n, 0);
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (requests[a].bytes != requests[b].bytes) return requests[a].bytes > requests[b].bytes;
    return requests[a].first < requests[b].first;
  });
  auto round_up = [align](size_t x) { return (x + align - 1) / align * align; };
  std::vector<size_t> placed;  // request indices, in placement order
  std::vector<std::pair<size_t, size_t>> busy;  // [offset, end) of live neighbours
  size_t total = 0;
  for (size_t idx : order) {
    const ArenaRequest& r = requests[idx];
    const size_t size = round_up(r.bytes);
    busy.clear();
    for (size_t p : placed) {
      const ArenaRequest& q = requests[p];
      if (q.last < r.first || r.last < q.first) continue;
      busy.emplace_back((*offsets)[p], (*offsets)[p] + round_up(q.bytes));
    }
    std::sort(busy.begin(), busy.end());
    size_t candidate = 0;
    for (const auto& [begin, end] : busy) {
      if (candidate + size <= begin) break;
      candidate = std::max(candidate, end);
    }
    (*offsets)[idx] = candidate;
    placed.push_back(idx);
    total = std::max(total, candidate + size);
  }
  return total;
}

}  // namespace tfc
