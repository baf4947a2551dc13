// InProcessPolicySource: a policy copy that follows a ParameterStore in the
// same process, with no stream between them: Refresh takes the store's
// newest version, if it is newer than the one in use, before the step that
// asks. What the lock-step run (`rill launch --deterministic`,
// roles/lockstep_run.h) acts with, so that every step acts with exactly the
// version the learner has published by then, whatever the timing.
//
// Not thread-safe: the step loop owns it (the store itself is thread-safe).
#ifndef RILL_ACTOR_ACTION_SOURCES_IN_PROCESS_H_
#define RILL_ACTOR_ACTION_SOURCES_IN_PROCESS_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "actor/action_sources/fixed.h"
#include "actor/action_sources/interface.h"
#include "envs/spec.h"
#include "parameters/parameter_service.h"

namespace rill::actor {

class InProcessPolicySource final : public ActionSource {
 public:
  // `store` outlives the source; `seed` seeds the policy's sampling.
  InProcessPolicySource(parameters::ParameterStore* store, const envs::EnvSpec& env, uint64_t seed)
      : store_(store), policy_(env, seed) {}

  // Loads the store's newest version when it is newer than the one in use:
  // InvalidArgument naming the version when its blob is not a ParameterSet
  // or the policy does not fit the envs.
  absl::Status Refresh() override;
  bool ready() const override { return policy_.ready(); }
  int64_t version() const override { return policy_.version(); }
  const std::vector<int64_t>& pool_versions() const override { return pool_versions_; }
  absl::Status Act(const ObservationRows& observations, bool deterministic, bool behaviour,
                   const absl::Notification& stop, const ActionBuffers& out) override {
    return policy_.Act(observations, deterministic, behaviour, stop, out);
  }

 private:
  parameters::ParameterStore* store_;
  FixedPolicySource policy_;
  std::vector<int64_t> pool_versions_;  // the version taken up's
};

}  // namespace rill::actor

#endif  // RILL_ACTOR_ACTION_SOURCES_IN_PROCESS_H_
