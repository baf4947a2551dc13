// RemoteEnvBatch: the EnvBatch of N instances on an env server (env.remote
// in the config), stepped over one RemoteEnvs stream (remote_envs.h).
//
// Create opens the stream, retrying with backoff (100 ms doubling to 5 s)
// while the server is unavailable, for up to the reconnect deadline, and
// checks that the server's spaces are the ones expected (the config's).
// Step steps every instance, whatever `active` says (the server steps them
// all). When the stream breaks in a Step (or a StepRows or ResetRows), the
// batch opens a new one the same way: every row of that Step fails with
// the stream's message and holds the new stream's first observation.
// Row control (StepRows, ResetRows) is the server's: row_control() says
// whether the stream's server announced it (proto/env.proto). Each stream moves the seeds on
// by N, so the first seeds instance i with base_seed + i + 1 as local envs
// are, and later ones differ.
//
// Errors: Create, Reset and Step return Unavailable when the server stays
// away past the reconnect deadline (naming it and env.remote.
// reconnect_seconds), FailedPrecondition for spaces that differ (naming the
// difference), and RemoteEnvs::Open's other errors as they are.
//
// Not thread-safe (see interface.h).
#ifndef RILL_ENVS_REMOTE_REMOTE_ENV_BATCH_H_
#define RILL_ENVS_REMOTE_REMOTE_ENV_BATCH_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "envs/batch/interface.h"
#include "envs/remote/remote_envs.h"
#include "envs/spec.h"

namespace rill::envs {

class RemoteEnvBatch final : public EnvBatch {
 public:
  struct Options {
    std::string address;
    int num_envs = 1;
    uint64_t base_seed = 0;
    // What the server must announce (the config's spaces).
    EnvSpec spec;
    // How long a server may stay away, at the open and at every reconnect:
    // env.remote.reconnect_seconds, which config finalization sets.
    double reconnect_seconds = 0;
    RemoteEnvs::Transport transport = RemoteEnvs::Transport::kSharedMemoryWhenLocal;
  };

  static absl::StatusOr<std::unique_ptr<RemoteEnvBatch>> Create(Options options);

  absl::Status Reset(uint8_t* observations) override;
  absl::StatusOr<int> Step(int active, const float* actions, const EnvBatchOutput& out) override;
  bool row_control() const override { return remote_ != nullptr && remote_->row_control(); }
  absl::Status StepRows(const uint8_t* step, bool defer_resets, const float* actions,
                        const EnvBatchOutput& out) override;
  absl::Status ResetRows(const uint8_t* reset, uint8_t* observations, std::vector<EnvFailure>* failures) override;
  std::vector<std::string> cameras() const override;
  absl::Status Render(int index, int width, int height, const std::string& camera, RgbImage* image) override;
  double render_fps() const override { return 30; }

 private:
  explicit RemoteEnvBatch(Options options);
  // Opens a new stream (see Create); on success it is fresh.
  absl::Status Open();
  // Steps the stream (the rows whose `step` byte is 1 when it is not null)
  // into `out`, reopening it when it broke.
  absl::Status StepStream(const float* actions, const uint8_t* step, bool defer_resets, const EnvBatchOutput& out);
  // A new stream after `why` broke the last one: every row fails, into
  // `failures`, and holds its first observation in `observations`.
  absl::Status Reopen(const absl::Status& why, uint8_t* observations, std::vector<EnvFailure>* failures);

  Options options_;
  size_t obs_bytes_;
  std::unique_ptr<RemoteEnvs> remote_;
  int opened_ = 0;      // streams opened so far (moves the seeds on)
  bool fresh_ = false;  // the stream is open and not stepped yet
  RemoteStep step_;
  // A ResetRows's request and answer.
  std::vector<int> reset_indices_;
  std::vector<uint8_t> reset_observations_;
  std::vector<RemoteEnvError> reset_errors_;
};

}  // namespace rill::envs

#endif  // RILL_ENVS_REMOTE_REMOTE_ENV_BATCH_H_
