// OpponentSeats: a two-player game's envs whose players are rows of an
// agent-rows batch (envs/batch/agent_rows.h: env e's player k is row
// e * 2 + k), with one seat of each env played by another policy than the
// one the loop acts with: a past version of it (self-play's opponent pool,
// opponent_pool.h) or another run's checkpoint (the evaluator's and `rill
// eval`'s head-to-head games). The loop's own policy acts on every row
// first; Act then lets each opponent policy act on its rows and writes
// their actions over the loop's. An env whose opponent is "none" has both
// seats played by the loop's policy.
//
// Opponent policies are feed-forward: a recurrent one would see its rows
// gathered in a different order from step to step (FixedPolicySource keeps
// core state by row), so Act refuses it.
//
// Not thread-safe: the step loop owns it.
#ifndef RILL_ACTOR_OPPONENT_SEATS_H_
#define RILL_ACTOR_OPPONENT_SEATS_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "actor/action_sources/fixed.h"
#include "actor/lockstep_envs.h"

namespace rill::actor {

// Buffers one opponent's rows are gathered into for its forward (reused, so
// a warm step allocates nothing).
struct OpponentScratch {
  std::vector<uint8_t> observations;
  std::vector<uint8_t> episode_start;
  std::vector<float> actions;
  std::vector<int64_t> action_indices;
};

// Lets `policy` act (its mode when `deterministic`, a sample otherwise)
// for rows `rows` of `envs`, each read as its first `obs_values` values
// (0: the whole row; float32 observations when fewer), and writes its
// actions over theirs in envs.buffers(). FailedPrecondition for a
// recurrent policy (its rows change from step to step); the policy's
// errors.
absl::Status ActOnRows(FixedPolicySource& policy, const std::vector<int>& rows, int obs_values, bool deterministic,
                       LockstepEnvs& envs, const absl::Notification& stop, OpponentScratch& scratch);

class OpponentSeats {
 public:
  // The seats of `envs`, whose rows are the 2 players of each env.
  // InvalidArgument when its rows are not a two-player game's agent rows
  // (joint rows, an odd row count) or the observations are not float32.
  static absl::StatusOr<OpponentSeats> For(const LockstepEnvs& envs, int players);

  int num_envs() const { return static_cast<int>(opponents_.size()); }
  int players() const { return players_; }
  // Env e's opponent seat from now on is `seat` (0 or 1), played by
  // `policy` (not owned; it outlives the seat); null: none, the loop's own
  // policy plays both seats.
  void Seat(int env, int seat, FixedPolicySource* policy);
  // The seat env e's opponent plays (its other seat is the loop's policy);
  // meaningful only while it has an opponent.
  int opponent_seat(int env) const { return seats_[env]; }
  FixedPolicySource* opponent(int env) const { return opponents_[env]; }
  // Whether row i is an opponent's now: its steps belong to no policy the
  // loop trains or evaluates.
  bool opponent_row(int row) const {
    const int env = row / players_;
    return opponents_[env] != nullptr && row % players_ == seats_[env];
  }

  // After the loop's policy filled every row of envs.buffers(): each
  // opponent policy's actions (its mode when `deterministic`, a sample
  // otherwise) for its rows' observations replace theirs. Errors: a
  // policy's (FailedPrecondition for one that has no version loaded or is
  // recurrent).
  absl::Status Act(LockstepEnvs& envs, bool deterministic, const absl::Notification& stop);

 private:
  OpponentSeats(int num_envs, int players)
      : players_(players), seats_(static_cast<size_t>(num_envs), 1), opponents_(static_cast<size_t>(num_envs)) {}

  int players_;
  std::vector<int> seats_;                     // [num_envs]
  std::vector<FixedPolicySource*> opponents_;  // [num_envs]; null: none
  // One opponent's rows gathered for its forward (reused, so a step
  // allocates nothing once warm).
  std::vector<int> rows_;
  OpponentScratch scratch_;
};

}  // namespace rill::actor

#endif  // RILL_ACTOR_OPPONENT_SEATS_H_
