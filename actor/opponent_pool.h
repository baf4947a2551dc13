// OpponentPool: a training actor's side of self-play (proto/config.proto's
// SelfPlayConfig). Its envs are a two-player game whose players are agent
// rows; env e's seat e mod 2 is the trained policy's, the other seat its
// opponent's. At each episode's start (PickOpponents) an env's opponent is
// the newest version with probability latest_probability (the actor's own
// policy then plays both seats), otherwise a uniform pick among the
// learner's pool snapshots (ChooseOpponent), fetched from the learner
// the first time one is picked and kept while it stays in the pool. A
// snapshot that cannot be fetched (the learner away, or the pool moved on)
// leaves that episode to the newest version, with a warning: self-play
// never stops an actor.
//
// Only the trained seat's rows are the run's: the actor writes items and
// records episodes for them alone (trained_row).
//
// Not thread-safe: the actor's step loop owns it.
#ifndef RILL_ACTOR_OPPONENT_POOL_H_
#define RILL_ACTOR_OPPONENT_POOL_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "actor/action_sources/fixed.h"
#include "actor/lockstep_envs.h"
#include "actor/opponent_seats.h"
#include "parameters/parameter_client.h"
#include "proto/config.pb.h"

namespace rill::actor {

// An episode's opponent: 0 for the newest version, otherwise the pool
// version picked. The newest with probability `latest_probability` (and
// always when `pool` is empty), otherwise each of `pool` with equal
// probability.
int64_t ChooseOpponent(double latest_probability, const std::vector<int64_t>& pool, std::mt19937_64& rng);

// What a training actor's self-play does, whoever its opponents are: one
// policy against its own past versions (OpponentPool, below), or the
// policies of a run of several against each other's (policy_opponents.h).
// Not thread-safe: the actor's step loop owns it.
class SelfPlayOpponents {
 public:
  virtual ~SelfPlayOpponents() = default;
  // Whether row `row`'s steps are a trained policy's: the actor writes
  // items and records episodes for those rows alone.
  virtual bool trained_row(int row) const = 0;
  // Takes up policy `policy`'s learner pool as of the version the actor
  // acts with (ActionSource::pool_versions; policy in config order, 0
  // alone).
  virtual void Update(int policy, const std::vector<int64_t>& pool_versions) = 0;
  // Picks new opponents for every env that starts an episode in `envs`.
  virtual void PickOpponents(const LockstepEnvs& envs) = 0;
  // After the policies acted on every row: the snapshots' actions on the
  // rows they play (sampled, as in training).
  virtual absl::Status Act(LockstepEnvs& envs, const absl::Notification& stop) = 0;
  // Opponents picked so far: newest versions and pool snapshots.
  virtual int64_t newest_picks() const = 0;
  virtual int64_t snapshot_picks() const = 0;
};

class OpponentPool final : public SelfPlayOpponents {
 public:
  // Gets a pool version from the learner (ParameterClient::FetchVersion, or
  // the store of an in-process run).
  using Fetch = std::function<absl::StatusOr<parameters::ReceivedParameters>(int64_t version)>;

  // For `envs`, a two-player game's agent rows (OpponentSeats::For's
  // errors otherwise); `seed` seeds the picks and the snapshots' sampling.
  static absl::StatusOr<std::unique_ptr<OpponentPool>> Create(const v1::SelfPlayConfig& config,
                                                              const LockstepEnvs& envs, Fetch fetch, uint64_t seed);

  // Whether row `row`'s steps are the trained policy's: the seat env
  // row / 2 trains (row / 2 mod 2).
  bool trained_row(int row) const override { return row % 2 == (row / 2) % 2; }

  // Takes up the learner's pool as of the version the actor acts with
  // (ActionSource::pool_versions): snapshots that left it are forgotten
  // once no env is playing them.
  void Update(const std::vector<int64_t>& pool_versions);
  void Update(int /*policy*/, const std::vector<int64_t>& pool_versions) override { Update(pool_versions); }

  // Picks a new opponent for every env whose row 2e starts an episode in
  // `envs` (after ResetAll, an episode's end, a failed env's reset).
  void PickOpponents(const LockstepEnvs& envs) override;

  // After the trained policy acted on every row: the opponents' actions on
  // theirs (sampled, as in training). OpponentSeats::Act's errors.
  absl::Status Act(LockstepEnvs& envs, const absl::Notification& stop) override {
    return seats_.Act(envs, /*deterministic=*/false, stop);
  }

  // Episodes begun against the newest version and against a snapshot.
  int64_t newest_picks() const override { return newest_picks_; }
  int64_t snapshot_picks() const override { return snapshot_picks_; }
  const OpponentSeats& seats() const { return seats_; }

 private:
  OpponentPool(const v1::SelfPlayConfig& config, OpponentSeats seats, Fetch fetch, envs::EnvSpec spec, uint64_t seed)
      : config_(config), seats_(std::move(seats)), fetch_(std::move(fetch)), spec_(std::move(spec)), seed_(seed),
        rng_(seed) {}
  // Snapshot `version`'s policy, fetched the first time; null (warned)
  // when it cannot be had.
  FixedPolicySource* Snapshot(int64_t version);

  v1::SelfPlayConfig config_;
  OpponentSeats seats_;
  Fetch fetch_;
  envs::EnvSpec spec_;
  uint64_t seed_;
  std::mt19937_64 rng_;
  std::vector<int64_t> learner_pool_;  // as of the last Update
  std::vector<int64_t> pool_;          // learner_pool_ less what could not be fetched
  std::map<int64_t, std::unique_ptr<FixedPolicySource>> loaded_;  // by version
  int64_t newest_picks_ = 0;
  int64_t snapshot_picks_ = 0;
};

}  // namespace rill::actor

#endif  // RILL_ACTOR_OPPONENT_POOL_H_
