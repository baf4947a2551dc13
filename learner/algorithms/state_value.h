// StateValue: MAPPO's centralised critic (Yu et al. 2022), a value MLP
// V(s) on a multi-agent env's global state (ReLU hidden layers, one linear
// output), apart from the policy network so that the value never sees
// only an agent's own observation and the policy never trains on the value
// loss. PPO holds one when learner.ppo.centralised_value is set (ppo.h).
// Its parameters live in one flat buffer (an autograd leaf), as
// ActorCritic's do, so that clipping and the Adam step (flat_optimizer.h)
// are a few element-wise ops.
//
// Thread safety: not thread-safe; the owning algorithm's thread calls it.
#ifndef RILL_LEARNER_ALGORITHMS_STATE_VALUE_H_
#define RILL_LEARNER_ALGORITHMS_STATE_VALUE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "torch/torch.h"

namespace rill::learner {

class StateValue {
 public:
  // An MLP state_dim -> hidden... -> 1, initialised as torch.nn.Linear's
  // (uniform in +-1/sqrt(fan_in)) from `seed` on the CPU, then moved to
  // `device`. InvalidArgument prefixed with `who` for state_dim < 1 or a
  // hidden width < 1; Internal if LibTorch fails.
  static absl::StatusOr<std::unique_ptr<StateValue>> Create(int64_t state_dim, const std::vector<int>& hidden,
                                                            torch::Device device, uint64_t seed,
                                                            const std::string& who);

  // V of states [N, state_dim] (float32): [N], with autograd into params().
  torch::Tensor Forward(const torch::Tensor& states) const;

  int64_t state_dim() const { return state_dim_; }
  // The flat leaf (requires grad) and its data (no grad).
  const torch::Tensor& params() const { return params_; }
  torch::Tensor data() const { return params_.detach(); }
  // value.layers.<l>.weight / .bias: live views into params().
  const std::vector<std::pair<std::string, torch::Tensor>>& named_parameters() const { return named_; }
  // Matmul FLOPs of a forward pass of `rows` states.
  int64_t ForwardFlops(int64_t rows) const;

 private:
  StateValue(int64_t state_dim, torch::Tensor params, std::vector<std::pair<std::string, torch::Tensor>> named,
             std::vector<std::pair<int64_t, int64_t>> spans);

  int64_t state_dim_;
  torch::Tensor params_;
  std::vector<std::pair<std::string, torch::Tensor>> named_;
  // Per named_ entry: its offset and element count in params_.
  std::vector<std::pair<int64_t, int64_t>> spans_;
};

}  // namespace rill::learner

#endif  // RILL_LEARNER_ALGORITHMS_STATE_VALUE_H_
