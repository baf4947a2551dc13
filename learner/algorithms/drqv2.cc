#include "learner/algorithms/drqv2.h"

#include <algorithm>
#include <cmath>
#include <tuple>
#include <utility>

#include "ATen/CPUGeneratorImpl.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "learner/algorithms/checks.h"
#include "learner/algorithms/spec.h"
#include "learner/algorithms/torch_errors.h"
#include "learner/networks.h"
#include "policies/deterministic.h"
#include "policies/registry.h"
#include "policies/spec.h"

namespace rill::learner {
namespace {

constexpr int kCritics = 2;
// The straight-through clamp of the actor's sampled action keeps it inside
// (-1, 1), as the paper's truncated normal does.
constexpr double kActionEdge = 1 - 1e-6;

}  // namespace

torch::Tensor ShiftImages(const torch::Tensor& images, int pad, const torch::Tensor& offsets) {
  if (pad == 0) return images;
  const int64_t b = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  torch::Tensor padded = at::replication_pad2d(images, {pad, pad, pad, pad});  // [B, C, H + 2p, W + 2p]
  const torch::TensorOptions index_options = offsets.options();
  torch::Tensor rows = (offsets.select(1, 0).view({b, 1, 1, 1}) + torch::arange(h, index_options).view({1, 1, h, 1}))
                           .expand({b, c, h, w + 2 * pad});
  torch::Tensor cropped_rows = padded.gather(2, rows);  // [B, C, H, W + 2p]
  torch::Tensor columns =
      (offsets.select(1, 1).view({b, 1, 1, 1}) + torch::arange(w, index_options).view({1, 1, 1, w})).expand({b, c, h, w});
  return cropped_rows.gather(3, columns);
}

torch::Tensor RandomShift(const torch::Tensor& images, int pad, c10::optional<at::Generator> generator) {
  if (pad == 0) return images;
  torch::Tensor offsets = torch::randint(0, 2 * pad + 1, {images.size(0), 2}, generator,
                                         torch::TensorOptions().dtype(torch::kInt64).device(images.device()));
  return ShiftImages(images, pad, offsets);
}

DrqV2::DrqV2(const DrqV2Options& options, TorchTorso torso)
    : options_(options),
      obs_dim_(options.env.obs_dim()),
      act_dim_(options.env.action_dim()),
      torso_(std::move(torso)) {
  const int64_t features = torso_.out_dim(), trunk = options.feature_dim;
  // The actor: trunk, then the MLP (its parameter names are the policy's).
  for (FlatLayout* layout : {&actor_layout_, &critic_layout_}) {
    const std::string prefix = layout == &actor_layout_ ? "actor" : "critic";
    layout->Add(prefix + ".trunk.weight", {trunk, features}, features);
    layout->Add(prefix + ".trunk.bias", {trunk}, features);
    layout->Add(prefix + ".trunk.norm.weight", {trunk}, 0, /*scale=*/true);
    layout->Add(prefix + ".trunk.norm.bias", {trunk}, 0);
  }
  // A Dict observation's flat leaves sit beside the trunk's output.
  const int64_t flat = options.env.flat_dim;
  std::vector<int64_t> actor_sizes = {trunk + flat};
  std::vector<int64_t> critic_sizes = {trunk + flat + act_dim_};
  for (int h : options.hidden) {
    actor_sizes.push_back(h);
    critic_sizes.push_back(h);
  }
  actor_sizes.push_back(act_dim_);
  critic_sizes.push_back(1);
  for (size_t l = 0; l + 1 < actor_sizes.size(); ++l) {
    actor_layout_.Add(absl::StrCat("actor.layers.", l, ".weight"), {actor_sizes[l + 1], actor_sizes[l]}, actor_sizes[l]);
    actor_layout_.Add(absl::StrCat("actor.layers.", l, ".bias"), {actor_sizes[l + 1]}, actor_sizes[l]);
  }
  critic_layers_ = static_cast<int>(critic_sizes.size()) - 1;
  for (int e = 0; e < kCritics; ++e) {
    for (int l = 0; l < critic_layers_; ++l) {
      critic_layout_.Add(absl::StrCat("critic.", e, ".layers.", l, ".weight"), {critic_sizes[l + 1], critic_sizes[l]},
                         critic_sizes[l]);
      critic_layout_.Add(absl::StrCat("critic.", e, ".layers.", l, ".bias"), {critic_sizes[l + 1]}, critic_sizes[l]);
    }
  }

  // Initial values as torch.nn's layers draw them (uniform in
  // +-1/sqrt(fan_in); LayerNorm scale 1, shift 0), on the CPU from the seed.
  at::Generator init = at::detail::createCPUGenerator(options.seed * 2654435761ULL + 11);
  torch::Tensor encoder = torch::empty({torso_.NumParameters()}, torch::kFloat32);
  InitTorsoParameters(torso_.Parameters(policies::kPolicyPrefix), encoder, init);
  const torch::Tensor actor = actor_layout_.Initialised(init);
  const torch::Tensor critic = critic_layout_.Initialised(init);
  auto on_device = [&](const torch::Tensor& t) { return t.to(options.device, false, /*copy=*/true); };
  encoder_ = on_device(encoder).requires_grad_(true);
  actor_ = on_device(actor).requires_grad_(true);
  critic_ = on_device(critic).requires_grad_(true);
  critic_target_ = on_device(critic);
  encoder_adam_ = FlatAdam(encoder_, options.lr);
  actor_adam_ = FlatAdam(actor_, options.lr);
  critic_adam_ = FlatAdam(critic_, options.lr);
  if (options.device.is_cpu()) generator_ = at::detail::createCPUGenerator(options.seed * 2654435761ULL + 13);

  state_.AddTensor("encoder", encoder_);
  state_.AddTensor("actor", actor_);
  state_.AddTensor("critic", critic_);
  state_.AddTensor("critic_target", critic_target_);
  state_.AddAdam("encoder_adam", &encoder_adam_);
  state_.AddAdam("actor_adam", &actor_adam_);
  state_.AddAdam("critic_adam", &critic_adam_);
  state_.AddCounter("updates", &updates_);
  if (generator_.has_value()) state_.AddGenerator("generator", &*generator_);
}

absl::StatusOr<std::unique_ptr<Algorithm>> DrqV2::FromConfig(const AlgorithmContext& context) {
  const v1::LearnerConfig& learner = context.config.learner();
  if (context.env.discrete) {
    return absl::InvalidArgumentError(absl::StrCat("config field learner.drqv2: drqv2 needs a continuous action space; ",
                                                   context.env.name, " is discrete"));
  }
  const v1::DrqV2Config& config = learner.drqv2();
  DrqV2Options options;
  options.env = context.env;
  options.torso = context.torso();
  options.hidden = context.hidden();
  options.feature_dim = config.feature_dim();
  options.lr = config.lr();
  options.std_start = config.std_start();
  options.std_end = config.std_end();
  options.std_schedule_updates = config.std_schedule_updates();
  options.std_clip = config.std_clip();
  options.pad = config.pad();
  options.reward_scale = config.reward_scale();
  options.gamma = learner.gamma();
  options.tau = learner.tau();
  options.device = context.device;
  options.seed = context.seed;
  absl::StatusOr<std::unique_ptr<DrqV2>> algorithm = Create(options);
  if (!algorithm.ok()) {
    return absl::Status(algorithm.status().code(), absl::StrCat("learner.drqv2: ", algorithm.status().message()));
  }
  return std::unique_ptr<Algorithm>(*std::move(algorithm));
}

absl::StatusOr<std::unique_ptr<DrqV2>> DrqV2::Create(const DrqV2Options& options) {
  const envs::EnvSpec& env = options.env;
  if (env.discrete) return absl::InvalidArgumentError(absl::StrCat("env ", env.name, " has discrete actions"));
  if (env.action_dim() <= 0 || env.action_high.size() != env.action_low.size()) {
    return absl::InvalidArgumentError(absl::StrCat("env ", env.name, ": action_dim (", env.action_dim(),
                                                   ") must be positive, with as many high bounds as low ones"));
  }
  if (env.observation_shape.size() != 3) {
    return absl::InvalidArgumentError(absl::StrCat("drqv2 learns from images [C, H, W]; env ", env.name, " observes [",
                                                   absl::StrJoin(env.observation_shape, ", "), "]"));
  }
  if (options.torso.empty()) {
    return absl::InvalidArgumentError("drqv2 needs a convolutional encoder (network.torso; DRQV2_ENCODER is the paper's)");
  }
  if (options.hidden.empty()) return absl::InvalidArgumentError("hidden must name at least one layer");
  for (int h : options.hidden) {
    if (h <= 0) return absl::InvalidArgumentError(absl::StrCat("hidden sizes must be positive, got ", h));
  }
  if (options.feature_dim < 1 || options.feature_dim > policies::kMaxTrunkSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("feature_dim ", options.feature_dim, " must be in 1..", policies::kMaxTrunkSize));
  }
  if (!(options.lr > 0) || !std::isfinite(options.lr)) {
    return absl::InvalidArgumentError(absl::StrCat("lr ", options.lr, " must be positive"));
  }
  if (!(options.gamma >= 0 && options.gamma <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("gamma ", options.gamma, " must be in [0, 1]"));
  }
  if (!(options.tau >= 0 && options.tau <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("tau ", options.tau, " must be in [0, 1]"));
  }
  for (const auto& [field, value] : {std::pair<const char*, double>{"std_start", options.std_start},
                                     std::pair<const char*, double>{"std_end", options.std_end},
                                     std::pair<const char*, double>{"std_clip", options.std_clip}}) {
    if (!(value >= 0) || !std::isfinite(value)) {
      return absl::InvalidArgumentError(absl::StrCat(field, " ", value, " must be finite and >= 0"));
    }
  }
  if (!(options.reward_scale > 0) || !std::isfinite(options.reward_scale)) {
    return absl::InvalidArgumentError(absl::StrCat("reward_scale ", options.reward_scale, " must be finite and > 0"));
  }
  if (options.std_schedule_updates < 0) {
    return absl::InvalidArgumentError(absl::StrCat("std_schedule_updates ", options.std_schedule_updates, " must be >= 0"));
  }
  if (options.pad < 0 || options.pad > 16) {
    return absl::InvalidArgumentError(absl::StrCat("pad ", options.pad, " must be in 0..16"));
  }
  if (options.device.is_cuda() && !torch::cuda::is_available()) {
    return absl::FailedPreconditionError(absl::StrCat("device ", options.device.str(), " is not available"));
  }
  if (!options.device.is_cpu() && !options.device.is_cuda()) {
    return absl::InvalidArgumentError(absl::StrCat("unsupported device ", options.device.str()));
  }
  const std::vector<int64_t>& shape = env.observation_shape;
  ASSIGN_OR_RETURN(TorchTorso torso,
                   TorchTorso::Create(options.torso, {shape[0], shape[1], shape[2]}, env.image_channels()));
  try {
    return std::unique_ptr<DrqV2>(new DrqV2(options, std::move(torso)));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("cannot create DrQ-v2: ", e.what_without_backtrace()));
  }
}

