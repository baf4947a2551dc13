#include "policies/mlp_policy.h"

#include <algorithm>
#include <utility>

namespace rill::policies {
namespace {

std::unique_ptr<BlasTorso> MakeTorso(const v1::PolicySpec& spec, uint64_t seed) {
  if (spec.torso_size() == 0) return nullptr;
  const ImageShape input{spec.observation_shape(0), spec.observation_shape(1), spec.observation_shape(2)};
  return std::make_unique<BlasTorso>(std::vector<v1::TorsoLayer>(spec.torso().begin(), spec.torso().end()), input,
                                     kPolicyPrefix, seed ^ 0x5851f42d4c957f2dULL);
}

}  // namespace

MlpPolicy::MlpPolicy(v1::PolicySpec spec, int outputs, uint64_t seed)
    : spec_(std::move(spec)),
      torso_(MakeTorso(spec_, seed)),
      mlp_(torso_ ? static_cast<int>(torso_->out_dim()) : spec_.obs_dim(),
           std::vector<int>(spec_.hidden_sizes().begin(), spec_.hidden_sizes().end()), outputs, kPolicyPrefix, seed),
      // Not the parameters' stream: a policy's noise does not repeat its
      // initial weights.
      rng_(seed ^ 0x9e3779b97f4a7c15ULL) {
  if (spec_.observation_clip() > 0) {
    obs_mean_ = {kObsNormMeanName, {spec_.obs_dim()}, std::vector<float>(spec_.obs_dim(), 0.f)};
    obs_std_ = {kObsNormStdName, {spec_.obs_dim()}, std::vector<float>(spec_.obs_dim(), 1.f)};
  }
  if (torso_) {
    for (NamedParameter& param : torso_->parameters()) named_.push_back(&param);
  }
  for (NamedParameter& param : mlp_.parameters()) named_.push_back(&param);
  if (!obs_mean_.values.empty()) {
    named_.push_back(&obs_mean_);
    named_.push_back(&obs_std_);
  }
}

const float* MlpPolicy::Forward(const float* obs, int64_t batch) {
  if (torso_) return mlp_.Forward(torso_->Forward(obs, batch), batch);  // the spec has no normaliser then
  if (obs_mean_.values.empty()) return mlp_.Forward(obs, batch);
  const int64_t d = spec_.obs_dim();
  const float clip = static_cast<float>(spec_.observation_clip());
  normalized_.resize(static_cast<size_t>(batch * d));
  for (int64_t r = 0; r < batch; ++r) {
    for (int64_t j = 0; j < d; ++j) {
      const float z = (obs[r * d + j] - obs_mean_.values[j]) / obs_std_.values[j];
      normalized_[r * d + j] = std::clamp(z, -clip, clip);
    }
  }
  return mlp_.Forward(normalized_.data(), batch);
}

absl::Status MlpPolicy::LoadParameters(const v1::ParameterSet& params) {
  return LoadNamedParameters(params, named_);
}

absl::StatusOr<v1::ParameterSet> MlpPolicy::ExportParameters() const {
  v1::ParameterSet set = ExportNamedParameters(named_);
  *set.mutable_policy() = spec_;
  return set;
}

}  // namespace rill::policies
