#include "actor/action_sources/row_subset.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace rill::actor {
namespace {

// Row r of `subset` (`width` values each) to row rows[r] of `batch`.
template <typename T>
void ScatterRows(const std::vector<int>& rows, int width, const T* subset, T* batch) {
  for (size_t r = 0; r < rows.size(); ++r) {
    std::copy_n(subset + r * width, width, batch + static_cast<size_t>(rows[r]) * width);
  }
}

}  // namespace

absl::Status RowSubsetSource::Act(const ObservationRows& observations, bool deterministic, bool behaviour,
                                  const absl::Notification& stop, const ActionBuffers& out) {
  const int m = static_cast<int>(rows_.size());
  if (m > 0 && rows_.back() >= observations.rows) {
    return absl::InvalidArgumentError(
        absl::StrCat("row ", rows_.back(), " of this policy is outside the batch of ", observations.rows, " rows"));
  }
  const int obs_dim = obs_dim_ > 0 ? obs_dim_ : observations.obs_dim;
  if (obs_dim > observations.obs_dim) {
    return absl::InvalidArgumentError(absl::StrCat("this policy's rows of ", obs_dim,
                                                   " values are wider than the batch's of ", observations.obs_dim));
  }
  const size_t value_bytes = envs::ObservationTypeBytes(observations.type);
  const size_t batch_row_bytes = static_cast<size_t>(observations.obs_dim) * value_bytes;
  const size_t row_bytes = static_cast<size_t>(obs_dim) * value_bytes;
  observations_.resize(m * row_bytes);
  const auto* all = static_cast<const uint8_t*>(observations.data);
  for (int r = 0; r < m; ++r) std::memcpy(&observations_[r * row_bytes], all + rows_[r] * batch_row_bytes, row_bytes);
  ObservationRows mine{observations_.data(), observations.type, m, obs_dim, nullptr};
  if (observations.episode_start != nullptr) {
    episode_start_.resize(m);
    for (int r = 0; r < m; ++r) episode_start_[r] = observations.episode_start[rows_[r]];
    mine.episode_start = episode_start_.data();
  }
  ActionBuffers answers = out;
  if (out.actions != nullptr) {
    actions_.resize(static_cast<size_t>(m) * out.action_dim);
    answers.actions = actions_.data();
  }
  if (out.action_indices != nullptr) {
    action_indices_.resize(m);
    answers.action_indices = action_indices_.data();
  }
  if (behaviour && out.log_probs != nullptr) {
    log_probs_.resize(m);
    answers.log_probs = log_probs_.data();
  }
  if (behaviour && out.distributions != nullptr) {
    distributions_.resize(static_cast<size_t>(m) * out.distribution_width);
    answers.distributions = distributions_.data();
  }
  if (out.core_states != nullptr) {
    // The rows' states before the step, as the inner source reads them.
    core_states_.resize(static_cast<size_t>(m) * out.state_width);
    answers.core_states = core_states_.data();
  }
  RETURN_IF_ERROR(inner_->Act(mine, deterministic, behaviour, stop, answers));
  if (out.actions != nullptr) ScatterRows(rows_, out.action_dim, actions_.data(), out.actions);
  if (out.action_indices != nullptr) ScatterRows(rows_, 1, action_indices_.data(), out.action_indices);
  if (answers.log_probs != out.log_probs) ScatterRows(rows_, 1, log_probs_.data(), out.log_probs);
  if (answers.distributions != out.distributions) {
    ScatterRows(rows_, out.distribution_width, distributions_.data(), out.distributions);
  }
  if (out.core_states != nullptr) ScatterRows(rows_, out.state_width, core_states_.data(), out.core_states);
  return absl::OkStatus();
}

absl::Status SplitSource::Refresh() {
  for (auto& part : parts_) RETURN_IF_ERROR(part->Refresh());
  return absl::OkStatus();
}

bool SplitSource::ready() const {
  for (const auto& part : parts_) {
    if (!part->ready()) return false;
  }
  return true;
}

absl::Status SplitSource::Act(const ObservationRows& observations, bool deterministic, bool behaviour,
                              const absl::Notification& stop, const ActionBuffers& out) {
  for (auto& part : parts_) RETURN_IF_ERROR(part->Act(observations, deterministic, behaviour, stop, out));
  return absl::OkStatus();
}

std::unique_ptr<ActionSource> ActingTogether(std::vector<std::unique_ptr<ActionSource>> sources,
                                             const std::vector<int>& obs_dims, const std::vector<int>& agent_policy,
                                             int batch_rows) {
  if (sources.size() == 1) return std::move(sources.front());
  std::vector<std::unique_ptr<RowSubsetSource>> parts;
  for (size_t p = 0; p < sources.size(); ++p) {
    parts.push_back(std::make_unique<RowSubsetSource>(RowsOfPolicy(agent_policy, batch_rows, static_cast<int>(p)),
                                                      std::move(sources[p]), obs_dims[p]));
  }
  return std::make_unique<SplitSource>(std::move(parts));
}

std::vector<int> RowsOfPolicy(const std::vector<int>& agent_policy, int batch_rows, int policy) {
  std::vector<int> rows;
  const int agents = static_cast<int>(agent_policy.size());
  if (agents == 0) return rows;
  for (int row = 0; row < batch_rows; ++row) {
    if (agent_policy[row % agents] == policy) rows.push_back(row);
  }
  return rows;
}

}  // namespace rill::actor