const std::string& DrqV2::name() const { return AlgorithmName(v1::LearnerConfig::kDrqv2); }

std::vector<ColumnRequirement> DrqV2::Columns() const { return TransitionColumns(options_.env); }

double DrqV2::Std(int64_t updates) const {
  if (options_.std_schedule_updates == 0) return options_.std_end;
  const double progress =
      std::min(1.0, static_cast<double>(updates) / static_cast<double>(options_.std_schedule_updates));
  return options_.std_start + (options_.std_end - options_.std_start) * progress;
}

absl::Status DrqV2::CheckBatch(const TransitionBatch& batch) const {
  return CheckTransitionBatch(batch, obs_dim_, act_dim_, options_.device);
}

absl::Status DrqV2::Update(const Batch& batch) {
  ASSIGN_OR_RETURN(TransitionBatch view, ToTransitionBatch(batch, options_.env.flat_dim));
  return Update(view);
}

absl::Status DrqV2::Update(const TransitionBatch& batch) {
  RETURN_IF_ERROR(CheckBatch(batch));
  return CatchTorchErrors("drqv2 update failed", [&] { return UpdateUnchecked(batch); });
}

torch::Tensor DrqV2::Encode(const torch::Tensor& encoder, const torch::Tensor& obs, const torch::Tensor& flat) const {
  const torch::Tensor features = torso_.Forward(obs, torso_.Views(encoder));
  return flat.defined() ? torch::cat({features, flat}, 1) : features;
}

