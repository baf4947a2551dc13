#include "learner/algorithms/dsac_t.h"

#include <cmath>
#include <utility>

#include "ATen/CPUGeneratorImpl.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "learner/algorithms/checks.h"
#include "learner/algorithms/spec.h"
#include "learner/algorithms/torch_errors.h"
#include "policies/gaussian.h"
#include "torch/torch.h"

namespace rill::learner {
namespace {

// The sampled target return's noise is clipped to this many standard
// deviations (the paper's sampling, before the td_clip_stds bound).
constexpr double kReturnNoiseClip = 3.0;

std::vector<int64_t> Hidden(const DsacTOptions& options) {
  return std::vector<int64_t>(options.hidden.begin(), options.hidden.end());
}

}  // namespace

DsacT::DsacT(const DsacTOptions& options, FlatMlp actor, FlatMlp critic)
    : options_(options),
      actor_(std::move(actor)),
      critic_(std::move(critic)),
      critic_target_(critic_.Clone()),
      temperature_(MakeTemperature(options.initial_alpha, options.alpha_lr,
                                   options.target_entropy.value_or(-static_cast<double>(options.act_dim)),
                                   options.fixed_alpha, options.device)),
      std_average_(torch::full({2}, -1.0, temperature_.log_alpha.options())),
      actor_adam_(actor_.params(), options.actor_lr),
      critic_adam_(critic_.params(), options.critic_lr) {
  if (options.device.is_cpu()) generator_ = at::detail::createCPUGenerator(options.seed * 2654435761ULL + 5);
  RegisterState();
}

absl::StatusOr<std::unique_ptr<DsacT>> DsacT::Create(const DsacTOptions& options) {
  RETURN_IF_ERROR(CheckSoftActorCriticSizes(options.obs_dim, options.act_dim, options.hidden, options.action_low,
                                            options.action_high, options.device));
  if (options.policy_delay < 1) {
    return absl::InvalidArgumentError(absl::StrCat("policy_delay ", options.policy_delay, " must be >= 1"));
  }
  if (!(options.td_clip_stds > 0) || !(options.gradient_bias > 0) ||
      !(options.std_average_rate > 0 && options.std_average_rate <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("td_clip_stds (", options.td_clip_stds, ") and gradient_bias (",
                                                   options.gradient_bias, ") must be > 0, std_average_rate (",
                                                   options.std_average_rate, ") in (0, 1]"));
  }
  MlpShape actor_shape{options.obs_dim, Hidden(options), 2 * static_cast<int64_t>(options.act_dim), 1,
                       options.activation};
  // Two members, each [mean, sigma before the softplus].
  MlpShape critic_shape{options.obs_dim + options.act_dim, Hidden(options), 2, 2, options.activation};
  ASSIGN_OR_RETURN(FlatMlp actor, FlatMlp::Create(actor_shape, options.seed * 2654435761ULL + 1, options.device));
  ASSIGN_OR_RETURN(FlatMlp critic, FlatMlp::Create(critic_shape, options.seed * 2654435761ULL + 2, options.device));
  try {
    return std::unique_ptr<DsacT>(new DsacT(options, std::move(actor), std::move(critic)));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("cannot create DSAC-T: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<std::unique_ptr<Algorithm>> DsacT::FromConfig(const AlgorithmContext& context) {
  RETURN_IF_ERROR(CheckSoftActorCriticSection(context, v1::LearnerConfig::kDsacT));
  const v1::LearnerConfig& learner = context.config.learner();
  const v1::DsacTConfig& dsac = learner.dsac_t();
  DsacTOptions options;
  FillSoftActorCriticOptions(context, dsac, options);
  options.policy_delay = dsac.policy_delay();
  options.td_clip_stds = dsac.td_clip_stds();
  options.std_average_rate = dsac.std_average_rate();
  options.gradient_bias = dsac.gradient_bias();
  ASSIGN_OR_RETURN(std::unique_ptr<DsacT> algorithm, Create(options));
  return std::unique_ptr<Algorithm>(std::move(algorithm));
}

const std::string& DsacT::name() const { return AlgorithmName(v1::LearnerConfig::kDsacT); }

std::vector<ColumnRequirement> DsacT::Columns() const {
  return ContinuousTransitionColumns(options_.obs_dim, options_.observation_type, options_.act_dim);
}

absl::Status DsacT::Update(const Batch& batch) {
  ASSIGN_OR_RETURN(TransitionBatch transitions, ToTransitionBatch(batch));
  return Update(transitions);
}

absl::Status DsacT::CheckBatch(const TransitionBatch& batch) const {
  return CheckTransitionBatch(batch, options_.obs_dim, options_.act_dim, options_.device);
}

absl::Status DsacT::Update(const TransitionBatch& batch) {
  RETURN_IF_ERROR(CheckBatch(batch));
  return CatchTorchErrors("DSAC-T update failed", [&] {
    const int64_t b = batch.obs.size(0);
    torch::Tensor noise = torch::randn({2 * b, options_.act_dim}, generator_, batch.obs.options());
    torch::Tensor return_noise = torch::randn({b}, generator_, batch.obs.options());
    return UpdateUnchecked(batch, noise, return_noise);
  });
}

absl::Status DsacT::UpdateWithNoiseForTesting(const TransitionBatch& batch, const torch::Tensor& next_noise,
                                              const torch::Tensor& noise, const torch::Tensor& return_noise) {
  RETURN_IF_ERROR(CheckBatch(batch));
  const int64_t b = batch.obs.size(0);
  RETURN_IF_ERROR(CheckBatchField("next_noise", next_noise, {b, options_.act_dim}, options_.device));
  RETURN_IF_ERROR(CheckBatchField("noise", noise, {b, options_.act_dim}, options_.device));
  RETURN_IF_ERROR(CheckBatchField("return_noise", return_noise, {b}, options_.device));
  return CatchTorchErrors("DSAC-T update failed", [&] {
    return UpdateUnchecked(batch, torch::cat({next_noise, noise}, 0), return_noise);
  });
}

absl::Status DsacT::UpdateUnchecked(const TransitionBatch& batch, const torch::Tensor& noise,
                                    const torch::Tensor& return_noise) {
  torch::NoGradGuard no_grad;
  const int64_t b = batch.obs.size(0);
  const bool policy_step = (updates_ + 1) % options_.policy_delay == 0;

  // 1. The policy on s' (rows [0, B)) and, when the actor steps, on s (rows
  // [B, 2B)) in the same pass.
  torch::Tensor actor_in = policy_step ? torch::cat({batch.next_obs, batch.obs}, 0) : batch.next_obs;
  torch::Tensor out = actor_.Forward(actor_in, actor_trace_).squeeze(0);
  const TanhGaussianSample pi = SampleTanhGaussian(out, noise.narrow(0, 0, out.size(0)), options_.act_dim);
  torch::Tensor alpha = temperature_.log_alpha.exp();  // [1]; every loss uses the temperature before this update

  // 2. Targets from the target critic of the smaller mean (ties: the first).
  torch::Tensor soft_next_log_prob = alpha * pi.log_prob.narrow(0, 0, b);
  torch::Tensor z_next =
      critic_target_.Forward(torch::cat({batch.next_obs, pi.action.narrow(0, 0, b)}, 1), target_trace_);  // [2, B, 2]
  torch::Tensor means_next = z_next.select(2, 0);
  torch::Tensor first = means_next[0].le(means_next[1]);
  torch::Tensor q_next = torch::where(first, means_next[0], means_next[1]);
  torch::Tensor sigma_next = torch::softplus(torch::where(first, z_next[0].select(1, 1), z_next[1].select(1, 1)));
  torch::Tensor discount = BootstrapDiscount(batch, options_.gamma);
  torch::Tensor target = torch::addcmul(batch.reward, discount, q_next - soft_next_log_prob);
  torch::Tensor sampled_next =
      torch::addcmul(q_next, return_noise.clamp(-kReturnNoiseClip, kReturnNoiseClip), sigma_next)
          .sub_(soft_next_log_prob);
  torch::Tensor sampled_target = torch::addcmul(batch.reward, discount, sampled_next);

  // 3. Critic step (the gradients in dsac_t.h).
  torch::Tensor z = critic_.Forward(torch::cat({batch.obs, batch.action}, 1), critic_trace_);  // [2, B, 2]
  torch::Tensor q = z.select(2, 0);
  torch::Tensor raw_sigma = z.select(2, 1);
  torch::Tensor sigma = torch::softplus(raw_sigma);  // [2, B]
  torch::Tensor batch_std = sigma.mean(1);           // [2]
  std_average_.copy_(torch::where(std_average_.lt(0), batch_std,
                                  std_average_.lerp(batch_std, options_.std_average_rate)));
  torch::Tensor average = std_average_.view({2, 1});
  torch::Tensor bound = average * options_.td_clip_stds;
  torch::Tensor clipped_target =
      q + torch::maximum(torch::minimum(sampled_target.view({1, b}) - q, bound), bound.neg());
  torch::Tensor scale = (average.square() + options_.gradient_bias).div_(static_cast<double>(b));  // w_e / B
  torch::Tensor sigma2 = sigma.square();
  torch::Tensor grad_q = (q - target.view({1, b})).div_(sigma2 + options_.gradient_bias).mul_(scale);
  torch::Tensor grad_sigma = (sigma2 - (q - clipped_target).square())
                                 .div_(sigma2 * sigma + options_.gradient_bias)
                                 .mul_(scale)
                                 .mul_(torch::sigmoid(raw_sigma));  // through the softplus
  if (batch.weight.defined()) {
    grad_q.mul_(batch.weight.view({1, b}));
    grad_sigma.mul_(batch.weight.view({1, b}));
  }
  critic_.Backward(critic_trace_, torch::stack({grad_q, grad_sigma}, 2), /*row_begin=*/0, /*weight_grads=*/true,
                   std::nullopt);
  RETURN_IF_ERROR(AverageOverRanks(averager_, {critic_.grads()}));
  critic_adam_.Step(critic_.params(), critic_.grads());

  last_.q = q.clone();  // the trace's buffers are reused by the next pass
  last_.sigma = sigma;
  last_.target = target;
  last_.sampled_target = sampled_target;
  last_.log_alpha = temperature_.log_alpha.clone();
  ++updates_;
  if (!policy_step) return absl::OkStatus();
  RETURN_IF_ERROR(PolicyStep(batch, noise, pi, alpha));
  // Polyak: target = tau * online + (1 - tau) * target.
  critic_target_.params().lerp_(critic_.params(), options_.tau);
  return absl::OkStatus();
}

absl::Status DsacT::PolicyStep(const TransitionBatch& batch, const torch::Tensor& noise, const TanhGaussianSample& pi,
                               const torch::Tensor& alpha) {
  // The actor through the updated critics' means, whose weights stay fixed:
  // only d loss / d action is computed on the way back.
  const int64_t b = batch.obs.size(0);
  const int64_t o_dim = options_.obs_dim;
  torch::Tensor pi_action = pi.action.narrow(0, b, b);
  torch::Tensor pi_log_prob = pi.log_prob.narrow(0, b, b);
  torch::Tensor z_pi = critic_.Forward(torch::cat({batch.obs, pi_action}, 1), pi_trace_);  // [2, B, 2]
  torch::Tensor q_pi = z_pi.narrow(2, 0, 1);                                               // [2, B, 1]
  torch::Tensor grad_z_pi = torch::zeros_like(z_pi);
  grad_z_pi.narrow(2, 0, 1).copy_(MinOfTwinsGrad(q_pi[0], q_pi[1], -1.0 / b));
  torch::Tensor grad_action =
      critic_.Backward(pi_trace_, grad_z_pi, 0, /*weight_grads=*/false,
                       std::make_pair(o_dim, o_dim + static_cast<int64_t>(options_.act_dim)))
          .sum(0);  // [B, A]
  torch::Tensor grad_out = TanhGaussianOutputGrad(pi, noise, b, b, grad_action, alpha / static_cast<double>(b));
  actor_.Backward(actor_trace_, grad_out, /*row_begin=*/b, /*weight_grads=*/true, std::nullopt);

  // The temperature as SAC's: d loss / d log_alpha = -mean(logp + target_entropy).
  RETURN_IF_ERROR(StepActorAndTemperature(averager_, actor_, actor_adam_, temperature_, pi_log_prob));
  last_.log_prob = pi_log_prob;
  last_.actor_loss = (alpha * pi_log_prob - torch::minimum(q_pi[0], q_pi[1]).view({b})).mean();
  return absl::OkStatus();
}

torch::Tensor DsacT::LastTdErrors() const {
  if (!last_.q.defined()) return {};
  torch::NoGradGuard no_grad;
  return (last_.q - last_.target.view({1, -1})).abs_().mean(0);
}

DsacTStats DsacT::LastStats() const {
  DsacTStats stats;
  if (!last_.q.defined()) return stats;
  torch::NoGradGuard no_grad;
  const torch::Tensor alpha = last_.log_alpha.exp().squeeze(0);
  const torch::Tensor zero = torch::zeros({}, alpha.options());
  torch::Tensor all = torch::stack({
                                       (last_.q - last_.target.view({1, -1})).square().mean() * 0.5,
                                       last_.actor_loss.defined() ? last_.actor_loss : zero,
                                       alpha,
                                       last_.q.mean(),
                                       last_.sigma.mean(),
                                       std_average_.mean(),
                                       last_.log_prob.defined() ? last_.log_prob.mean() : zero,
                                   })
                          .to(torch::kCPU, torch::kFloat64);
  const double* v = all.data_ptr<double>();
  stats.critic_loss = v[0];
  stats.actor_loss = v[1];
  stats.alpha = v[2];
  stats.q_mean = v[3];
  stats.q_std = v[4];
  stats.std_average = v[5];
  stats.log_prob_mean = v[6];
  return stats;
}

absl::StatusOr<rill::v1::ParameterSet> DsacT::ExportPolicy() const {
  return ExportTanhGaussianPolicy(actor_, options_.obs_dim, options_.act_dim, options_.hidden, options_.action_low,
                                  options_.action_high);
}

std::vector<Statistic> DsacT::Statistics() const {
  const DsacTStats stats = LastStats();
  return {
      {"critic", stats.critic_loss, true},
      {"actor", stats.actor_loss, true},
      {"alpha", stats.alpha, false},
      {"q_mean", stats.q_mean, false},
      {"return_std", stats.q_std, false},
      {"return_std_average", stats.std_average, false},
      {"log_prob_mean", stats.log_prob_mean, false},
  };
}

std::map<std::string, torch::Tensor> DsacT::ParametersForTesting() {
  std::map<std::string, torch::Tensor> named;
  for (auto& [name, t] : actor_.NamedParameters(policies::kPolicyPrefix)) named[name] = t;
  for (auto& [name, t] : critic_.NamedParameters("critic")) named[name] = t;
  for (auto& [name, t] : critic_target_.NamedParameters("critic_target")) named[name] = t;
  named["log_alpha"] = temperature_.log_alpha;
  named["std_average"] = std_average_;
  return named;
}

std::map<std::string, torch::Tensor> DsacT::GradientsForTesting() {
  std::map<std::string, torch::Tensor> named;
  for (auto& [name, t] : actor_.NamedGradients(policies::kPolicyPrefix)) named[name] = t;
  for (auto& [name, t] : critic_.NamedGradients("critic")) named[name] = t;
  named["log_alpha"] = temperature_.grad;
  return named;
}

void DsacT::RegisterState() {
  state_.AddTensor("actor", actor_.params());
  state_.AddTensor("critic", critic_.params());
  state_.AddTensor("critic_target", critic_target_.params());
  state_.AddTensor("log_alpha", temperature_.log_alpha);
  state_.AddTensor("std_average", std_average_);
  state_.AddAdam("actor_adam", &actor_adam_);
  state_.AddAdam("critic_adam", &critic_adam_);
  state_.AddAdam("alpha_adam", &temperature_.adam);
  state_.AddCounter("updates", &updates_);
  if (generator_.has_value()) state_.AddGenerator("generator", &*generator_);
}

int64_t DsacT::UpdateMatmulFlops(int64_t batch) const {
  std::vector<int64_t> actor = {options_.obs_dim};
  std::vector<int64_t> critic = {options_.obs_dim + options_.act_dim};
  for (int h : options_.hidden) {
    actor.push_back(h);
    critic.push_back(h);
  }
  actor.push_back(2 * options_.act_dim);
  critic.push_back(2);
  const int64_t b = batch;
  // Every update.
  int64_t flops = 0;
  flops += MatmulFlops(actor, b);         // actor forward on s'
  flops += 2 * MatmulFlops(critic, b);    // target critics forward on (s', a')
  flops += 2 * MatmulFlops(critic, b);    // critics forward on (s, a_replay)
  flops += 2 * MatmulFlops(critic, b);    // critic weight gradients
  flops += 2 * MatmulFlops(critic, b, 1); // critic input gradients, layers >= 1
  // Every policy_delay-th update.
  int64_t actor_step = 0;
  actor_step += MatmulFlops(actor, b);                       // actor forward on s
  actor_step += 2 * MatmulFlops(critic, b);                  // critics forward on (s, a_pi)
  actor_step += 2 * MatmulFlops(critic, b, 1);               // their input gradients, layers >= 1
  actor_step += 2 * 2 * b * critic[1] * options_.act_dim;    // and the action columns of the first layer's
  actor_step += MatmulFlops(actor, b);                       // actor weight gradients
  actor_step += MatmulFlops(actor, b, 1);                    // actor input gradients, layers >= 1
  return flops + actor_step / options_.policy_delay;
}

}  // namespace rill::learner
