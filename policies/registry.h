// Builds a Policy from a PolicySpec (the one a ParameterSet carries), so an
// actor, the evaluator and `rill export` construct whatever network the
// learner publishes. A new policy kind is one class and one line in
// registry.cc. No LibTorch (`rill export`'s TorchScript is torch_policy.h).
//
// Thread-safe free functions.
#ifndef RILL_POLICIES_REGISTRY_H_
#define RILL_POLICIES_REGISTRY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "envs/spec.h"
#include "policies/interface.h"
#include "policies/spec.h"  // PolicySpecFor
#include "proto/parameters.pb.h"

namespace rill::policies {

// A policy of `spec` with freshly initialised parameters; `seed` seeds them
// and the policy's own noise generator. InvalidArgument naming the field for
// an unknown kind, non-positive sizes, an lstm_size out of range or without
// a hidden layer, or action bounds that do not match action_dim.
absl::StatusOr<std::unique_ptr<Policy>> MakePolicy(const v1::PolicySpec& spec, uint64_t seed);

// MakePolicy(params.policy()) loaded with `params`.
absl::StatusOr<std::unique_ptr<Policy>> PolicyFromParameters(const v1::ParameterSet& params, uint64_t seed);

}  // namespace rill::policies

#endif  // RILL_POLICIES_REGISTRY_H_
