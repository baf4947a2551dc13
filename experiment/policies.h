// The policies section of the experiment config (proto/config.proto's
// PolicyConfig): which of a multi-agent env's agents each policy plays,
// the rules that section puts on the others, and what each policy's
// learner state sees of the config.
//
// A run without a policies section has one policy, named "", that plays
// every agent (or a single-agent env's one agent): the one-policy case of
// the same path, so the functions below answer for it too.
//
// Thread-safe: pure functions.
#ifndef RILL_EXPERIMENT_POLICIES_H_
#define RILL_EXPERIMENT_POLICIES_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "learner/algorithms/spec.h"
#include "proto/config.pb.h"

namespace rill::experiment {

// The run's policies resolved against the env's agents.
struct PolicyMap {
  // Policy names in config order; {""} without a policies section.
  std::vector<std::string> names;
  // Agent k's policy (an index into names), for the rows one env fills
  // (envs::RowsPerEnv: 1 for a single-agent env or joint agents).
  std::vector<int> agent_policy;

  int num_policies() const { return static_cast<int>(names.size()); }
  // Whether the run has a policies section (several learner states).
  bool several() const { return !(names.size() == 1 && names[0].empty()); }
  // The agents (row offsets within an env) policy `policy` plays, in order.
  std::vector<int> AgentsOf(int policy) const;
};

// Whether `name` matches `pattern`: * any run of characters, ? one.
bool AgentPatternMatches(const std::string& pattern, const std::string& name);

// Nothing without a policies section. With one, refuses (InvalidArgument
// naming the field): a bad or repeated name, a pattern that matches no
// agent, an agent no policy plays or two policies play, an env that is not
// multi-agent or whose agents are not rows (env.joint_agents, which MADDPG
// sets), and with self_play (between policies, actor/policy_opponents.h)
// fewer than two policies or fewer actor.num_envs than policies. (With
// topology.num_learners > 1 every rank trains every policy, each policy
// averaging through a subgroup of its own.)
// A policy's agents must share their spaces (envs::PolicyRowSpec).
// A policy's own learner section is merged over `given_learner` (the
// run's learner section as the config gave it, before its defaults),
// finalized for the policy's agents and written back; it must keep the
// actors' duty (`duty`: the same kind of item, synchronous alike) and the
// process's device and threads, and cannot be an algorithm of joint
// agents. Policies whose items differ from the batch's rows' (agents that
// observe differently, or a learner of their own) each get their tables'
// signature from their own items, so replay.tables.signature must be left
// out (or be the one finalization fills in); env.row_agents is the views'
// (PolicyView), never a run's with policies. A synchronous `duty` (PPO)
// needs each policy's learner.batch_size unrolls of its own rows per
// round (with self_play, of the envs it trains in). Call once env,
// learner, actor, topology and self_play are finalized, before replay.
absl::Status FinalizePolicies(v1::ExperimentConfig& config, const learner::ActorDuty& duty,
                              const v1::LearnerConfig& given_learner);

// The map of a finalized config (its env's agents read as
// envs::ConfiguredMultiAgentSpec does).
absl::StatusOr<PolicyMap> ResolvePolicies(const v1::ExperimentConfig& config);

// The replay section a shard serves: every table of config.replay once per
// policy, as each policy's view has it (PolicyView: named for the policy,
// its signature its agents'), policies in config order; config.replay
// itself without a policies section. Errors: PolicyView's.
absl::StatusOr<v1::ReplayConfig> PolicyReplay(const v1::ExperimentConfig& config);

// What policy `name`'s learner state trains with, of a finalized config:
// `config` with no policies section, env.row_agents its agents (the spec
// its networks see: envs::ConfiguredEnvSpec), its own learner section
// where it has one (with the run's learner.num_threads), its replay tables
// named for the policy (replay::PolicyTableName) with their signature its
// own items where they differ from the batch's rows' (agents that observe
// otherwise, a learner of its own) and the first sized for its
// batch_size where finalization sized it (SizeTableForBatch), and its seed
// apart from the other policies' (config.seed + 7919 * index). For the
// unnamed policy, `config` itself. NotFound naming the run's policies for
// a name it has none of.
absl::StatusOr<v1::ExperimentConfig> PolicyView(const v1::ExperimentConfig& config, const std::string& name);

}  // namespace rill::experiment

#endif  // RILL_EXPERIMENT_POLICIES_H_
