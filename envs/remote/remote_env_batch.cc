#include "envs/remote/remote_env_batch.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "envs/remote/spaces.h"

namespace rill::envs {

absl::StatusOr<std::unique_ptr<RemoteEnvBatch>> RemoteEnvBatch::Create(Options options) {
  std::unique_ptr<RemoteEnvBatch> batch(new RemoteEnvBatch(std::move(options)));
  RETURN_IF_ERROR(batch->Open());
  return batch;
}

RemoteEnvBatch::RemoteEnvBatch(Options options)
    : EnvBatch(options.spec, options.num_envs),
      options_(std::move(options)),
      obs_bytes_(static_cast<size_t>(spec().obs_bytes())) {}

absl::Status RemoteEnvBatch::Open() {
  remote_.reset();
  const std::string& address = options_.address;
  // The first stream seeds instance i with base_seed + i + 1, as local envs
  // are; each later one moves on by num_envs.
  const uint64_t seed = options_.base_seed + static_cast<uint64_t>(opened_) * static_cast<uint64_t>(size());
  ASSIGN_OR_RETURN(std::unique_ptr<RemoteEnvs> opened,
                   RemoteEnvs::OpenWithBackoff(address, size(), seed, options_.reconnect_seconds, options_.transport,
                                               opened_ == 0));
  if (opened->multi_agent()) {
    return absl::FailedPreconditionError(absl::StrCat("env server at ", address, " (", opened->spec().name,
                                                      ") serves multi-agent envs; the config names a single-agent "
                                                      "env"));
  }
  if (std::optional<std::string> difference = SpaceDifference(opened->spec(), spec())) {
    return absl::FailedPreconditionError(
        absl::StrCat("env server at ", address, " (", opened->spec().name, ") announces ", *difference));
  }
  remote_ = std::move(opened);
  ++opened_;
  fresh_ = true;
  return absl::OkStatus();
}

absl::Status RemoteEnvBatch::Reset(uint8_t* observations) {
  if (!fresh_) RETURN_IF_ERROR(Open());
  const std::vector<uint8_t>& first = remote_->first_observations();
  std::copy(first.begin(), first.end(), observations);
  return absl::OkStatus();
}

absl::StatusOr<int> RemoteEnvBatch::Step(int /*active*/, const float* actions, const EnvBatchOutput& out) {
  RETURN_IF_ERROR(StepStream(actions, nullptr, false, out));
  return size();
}

absl::Status RemoteEnvBatch::StepRows(const uint8_t* step, bool defer_resets, const float* actions,
                                      const EnvBatchOutput& out) {
  if (!row_control()) {
    return absl::FailedPreconditionError(absl::StrCat("the env server at ", options_.address,
                                                      " cannot step chosen envs: it announced no row control"));
  }
  return StepStream(actions, step, defer_resets, out);
}

absl::Status RemoteEnvBatch::Reopen(const absl::Status& why, uint8_t* observations, std::vector<EnvFailure>* failures) {
  // The server went away (or broke the protocol): every instance starts
  // over on a new stream.
  RILL_LOG(WARNING) << why.message() << "; reconnecting";
  RETURN_IF_ERROR(Open());
  fresh_ = false;
  const std::vector<uint8_t>& first = remote_->first_observations();
  std::copy(first.begin(), first.end(), observations);
  for (int i = 0; i < size(); ++i) failures->push_back(EnvFailure{i, std::string(why.message())});
  return absl::OkStatus();
}

absl::Status RemoteEnvBatch::StepStream(const float* actions, const uint8_t* step, bool defer_resets,
                                        const EnvBatchOutput& out) {
  out.failures->clear();
  fresh_ = false;
  const int n = size();
  absl::Status stepped =
      remote_ != nullptr ? remote_->Step(actions, &step_, step, defer_resets) : absl::UnavailableError("no stream");
  if (!stepped.ok()) {
    RETURN_IF_ERROR(Reopen(stepped, out.observations, out.failures));
    for (int i = 0; i < n; ++i) {
      out.rewards[i] = 0;
      out.terminated[i] = 0;
      out.truncated[i] = 1;
      out.masked[i] = 0;
    }
    return absl::OkStatus();
  }
  for (int i = 0; i < n; ++i) {
    if (step != nullptr && step[i] == 0) continue;  // left as it was
    std::copy_n(&step_.observations[i * obs_bytes_], obs_bytes_, out.observations + i * obs_bytes_);
    out.rewards[i] = step_.rewards[i];
    out.terminated[i] = step_.terminated[i] != 0 ? 1 : 0;
    out.truncated[i] = step_.truncated[i] != 0 && step_.terminated[i] == 0 ? 1 : 0;
    out.masked[i] = 0;
  }
  for (size_t k = 0; k < step_.final_indices.size(); ++k) {
    std::copy_n(&step_.final_observations[k * obs_bytes_], obs_bytes_,
                out.final_observations + static_cast<size_t>(step_.final_indices[k]) * obs_bytes_);
  }
  // The server names each failed instance once, in any order.
  for (const RemoteEnvError& error : step_.errors) {
    out.failures->push_back(EnvFailure{error.env_index, absl::StrCat(error.field, ": ", error.message)});
    out.rewards[error.env_index] = 0;
  }
  std::sort(out.failures->begin(), out.failures->end(),
            [](const EnvFailure& a, const EnvFailure& b) { return a.index < b.index; });
  return absl::OkStatus();
}

absl::Status RemoteEnvBatch::ResetRows(const uint8_t* reset, uint8_t* observations, std::vector<EnvFailure>* failures) {
  failures->clear();
  if (!row_control()) {
    return absl::FailedPreconditionError(absl::StrCat("the env server at ", options_.address,
                                                      " cannot reset chosen envs: it announced no row control"));
  }
  reset_indices_.clear();
  for (int i = 0; i < size(); ++i) {
    if (reset[i] != 0) reset_indices_.push_back(i);
  }
  absl::Status done = remote_ != nullptr ? remote_->ResetSome(reset_indices_, &reset_observations_, &reset_errors_)
                                         : absl::UnavailableError("no stream");
  if (!done.ok()) return Reopen(done, observations, failures);
  for (size_t k = 0; k < reset_indices_.size(); ++k) {
    std::copy_n(&reset_observations_[k * obs_bytes_], obs_bytes_,
                observations + static_cast<size_t>(reset_indices_[k]) * obs_bytes_);
  }
  for (const RemoteEnvError& error : reset_errors_) {
    failures->push_back(EnvFailure{error.env_index, absl::StrCat(error.field, ": ", error.message)});
  }
  std::sort(failures->begin(), failures->end(),
            [](const EnvFailure& a, const EnvFailure& b) { return a.index < b.index; });
  return absl::OkStatus();
}

std::vector<std::string> RemoteEnvBatch::cameras() const {
  return remote_ == nullptr ? std::vector<std::string>{} : remote_->cameras();
}

absl::Status RemoteEnvBatch::Render(int index, int width, int height, const std::string& camera, RgbImage* image) {
  if (remote_ == nullptr) return absl::UnavailableError(absl::StrCat("the env server of ", spec().name, " is not open"));
  ASSIGN_OR_RETURN(*image, remote_->Render(index, width, height, camera));
  return absl::OkStatus();
}

}  // namespace rill::envs
