#include "learner/observation_normalizer.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "learner/networks.h"

namespace rill::learner {
namespace {

// Added to the variance: a constant observation element normalises to 0.
constexpr double kVarianceEpsilon = 1e-8;

}  // namespace

ObservationNormalizer::ObservationNormalizer(int64_t obs_dim, double clip, torch::Device device)
    : obs_dim_(obs_dim), clip_(clip) {
  const auto options = torch::TensorOptions().dtype(torch::kFloat64).device(device);
  mean_ = torch::zeros({obs_dim}, options);
  m2_ = torch::zeros({obs_dim}, options);
  count_ = torch::zeros({}, options);
  state_.AddTensor("obs_norm.mean", mean_);
  state_.AddTensor("obs_norm.m2", m2_);
  state_.AddTensor("obs_norm.count", count_);
}

absl::Status ObservationNormalizer::Update(const torch::Tensor& obs) {
  if (obs.dim() < 1 || obs.size(-1) != obs_dim_) {
    return absl::InvalidArgumentError(absl::StrCat("observation normaliser: observations of ",
                                                   obs.dim() < 1 ? 0 : obs.size(-1), " elements, expected ", obs_dim_));
  }
  torch::NoGradGuard no_grad;
  torch::Tensor rows = obs.reshape({-1, obs_dim_}).to(mean_.device(), torch::kFloat64);
  if (rows.size(0) == 0) return absl::OkStatus();
  if (!torch::isfinite(rows).all().item<bool>()) {
    return absl::InvalidArgumentError("observation normaliser: observations hold NaN or infinity");
  }
  // Chan et al.: merge (n_a, mean_a, M2_a) with the batch's (n_b, mean_b, M2_b).
  const double n_b = static_cast<double>(rows.size(0));
  torch::Tensor batch_mean = rows.mean(0);
  torch::Tensor batch_m2 = (rows - batch_mean).pow(2).sum(0);
  torch::Tensor n = count_ + n_b;
  torch::Tensor delta = batch_mean - mean_;
  m2_.add_(batch_m2 + delta.pow(2) * count_ * n_b / n);
  mean_.add_(delta * n_b / n);
  count_.copy_(n);
  return absl::OkStatus();
}

torch::Tensor ObservationNormalizer::StdOnDevice() const {
  // Before any observation: std 1 (no host round trip to ask).
  torch::Tensor variance = torch::where(count_ > 0, m2_ / count_.clamp_min(1), torch::ones_like(m2_));
  return (variance + kVarianceEpsilon).sqrt();
}

torch::Tensor ObservationNormalizer::Normalize(const torch::Tensor& obs) const {
  torch::NoGradGuard no_grad;
  torch::Tensor mean = mean_.to(obs.device(), torch::kFloat32);
  torch::Tensor std = StdOnDevice().to(obs.device(), torch::kFloat32);
  return ((obs.to(torch::kFloat32) - mean) / std).clamp(-clip_, clip_);
}

torch::Tensor ObservationNormalizer::mean() const { return mean_.to(torch::kCPU, torch::kFloat32); }

torch::Tensor ObservationNormalizer::std() const { return StdOnDevice().to(torch::kCPU, torch::kFloat32); }

double ObservationNormalizer::count() const { return count_.item<double>(); }

absl::Status ObservationNormalizer::AddTo(v1::ParameterSet* params) const {
  ASSIGN_OR_RETURN(v1::ParameterSet stats, ToParameterSet({{policies::kObsNormMeanName, mean()}, {policies::kObsNormStdName, std()}}));
  for (v1::NamedTensor& tensor : *stats.mutable_tensors()) *params->add_tensors() = std::move(tensor);
  params->mutable_policy()->set_observation_clip(static_cast<float>(clip_));
  return absl::OkStatus();
}

}  // namespace rill::learner
