// LocalPolicySource: an actor's own copy of the policy (the A3C / IMPALA
// topology, and always the evaluator's). It follows the learner's parameter
// stream through a ParameterClient, takes a new version up between steps
// (Refresh, never blocking the env loop) and runs it on a FixedPolicySource
// (fixed.h: the forward for all the envs at once on OpenBLAS, uint8
// scaling, per-row core state): the actor links no LibTorch. The policy is
// whatever network the learner publishes (its ParameterSet's PolicySpec),
// checked against the env's spaces.
//
// Not thread-safe: the step loop owns it (the ParameterClient receives on
// its own thread).
#ifndef RILL_ACTOR_ACTION_SOURCES_LOCAL_H_
#define RILL_ACTOR_ACTION_SOURCES_LOCAL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "actor/action_sources/fixed.h"
#include "actor/action_sources/interface.h"
#include "envs/spec.h"
#include "parameters/parameter_client.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "proto/parameters.pb.h"

namespace rill::actor {

struct LocalPolicyOptions {
  std::string learner_address;
  // The learner's policy to follow (config.policies); empty: its first, or
  // only, one.
  std::string policy;
  int64_t max_message_bytes = 0;
  // Take versions from the learner's shared region when it is on this host
  // (learner.shared_memory_parameters).
  bool shared_memory = false;
  envs::EnvSpec env;
  // Seeds the policy's sampling.
  uint64_t seed = 0;
  // Each version's delivery delay, from the learner's publish to its
  // receipt, and the version in use; either may be null.
  prometheus::Histogram* parameter_delay_seconds = nullptr;
  prometheus::Gauge* parameter_version = nullptr;
};

// The options of a policy copy for envs of `env` that follows the
// learner's parameter stream at `learner_address`.
LocalPolicyOptions FollowLearner(const std::string& learner_address, int64_t max_message_bytes,
                                 const envs::EnvSpec& env, uint64_t seed, prometheus::Histogram* delay_seconds,
                                 prometheus::Gauge* version);

class LocalPolicySource final : public ActionSource {
 public:
  explicit LocalPolicySource(LocalPolicyOptions options);

  // Loads the newest version received, if any, into the policy copy
  // (FixedPolicySource::Load): InvalidArgument naming the version when it
  // is another kind of policy or sized for another env.
  absl::Status Refresh() override;
  // A version has been taken up.
  bool ready() const override { return policy_.ready(); }
  int64_t version() const override { return policy_.version(); }
  const std::vector<int64_t>& pool_versions() const override { return pool_versions_; }
  // FixedPolicySource::Act, with its errors (FailedPrecondition before the
  // first version).
  absl::Status Act(const ObservationRows& observations, bool deterministic, bool behaviour,
                   const absl::Notification& stop, const ActionBuffers& out) override {
    return policy_.Act(observations, deterministic, behaviour, stop, out);
  }

  // The parameters of the version taken up last (empty before the first):
  // what the evaluator keeps of a version it evaluated, to play later
  // versions against (self-play, evaluator.h).
  const v1::ParameterSet& loaded_parameters() const { return loaded_; }

  // The stream itself: synchronous actors and the evaluator wait on it for
  // the next version.
  parameters::ParameterClient& parameters() { return parameters_; }

 private:
  LocalPolicyOptions options_;
  parameters::ParameterClient parameters_;
  FixedPolicySource policy_;
  std::vector<int64_t> pool_versions_;  // the version taken up's
  v1::ParameterSet loaded_;  // policy_'s version's
};

}  // namespace rill::actor

#endif  // RILL_ACTOR_ACTION_SOURCES_LOCAL_H_
