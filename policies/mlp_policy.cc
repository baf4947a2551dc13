#include "policies/mlp_policy.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <utility>

namespace rill::policies {
namespace {

// A torso per image leaf (one for a single image), in the row's order;
// none without spec.torso().
std::vector<std::unique_ptr<BlasTorso>> MakeTorsos(const v1::PolicySpec& spec, uint64_t seed) {
  std::vector<std::unique_ptr<BlasTorso>> torsos;
  if (spec.torso_size() == 0) return torsos;
  const ImageShape input{spec.observation_shape(0), spec.observation_shape(1), spec.observation_shape(2)};
  // Checked by CheckPolicySpec.
  const std::vector<ImageShape> leaves = *ImageLeafInputs(
      input, std::vector<int32_t>(spec.image_channels().begin(), spec.image_channels().end()));
  for (size_t k = 0; k < leaves.size(); ++k) {
    torsos.push_back(std::make_unique<BlasTorso>(std::vector<v1::TorsoLayer>(spec.torso().begin(), spec.torso().end()),
                                                 leaves[k], ImageLeafPrefix(kPolicyPrefix, k),
                                                 (seed + k) ^ 0x5851f42d4c957f2dULL));
  }
  return torsos;
}

// The width of every torso's features together; 0 without a torso.
int64_t TorsoOutDim(const std::vector<std::unique_ptr<BlasTorso>>& torsos) {
  int64_t total = 0;
  for (const auto& torso : torsos) total += torso->out_dim();
  return total;
}

// The widths mlp_ runs through before its last layer: every hidden layer
// but, in a recurrent policy, the last, which is then mlp_'s output.
std::vector<int> MlpHidden(const v1::PolicySpec& spec) {
  std::vector<int> hidden(spec.hidden_sizes().begin(), spec.hidden_sizes().end());
  if (spec.lstm_size() > 0) hidden.pop_back();
  return hidden;
}

// The width of what the MLP reads: the trunk's, the torso's features (and
// the flat leaves beside them) or the observation.
int MlpInput(const v1::PolicySpec& spec, int64_t torso_out) {
  if (spec.trunk_size() > 0) return spec.trunk_size() + spec.flat_dim();
  return torso_out > 0 ? static_cast<int>(torso_out) + spec.flat_dim() : spec.obs_dim();
}

std::unique_ptr<BlasMlp> MakeTrunk(const v1::PolicySpec& spec, int64_t torso_out, uint64_t seed) {
  if (spec.trunk_size() <= 0) return nullptr;
  const int in = torso_out > 0 ? static_cast<int>(torso_out) : spec.obs_dim();
  auto trunk = std::make_unique<BlasMlp>(in, std::vector<int>{}, spec.trunk_size(), kPolicyPrefix, seed);
  trunk->parameters()[0].name = kPolicyTrunkWeightName;
  trunk->parameters()[1].name = kPolicyTrunkBiasName;
  return trunk;
}

int MlpOutputs(const v1::PolicySpec& spec, int outputs) {
  return spec.lstm_size() > 0 ? spec.hidden_sizes(spec.hidden_sizes_size() - 1) : outputs;
}

}  // namespace

MlpPolicy::MlpPolicy(v1::PolicySpec spec, int outputs, uint64_t seed)
    : spec_(std::move(spec)),
      outputs_(outputs),
      torsos_(MakeTorsos(spec_, seed)),
      torso_out_(TorsoOutDim(torsos_)),
      trunk_(MakeTrunk(spec_, torso_out_, seed ^ 0x94d049bb133111ebULL)),
      // A recurrent policy's hidden layers draw what a feed-forward one's
      // of the same sizes would.
      mlp_(MlpInput(spec_, torso_out_), MlpHidden(spec_), MlpOutputs(spec_, outputs), kPolicyPrefix, seed,
           spec_.activation()),
      // Not the parameters' stream: a policy's noise does not repeat its
      // initial weights.
      rng_(seed ^ 0x9e3779b97f4a7c15ULL) {
  if (spec_.has_hyperspherical()) {
    sphere_ = std::make_unique<BlasHypersphericalMlp>(spec_.obs_dim(), spec_.hidden_sizes(0),
                                                      spec_.hyperspherical().blocks(), outputs,
                                                      spec_.hyperspherical().shift(), kPolicyPrefix, seed);
  }
  if (spec_.lstm_size() > 0) {
    lstm_ = std::make_unique<BlasLstm>(mlp_.out_dim(), spec_.lstm_size(), kPolicyPrefix, seed ^ 0x2545f4914f6cdd1dULL);
    // One linear layer, initialised as torch.nn.Linear, under the head's names.
    head_ = std::make_unique<BlasMlp>(spec_.lstm_size(), std::vector<int>{}, outputs, kPolicyPrefix,
                                      seed ^ 0xd1b54a32d192ed03ULL);
    head_->parameters()[0].name = kPolicyHeadWeightName;
    head_->parameters()[1].name = kPolicyHeadBiasName;
  }
  if (spec_.observation_clip() > 0) {
    obs_mean_ = {kObsNormMeanName, {spec_.obs_dim()}, std::vector<float>(spec_.obs_dim(), 0.f)};
    obs_std_ = {kObsNormStdName, {spec_.obs_dim()}, std::vector<float>(spec_.obs_dim(), 1.f)};
  }
  for (auto& torso : torsos_) {
    for (NamedParameter& param : torso->parameters()) named_.push_back(&param);
  }
  if (trunk_) {
    const int n = spec_.trunk_size();
    trunk_norm_weight_ = {kPolicyTrunkNormWeightName, {n}, std::vector<float>(n, 1.f)};
    trunk_norm_bias_ = {kPolicyTrunkNormBiasName, {n}, std::vector<float>(n, 0.f)};
    for (NamedParameter& param : trunk_->parameters()) named_.push_back(&param);
    named_.push_back(&trunk_norm_weight_);
    named_.push_back(&trunk_norm_bias_);
  }
  for (NamedParameter& param : sphere_ ? sphere_->parameters() : mlp_.parameters()) named_.push_back(&param);
  if (lstm_) {
    for (NamedParameter& param : lstm_->parameters()) named_.push_back(&param);
    for (NamedParameter& param : head_->parameters()) named_.push_back(&param);
  }
  if (!obs_mean_.values.empty()) {
    named_.push_back(&obs_mean_);
    named_.push_back(&obs_std_);
  }
}

const float* MlpPolicy::Forward(const float* obs, int64_t batch) {
  if (sphere_) return sphere_->Forward(Features(obs, batch), batch);
  const float* hidden = mlp_.Forward(Features(obs, batch), batch);
  if (!lstm_) return hidden;
  core_input_.resize(static_cast<size_t>(batch) * mlp_.out_dim());
  for (size_t i = 0; i < core_input_.size(); ++i) core_input_[i] = std::max(hidden[i], 0.f);
  float* state = state_;
  if (state == nullptr) {
    zero_state_.assign(static_cast<size_t>(batch) * lstm_->state_size(), 0.f);
    state = zero_state_.data();
  }
  lstm_->Step(core_input_.data(), batch, state);
  return head_->Forward(lstm_->h(), batch);
}

const float* MlpPolicy::Features(const float* obs, int64_t batch) {
  const float* features = torsos_.empty() ? obs : TorsoFeatures(obs, batch);
  if (!trunk_) return Normalized(features, batch);
  // tanh(LayerNorm(W x + b)), row by row, in double for the moments; a
  // Dict observation's flat leaves beside it (TorsoFeatures put them after
  // the torsos' features, where the trunk does not read them).
  const int n = spec_.trunk_size();
  const int64_t flat = spec_.flat_dim();
  const int64_t width = n + flat;
  const float* trunk_in = features;
  if (flat > 0) {
    trunk_in_.resize(static_cast<size_t>(batch * torso_out_));
    for (int64_t r = 0; r < batch; ++r) {
      std::copy_n(features + r * (torso_out_ + flat), torso_out_, &trunk_in_[r * torso_out_]);
    }
    trunk_in = trunk_in_.data();
  }
  const float* linear = trunk_->Forward(trunk_in, batch);
  trunk_out_.resize(static_cast<size_t>(batch * width));
  for (int64_t r = 0; r < batch; ++r) {
    std::copy_n(features + r * (torso_out_ + flat) + torso_out_, flat, &trunk_out_[r * width + n]);
    const float* row = linear + r * n;
    double mean = 0, var = 0;
    for (int j = 0; j < n; ++j) mean += row[j];
    mean /= n;
    for (int j = 0; j < n; ++j) var += (row[j] - mean) * (row[j] - mean);
    var /= n;
    const double inv = 1.0 / std::sqrt(var + kTrunkNormEpsilon);
    for (int j = 0; j < n; ++j) {
      const double z = (row[j] - mean) * inv * trunk_norm_weight_.values[j] + trunk_norm_bias_.values[j];
      trunk_out_[static_cast<size_t>(r * width + j)] = static_cast<float>(std::tanh(z));
    }
  }
  return trunk_out_.data();
}

const float* MlpPolicy::TorsoFeatures(const float* obs, int64_t batch) {
  const int64_t flat = spec_.flat_dim();
  if (flat == 0 && torsos_.size() == 1) return torsos_.front()->Forward(obs, batch);
  // A Dict observation: each image leaf's torso on its channels of each
  // row, then their features and the row's flat leaves side by side.
  const int64_t d = spec_.obs_dim();
  const int64_t width = torso_out_ + flat;
  beside_.resize(static_cast<size_t>(batch * width));
  int64_t offset = 0, column = 0;  // in a row of obs, of beside_
  for (const auto& torso : torsos_) {
    const int64_t in = torso->in_dim(), out = torso->out_dim();
    image_rows_.resize(static_cast<size_t>(batch * in));
    for (int64_t r = 0; r < batch; ++r) std::copy_n(obs + r * d + offset, in, &image_rows_[r * in]);
    const float* features = torso->Forward(image_rows_.data(), batch);
    for (int64_t r = 0; r < batch; ++r) std::copy_n(features + r * out, out, &beside_[r * width + column]);
    offset += in;
    column += out;
  }
  for (int64_t r = 0; r < batch; ++r) std::copy_n(obs + r * d + offset, flat, &beside_[r * width + column]);
  return beside_.data();
}

const float* MlpPolicy::Normalized(const float* obs, int64_t batch) {
  if (!torsos_.empty()) return obs;  // the spec has no normaliser with a torso
  if (obs_mean_.values.empty()) return obs;
  const int64_t d = spec_.obs_dim();
  const float clip = static_cast<float>(spec_.observation_clip());
  normalized_.resize(static_cast<size_t>(batch * d));
  for (int64_t r = 0; r < batch; ++r) {
    for (int64_t j = 0; j < d; ++j) {
      const float z = (obs[r * d + j] - obs_mean_.values[j]) / obs_std_.values[j];
      normalized_[r * d + j] = std::clamp(z, -clip, clip);
    }
  }
  return normalized_.data();
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
