#include "learner/algorithms/td3.h"

#include <cmath>
#include <utility>

#include "ATen/CPUGeneratorImpl.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "learner/algorithms/checks.h"
#include "learner/algorithms/spec.h"
#include "learner/algorithms/torch_errors.h"
#include "policies/deterministic.h"
#include "policies/registry.h"

namespace rill::learner {
namespace {

constexpr int kMaxCritics = 8;

}  // namespace

Td3::Td3(const Td3Options& options, FlatMlp actor, FlatMlp critic)
    : options_(options),
      obs_dim_(options.env.obs_dim()),
      act_dim_(options.env.action_dim()),
      actor_(std::move(actor)),
      actor_target_(actor_.Clone()),
      critic_(std::move(critic)),
      critic_target_(critic_.Clone()),
      actor_adam_(actor_.params(), options.actor_lr),
      critic_adam_(critic_.params(), options.critic_lr) {
  if (options.device.is_cpu()) generator_ = at::detail::createCPUGenerator(options.seed * 2654435761ULL + 3);
  state_.AddTensor("actor", actor_.params());
  state_.AddTensor("actor_target", actor_target_.params());
  state_.AddTensor("critic", critic_.params());
  state_.AddTensor("critic_target", critic_target_.params());
  state_.AddAdam("actor_adam", &actor_adam_);
  state_.AddAdam("critic_adam", &critic_adam_);
  state_.AddCounter("updates", &updates_);
  if (generator_.has_value()) state_.AddGenerator("generator", &*generator_);
}

absl::StatusOr<std::unique_ptr<Algorithm>> Td3::FromConfig(const AlgorithmContext& context) {
  const v1::LearnerConfig& learner = context.config.learner();
  Td3Options options;
  const v1::Td3Config* config = nullptr;
  switch (learner.algorithm_case()) {
    case v1::LearnerConfig::kTd3:
      config = &learner.td3();
      options.name = AlgorithmName(v1::LearnerConfig::kTd3);
      break;
    case v1::LearnerConfig::kDdpg:
      config = &learner.ddpg();
      options.name = AlgorithmName(v1::LearnerConfig::kDdpg);
      break;
    default:
      return absl::InvalidArgumentError("config field learner.algorithm: TD3 needs learner.td3 or learner.ddpg");
  }
  if (context.env.discrete) {
    return absl::InvalidArgumentError(absl::StrCat("config field learner.", options.name, ": ", options.name,
                                                   " needs a continuous action space; ", context.env.name,
                                                   " is discrete"));
  }
  options.env = context.env;
  options.hidden = context.hidden();
  options.actor_lr = config->actor_lr();
  options.critic_lr = config->critic_lr();
  options.num_critics = config->num_critics();
  options.target_noise = config->target_noise();
  options.target_noise_clip = config->target_noise_clip();
  options.policy_delay = config->policy_delay();
  options.exploration_noise = config->exploration_noise();
  options.gamma = learner.gamma();
  options.tau = learner.tau();
  options.device = context.device;
  options.seed = context.seed;
  absl::StatusOr<std::unique_ptr<Td3>> algorithm = Create(options);
  if (!algorithm.ok()) {
    return absl::Status(algorithm.status().code(),
                        absl::StrCat("learner.", options.name, ": ", algorithm.status().message()));
  }
  return std::unique_ptr<Algorithm>(*std::move(algorithm));
}

absl::StatusOr<std::unique_ptr<Td3>> Td3::Create(const Td3Options& options) {
  if (options.name != AlgorithmName(v1::LearnerConfig::kTd3) &&
      options.name != AlgorithmName(v1::LearnerConfig::kDdpg)) {
    return absl::InvalidArgumentError(absl::StrCat("name '", options.name, "' must be td3 or ddpg"));
  }
  const envs::EnvSpec& env = options.env;
  if (env.discrete) return absl::InvalidArgumentError(absl::StrCat("env ", env.name, " has discrete actions"));
  if (env.obs_dim() <= 0 || env.action_dim() <= 0 || env.action_high.size() != env.action_low.size()) {
    return absl::InvalidArgumentError(absl::StrCat("env ", env.name, ": obs_dim (", env.obs_dim(), ") and action_dim (",
                                                   env.action_dim(),
                                                   ") must be positive, with as many high bounds as low ones"));
  }
  if (options.hidden.empty()) return absl::InvalidArgumentError("hidden must name at least one layer");
  for (int h : options.hidden) {
    if (h <= 0) return absl::InvalidArgumentError(absl::StrCat("hidden sizes must be positive, got ", h));
  }
  if (!(options.actor_lr > 0) || !(options.critic_lr > 0)) {
    return absl::InvalidArgumentError(absl::StrCat("learning rates must be positive: actor_lr ", options.actor_lr,
                                                   ", critic_lr ", options.critic_lr));
  }
  if (!(options.gamma >= 0 && options.gamma <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("gamma ", options.gamma, " must be in [0, 1]"));
  }
  if (!(options.tau >= 0 && options.tau <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("tau ", options.tau, " must be in [0, 1]"));
  }
  if (options.num_critics < 1 || options.num_critics > kMaxCritics) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_critics ", options.num_critics, " must be in 1..", kMaxCritics));
  }
  for (const auto& [field, value] : {std::pair<const char*, double>{"target_noise", options.target_noise},
                                     std::pair<const char*, double>{"target_noise_clip", options.target_noise_clip},
                                     std::pair<const char*, double>{"exploration_noise", options.exploration_noise}}) {
    if (!(value >= 0) || !std::isfinite(value)) {
      return absl::InvalidArgumentError(absl::StrCat(field, " ", value, " must be finite and >= 0"));
    }
  }
  if (options.policy_delay < 1) {
    return absl::InvalidArgumentError(absl::StrCat("policy_delay ", options.policy_delay, " must be >= 1"));
  }
  if (options.device.is_cuda() && !torch::cuda::is_available()) {
    return absl::FailedPreconditionError(absl::StrCat("device ", options.device.str(), " is not available"));
  }
  if (!options.device.is_cpu() && !options.device.is_cuda()) {
    return absl::InvalidArgumentError(absl::StrCat("unsupported device ", options.device.str()));
  }
  std::vector<int64_t> hidden(options.hidden.begin(), options.hidden.end());
  const int64_t obs_dim = env.obs_dim(), act_dim = env.action_dim();
  MlpShape actor_shape{obs_dim, hidden, act_dim, 1};
  MlpShape critic_shape{obs_dim + act_dim, hidden, 1, options.num_critics};
  ASSIGN_OR_RETURN(FlatMlp actor, FlatMlp::Create(actor_shape, options.seed * 2654435761ULL + 1, options.device));
  ASSIGN_OR_RETURN(FlatMlp critic, FlatMlp::Create(critic_shape, options.seed * 2654435761ULL + 2, options.device));
  try {
    return std::unique_ptr<Td3>(new Td3(options, std::move(actor), std::move(critic)));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("cannot create ", options.name, ": ", e.what_without_backtrace()));
  }
}

