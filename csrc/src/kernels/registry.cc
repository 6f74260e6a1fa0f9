// The op registry: every kernel file declares its registrations (TFC_REGISTER_OP)
// as constant data in the section tfc_ops, which the linker gathers between
// __start_tfc_ops and __stop_tfc_ops; the interpreter looks kernels up there by
// builtin code and version.
#include <cstring>

#include "kernels/kernel.h"

extern "C" {
// Defined by the linker for a section whose name is a C identifier.
extern const tfc::OpRegistration* const __start_tfc_ops[];  // NOLINT(bugprone-reserved-identifier)
extern const tfc::OpRegistration* const __stop_tfc_ops[];   // NOLINT(bugprone-reserved-identifier)
}

namespace tfc {

const OpRegistration* FindOp(int32_t builtin_code, int version) {
  for (const OpRegistration* const* it = __start_tfc_ops; it != __stop_tfc_ops; ++it) {
    const OpRegistration& r = **it;
    if (r.builtin_code == builtin_code && !r.custom_name && version >= r.min_version && version <= r.max_version)
      return &r;
  }
  return nullptr;
}

const OpRegistration* FindCustomOp(const char* name, int version) {
  if (!name) return nullptr;
  for (const OpRegistration* const* it = __start_tfc_ops; it != __stop_tfc_ops; ++it) {
    const OpRegistration& r = **it;
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
