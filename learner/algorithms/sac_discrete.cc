#include "learner/algorithms/sac_discrete.h"

#include <cmath>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "learner/algorithms/checks.h"
#include "learner/algorithms/spec.h"
#include "learner/algorithms/torch_errors.h"
#include "learner/torch_policy.h"
#include "policies/categorical.h"
#include "policies/registry.h"
#include "policies/spec.h"

namespace rill::learner {
namespace {

// Layer sizes of one network input -> hidden... -> one output per action,
// the input being the observation or the torso's features.
std::vector<int64_t> LayerSizes(const SacDiscreteOptions& options, int64_t input) {
  std::vector<int64_t> sizes = {input};
  sizes.insert(sizes.end(), options.hidden.begin(), options.hidden.end());
  sizes.push_back(options.num_actions);
  return sizes;
}

// The env the options describe, as PolicySpecFor and TransitionColumns read it.
envs::EnvSpec DiscreteEnv(const SacDiscreteOptions& options) {
  envs::EnvSpec env;
  env.observation_shape = {options.obs_dim};
  if (options.flat_dim > 0) {
    // A Dict observation: its image's shape, the flat leaves beside it.
    env.observation_shape = options.observation_shape;
    env.flat_dim = options.flat_dim;
  }
  env.observation_type = options.observation_type;
  env.discrete = true;
  env.num_actions = options.num_actions;
  env.action_mask = options.action_mask;
  return env;
}

}  // namespace

SacDiscrete::SacDiscrete(const SacDiscreteOptions& options, FlatMlp policy, FlatMlp critic, TorchTorso torso)
    : options_(options),
      target_entropy_(options.target_entropy_fraction * std::log(static_cast<double>(options.num_actions))),
      policy_(std::move(policy)),
      critic_(std::move(critic)),
      critic_target_(critic_.Clone()),
      torso_(std::move(torso)),
      log_alpha_(torch::full({1}, std::log(options.initial_alpha),
                             torch::TensorOptions().dtype(torch::kFloat32).device(options.device))),
      log_alpha_grad_(torch::zeros_like(log_alpha_)),
      policy_adam_(policy_.params(), options.actor_lr),
      critic_adam_(critic_.params(), options.critic_lr),
      alpha_adam_(log_alpha_, options.alpha_lr) {
  state_.AddTensor("policy", policy_.params());
  state_.AddTensor("critic", critic_.params());
  state_.AddTensor("critic_target", critic_target_.params());
  state_.AddTensor("log_alpha", log_alpha_);
  state_.AddAdam("policy_adam", &policy_adam_);
  state_.AddAdam("critic_adam", &critic_adam_);
  state_.AddAdam("alpha_adam", &alpha_adam_);
  state_.AddCounter("updates", &updates_);
  if (!torso_.empty()) {
    const std::vector<policies::TorsoParameter> parameters = torso_.Parameters(policies::kPolicyPrefix);
    torch::Tensor init = torch::empty({torso_.NumParameters()}, torch::kFloat32);
    at::Generator generator = at::detail::createCPUGenerator(options.seed * 2654435761ULL + 3);
    InitTorsoParameters(parameters, init, generator);
    // Two buffers: .to() returns `init` itself on the CPU.
    encoder_ = init.to(options.device, /*non_blocking=*/false, /*copy=*/true).requires_grad_(true);
    encoder_target_ = init.to(options.device, /*non_blocking=*/false, /*copy=*/true);
    encoder_adam_ = FlatAdam(encoder_, options.critic_lr);
    state_.AddTensor("encoder", encoder_);
    state_.AddTensor("encoder_target", encoder_target_);
    state_.AddAdam("encoder_adam", &encoder_adam_);
  }
}

std::vector<torch::Tensor> SacDiscrete::TorsoViews(const torch::Tensor& flat) const { return torso_.Views(flat); }

torch::Tensor SacDiscrete::Features(const torch::Tensor& obs, const torch::Tensor& encoder) const {
  const int64_t flat = options_.flat_dim;
  if (flat == 0) return torso_.Forward(obs, TorsoViews(encoder));
  // A Dict observation: the torso's features of the image, then the flat
  // leaves beside them.
  const int64_t image = obs.size(1) - flat;
  return torch::cat({torso_.Forward(obs.narrow(1, 0, image), TorsoViews(encoder)), obs.narrow(1, image, flat)}, 1);
}

absl::StatusOr<std::unique_ptr<Algorithm>> SacDiscrete::FromConfig(const AlgorithmContext& context) {
  if (!context.env.discrete) {
    return absl::InvalidArgumentError(absl::StrCat("config field learner.sac_discrete: sac_discrete needs a discrete "
                                                   "action space; ",
                                                   context.env.name, " is continuous"));
  }
  const v1::LearnerConfig& learner = context.config.learner();
  const v1::SacDiscreteConfig& config = learner.sac_discrete();
  SacDiscreteOptions options;
  options.obs_dim = context.env.obs_dim();
  options.observation_type = context.env.observation_type;
  options.num_actions = context.env.num_actions;
  options.action_mask = context.env.action_mask;
  options.hidden = context.hidden();
  options.torso = context.torso();
  options.observation_shape = context.env.observation_shape;
  options.image_channels = context.env.image_channels();
  options.flat_dim = context.env.flat_dim;
  options.actor_lr = config.actor_lr();
  options.critic_lr = config.critic_lr();
  options.alpha_lr = config.alpha_lr();
  options.initial_alpha = config.initial_alpha();
  options.target_entropy_fraction = config.target_entropy_fraction();
  options.fixed_alpha = config.fixed_alpha();
  options.gamma = learner.gamma();
  options.tau = learner.tau();
  options.device = context.device;
  options.seed = context.seed;
  ASSIGN_OR_RETURN(std::unique_ptr<SacDiscrete> algorithm, Create(options));
  return std::unique_ptr<Algorithm>(std::move(algorithm));
}

absl::StatusOr<std::unique_ptr<SacDiscrete>> SacDiscrete::Create(const SacDiscreteOptions& options) {
  if (options.obs_dim <= 0 || options.num_actions <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("obs_dim (", options.obs_dim, ") and num_actions (",
                                                   options.num_actions, ") must be positive"));
  }
  if (options.action_mask && (options.torso.empty() ? options.obs_dim <= options.num_actions
                                                    : options.flat_dim < options.num_actions)) {
    return absl::InvalidArgumentError(absl::StrCat("an action mask needs flat observations longer than its ",
                                                   options.num_actions, " actions (obs_dim ", options.obs_dim,
                                                   "), or beside a torso that many flat leaves (flat_dim ",
                                                   options.flat_dim, ")"));
  }
  if (options.flat_dim < 0 || options.flat_dim >= options.obs_dim) {
    return absl::InvalidArgumentError(
        absl::StrCat("flat_dim ", options.flat_dim, " is out of range 0..", options.obs_dim - 1));
  }
  if (options.hidden.empty()) return absl::InvalidArgumentError("hidden must name at least one layer");
  for (int h : options.hidden) {
    if (h <= 0) return absl::InvalidArgumentError(absl::StrCat("hidden sizes must be positive, got ", h));
  }
  if (!(options.actor_lr > 0) || !(options.critic_lr > 0) || !(options.alpha_lr > 0)) {
    return absl::InvalidArgumentError(absl::StrCat("learning rates must be positive: actor_lr ", options.actor_lr,
                                                   ", critic_lr ", options.critic_lr, ", alpha_lr ",
                                                   options.alpha_lr));
  }
  if (!(options.gamma >= 0 && options.gamma <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("gamma ", options.gamma, " must be in [0, 1]"));
  }
  if (!(options.tau >= 0 && options.tau <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("tau ", options.tau, " must be in [0, 1]"));
  }
  if (!(options.initial_alpha > 0) || !std::isfinite(options.initial_alpha)) {
    return absl::InvalidArgumentError(absl::StrCat("initial_alpha ", options.initial_alpha, " must be positive"));
  }
  if (!(options.target_entropy_fraction > 0 && options.target_entropy_fraction <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("target_entropy_fraction ", options.target_entropy_fraction, " must be in (0, 1]"));
  }
  if (options.device.is_cuda() && !torch::cuda::is_available()) {
    return absl::FailedPreconditionError(absl::StrCat("device ", options.device.str(), " is not available"));
  }
  if (!options.device.is_cpu() && !options.device.is_cuda()) {
    return absl::InvalidArgumentError(absl::StrCat("unsupported device ", options.device.str()));
  }
  TorchTorso torso;
  if (!options.torso.empty()) {
    const std::vector<int64_t>& shape = options.observation_shape;
    if (shape.size() != 3 || shape[0] * shape[1] * shape[2] != options.obs_dim - options.flat_dim) {
      return absl::InvalidArgumentError(absl::StrCat("a torso needs observation_shape [C, H, W] of obs_dim ",
                                                     options.obs_dim, " elements less flat_dim ", options.flat_dim,
                                                     ", got [", absl::StrJoin(shape, ", "), "]"));
    }
    ASSIGN_OR_RETURN(torso, TorchTorso::Create(options.torso, {shape[0], shape[1], shape[2]}, options.image_channels));
  }
  const int64_t input = torso.empty() ? options.obs_dim : torso.out_dim() + options.flat_dim;
  std::vector<int64_t> hidden(options.hidden.begin(), options.hidden.end());
  MlpShape policy_shape{input, hidden, options.num_actions, 1};
  MlpShape critic_shape{input, hidden, options.num_actions, 2};
  ASSIGN_OR_RETURN(FlatMlp policy,
                   FlatMlp::Create(policy_shape, options.seed * 2654435761ULL + 1, options.device));
  ASSIGN_OR_RETURN(FlatMlp critic,
                   FlatMlp::Create(critic_shape, options.seed * 2654435761ULL + 2, options.device));
  try {
    return std::unique_ptr<SacDiscrete>(
        new SacDiscrete(options, std::move(policy), std::move(critic), std::move(torso)));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("cannot create SAC-discrete: ", e.what_without_backtrace()));
  }
}

