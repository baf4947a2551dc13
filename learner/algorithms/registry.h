// Creates the algorithm a finalized experiment config selects
// (learner.algorithm): the learner, the benchmark and tests create
// algorithms only through here. A new algorithm is one class with a static
// FromConfig, its row in AlgorithmSpecs() (spec.cc: its name, from the
// oneof, and its rules) and the line in registry.cc that ties FromConfig to
// the row's oneof case. The factories stay out of the spec because the spec
// links no LibTorch (replay shards and config tools read it).
//
// Thread-safe free function.
#ifndef RILL_LEARNER_ALGORITHMS_REGISTRY_H_
#define RILL_LEARNER_ALGORITHMS_REGISTRY_H_

#include <memory>

#include "absl/status/statusor.h"
#include "learner/algorithms/context.h"
#include "learner/algorithms/interface.h"

namespace rill::learner {

// InvalidArgument naming the field when the config's algorithm cannot be
// built (it should have been finalized); FailedPrecondition for an
// unavailable device.
absl::StatusOr<std::unique_ptr<Algorithm>> CreateAlgorithm(const AlgorithmContext& context);

}  // namespace rill::learner

#endif  // RILL_LEARNER_ALGORITHMS_REGISTRY_H_
