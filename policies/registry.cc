#include "policies/registry.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "policies/categorical.h"
#include "policies/deterministic.h"
#include "policies/gaussian.h"
#include "policies/per_agent.h"

namespace rill::policies {
namespace {

template <typename P>
absl::StatusOr<std::unique_ptr<Policy>> Make(const v1::PolicySpec& spec, uint64_t seed) {
  ASSIGN_OR_RETURN(std::unique_ptr<P> policy, P::Create(spec, seed));
  return std::unique_ptr<Policy>(std::move(policy));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Policy>> MakePolicy(const v1::PolicySpec& spec, uint64_t seed) {
  ASSIGN_OR_RETURN(const PolicyKind kind, KindOf(spec));
  switch (kind) {
    case PolicyKind::kGaussian:
      return Make<GaussianPolicy>(spec, seed);
    case PolicyKind::kDeterministic:
      return Make<DeterministicPolicy>(spec, seed);
    case PolicyKind::kCategorical:
      return Make<CategoricalPolicy>(spec, seed);
    case PolicyKind::kPerAgent: {
      ASSIGN_OR_RETURN(std::unique_ptr<PerAgentPolicy> policy, PerAgentPolicy::Create(spec, seed, &MakePolicy));
      return std::unique_ptr<Policy>(std::move(policy));
    }
  }
  return absl::InternalError("unreachable policy kind");
}

absl::StatusOr<std::unique_ptr<Policy>> PolicyFromParameters(const v1::ParameterSet& params, uint64_t seed) {
  ASSIGN_OR_RETURN(std::unique_ptr<Policy> policy, MakePolicy(params.policy(), seed));
  RETURN_IF_ERROR(policy->LoadParameters(params));
  return policy;
}

}  // namespace rill::policies
