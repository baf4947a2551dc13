#include "learner/policies/categorical.h"

#include <utility>

#include "common/status_macros.h"

namespace rill::learner {

absl::StatusOr<std::unique_ptr<CategoricalPolicy>> CategoricalPolicy::Create(const v1::PolicySpec& spec,
                                                                             uint64_t seed) {
  RETURN_IF_ERROR(CheckPolicySpec(spec, kKind));
  ASSIGN_OR_RETURN(FlatMlp mlp, MakeNetwork(spec, spec.action_dim(), seed));
  return std::unique_ptr<CategoricalPolicy>(new CategoricalPolicy(spec, std::move(mlp), seed));
}

torch::Tensor CategoricalPolicy::Act(const torch::Tensor& obs, bool deterministic) {
  torch::NoGradGuard no_grad;
  torch::Tensor logits = Forward(obs);  // [B, A]
  if (deterministic) return logits.argmax(1);
  return torch::multinomial(torch::softmax(logits, 1), /*num_samples=*/1, /*replacement=*/true, generator())
      .squeeze(1);
}

absl::StatusOr<torch::Tensor> CategoricalPolicy::ActWithBehaviour(const torch::Tensor& obs, Behaviour* behaviour) {
  torch::NoGradGuard no_grad;
  torch::Tensor logits = Forward(obs).clone();  // Forward's buffer is reused by the next call
  torch::Tensor log_probs = torch::log_softmax(logits, 1);
  torch::Tensor action = torch::multinomial(log_probs.exp(), /*num_samples=*/1, /*replacement=*/true, generator());
  behaviour->log_prob = log_probs.gather(1, action).squeeze(1);
  behaviour->distribution = logits;
  return action.squeeze(1);
}

std::string CategoricalPolicy::ScriptHead() const { return "    return torch.argmax(out, dim=1)\n"; }

}  // namespace rill::learner
