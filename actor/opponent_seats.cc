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

absl::Status OpponentSeats::Act(LockstepEnvs& envs, bool deterministic, const absl::Notification& stop) {
  const ActionBuffers out = envs.buffers();
  const ObservationRows all = envs.observation_rows();
  const size_t obs_bytes = static_cast<size_t>(envs.obs_bytes());
  const int act_dim = envs.act_dim();
  // Each distinct opponent once, over all of its rows.
  std::vector<FixedPolicySource*> done;
  for (FixedPolicySource* policy : opponents_) {
    if (policy == nullptr || std::find(done.begin(), done.end(), policy) != done.end()) continue;
    done.push_back(policy);
    if (policy->state_size() > 0) {
      return absl::FailedPreconditionError(absl::StrCat("opponent version ", policy->version(),
                                                        " is recurrent; opponents must be feed-forward policies"));
    }
    rows_.clear();
    for (int e = 0; e < num_envs(); ++e) {
      if (opponents_[e] == policy) rows_.push_back(e * players_ + seats_[e]);
    }
    const int m = static_cast<int>(rows_.size());
    observations_.resize(m * obs_bytes);
    episode_start_.resize(m);
    for (int r = 0; r < m; ++r) {
      std::memcpy(&observations_[r * obs_bytes], envs.obs_row(rows_[r]), obs_bytes);
      episode_start_[r] = all.episode_start != nullptr ? all.episode_start[rows_[r]] : 0;
    }
    ActionBuffers mine;
    actions_.resize(static_cast<size_t>(m) * act_dim);
    action_indices_.resize(m);
    mine.actions = actions_.data();
    mine.action_indices = action_indices_.data();
    mine.action_dim = out.action_dim;
    const ObservationRows rows{observations_.data(), all.type, m, all.obs_dim, episode_start_.data()};
    RETURN_IF_ERROR(policy->Act(rows, deterministic, /*behaviour=*/false, stop, mine));
    for (int r = 0; r < m; ++r) {
      const int row = rows_[r];
      if (envs.spec().discrete) {
        out.action_indices[row] = action_indices_[r];
      } else {
        std::copy_n(&actions_[static_cast<size_t>(r) * act_dim], act_dim, &out.actions[static_cast<size_t>(row) * act_dim]);
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace rill::actor
