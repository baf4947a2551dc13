#include "learner/observation_normalizer.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "learner/networks.h"

namespace rill::learner {
namespace {

// Added to the variance: a constant observation element normalises to 0.
constexpr double kVarianceEpsilon = 1e-8;

}  // namespace

ObservationNormalizer::ObservationNormalizer(int64_t obs_dim, double clip, torch::Device device, int64_t raw_tail)
    : obs_dim_(obs_dim), clip_(clip), raw_tail_(raw_tail) {
  const auto options = torch::TensorOptions().dtype(torch::kFloat64).device(device);
  mean_ = torch::zeros({obs_dim}, options);
  m2_ = torch::zeros({obs_dim}, options);
  count_ = torch::zeros({}, options);
  state_.AddTensor("obs_norm.mean", mean_);
  state_.AddTensor("obs_norm.m2", m2_);
  state_.AddTensor("obs_norm.count", count_);
}

absl::Status ObservationNormalizer::Update(const torch::Tensor& obs, GradientAverager* ranks) {
  if (obs.dim() < 1 || obs.size(-1) != obs_dim_) {
    return absl::InvalidArgumentError(absl::StrCat("observation normaliser: observations of ",
                                                   obs.dim() < 1 ? 0 : obs.size(-1), " elements, expected ", obs_dim_));
  }
  torch::NoGradGuard no_grad;
  torch::Tensor rows = obs.reshape({-1, obs_dim_}).to(mean_.device(), torch::kFloat64);
  torch::Tensor n_b, batch_mean, batch_m2;
  if (ranks != nullptr) {
    // Every rank's batch as one: their counts, sums and sums of squares
    // averaged (a NaN anywhere reaches every rank, which all refuse it).
    const double world = ranks->world_size();
    torch::Tensor count = torch::full({1}, static_cast<double>(rows.size(0)), rows.options());
    torch::Tensor sum = rows.sum(0), squares = rows.pow(2).sum(0);
    RETURN_IF_ERROR(ranks->Average({count, sum, squares}));
    if (!torch::isfinite(sum).all().item<bool>() || !torch::isfinite(squares).all().item<bool>()) {
      return absl::InvalidArgumentError("observation normaliser: a rank's observations hold NaN or infinity");
    }
    if (count.item<double>() == 0) return absl::OkStatus();
    n_b = count.mul(world).squeeze(0);
    batch_mean = sum / count;
    batch_m2 = (squares.mul(world) - n_b * batch_mean.pow(2)).clamp_min_(0);
  } else {
    if (rows.size(0) == 0) return absl::OkStatus();
    if (!torch::isfinite(rows).all().item<bool>()) {
      return absl::InvalidArgumentError("observation normaliser: observations hold NaN or infinity");
    }
    n_b = torch::full({}, static_cast<double>(rows.size(0)), rows.options());
    batch_mean = rows.mean(0);
    batch_m2 = (rows - batch_mean).pow(2).sum(0);
  }
  // Chan et al.: merge (n_a, mean_a, M2_a) with the batch's (n_b, mean_b, M2_b).
  torch::Tensor n = count_ + n_b;
  torch::Tensor delta = batch_mean - mean_;
  m2_.add_(batch_m2 + delta.pow(2) * count_ * n_b / n);
  mean_.add_(delta * n_b / n);
  count_.copy_(n);
  if (raw_tail_ > 0) {
    // Mean 0 and variance 1, whatever they saw: the tail passes through.
    mean_.narrow(0, obs_dim_ - raw_tail_, raw_tail_).zero_();
    m2_.narrow(0, obs_dim_ - raw_tail_, raw_tail_).copy_(count_.expand({raw_tail_}));
  }
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