torch::Tensor DrqV2::Trunk(const std::vector<torch::Tensor>& views, size_t first, const torch::Tensor& h) const {
  // The trunk reads the encoder's features; a Dict observation's flat
  // leaves, after them in h, pass beside it.
  const int64_t flat = options_.env.flat_dim;
  const torch::Tensor encoded = flat > 0 ? h.narrow(1, 0, h.size(1) - flat) : h;
  torch::Tensor z = torch::addmm(views[first + 1], encoded, views[first].t());
  z = torch::layer_norm(z, {options_.feature_dim}, views[first + 2], views[first + 3], policies::kTrunkNormEpsilon)
          .tanh();
  return flat > 0 ? torch::cat({z, h.narrow(1, h.size(1) - flat, flat)}, 1) : z;
}

torch::Tensor DrqV2::Actor(const std::vector<torch::Tensor>& views, const torch::Tensor& features) const {
  torch::Tensor h = Trunk(views, 0, features);
  const size_t layers = (views.size() - 4) / 2;
  for (size_t l = 0; l < layers; ++l) {
    h = torch::addmm(views[4 + 2 * l + 1], h, views[4 + 2 * l].t());
    if (l + 1 < layers) h = h.relu();
  }
  return h.tanh();
}

torch::Tensor DrqV2::Critic(const std::vector<torch::Tensor>& views, const torch::Tensor& features,
                            const torch::Tensor& action) const {
  const torch::Tensor input = torch::cat({Trunk(views, 0, features), action}, 1);
  std::vector<torch::Tensor> q;
  for (int e = 0; e < kCritics; ++e) {
    torch::Tensor h = input;
    const size_t first = 4 + static_cast<size_t>(e) * 2 * critic_layers_;
    for (int l = 0; l < critic_layers_; ++l) {
      h = torch::addmm(views[first + 2 * l + 1], h, views[first + 2 * l].t());
      if (l + 1 < critic_layers_) h = h.relu();
    }
    q.push_back(h.squeeze(1));
  }
  return torch::stack(q);  // [2, B]
}

