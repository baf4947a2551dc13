// CategoricalPolicy: SAC-discrete's softmax policy. obs -> MLP -> one logit
// per action; the exploring action is drawn from softmax(logits), the
// deterministic one is the argmax (the most probable action).
//
// Thread safety: none (see interface.h).
#ifndef RILL_LEARNER_POLICIES_CATEGORICAL_H_
#define RILL_LEARNER_POLICIES_CATEGORICAL_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "learner/policies/mlp_policy.h"

namespace rill::learner {

class CategoricalPolicy final : public MlpPolicy {
 public:
  static constexpr char kKind[] = "categorical";

  // spec.action_dim is the number of actions (the head's width); no bounds.
  // InvalidArgument naming the field for a bad spec (CheckPolicySpec).
  static absl::StatusOr<std::unique_ptr<CategoricalPolicy>> Create(const v1::PolicySpec& spec, uint64_t seed);

  // [B] int64 action indices: the argmax of the logits when deterministic,
  // else one draw per row from softmax(logits) with the policy's generator.
  torch::Tensor Act(const torch::Tensor& obs, bool deterministic) override;
  absl::StatusOr<torch::Tensor> ActWithBehaviour(const torch::Tensor& obs, Behaviour* behaviour) override;

  int obs_dim() const { return spec().obs_dim(); }
  int num_actions() const { return spec().action_dim(); }

 private:
  using MlpPolicy::MlpPolicy;
  std::string ScriptHead() const override;
};

}  // namespace rill::learner

#endif  // RILL_LEARNER_POLICIES_CATEGORICAL_H_
