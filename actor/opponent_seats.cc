#include "actor/opponent_seats.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace rill::actor {

absl::StatusOr<OpponentSeats> OpponentSeats::For(const LockstepEnvs& envs, int players) {
  if (players != 2) {
    return absl::InvalidArgumentError(absl::StrCat("opponent seats are a two-player game's; ", envs.spec().name,
                                                   " has ", players, " agents"));
  }
  if (envs.spec().joint_agents > 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(envs.spec().name, ": opponent seats need the players as rows of their own, not joint rows"));
  }
  if (envs.size() % players != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(envs.size(), " rows are not whole envs of ", players, " players (", envs.spec().name, ")"));
  }
  return OpponentSeats(envs.size() / players, players);
}

void OpponentSeats::Seat(int env, int seat, FixedPolicySource* policy) {
  seats_[env] = seat;
  opponents_[env] = policy;
}

absl::Status ActOnRows(FixedPolicySource& policy, const std::vector<int>& rows, int obs_values, bool deterministic,
                       LockstepEnvs& envs, const absl::Notification& stop, OpponentScratch& scratch) {
  if (policy.state_size() > 0) {
    return absl::FailedPreconditionError(absl::StrCat("opponent version ", policy.version(),
                                                      " is recurrent; opponents must be feed-forward policies"));
  }
  const ObservationRows all = envs.observation_rows();
  const int width = obs_values > 0 ? obs_values : all.obs_dim;
  const size_t row_bytes = static_cast<size_t>(width) * envs::ObservationTypeBytes(all.type);
  const int m = static_cast<int>(rows.size());
  scratch.observations.resize(m * row_bytes);
  scratch.episode_start.resize(m);
  for (int r = 0; r < m; ++r) {
    // The row's first `width` values, as the policy's own copy reads them.
    std::memcpy(&scratch.observations[r * row_bytes], envs.obs_row(rows[r]), row_bytes);
    scratch.episode_start[r] = all.episode_start != nullptr ? all.episode_start[rows[r]] : 0;
  }
  const ActionBuffers out = envs.buffers();
  const int act_dim = envs.act_dim();
  scratch.actions.resize(static_cast<size_t>(m) * act_dim);
  scratch.action_indices.resize(m);
  ActionBuffers mine;
  mine.actions = scratch.actions.data();
  mine.action_indices = scratch.action_indices.data();
  mine.action_dim = out.action_dim;
  const ObservationRows gathered{scratch.observations.data(), all.type, m, width, scratch.episode_start.data()};
  RETURN_IF_ERROR(policy.Act(gathered, deterministic, /*behaviour=*/false, stop, mine));
  for (int r = 0; r < m; ++r) {
    const int row = rows[r];
    if (envs.spec().discrete) {
      out.action_indices[row] = scratch.action_indices[r];
    } else {
      std::copy_n(&scratch.actions[static_cast<size_t>(r) * act_dim], act_dim,
                  &out.actions[static_cast<size_t>(row) * act_dim]);
    }
  }
  return absl::OkStatus();
}

absl::Status OpponentSeats::Act(LockstepEnvs& envs, bool deterministic, const absl::Notification& stop) {
  // Each distinct opponent once, over all of its rows.
  std::vector<FixedPolicySource*> done;
  for (FixedPolicySource* policy : opponents_) {
    if (policy == nullptr || std::find(done.begin(), done.end(), policy) != done.end()) continue;
    done.push_back(policy);
    rows_.clear();
    for (int e = 0; e < num_envs(); ++e) {
      if (opponents_[e] == policy) rows_.push_back(e * players_ + seats_[e]);
    }
    RETURN_IF_ERROR(ActOnRows(*policy, rows_, /*obs_values=*/0, deterministic, envs, stop, scratch_));
  }
  return absl::OkStatus();
}

}  // namespace rill::actor