torch::Tensor DrqV2::ClippedNoise(int64_t b, double std, const torch::TensorOptions& options) {
  return torch::randn({b, act_dim_}, generator_, options).mul_(std).clamp_(-options_.std_clip, options_.std_clip);
}

absl::Status DrqV2::UpdateUnchecked(const TransitionBatch& batch) {
  torch::NoGradGuard no_grad;
  const int64_t b = batch.obs.size(0);
  const std::vector<int64_t>& shape = options_.env.observation_shape;
  const double std = Std(updates_);

  // 0. Each observation's image shifted on its own (a Dict observation's
  // flat leaves are not); the encoder on s with its graph (the critic loss
  // trains it), on s' without.
  const int64_t image = shape[0] * shape[1] * shape[2], flat = options_.env.flat_dim;
  auto image_of = [&](const torch::Tensor& rows) {
    return RandomShift(rows.narrow(1, 0, image).reshape({b, shape[0], shape[1], shape[2]}), options_.pad, generator_);
  };
  auto flat_of = [&](const torch::Tensor& rows) { return flat > 0 ? rows.narrow(1, image, flat) : torch::Tensor(); };
  const torch::Tensor obs = image_of(batch.obs);
  const torch::Tensor next_obs = image_of(batch.next_obs);
  torch::Tensor features;
  {
    torch::AutoGradMode enable(true);
    features = Encode(encoder_, obs, flat_of(batch.obs));
  }
  const torch::Tensor next_features = Encode(encoder_.detach(), next_obs, flat_of(batch.next_obs));

  // 1. TD target, no gradient: a' = clamp(mu(h') + clipped noise, -1, 1),
  // y = reward_scale * r + discount * min_e Q_target_e(h', a').
  const std::vector<torch::Tensor> actor_views = actor_layout_.Views(actor_.detach());
  torch::Tensor next_action = Actor(actor_views, next_features);
  next_action.add_(ClippedNoise(b, std, next_action.options())).clamp_(-1, 1);
  const torch::Tensor q_next = Critic(critic_layout_.Views(critic_target_), next_features, next_action);  // [2, B]
  const torch::Tensor reward = options_.reward_scale == 1.0 ? batch.reward : batch.reward * options_.reward_scale;
  const torch::Tensor target = torch::addcmul(reward, BootstrapDiscount(batch, options_.gamma), q_next.amin(0));

  // 2. Critic and encoder step: loss = sum_e mean_i w_i (Q_e - y)^2.
  torch::Tensor q;
  {
    torch::AutoGradMode enable(true);
    q = Critic(critic_layout_.Views(critic_), features, batch.action);
    torch::Tensor squared = (q - target.view({1, b})).square();
    if (batch.weight.defined()) squared = squared * batch.weight.view({1, b});
    const torch::Tensor loss = squared.mean(1).sum();
    std::vector<torch::Tensor> grads = torch::autograd::grad({loss}, {critic_, encoder_});
    critic_grad_ = grads[0];
    encoder_grad_ = grads[1];
  }
  RETURN_IF_ERROR(AverageOverRanks(averager_, {critic_grad_, encoder_grad_}));
  critic_adam_.Step(critic_, critic_grad_);
  encoder_adam_.Step(encoder_, encoder_grad_);

  // 3. Actor step through the updated critics (fixed), on the features
  // detached: loss = -mean min_e Q_e(h, a~).
  const torch::Tensor detached = features.detach();
  const std::vector<torch::Tensor> critic_views = critic_layout_.Views(critic_.detach());
  const torch::Tensor noise = ClippedNoise(b, std, detached.options());
  torch::Tensor actor_loss;
  {
    torch::AutoGradMode enable(true);
    const torch::Tensor mu = Actor(actor_layout_.Views(actor_), detached);
    const torch::Tensor sampled = mu + noise;
    // Clamped forward, identity backward.
    const torch::Tensor action = sampled + (sampled.detach().clamp(-kActionEdge, kActionEdge) - sampled.detach());
    actor_loss = Critic(critic_views, detached, action).amin(0).mean().neg();
    actor_grad_ = torch::autograd::grad({actor_loss}, {actor_})[0];
  }
  RETURN_IF_ERROR(AverageOverRanks(averager_, {actor_grad_}));
  actor_adam_.Step(actor_, actor_grad_);

  // 4. Polyak: target = tau * online + (1 - tau) * target.
  critic_target_.lerp_(critic_.detach(), options_.tau);

  last_.q = q.detach();
  last_.target = target;
  last_.weight = batch.weight.defined() ? batch.weight.clone() : torch::Tensor();  // the batch's buffer may be reused
  last_.actor_loss = actor_loss.detach();
  last_.std = std;
  ++updates_;
  return absl::OkStatus();
}

