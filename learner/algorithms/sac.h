// Soft Actor-Critic for continuous actions with automatic entropy tuning
// (Haarnoja et al. 2018, "SAC: Algorithms and Applications"), matching
// Stable-Baselines3's SAC update step by step.
//
// An Algorithm (interface.h): the learner loop calls Update once per sampled
// batch; every few updates it publishes ExportPolicy() to the actors (whose
// GaussianPolicy loads it) and now and then checkpoints state().
//
// Speed: each network is one flat buffer (see FlatMlp), so Adam (one fused
// pass on the CPU) and Polyak averaging (one lerp_) work on whole networks;
// gradients are computed explicitly and only where needed (the actor's pass
// through the critics computes no critic weight gradients and only the action
// columns of the input gradient); the actor runs once over s' and s together;
// on the CPU the twin critics run side by side on two cores; activations live
// in buffers reused by every update; and Update never synchronizes with the
// device. The tanh-Gaussian log-probability uses the noise directly:
// log N(u; mean, std) = -eps^2/2 - log std - log(2 pi)/2.
//
// Thread safety: not thread-safe; one thread calls all methods.
#ifndef RILL_LEARNER_ALGORITHMS_SAC_H_
#define RILL_LEARNER_ALGORITHMS_SAC_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "envs/spec.h"
#include "learner/algorithms/context.h"
#include "learner/algorithms/interface.h"
#include "learner/algorithms/soft_actor.h"
#include "learner/algorithms/training_state.h"
#include "learner/algorithms/transitions.h"
#include "learner/flat_adam.h"
#include "learner/networks.h"
#include "proto/parameters.pb.h"
#include "torch/torch.h"

namespace rill::learner {

struct SacOptions {
  int obs_dim = 0;
  // float32, or uint8 (images: the replay columns are uint8, scaled by 1/255 on the device).
  envs::ObservationType observation_type = envs::ObservationType::kFloat32;
  int act_dim = 0;
  std::vector<int> hidden = {256, 256};
  // The actor's and the critics' hidden layers (network.activation).
  v1::Activation activation = v1::RELU;
  double actor_lr = 3e-4;
  double critic_lr = 3e-4;
  double alpha_lr = 3e-4;
  double gamma = 0.99;
  double tau = 0.005;
  double initial_alpha = 1.0;
  // Unset: -act_dim.
  std::optional<double> target_entropy;
  // Keep alpha at initial_alpha.
  bool fixed_alpha = false;
  // The env's action bounds (env units), for the exported PolicySpec; empty:
  // [-1, 1] in every dimension.
  std::vector<float> action_low, action_high;
  torch::Device device = torch::kCPU;
  uint64_t seed = 0;
};

struct SacStats {
  double critic_loss = 0;    // 0.5 * (MSE(Q1, y) + MSE(Q2, y))
  double actor_loss = 0;     // mean(alpha * logp(a|s) - min(Q1, Q2)(s, a))
  double alpha_loss = 0;     // -mean(log_alpha * (logp + target_entropy))
  double alpha = 0;          // the temperature the update used
  double q_mean = 0;         // mean of Q1 and Q2 on the batch's actions
  double log_prob_mean = 0;  // mean logp(a|s) of the policy's actions
};

class Sac final : public Algorithm {
 public:
  // InvalidArgument for bad sizes; FailedPrecondition for an unavailable
  // device. The hyperparameters' ranges are config rules (spec.cc), checked
  // when the config is finalized.
  static absl::StatusOr<std::unique_ptr<Sac>> Create(const SacOptions& options);
  // From learner.sac of a finalized config.
  static absl::StatusOr<std::unique_ptr<Algorithm>> FromConfig(const AlgorithmContext& context);

  // ---- Algorithm
  const std::string& name() const override;
  std::vector<ColumnRequirement> Columns() const override;
  absl::Status Update(const Batch& batch) override;
  int64_t updates() const override { return updates_; }
  absl::StatusOr<rill::v1::ParameterSet> ExportPolicy() const override;
  torch::Tensor Priorities() const override { return LastTdErrors(); }
  std::vector<Statistic> Statistics() const override;
  TrainingState& state() override { return state_; }
  int64_t UpdateMatmulFlops(int64_t batch) const override { return UpdateMatmulFlops(options_, batch); }

