// CategoricalPolicy: SAC-discrete's softmax policy. obs -> MLP -> one logit
// per action; the exploring action is drawn from softmax(logits), the
// deterministic one is the argmax (the most probable action; the first of
// equal ones). With spec.action_mask the logits of the actions the
// observation's mask forbids are kMaskedLogit first: never drawn, never the
// argmax, and so recorded in the behaviour distribution.
//
// Thread safety: none (see interface.h).
#ifndef RILL_POLICIES_CATEGORICAL_H_
#define RILL_POLICIES_CATEGORICAL_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "policies/mlp_policy.h"

namespace rill::policies {

class CategoricalPolicy final : public MlpPolicy {
 public:
  static constexpr char kKind[] = "categorical";

  // spec.action_dim is the number of actions (the head's width); no bounds.
  // InvalidArgument naming the field for a bad spec (CheckPolicySpec).
  static absl::StatusOr<std::unique_ptr<CategoricalPolicy>> Create(const v1::PolicySpec& spec, uint64_t seed);

  // out->indices [B]: the argmax of the logits when deterministic, else one
  // draw per row from softmax(logits) with the policy's generator.
  void Act(const float* obs, int64_t batch, bool deterministic, PolicyOutput* out) override;
  absl::Status ActWithBehaviour(const float* obs, int64_t batch, PolicyOutput* out) override;

  int obs_dim() const { return spec().obs_dim(); }
  int num_actions() const { return spec().action_dim(); }

 private:
  using MlpPolicy::MlpPolicy;
  // Forward's logits, masked when the spec says so (into masked_).
  const float* Logits(const float* obs, int64_t batch);
  // One draw from softmax(logits[0..n)); `probabilities` is scratch.
  int64_t Draw(const float* logits, int64_t n);
  std::vector<double> probabilities_;
  std::vector<float> masked_;
};

}  // namespace rill::policies

#endif  // RILL_POLICIES_CATEGORICAL_H_