const std::string& SacDiscrete::name() const { return AlgorithmName(v1::LearnerConfig::kSacDiscrete); }

std::vector<ColumnRequirement> SacDiscrete::Columns() const { return TransitionColumns(DiscreteEnv(options_)); }

absl::Status SacDiscrete::CheckBatch(const TransitionBatch& batch) const {
  RETURN_IF_ERROR(CheckTransitionBatch(batch, options_.obs_dim, /*act_dim=*/0, options_.device));
  // An index out of range would read past the critics' outputs (and on a
  // GPU abort the process from a device-side assert): one reduction, one
  // device-to-host copy.
  int64_t low = 0, high = 0;
  try {
    torch::NoGradGuard no_grad;
    auto [min, max] = at::aminmax(batch.action);
    torch::Tensor range = torch::stack({min, max}).to(torch::kCPU);
    low = range[0].item<int64_t>();
    high = range[1].item<int64_t>();
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("cannot check batch.action: ", e.what_without_backtrace()));
  }
  if (low < 0 || high >= options_.num_actions) {
    return absl::InvalidArgumentError(absl::StrCat("batch.action holds indices in [", low, ", ", high,
                                                   "], outside the ", options_.num_actions, " actions [0, ",
                                                   options_.num_actions, ")"));
  }
  return absl::OkStatus();
}