std::vector<ColumnRequirement> Td3::Columns() const { return TransitionColumns(options_.env); }

absl::Status Td3::CheckBatch(const TransitionBatch& batch) const {
  return CheckTransitionBatch(batch, obs_dim_, act_dim_, options_.device);
}

absl::Status Td3::Update(const Batch& batch) {
  ASSIGN_OR_RETURN(TransitionBatch view, ToTransitionBatch(batch));
  return Update(view);
}

absl::Status Td3::Update(const TransitionBatch& batch) {
  RETURN_IF_ERROR(CheckBatch(batch));
  return CatchTorchErrors(absl::StrCat(options_.name, " update failed"), [&] {
    torch::Tensor noise;
    if (options_.target_noise > 0) {
      noise = torch::randn({batch.obs.size(0), act_dim_}, generator_, batch.obs.options()).mul_(options_.target_noise);
    }
    return UpdateUnchecked(batch, noise);
  });
}

absl::Status Td3::UpdateWithNoiseForTesting(const TransitionBatch& batch, const torch::Tensor& target_noise) {
  RETURN_IF_ERROR(CheckBatch(batch));
  RETURN_IF_ERROR(CheckBatchField("target_noise", target_noise, {batch.obs.size(0), act_dim_}, options_.device));
  return CatchTorchErrors(absl::StrCat(options_.name, " update failed"),
                          [&] { return UpdateUnchecked(batch, target_noise); });
}

