#include "policies/registry.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "policies/categorical.h"
#include "policies/deterministic.h"
#include "policies/gaussian.h"

namespace rill::policies {
namespace {

template <typename P>
absl::StatusOr<std::unique_ptr<Policy>> Make(const v1::PolicySpec& spec, uint64_t seed) {
  ASSIGN_OR_RETURN(std::unique_ptr<P> policy, P::Create(spec, seed));
  return std::unique_ptr<Policy>(std::move(policy));
}

struct Entry {
  const char* kind;
  absl::StatusOr<std::unique_ptr<Policy>> (*make)(const v1::PolicySpec&, uint64_t);
};

// One line per policy kind.
constexpr Entry kEntries[] = {
    {GaussianPolicy::kKind, &Make<GaussianPolicy>},
    {DeterministicPolicy::kKind, &Make<DeterministicPolicy>},
    {CategoricalPolicy::kKind, &Make<CategoricalPolicy>},
};

}  // namespace

absl::StatusOr<std::unique_ptr<Policy>> MakePolicy(const v1::PolicySpec& spec, uint64_t seed) {
  for (const Entry& entry : kEntries) {
    if (spec.kind() == entry.kind) return entry.make(spec, seed);
  }
  return absl::InvalidArgumentError(absl::StrCat("policy spec kind: '", spec.kind(),
                                                 "' is unknown (known: gaussian, deterministic, categorical)"));
}

absl::StatusOr<std::unique_ptr<Policy>> PolicyFromParameters(const v1::ParameterSet& params, uint64_t seed) {
  ASSIGN_OR_RETURN(std::unique_ptr<Policy> policy, MakePolicy(params.policy(), seed));
  RETURN_IF_ERROR(policy->LoadParameters(params));
  return policy;
}

}  // namespace rill::policies
