#include "policies/categorical.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "common/status_macros.h"

namespace rill::policies {

absl::StatusOr<std::unique_ptr<CategoricalPolicy>> CategoricalPolicy::Create(const v1::PolicySpec& spec,
                                                                             uint64_t seed) {
  RETURN_IF_ERROR(CheckPolicySpec(spec, PolicyKind::kCategorical));
  return std::unique_ptr<CategoricalPolicy>(new CategoricalPolicy(spec, spec.action_dim(), seed));
}

int64_t CategoricalPolicy::Draw(const float* logits, int64_t n) {
  const float max = *std::max_element(logits, logits + n);
  probabilities_.resize(static_cast<size_t>(n));
  double total = 0;
  for (int64_t i = 0; i < n; ++i) total += probabilities_[i] = std::exp(static_cast<double>(logits[i] - max));
  const double u = std::uniform_real_distribution<double>(0, total)(rng());
  double cumulative = 0;
  for (int64_t i = 0; i < n; ++i) {
    cumulative += probabilities_[i];
    if (u < cumulative) return i;
  }
  // Rounding left u at the very top: the last action with any probability.
  for (int64_t i = n - 1; i > 0; --i) {
    if (probabilities_[i] > 0) return i;
  }
  return 0;
}

const float* CategoricalPolicy::Logits(const float* obs, int64_t batch) {
  const float* logits = Forward(obs, batch);
  if (!spec().action_mask()) return logits;
  const int64_t n = num_actions();
  const int64_t d = obs_dim();
  masked_.assign(logits, logits + batch * n);
  for (int64_t r = 0; r < batch; ++r) {
    const float* mask = obs + r * d + (d - n);
    for (int64_t i = 0; i < n; ++i) {
      if (!(mask[i] > 0)) masked_[r * n + i] = kMaskedLogit;
    }
  }
  return masked_.data();
}

void CategoricalPolicy::Act(const float* obs, int64_t batch, bool deterministic, PolicyOutput* out) {
  const int64_t n = num_actions();
  const float* logits = Logits(obs, batch);
  out->indices.resize(static_cast<size_t>(batch));
  for (int64_t r = 0; r < batch; ++r) {
    const float* row = logits + r * n;
    out->indices[r] = deterministic ? std::max_element(row, row + n) - row : Draw(row, n);
  }
}

absl::Status CategoricalPolicy::ActWithBehaviour(const float* obs, int64_t batch, PolicyOutput* out) {
  const int64_t n = num_actions();
  const float* logits = Logits(obs, batch);
  out->indices.resize(static_cast<size_t>(batch));
  out->log_prob.resize(static_cast<size_t>(batch));
  out->distribution.assign(logits, logits + batch * n);
  for (int64_t r = 0; r < batch; ++r) {
    const float* row = logits + r * n;
    const int64_t action = Draw(row, n);
    // log softmax(row)[action], shifted by the max for range.
    const float max = *std::max_element(row, row + n);
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(row[i] - max));
    out->indices[r] = action;
    out->log_prob[r] = static_cast<float>(static_cast<double>(row[action] - max) - std::log(sum));
  }
  return absl::OkStatus();
}

}  // namespace rill::policies