absl::Status Td3::UpdateUnchecked(const TransitionBatch& batch, const torch::Tensor& noise) {
  torch::NoGradGuard no_grad;
  const int64_t b = batch.obs.size(0);
  const int64_t o_dim = obs_dim_;
  const int64_t a_dim = act_dim_;

  // 1. Target action with target policy smoothing, no gradient:
  // a' = clamp(tanh(actor_target(s')) + clamp(noise, +-clip), -1, 1).
  torch::Tensor next_action = actor_target_.Forward(batch.next_obs, actor_target_trace_).squeeze(0).tanh();
  if (noise.defined()) {
    next_action.add_(noise.clamp(-options_.target_noise_clip, options_.target_noise_clip)).clamp_(-1, 1);
  }

  // 2. TD target: y = r + discount * min_e Q_target_e(s', a') (clipped
  // double Q; a single critic's own value for DDPG).
  torch::Tensor q_next =
      critic_target_.Forward(torch::cat({batch.next_obs, next_action}, 1), critic_target_trace_);  // [E, B, 1]
  torch::Tensor min_q_next = q_next.size(0) == 1 ? q_next[0] : q_next.amin(0);
  torch::Tensor target = torch::addcmul(batch.reward, BootstrapDiscount(batch, options_.gamma), min_q_next.view({b}));

  // 3. Critic step. Loss = sum_e mean_i w_i (Q_e,i - y_i)^2 (SB3 sums the
  // critics' MSEs), so d loss / d Q_e,i = 2 w_i (Q_e,i - y_i) / B.
  torch::Tensor q = critic_.Forward(torch::cat({batch.obs, batch.action}, 1), critic_trace_);  // [E, B, 1]
  torch::Tensor grad_q = (q - target.view({1, b, 1})).mul_(2.0 / b);
  if (batch.weight.defined()) grad_q.mul_(batch.weight.view({1, b, 1}));
  critic_.Backward(critic_trace_, grad_q, /*row_begin=*/0, /*weight_grads=*/true, std::nullopt);
  RETURN_IF_ERROR(AverageOverRanks(averager_, {critic_.grads()}));
  critic_adam_.Step(critic_.params(), critic_.grads());

  last_.q = q;
  last_.target = target;
  last_.weight = batch.weight.defined() ? batch.weight.clone() : torch::Tensor();  // the batch's buffer may be reused
  last_.next_action = next_action;
  ++updates_;
  if (updates_ % options_.policy_delay != 0) return absl::OkStatus();

  // 4. Actor step through the updated critic 1 alone, whose weights stay
  // fixed: only d loss / d action is computed on the way back.
  // Loss = -mean(Q_1(s, a)), a = tanh(u), u = actor(s).
  torch::Tensor action = actor_.Forward(batch.obs, actor_trace_).squeeze(0).tanh();
  torch::Tensor q_pi = critic_.Forward(torch::cat({batch.obs, action}, 1), pi_trace_, /*members=*/1);  // [1, B, 1]
  if (!grad_q_pi_.defined() || grad_q_pi_.size(1) != b) grad_q_pi_ = torch::full({1, b, 1}, -1.0 / b, q_pi.options());
  torch::Tensor grad_action =
      critic_.Backward(pi_trace_, grad_q_pi_, 0, /*weight_grads=*/false, std::make_pair(o_dim, o_dim + a_dim));
  // d/du = d/da (1 - a^2).
  torch::Tensor grad_u = (1 - action.square()).mul_(grad_action[0]).unsqueeze(0);  // [1, B, A]
  actor_.Backward(actor_trace_, grad_u, /*row_begin=*/0, /*weight_grads=*/true, std::nullopt);
  RETURN_IF_ERROR(AverageOverRanks(averager_, {actor_.grads()}));
  actor_adam_.Step(actor_.params(), actor_.grads());

  // 5. Polyak: target = tau * online + (1 - tau) * target.
  actor_target_.params().lerp_(actor_.params(), options_.tau);
  critic_target_.params().lerp_(critic_.params(), options_.tau);

  last_.actor_loss = q_pi.mean().neg();
  return absl::OkStatus();
}

torch::Tensor Td3::Priorities() const {
  if (!last_.q.defined()) return {};
  torch::NoGradGuard no_grad;
  return (last_.q - last_.target.view({1, -1, 1})).abs_().mean(0).view({-1});
}

