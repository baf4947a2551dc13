// Creates the algorithm a finalized experiment config selects
// (learner.algorithm): the learner, the benchmark and tests create
// algorithms only through here. A new algorithm is one class with a static
// FromConfig and one line in registry.cc (plus its AlgorithmSpec in spec.cc).
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