absl::Status SacDiscrete::Update(const Batch& batch) {
  ASSIGN_OR_RETURN(TransitionBatch view, ToTransitionBatch(batch, options_.flat_dim));
  return Update(view);
}

absl::Status SacDiscrete::Update(const TransitionBatch& batch) {
  RETURN_IF_ERROR(CheckBatch(batch));
  return CatchTorchErrors("SAC-discrete update failed", [&] { return UpdateUnchecked(batch); });
}

absl::Status SacDiscrete::UpdateUnchecked(const TransitionBatch& batch) {
  torch::NoGradGuard no_grad;
  const int64_t b = batch.obs.size(0);
  const int64_t num_actions = options_.num_actions;

  // 0. What the networks see: the observations, or the torso's features
  // (of s with autograd, for the critic loss to train the encoder; of s'
  // by the online encoder for the policy and by the target encoder for the
  // target critics).
  torch::Tensor features;  // torso(s), with its graph
  torch::Tensor obs = batch.obs, next_obs = batch.next_obs, target_next_obs = batch.next_obs;
  if (!torso_.empty()) {
    {
      torch::AutoGradMode enable(true);
      features = Features(batch.obs, encoder_);
    }
    obs = features.detach();
    next_obs = Features(batch.next_obs, encoder_.detach());
    target_next_obs = Features(batch.next_obs, encoder_target_);
  }

  // 1. The policy on s' (rows [0, B)) and s (rows [B, 2B)) in one pass: it
  // does not change before its own step. Only the s rows are differentiated.
  torch::Tensor logits = policy_.Forward(torch::cat({next_obs, obs}, 0), policy_trace_).squeeze(0);
  torch::Tensor raw_obs;  // s' then s as the env gave them, masks and all
  if (options_.action_mask) {
    raw_obs = torch::cat({batch.next_obs, batch.obs}, 0);
    logits = MaskLogits(logits, raw_obs);
  }
  torch::Tensor log_p = torch::log_softmax(logits, 1);  // [2B, A]
  torch::Tensor p = log_p.exp();
  torch::Tensor alpha = log_alpha_.exp();  // [1]; every loss uses the temperature before this update

  // 2. TD target, no gradient: the soft value of s' is an exact expectation,
  // V(s') = sum_a p'(a) (min(Q1t, Q2t)(s', a) - alpha logp'(a)), and
  // y = r + discount * V(s').
  torch::Tensor q_next = critic_target_.Forward(target_next_obs, target_trace_);  // [2, B, A]
  torch::Tensor soft_next = torch::minimum(q_next[0], q_next[1])
                                .sub_(log_p.narrow(0, 0, b) * alpha)
                                .mul_(p.narrow(0, 0, b))
                                .sum(1);  // [B]
  torch::Tensor target = torch::addcmul(batch.reward, BootstrapDiscount(batch, options_.gamma), soft_next);

  // 3. Critic step on the replayed actions. Loss = 0.5 * sum_e MSE(Q_e(s, a), y),
  // so d loss / d Q_e(s, a) = (Q_e - y) / B (times the item's importance
  // weight), and zero for every other action's output.
  torch::Tensor index = batch.action.view({1, b, 1}).expand({2, b, 1});
  torch::Tensor q = critic_.Forward(obs, critic_trace_).gather(2, index);  // [2, B, 1]
  torch::Tensor grad_taken = (q - target.view({1, b, 1})).mul_(1.0 / b);
  if (batch.weight.defined()) grad_taken.mul_(batch.weight.view({1, b, 1}));
  if (!grad_q_.defined() || grad_q_.size(1) != b) grad_q_ = torch::empty({2, b, num_actions}, q.options());
  grad_q_.zero_().scatter_(2, index, grad_taken);
  const int64_t feature_dim = obs.size(1);
  torch::Tensor grad_input =
      critic_.Backward(critic_trace_, grad_q_, /*row_begin=*/0, /*weight_grads=*/true,
                       torso_.empty() ? std::nullopt
                                      : std::make_optional(std::pair<int64_t, int64_t>{0, feature_dim}));
  torch::Tensor grad_encoder;
  if (!torso_.empty()) {
    // Both critics' loss back through the shared encoder.
    torch::Tensor grad_features = grad_input.sum(0);  // [B, F]
    torch::AutoGradMode enable(true);
    grad_encoder = torch::autograd::grad({features}, {encoder_}, {grad_features})[0];
  }
  // The critics' and the encoder's gradients, averaged over the ranks in one go.
  RETURN_IF_ERROR(AverageOverRanks(averager_, torso_.empty() ? std::vector<torch::Tensor>{critic_.grads()}
                                                             : std::vector<torch::Tensor>{critic_.grads(), grad_encoder}));
  critic_adam_.Step(critic_.params(), critic_.grads());
  if (!torso_.empty()) encoder_adam_.Step(encoder_, grad_encoder);

  // 4. Policy step through the updated critics, whose weights stay fixed.
  // Loss = mean_s sum_a p(a) f(a) with f = alpha logp - min(Q1, Q2); its
  // gradient in the logits is d/dz_j = p_j (f_j - sum_a p_a f_a) / B (the
  // alpha logp term's own derivative, sum_a p_a d logp_a = 0, drops out).
  torch::Tensor pi_log_p = log_p.narrow(0, b, b);
  torch::Tensor pi_p = p.narrow(0, b, b);
  torch::Tensor q_pi = critic_.Forward(obs, pi_trace_);  // [2, B, A]
  torch::Tensor f = torch::addcmul(torch::minimum(q_pi[0], q_pi[1]).neg_(), pi_log_p, alpha);  // [B, A]
  torch::Tensor actor_loss = (pi_p * f).sum(1, /*keepdim=*/true);                             // [B, 1]
  if (!grad_logits_.defined() || grad_logits_.size(1) != b) {
    grad_logits_ = torch::empty({1, b, num_actions}, f.options());
  }
  torch::Tensor grad_logits = grad_logits_[0];
  at::mul_out(grad_logits, f.sub_(actor_loss), pi_p).mul_(1.0 / b);
  policy_.Backward(policy_trace_, grad_logits_, /*row_begin=*/b, /*weight_grads=*/true, std::nullopt);

  // 5. Temperature: loss = -mean(log_alpha * (sum_a p logp + target_entropy))
  // with p and logp detached, so d loss / d log_alpha = entropy - target
  // (mean over the batch): above the target, alpha falls. Its gradient is
  // averaged over the ranks with the policy's, in one go.
  torch::Tensor neg_entropy = (pi_p * pi_log_p).sum(1);  // [B]
  torch::Tensor log_alpha_before = log_alpha_.clone();
  const torch::Tensor entropy_targets =
      options_.action_mask ? MaskedEntropyTargets(raw_obs.narrow(0, b, b)) : torch::Tensor();
  if (!options_.fixed_alpha) SetAlphaGradient(neg_entropy, entropy_targets);
  RETURN_IF_ERROR(AverageOverRanks(averager_, options_.fixed_alpha
                                                  ? std::vector<torch::Tensor>{policy_.grads()}
                                                  : std::vector<torch::Tensor>{policy_.grads(), log_alpha_grad_}));
  policy_adam_.Step(policy_.params(), policy_.grads());
  if (!options_.fixed_alpha) alpha_adam_.Step(log_alpha_, log_alpha_grad_);

  // 6. Polyak: target = tau * online + (1 - tau) * target.
  critic_target_.params().lerp_(critic_.params(), options_.tau);
  if (!torso_.empty()) encoder_target_.lerp_(encoder_.detach(), options_.tau);

  last_.q = q.view({2, b});
  last_.target = target;
  last_.log_alpha = log_alpha_before;
  last_.actor_loss = actor_loss.view({b});
  last_.neg_entropy = neg_entropy;
  last_.entropy_targets = entropy_targets;
  ++updates_;
  return absl::OkStatus();
}

