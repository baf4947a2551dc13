// PolicyOpponents: a training actor's side of self-play in a run of
// several policies (config.policies beside config.self_play): each policy
// trains against its opponents' past versions as well as their newest.
//
// Env e trains policy e mod P (P policies, in config order). In it, every
// other policy's agents are opponents: from each of the env's episode
// starts, each such policy q is played by its newest version with
// probability self_play.latest_probability (the actor's own copy of q,
// which acts on every row anyway), otherwise by a uniform pick among q's
// learner pool snapshots (ChooseOpponent), fetched the first time one is
// picked and kept while it stays in q's pool. A snapshot acts on q's rows
// of those envs, reading the first obs_dim values of each as q's own copy
// does (envs::PolicyRowSpec). A snapshot that cannot be fetched (the
// learner away, the pool moved on) leaves that episode to the newest
// version, with a warning: self-play never stops an actor.
//
// Only the trained policy's rows of an env are the run's (trained_row):
// the actor writes items and records episodes for them alone, so each
// policy learns from the envs it trains in, 1 in P of them.
//
// Not thread-safe: the actor's step loop owns it.
#ifndef RILL_ACTOR_POLICY_OPPONENTS_H_
#define RILL_ACTOR_POLICY_OPPONENTS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "actor/action_sources/fixed.h"
#include "actor/lockstep_envs.h"
#include "actor/opponent_pool.h"
#include "actor/opponent_seats.h"
#include "envs/spec.h"
#include "proto/config.pb.h"

namespace rill::actor {

class PolicyOpponents final : public SelfPlayOpponents {
 public:
  // One policy of the run, as its opponents meet it.
  struct Side {
    // Its rows' spec (envs::PolicyRowSpec): what its snapshots are built
    // for, reading the first spec.obs_dim() values of each row.
    envs::EnvSpec spec;
    // Gets one of its pool versions from its learner.
    OpponentPool::Fetch fetch;
  };

  // For `envs`, agent rows whose agent k of every env plays for
  // agent_policy[k]; `sides` in policy order, at least two.
  // InvalidArgument for fewer sides, fewer envs than policies (some policy
  // would train nowhere), rows that are not whole envs, or a map naming a
  // policy it has no side for. `seed` seeds the picks and the snapshots'
  // sampling.
  static absl::StatusOr<std::unique_ptr<PolicyOpponents>> Create(const v1::SelfPlayConfig& config,
                                                                 const LockstepEnvs& envs,
                                                                 std::vector<int> agent_policy,
                                                                 std::vector<Side> sides, uint64_t seed);

  // The policy env `env` trains: env mod P.
  int trained_policy(int env) const { return env % num_policies(); }
  bool trained_row(int row) const override {
    return agent_policy_[static_cast<size_t>(row % agents())] == trained_policy(row / agents());
  }
  int num_policies() const { return static_cast<int>(pools_.size()); }

  // Policy `policy`'s learner pool: snapshots that left it are forgotten
  // once no env is playing them.
  void Update(int policy, const std::vector<int64_t>& pool_versions) override;
  // For every env whose first row starts an episode: each opponent
  // policy's pick (the newest version or a snapshot).
  void PickOpponents(const LockstepEnvs& envs) override;
  // Each snapshot's sampled actions over the rows it plays. Errors: a
  // snapshot's (FailedPrecondition for a recurrent one).
  absl::Status Act(LockstepEnvs& envs, const absl::Notification& stop) override;

  int64_t newest_picks() const override { return newest_picks_; }
  int64_t snapshot_picks() const override { return snapshot_picks_; }
  // The snapshot playing policy `policy` in env `env` now; null for its
  // newest version (and in the env it trains in).
  FixedPolicySource* opponent(int env, int policy) const {
    return opponents_[static_cast<size_t>(env * num_policies() + policy)];
  }

 private:
  // One policy's pool as the actor knows it.
  struct Pool {
    Side side;
    std::vector<int64_t> learner_pool;  // as of the last Update
    std::vector<int64_t> pool;          // learner_pool less what could not be fetched
    std::map<int64_t, std::unique_ptr<FixedPolicySource>> loaded;  // by version
  };

  PolicyOpponents(const v1::SelfPlayConfig& config, int num_envs, std::vector<int> agent_policy,
                  std::vector<Pool> pools, uint64_t seed);
  int agents() const { return static_cast<int>(agent_policy_.size()); }
  // Policy `policy`'s snapshot `version`, fetched the first time; null
  // (warned) when it cannot be had.
  FixedPolicySource* Snapshot(int policy, int64_t version);
  // Lets `snapshot` act for policy `policy`'s rows of the envs it plays in.
  absl::Status ActFor(int policy, FixedPolicySource* snapshot, LockstepEnvs& envs, const absl::Notification& stop);

  v1::SelfPlayConfig config_;
  int num_envs_;
  std::vector<int> agent_policy_;  // [agents per env]
  std::vector<Pool> pools_;        // [P]
  uint64_t seed_;
  std::mt19937_64 rng_;
  std::vector<FixedPolicySource*> opponents_;  // [num_envs, P]; null: the newest
  int64_t newest_picks_ = 0;
  int64_t snapshot_picks_ = 0;
  // One snapshot's rows, gathered for its forward.
  std::vector<int> rows_;
  OpponentScratch scratch_;
};

}  // namespace rill::actor

#endif  // RILL_ACTOR_POLICY_OPPONENTS_H_
