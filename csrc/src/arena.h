// The arena planner: places buffers with known lifetimes in one block so that
// buffers whose lifetimes do not overlap share memory.
#pragma once

#include <cstddef>
#include <vector>

namespace tfc {

struct ArenaRequest {
  size_t bytes;
  int first;  // first step (node index) that uses the buffer
  int last;   // last step, inclusive
};

// Greedy by size: the largest buffers are placed first, each at the lowest
// offset that does not collide with an already placed buffer alive at the
// same time. Offsets are multiples of `align`. Returns the arena size.
size_t PlanArena(const std::vector<ArenaRequest>& requests, size_t align, std::vector<size_t>* offsets);

}  // namespace tfc