torch::Tensor DrqV2::Priorities() const {
  if (!last_.q.defined()) return {};
  torch::NoGradGuard no_grad;
  return (last_.q - last_.target.view({1, -1})).abs_().mean(0);
}

std::vector<Statistic> DrqV2::Statistics() const {
  std::vector<Statistic> stats = {{"critic", 0, true}, {"actor", 0, true}, {"q_mean", 0, false}, {"std", 0, false}};
  stats[3].value = last_.q.defined() ? last_.std : Std(updates_);
  if (!last_.q.defined()) return stats;
  try {
    torch::NoGradGuard no_grad;
    torch::Tensor squared = (last_.q - last_.target.view({1, -1})).square();
    if (last_.weight.defined()) squared.mul_(last_.weight.view({1, -1}));
    torch::Tensor all =
        torch::stack({squared.mean(1).sum(), last_.actor_loss, last_.q.mean()}).to(torch::kCPU, torch::kFloat64);
    for (int64_t i = 0; i < 3; ++i) stats[static_cast<size_t>(i)].value = all[i].item<double>();
  } catch (const c10::Error&) {
    // Statistics are advisory; a failing device shows up in the next Update.
  }
  return stats;
}

absl::StatusOr<v1::ParameterSet> DrqV2::ExportPolicy() const {
  try {
    torch::NoGradGuard no_grad;
    std::vector<std::pair<std::string, torch::Tensor>> named;
    const std::vector<policies::TorsoParameter> parameters = torso_.Parameters(policies::kPolicyPrefix);
    const std::vector<torch::Tensor> encoder = torso_.Views(encoder_.detach());
    for (size_t i = 0; i < parameters.size(); ++i) named.emplace_back(parameters[i].name, encoder[i]);
    const std::vector<torch::Tensor> views = actor_layout_.Views(actor_.detach());
    for (size_t i = 0; i < views.size(); ++i) {
      // "actor.trunk.weight" -> "policy.trunk.weight", "actor.layers.0.bias" -> "policy.layers.0.bias".
      const std::string& name = actor_layout_.names[i];
      named.emplace_back(absl::StrCat(policies::kPolicyPrefix, name.substr(name.find('.'))), views[i]);
    }
    ASSIGN_OR_RETURN(v1::ParameterSet set, ToParameterSet(named));
    v1::PolicySpec spec =
        policies::PolicySpecFor(policies::DeterministicPolicy::kKind, options_.env, options_.hidden, Std(updates_));
    RETURN_IF_ERROR(policies::SetTorso(options_.env, options_.torso, &spec));
    spec.set_trunk_size(options_.feature_dim);
    *set.mutable_policy() = std::move(spec);
    return set;
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("cannot export the policy: ", e.what_without_backtrace()));
  }
}