std::vector<Statistic> Td3::Statistics() const {
  std::vector<Statistic> stats = {{"critic", 0, true}, {"actor", 0, true}, {"q_mean", 0, false}};
  if (!last_.q.defined()) return stats;
  try {
    torch::NoGradGuard no_grad;
    torch::Tensor squared = (last_.q - last_.target.view({1, -1, 1})).square_();  // [E, B, 1]
    if (last_.weight.defined()) squared.mul_(last_.weight.view({1, -1, 1}));
    torch::Tensor actor_loss = last_.actor_loss.defined() ? last_.actor_loss : torch::zeros({}, last_.q.options());
    // One tensor, one device-to-host copy.
    torch::Tensor all =
        torch::stack({squared.mean({1, 2}).sum(), actor_loss, last_.q.mean()}).to(torch::kCPU, torch::kFloat64);
    for (size_t i = 0; i < stats.size(); ++i) stats[i].value = all[static_cast<int64_t>(i)].item<double>();
  } catch (const c10::Error&) {
    // Statistics are advisory; a failing device shows up in the next Update.
  }
  return stats;
}

absl::StatusOr<v1::ParameterSet> Td3::ExportPolicy() const {
  try {
    ASSIGN_OR_RETURN(v1::ParameterSet set, ToParameterSet(actor_.NamedParameters(policies::kPolicyPrefix)));
    *set.mutable_policy() =
        policies::PolicySpecFor(policies::DeterministicPolicy::kKind, options_.env, options_.hidden, options_.exploration_noise);
    return set;
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("cannot export the policy: ", e.what_without_backtrace()));
  }
}

std::map<std::string, torch::Tensor> Td3::ParametersForTesting() {
  std::map<std::string, torch::Tensor> named;
  for (auto& [name, t] : actor_.NamedParameters(policies::kPolicyPrefix)) named[name] = t;
  for (auto& [name, t] : actor_target_.NamedParameters("policy_target")) named[name] = t;
  for (auto& [name, t] : critic_.NamedParameters("critic")) named[name] = t;
  for (auto& [name, t] : critic_target_.NamedParameters("critic_target")) named[name] = t;
  return named;
}

std::map<std::string, torch::Tensor> Td3::GradientsForTesting() {
  std::map<std::string, torch::Tensor> named;
  for (auto& [name, t] : actor_.NamedGradients(policies::kPolicyPrefix)) named[name] = t;
  for (auto& [name, t] : critic_.NamedGradients("critic")) named[name] = t;
  return named;
}

int64_t Td3::UpdateMatmulFlops(int64_t batch) const {
  // Layer sizes of the actor and of one critic.
  std::vector<int64_t> actor = {obs_dim_};
  std::vector<int64_t> critic = {obs_dim_ + act_dim_};
  for (int h : options_.hidden) {
    actor.push_back(h);
    critic.push_back(h);
  }
  actor.push_back(act_dim_);
  critic.push_back(1);
  const int64_t b = batch;
  const int64_t e = options_.num_critics;
  // Every update.
  int64_t flops = 0;
  flops += MatmulFlops(actor, b);          // target actor forward on s'
  flops += e * MatmulFlops(critic, b);     // target critics forward on (s', a')
  flops += e * MatmulFlops(critic, b);     // critics forward on (s, a_replay)
  flops += e * MatmulFlops(critic, b);     // critic weight gradients
  flops += e * MatmulFlops(critic, b, 1);  // critic input gradients, layers >= 1 (none for the first layer)
  // Every policy_delay-th update.
  int64_t actor_step = 0;
  actor_step += MatmulFlops(actor, b);         // actor forward on s
  actor_step += MatmulFlops(critic, b);        // critic 1 forward on (s, a_pi)
  actor_step += MatmulFlops(critic, b, 1);     // its input gradients, layers >= 1
  actor_step += 2 * b * critic[1] * act_dim_;  // and the action columns of the first layer's
  actor_step += MatmulFlops(actor, b);         // actor weight gradients
  actor_step += MatmulFlops(actor, b, 1);      // actor input gradients, layers >= 1
  return flops + actor_step / options_.policy_delay;
}

}  // namespace rill::learner