torch::Tensor SacDiscrete::Priorities() const {
  if (!last_.q.defined()) return {};
  torch::NoGradGuard no_grad;
  return (last_.q - last_.target.view({1, -1})).abs_().mean(0);
}

torch::Tensor SacDiscrete::MaskedEntropyTargets(const torch::Tensor& obs) const {
  // Each state's own target: the fraction of log(the actions it allows).
  const int64_t a = options_.num_actions;
  torch::Tensor allowed = obs.narrow(1, options_.obs_dim - a, a).gt(0);
  return allowed.sum(1).to(torch::kFloat32).clamp_min(1).log().mul_(options_.target_entropy_fraction);
}

void SacDiscrete::SetAlphaGradient(const torch::Tensor& neg_entropy, const torch::Tensor& entropy_targets) {
  if (entropy_targets.defined()) {
    at::mean_out(log_alpha_grad_, neg_entropy + entropy_targets, {0}, /*keepdim=*/true).neg_();
  } else {
    at::mean_out(log_alpha_grad_, neg_entropy, {0}, /*keepdim=*/true).add_(target_entropy_).neg_();
  }
}

std::vector<Statistic> SacDiscrete::Statistics() const {
  std::vector<Statistic> stats = {
      {"critic", 0, true}, {"actor", 0, true},  {"alpha", 0, true},
      {"alpha", 0, false}, {"q_mean", 0, false}, {"entropy", 0, false},
  };
  if (!last_.q.defined()) return stats;
  try {
    torch::NoGradGuard no_grad;
    // One tensor, one device-to-host copy.
    torch::Tensor all =
        torch::stack({
                         (last_.q - last_.target.view({1, -1})).square().mean(1).sum() * 0.5,
                         last_.actor_loss.mean(),
                         last_.entropy_targets.defined()
                             ? -(last_.log_alpha * (last_.neg_entropy + last_.entropy_targets)).mean()
                             : -(last_.log_alpha * (last_.neg_entropy + target_entropy_)).mean(),
                         last_.log_alpha.exp().squeeze(0),
                         last_.q.mean(),
                         -last_.neg_entropy.mean(),
                     })
            .to(torch::kCPU, torch::kFloat64);
    for (size_t i = 0; i < stats.size(); ++i) stats[i].value = all[static_cast<int64_t>(i)].item<double>();
  } catch (const c10::Error&) {
    // Statistics are advisory; a failing device shows up in the next Update.
  }
  return stats;
}