int64_t DrqV2::UpdateMatmulFlops(int64_t batch) const {
  const int64_t b = batch;
  const int64_t trunk = 2 * b * torso_.out_dim() * options_.feature_dim;  // one trunk's forward
  const int64_t flat = options_.env.flat_dim;
  std::vector<int64_t> actor = {options_.feature_dim + flat}, critic = {options_.feature_dim + flat + act_dim_};
  for (int h : options_.hidden) {
    actor.push_back(h);
    critic.push_back(h);
  }
  actor.push_back(act_dim_);
  critic.push_back(1);
  int64_t flops = 0;
  // The encoder: forward on s and s', backward (weights and input) on s.
  flops += 2 * 4 * b * torso_.MultiplyAdds();
  // Target: actor and target critics on s'. Critic step: forward and
  // backward (x3). Actor step: actor forward and backward, critics forward
  // and input gradients.
  flops += trunk + MatmulFlops(actor, b) + trunk + kCritics * MatmulFlops(critic, b);
  flops += 3 * (trunk + kCritics * MatmulFlops(critic, b));
  flops += 3 * (trunk + MatmulFlops(actor, b)) + 2 * (trunk + kCritics * MatmulFlops(critic, b));
  return flops;
}

std::map<std::string, torch::Tensor> DrqV2::ParametersForTesting() {
  std::map<std::string, torch::Tensor> named;
  const std::vector<policies::TorsoParameter> parameters = torso_.Parameters("encoder");
  const std::vector<torch::Tensor> encoder = torso_.Views(encoder_.detach());
  for (size_t i = 0; i < parameters.size(); ++i) named[parameters[i].name] = encoder[i];
  for (const auto& [layout, flat, prefix] :
       {std::tuple<FlatLayout*, torch::Tensor, std::string>{&actor_layout_, actor_.detach(), ""},
        std::tuple<FlatLayout*, torch::Tensor, std::string>{&critic_layout_, critic_.detach(), ""},
        std::tuple<FlatLayout*, torch::Tensor, std::string>{&critic_layout_, critic_target_, "critic_target"}}) {
    const std::vector<torch::Tensor> views = layout->Views(flat);
    for (size_t i = 0; i < views.size(); ++i) {
      const std::string& name = layout->names[i];
      named[prefix.empty() ? name : prefix + name.substr(name.find('.'))] = views[i];
    }
  }
  return named;
}

std::map<std::string, torch::Tensor> DrqV2::GradientsForTesting() const {
  return {{"critic", critic_grad_}, {"encoder", encoder_grad_}, {"actor", actor_grad_}};
}

torch::Tensor DrqV2::EncodeForTesting(const torch::Tensor& obs) const {
  torch::NoGradGuard no_grad;
  const int64_t flat = options_.env.flat_dim;
  if (flat == 0) return Encode(encoder_.detach(), obs, torch::Tensor());
  const int64_t image = obs.size(1) - flat;
  return Encode(encoder_.detach(), obs.narrow(1, 0, image), obs.narrow(1, image, flat));
}

torch::Tensor DrqV2::ActorForTesting(const torch::Tensor& features) const {
  torch::NoGradGuard no_grad;
  return Actor(actor_layout_.Views(actor_.detach()), features);
}

torch::Tensor DrqV2::CriticForTesting(const torch::Tensor& features, const torch::Tensor& action, bool target) const {
  torch::NoGradGuard no_grad;
  return Critic(critic_layout_.Views(target ? critic_target_ : critic_.detach()), features, action);
}

}  // namespace rill::learner
