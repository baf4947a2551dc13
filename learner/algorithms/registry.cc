#include "learner/algorithms/registry.h"

#include "absl/strings/str_cat.h"
#include "learner/algorithms/drqv2.h"
#include "learner/algorithms/impala.h"
#include "learner/algorithms/ppo.h"
#include "learner/algorithms/sac.h"
#include "learner/algorithms/sac_discrete.h"
#include "learner/algorithms/spec.h"
#include "learner/algorithms/td3.h"

namespace rill::learner {

absl::StatusOr<std::unique_ptr<Algorithm>> CreateAlgorithm(const AlgorithmContext& context) {
  // One line per algorithm.
  switch (context.config.learner().algorithm_case()) {
    case v1::LearnerConfig::kSac: return Sac::FromConfig(context);
    case v1::LearnerConfig::kTd3: return Td3::FromConfig(context);
    case v1::LearnerConfig::kDdpg: return Td3::FromConfig(context);
    case v1::LearnerConfig::kSacDiscrete: return SacDiscrete::FromConfig(context);
    case v1::LearnerConfig::kImpala: return Impala::FromConfig(context);
    case v1::LearnerConfig::kPpo: return Ppo::FromConfig(context);
    case v1::LearnerConfig::kDrqv2: return DrqV2::FromConfig(context);
    default:
      return absl::InvalidArgumentError(absl::StrCat("config field learner.algorithm: no algorithm is selected (known: ",
                                                     KnownAlgorithmNames(), ")"));
  }
}

}  // namespace rill::learner