absl::StatusOr<v1::ParameterSet> SacDiscrete::ExportPolicy() const {
  try {
    std::vector<std::pair<std::string, torch::Tensor>> named;
    if (!torso_.empty()) {
      const std::vector<torch::Tensor> views = TorsoViews(encoder_.detach());
      const std::vector<policies::TorsoParameter> parameters = torso_.Parameters(policies::kPolicyPrefix);
      for (size_t i = 0; i < views.size(); ++i) named.emplace_back(parameters[i].name, views[i]);
    }
    for (auto& entry : policy_.NamedParameters(policies::kPolicyPrefix)) named.push_back(std::move(entry));
    ASSIGN_OR_RETURN(v1::ParameterSet set, ToParameterSet(named));
    envs::EnvSpec env = DiscreteEnv(options_);
    *set.mutable_policy() = policies::PolicySpecFor(policies::CategoricalPolicy::kKind, env, options_.hidden);
    if (!torso_.empty()) {
      env.observation_shape = options_.observation_shape;
      env.flat_dim = options_.flat_dim;
      for (const int32_t c : options_.image_channels) {
        // Several image leaves, as the env declared them (EnvSpec::image_channels).
        env.observation_leaves.push_back({absl::StrCat("image", env.observation_leaves.size()),
                                          {c, env.observation_shape[1], env.observation_shape[2]},
                                          options_.observation_type});
      }
      RETURN_IF_ERROR(policies::SetTorso(env, options_.torso, set.mutable_policy()));
    }
    return set;
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("cannot export the policy: ", e.what_without_backtrace()));
  }
}

