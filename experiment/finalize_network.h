// The network section of the experiment config (experiment/config.h calls
// these in order): its own defaults and rules against the env, then the
// rules between it and the algorithm the learner section selects.
//
// Thread-safe: pure functions.
#ifndef RILL_EXPERIMENT_FINALIZE_NETWORK_H_
#define RILL_EXPERIMENT_FINALIZE_NETWORK_H_

#include "absl/status/status.h"
#include "envs/spec.h"
#include "learner/algorithms/spec.h"
#include "proto/config.pb.h"

namespace rill::experiment {

// Expands network.torso's preset into torso_layers, fills hidden_sizes
// (the preset's usual head, or [256, 256]), checks that the torso fits the
// env's observations and each width is in 1..65536. InvalidArgument naming
// the field.
absl::Status FinalizeNetwork(v1::NetworkConfig& network, const envs::EnvSpec& env);

// That `algorithm` (the finalized `learner` section's) trains the network
// the section describes: a torso where it needs one, none where it trains
// none, a Dict observation of an image and flat leaves only where it trains
// on one, a recurrent core only where it trains one (of 1..4096 units), GELU
// only where it trains GELU MLPs (and on flat observations), and the
// algorithm's own network rules (AlgorithmSpec::check_network).
// InvalidArgument naming the field.
absl::Status CheckNetworkFitsAlgorithm(const v1::NetworkConfig& network, const v1::LearnerConfig& learner,
                                       const envs::EnvSpec& env,
                                       const learner::AlgorithmSpec& algorithm);

}  // namespace rill::experiment

#endif  // RILL_EXPERIMENT_FINALIZE_NETWORK_H_
