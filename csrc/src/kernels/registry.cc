// The op registry: kernels register themselves (TFC_REGISTER_OP) at static
// initialization; the interpreter looks them up by builtin code and version.
#include <cstring>
#include <vector>

#include "kernels/kernel.h"

namespace tfc {
namespace {

std::vector<OpRegistration>& Registry() {
  // Never destroyed: kernels of other static objects may still look ops up at exit.
  static auto* registry = new std::vector<OpRegistration>();
  return *registry;
}

}  // namespace

bool RegisterOp(const OpRegistration& registration) {
  Registry().push_back(registration);
  return true;
}

const OpRegistration* FindOp(int32_t builtin_code, int version) {
  for (const OpRegistration& r : Registry()) {
    if (r.builtin_code == builtin_code && !r.custom_name && version >= r.min_version && version <= r.max_version)
      return &r;
  }
  return nullptr;
}

const OpRegistration* FindCustomOp(const char* name, int version) {
  if (!name) return nullptr;
  for (const OpRegistration& r : Registry()) {
    if (r.custom_name && strcmp(r.custom_name, name) == 0 && version >= r.min_version && version <= r.max_version)
      return &r;
  }
  return nullptr;
}

const char* BuiltinName(int32_t builtin_code) {
  if (builtin_code < 0 || builtin_code > fb::BuiltinOperator_MAX) return "UNKNOWN";
  const char* name = fb::EnumNameBuiltinOperator(static_cast<fb::BuiltinOperator>(builtin_code));
  return (name && *name) ? name : "UNKNOWN";
}

}  // namespace tfc