int64_t SacDiscrete::UpdateMatmulFlops(int64_t batch) const {
  // The policy and one critic have the same layer sizes.
  const std::vector<int64_t> net =
      LayerSizes(options_, torso_.empty() ? options_.obs_dim : torso_.out_dim() + options_.flat_dim);
  const int64_t b = batch;
  int64_t flops = 0;
  flops += MatmulFlops(net, 2 * b);     // policy forward on s' and s
  flops += 2 * MatmulFlops(net, b);     // target critics forward on s'
  flops += 2 * MatmulFlops(net, b);     // critics forward on s
  flops += 2 * MatmulFlops(net, b);     // critic weight gradients
  flops += 2 * MatmulFlops(net, b, 1);  // critic input gradients, layers >= 1
  flops += 2 * MatmulFlops(net, b);     // updated critics forward on s
  flops += MatmulFlops(net, b);         // policy weight gradients (s rows only)
  flops += MatmulFlops(net, b, 1);      // policy input gradients, layers >= 1
  if (!torso_.empty()) {
    // The encoder on s (forward, weight and input gradients), on s' online
    // and by the target: five passes; the critics' first-layer input
    // gradients too.
    flops += 2 * 5 * b * torso_.MultiplyAdds();
    flops += 2 * 2 * b * net[0] * net[1];
  }
  return flops;
}

std::map<std::string, torch::Tensor> SacDiscrete::ParametersForTesting() {
  std::map<std::string, torch::Tensor> named;
  for (auto& [name, t] : policy_.NamedParameters(policies::kPolicyPrefix)) named[name] = t;
  for (auto& [name, t] : critic_.NamedParameters("critic")) named[name] = t;
  for (auto& [name, t] : critic_target_.NamedParameters("critic_target")) named[name] = t;
  named["log_alpha"] = log_alpha_;
  if (!torso_.empty()) {
    named["encoder"] = encoder_.detach();
    named["encoder_target"] = encoder_target_;
  }
  return named;
}

std::map<std::string, torch::Tensor> SacDiscrete::GradientsForTesting() {
  std::map<std::string, torch::Tensor> named;
  for (auto& [name, t] : policy_.NamedGradients(policies::kPolicyPrefix)) named[name] = t;
  for (auto& [name, t] : critic_.NamedGradients("critic")) named[name] = t;
  named["log_alpha"] = log_alpha_grad_;
  return named;
}

}  // namespace rill::learner