  // One gradient step: critics, then the actor (through the freshly updated
  // critics), then the temperature, then Polyak-averages the target critics.
  // InvalidArgument naming the field for bad shapes, dtypes or devices (the
  // networks are untouched then). Never blocks on the device.
  absl::Status Update(const TransitionBatch& batch);

  // Stats of the last update (zeros before the first). Synchronizes with the
  // device: read them rarely.
  SacStats LastStats() const;
  const SacOptions& options() const { return options_; }

  // Writes state() and the exported policy into `dir` as a learner
  // checkpoint (learner/checkpoint.h), atomically. Internal /
  // PermissionDenied on I/O errors.
  absl::Status Save(const std::string& dir);
  // Restores everything Save wrote. NotFound when `dir` has no checkpoint,
  // InvalidArgument when its shapes do not fit these options (nothing is
  // changed then), DataLoss for an unreadable file.
  absl::Status Load(const std::string& dir);

  // Number of floating-point operations in the matmuls of one Update with
  // `batch` transitions (2*M*N*K per matmul, forward and backward; see
  // sac.cc for the list). The benchmark reports achieved GFLOP/s with it.
  static int64_t UpdateMatmulFlops(const SacOptions& options, int64_t batch);

  // ---- Test-only hooks: tests set tiny networks by hand and fix the noise.
  // Live views of every parameter, by name: "policy.layers.<l>.weight"
  // ([out, in]) and ".bias", "critic.layers.<l>.weight" ([2, out, in]),
  // "critic.layers.<l>.bias" ([2, out]), the same under "critic_target", and
  // "log_alpha" ([1]). Writing into them changes the networks.
  std::map<std::string, torch::Tensor> ParametersForTesting();
  // The gradients of the last update, by the same names (no "critic_target";
  // "log_alpha" holds d alpha_loss / d log_alpha).
  std::map<std::string, torch::Tensor> GradientsForTesting();
  // Update with the given standard-normal noise ([B, act_dim] each) for
  // a' ~ pi(.|s') and a ~ pi(.|s) instead of drawing it.
  absl::Status UpdateWithNoiseForTesting(const TransitionBatch& batch, const torch::Tensor& next_noise,
                                         const torch::Tensor& noise);
  // |TD error| of each transition of the last update, averaged over the two
  // critics (taken before the critic step): [B] float32 on the device, the
  // new priorities for a prioritized table. Undefined before the first
  // update. Reading it synchronizes with the device.
  torch::Tensor LastTdErrors() const;

  // The TD target y ([B]) of the last update.
  torch::Tensor LastTargetForTesting() const { return last_.target; }

 private:
  Sac(const SacOptions& options, FlatMlp actor, FlatMlp critic);

  absl::Status CheckBatch(const TransitionBatch& batch) const;
  // `noise`: [2B, act_dim], rows [0, B) for s', [B, 2B) for s.
  absl::Status UpdateUnchecked(const TransitionBatch& batch, const torch::Tensor& noise);
  void RegisterState();

  SacOptions options_;
  FlatMlp actor_;
  FlatMlp critic_;
  FlatMlp critic_target_;
  Temperature temperature_;
  FlatAdam actor_adam_, critic_adam_;
  c10::optional<at::Generator> generator_;  // CPU; the device's default generator elsewhere
  int64_t updates_ = 0;
  TrainingState state_;
  // Activations and gradient buffers, reused by every update.
  MlpTrace actor_trace_, target_trace_, critic_trace_, pi_trace_;

  // What LastStats and the test hooks read, kept from the last update
  // (computing the stats lazily keeps reductions out of Update).
  struct Last {
    torch::Tensor q;          // [2, B, 1] critics on the batch's actions
    torch::Tensor target;     // [B]
    torch::Tensor log_alpha;  // [1] before the update
    torch::Tensor log_prob;   // [B] logp(a|s)
    torch::Tensor min_q_pi;   // [B] min(Q1, Q2)(s, a) after the critic step
  } last_;
};

}  // namespace rill::learner

#endif  // RILL_LEARNER_ALGORITHMS_SAC_H_
