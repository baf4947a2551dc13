#include "learner/algorithms/registry.h"

#include "absl/strings/str_cat.h"
#include "learner/algorithms/crossq.h"
#include "learner/algorithms/droq.h"
#include "learner/algorithms/drqv2.h"
#include "learner/algorithms/dsac_t.h"
#include "learner/algorithms/impala.h"
#include "learner/algorithms/maddpg.h"
#include "learner/algorithms/ppo.h"
#include "learner/algorithms/sac.h"
#include "learner/algorithms/simbav2.h"
#include "learner/algorithms/sac_discrete.h"
#include "learner/algorithms/spec.h"
#include "learner/algorithms/td3.h"

namespace rill::learner {
namespace {

// An algorithm's factory, keyed by the oneof case of its spec row.
struct Factory {
  v1::LearnerConfig::AlgorithmCase config_case;
  absl::StatusOr<std::unique_ptr<Algorithm>> (*create)(const AlgorithmContext& context);
};

// One line per algorithm (its name and rules are its AlgorithmSpecs() row).
constexpr Factory kFactories[] = {
    {v1::LearnerConfig::kSac, &Sac::FromConfig},
    {v1::LearnerConfig::kTd3, &Td3::FromConfig},
    {v1::LearnerConfig::kDdpg, &Td3::FromConfig},
    {v1::LearnerConfig::kSacDiscrete, &SacDiscrete::FromConfig},
    {v1::LearnerConfig::kImpala, &Impala::FromConfig},
    {v1::LearnerConfig::kPpo, &Ppo::FromConfig},
    {v1::LearnerConfig::kDrqv2, &DrqV2::FromConfig},
    {v1::LearnerConfig::kMaddpg, &Maddpg::FromConfig},
    {v1::LearnerConfig::kDsacT, &DsacT::FromConfig},
    {v1::LearnerConfig::kDroq, &Droq::FromConfig},
    {v1::LearnerConfig::kCrossq, &CrossQ::FromConfig},
    {v1::LearnerConfig::kSimbav2, &SimbaV2::FromConfig},
};

}  // namespace

absl::StatusOr<std::unique_ptr<Algorithm>> CreateAlgorithm(const AlgorithmContext& context) {
  const v1::LearnerConfig::AlgorithmCase config_case = context.config.learner().algorithm_case();
  for (const Factory& factory : kFactories) {
    if (factory.config_case == config_case) return factory.create(context);
  }
  if (absl::StatusOr<const AlgorithmSpec*> spec = FindAlgorithmSpec(context.config.learner()); spec.ok()) {
    return absl::InternalError(
        absl::StrCat("algorithm ", (*spec)->name, " has a spec row but no factory in learner/algorithms/registry.cc"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("config field learner.algorithm: no algorithm is selected (known: ", KnownAlgorithmNames(), ")"));
}

}  // namespace rill::learner
