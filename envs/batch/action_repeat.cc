#include "envs/batch/action_repeat.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "envs/action_repeat.h"

namespace rill::envs {

absl::StatusOr<std::unique_ptr<ActionRepeatBatch>> ActionRepeatBatch::Create(std::unique_ptr<EnvBatch> batch,
                                                                             int repeat) {
  ASSIGN_OR_RETURN(EnvSpec spec, ActionRepeatedSpec(batch->spec(), repeat));
  if (repeat < 2) {
    return absl::InvalidArgumentError(absl::StrCat("an action repeat of ", repeat, " repeats nothing"));
  }
  if (!batch->row_control()) {
    return absl::FailedPreconditionError(
        absl::StrCat(batch->spec().name, "'s envs cannot repeat actions: their batch cannot step chosen rows"));
  }
  return std::unique_ptr<ActionRepeatBatch>(new ActionRepeatBatch(std::move(batch), std::move(spec), repeat));
}

ActionRepeatBatch::ActionRepeatBatch(std::unique_ptr<EnvBatch> batch, EnvSpec spec, int repeat)
    : EnvBatch(std::move(spec), batch->size()),
      batch_(std::move(batch)),
      repeat_(repeat),
      going_(static_cast<size_t>(size())),
      rewards_(static_cast<size_t>(size())),
      terminated_(static_cast<size_t>(size())),
      truncated_(static_cast<size_t>(size())),
      masked_(static_cast<size_t>(size())) {}

absl::Status ActionRepeatBatch::StepRows(const uint8_t* step, bool defer_resets, const float* actions,
                                         const EnvBatchOutput& out) {
  const int n = size();
  out.failures->clear();
  if (out.env_episodes != nullptr) out.env_episodes->clear();
  for (int i = 0; i < n; ++i) {
    going_[i] = step[i];
    if (step[i] == 0) continue;
    out.rewards[i] = 0;
    out.terminated[i] = 0;
    out.truncated[i] = 0;
    out.masked[i] = 0;
  }
  // The wrapped batch writes observations and final observations straight
  // into the caller's rows; the flags and rewards of each repeat here.
  EnvBatchOutput once = out;
  once.rewards = rewards_.data();
  once.terminated = terminated_.data();
  once.truncated = truncated_.data();
  once.masked = masked_.data();
  once.failures = &failures_;
  once.env_episodes = out.env_episodes != nullptr ? &env_episodes_ : nullptr;
  for (int k = 0; k < repeat_; ++k) {
    if (std::none_of(going_.begin(), going_.end(), [](uint8_t going) { return going != 0; })) break;
    RETURN_IF_ERROR(batch_->StepRows(going_.data(), defer_resets, actions, once));
    for (const EnvFailure& failure : failures_) {
      out.failures->push_back(failure);
      going_[failure.index] = 0;
      out.truncated[failure.index] = truncated_[failure.index];
    }
    for (int i = 0; i < n; ++i) {
      if (going_[i] == 0) continue;
      out.rewards[i] += rewards_[i];
      if (terminated_[i] != 0 || truncated_[i] != 0) {
        out.terminated[i] = terminated_[i];
        out.truncated[i] = truncated_[i];
        going_[i] = 0;
      }
    }
    if (out.env_episodes != nullptr) {
      out.env_episodes->insert(out.env_episodes->end(), env_episodes_.begin(), env_episodes_.end());
    }
  }
  // A failed row's reward is 0, whatever its repeats before the failure
  // earned (the caller drops that row's step).
  for (const EnvFailure& failure : *out.failures) out.rewards[failure.index] = 0;
  // Each failed row once (a broken stream fails every row again).
  std::stable_sort(out.failures->begin(), out.failures->end(),
                   [](const EnvFailure& a, const EnvFailure& b) { return a.index < b.index; });
  out.failures->erase(std::unique(out.failures->begin(), out.failures->end(),
                                  [](const EnvFailure& a, const EnvFailure& b) { return a.index == b.index; }),
                      out.failures->end());
  if (out.env_episodes != nullptr) {
    std::sort(out.env_episodes->begin(), out.env_episodes->end(),
              [](const EnvEpisodeFigures& a, const EnvEpisodeFigures& b) { return a.first_row < b.first_row; });
  }
  return absl::OkStatus();
}

}  // namespace rill::envs
