// FixedPolicySource: a policy copy that runs the forward of one
// ParameterSet for all the envs' rows at once on OpenBLAS (policies/), with
// no LibTorch. Its parameters change only when its owner loads new ones:
// LocalPolicySource (local.h) loads each version of the learner's
// parameter stream into one, `rill eval` loads a checkpoint's policy once.
// Everything a step needs per row lives here: uint8 observations are scaled
// by 1/255 into a buffer of this object, and a recurrent policy's core
// state is carried per row across steps (and across loads).
//
// Not thread-safe: the step loop owns it.
#ifndef RILL_ACTOR_ACTION_SOURCES_FIXED_H_
#define RILL_ACTOR_ACTION_SOURCES_FIXED_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "actor/action_sources/interface.h"
#include "envs/spec.h"
#include "policies/interface.h"
#include "proto/parameters.pb.h"

namespace rill::actor {

class FixedPolicySource final : public ActionSource {
 public:
  // A copy for envs of `env`; `seed` seeds the policy's sampling. No policy
  // until the first Load.
  FixedPolicySource(envs::EnvSpec env, uint64_t seed);

  // Takes up `parameters` as `version`: builds the policy the first time
  // (or when the spec changed), loads the tensors into it otherwise.
  // InvalidArgument naming the version when it is another kind of policy,
  // sized for another env, or its tensors do not fit its spec; the policy
  // loaded before stays then.
  absl::Status Load(const v1::ParameterSet& parameters, int64_t version);

  // Nothing arrives by itself: the owner calls Load.
  absl::Status Refresh() override { return absl::OkStatus(); }
  // A version has been loaded.
  bool ready() const override { return policy_ != nullptr; }
  int64_t version() const override { return version_; }
  // Floats of core state per row: 0 for a feed-forward policy (or none
  // loaded yet).
  int state_size() const { return policy_ != nullptr ? policy_->state_size() : 0; }
  // FailedPrecondition before the first Load, when `behaviour` is asked of
  // a policy without a behaviour distribution, or when out.core_states asks
  // for the state of a feed-forward policy (or one of another width). A
  // recurrent row's state is zeroed where observations.episode_start says
  // so, and copied to out.core_states before the step when asked. Never
  // blocks; `stop` is not read.
  absl::Status Act(const ObservationRows& observations, bool deterministic, bool behaviour,
                   const absl::Notification& stop, const ActionBuffers& out) override;

 private:
  envs::EnvSpec env_;
  uint64_t seed_;
  std::unique_ptr<policies::Policy> policy_;
  int64_t version_ = 0;
  // What the policy last wrote and, for uint8 envs, the floats it read
  // (reused, so a step allocates nothing).
  policies::PolicyOutput output_;
  std::vector<float> float_observations_;
  // A recurrent policy's core state per row, [rows, state_size].
  std::vector<float> states_;
};

}  // namespace rill::actor

#endif  // RILL_ACTOR_ACTION_SOURCES_FIXED_H_
