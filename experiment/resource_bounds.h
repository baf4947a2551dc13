// The bounds on values that size memory, threads, processes or waits, the
// last step of experiment config finalization (experiment/config.h): a
// config no role could run is refused here, at start-up and naming its
// field, instead of aborting a role with std::bad_alloc or hanging the run
// later (issue 31). Each limit comes from what a component can hold (a gRPC
// message, a sample, an item key) or from this machine (its memory).
//
// Thread-safe: pure functions.
#ifndef RILL_EXPERIMENT_RESOURCE_BOUNDS_H_
#define RILL_EXPERIMENT_RESOURCE_BOUNDS_H_

#include "absl/status/status.h"
#include "envs/spec.h"
#include "learner/algorithms/spec.h"
#include "proto/config.pb.h"

namespace rill::experiment {

// Waits configured in seconds: past a day a run has stopped in practice.
inline constexpr double kMaxConfiguredSeconds = 86400;

// Checks a config whose every section is finalized (`env` its env's spec,
// `algorithm` and `duty` its learner's) against the bounds. InvalidArgument
// naming the field; for memory, the field of the largest part, with every
// part in the message.
absl::Status CheckResourceBounds(const v1::ExperimentConfig& config, const envs::EnvSpec& env,
                                 const learner::AlgorithmSpec& algorithm, const learner::ActorDuty& duty);

}  // namespace rill::experiment

#endif  // RILL_EXPERIMENT_RESOURCE_BOUNDS_H_
