#include "learner/algorithms/sac.h"

#include <cmath>
#include <filesystem>
#include <system_error>
#include <utility>

#include "ATen/CPUGeneratorImpl.h"
#include "ATen/Parallel.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "learner/algorithms/checks.h"
#include "learner/algorithms/spec.h"
#include "learner/algorithms/tanh_gaussian.h"
#include "learner/algorithms/torch_errors.h"
#include "learner/checkpoint.h"
#include "policies/gaussian.h"

namespace rill::learner {
namespace {

std::vector<int64_t> Hidden(const SacOptions& options) {
  return std::vector<int64_t>(options.hidden.begin(), options.hidden.end());
}

}  // namespace

Sac::Sac(const SacOptions& options, FlatMlp actor, FlatMlp critic)
    : options_(options),
      actor_(std::move(actor)),
      critic_(std::move(critic)),
      critic_target_(critic_.Clone()),
      temperature_(MakeTemperature(options.initial_alpha, options.alpha_lr,
                                   options.target_entropy.value_or(-static_cast<double>(options.act_dim)),
                                   options.fixed_alpha, options.device)),
      actor_adam_(actor_.params(), options.actor_lr),
      critic_adam_(critic_.params(), options.critic_lr) {
  if (options.device.is_cpu()) generator_ = at::detail::createCPUGenerator(options.seed * 2654435761ULL + 3);
  RegisterState();
}

absl::StatusOr<std::unique_ptr<Sac>> Sac::Create(const SacOptions& options) {
  RETURN_IF_ERROR(CheckSoftActorCriticSizes(options.obs_dim, options.act_dim, options.hidden, options.action_low,
                                            options.action_high, options.device));
  MlpShape actor_shape{options.obs_dim, Hidden(options), 2 * static_cast<int64_t>(options.act_dim), 1,
                       options.activation};
  MlpShape critic_shape{options.obs_dim + options.act_dim, Hidden(options), 1, 2, options.activation};
  ASSIGN_OR_RETURN(FlatMlp actor, FlatMlp::Create(actor_shape, options.seed * 2654435761ULL + 1, options.device));
  ASSIGN_OR_RETURN(FlatMlp critic, FlatMlp::Create(critic_shape, options.seed * 2654435761ULL + 2, options.device));
  try {
    return std::unique_ptr<Sac>(new Sac(options, std::move(actor), std::move(critic)));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("cannot create SAC: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<std::unique_ptr<Algorithm>> Sac::FromConfig(const AlgorithmContext& context) {
  RETURN_IF_ERROR(CheckSoftActorCriticSection(context, v1::LearnerConfig::kSac));
  const v1::LearnerConfig& learner = context.config.learner();
  const v1::SacConfig& sac = learner.sac();
  SacOptions options;
  FillSoftActorCriticOptions(context, sac, options);
  ASSIGN_OR_RETURN(std::unique_ptr<Sac> algorithm, Create(options));
  return std::unique_ptr<Algorithm>(std::move(algorithm));
}

const std::string& Sac::name() const { return AlgorithmName(v1::LearnerConfig::kSac); }

std::vector<ColumnRequirement> Sac::Columns() const {
  return ContinuousTransitionColumns(options_.obs_dim, options_.observation_type, options_.act_dim);
}

absl::Status Sac::Update(const Batch& batch) {
  ASSIGN_OR_RETURN(TransitionBatch transitions, ToTransitionBatch(batch));
  return Update(transitions);
}

absl::Status Sac::CheckBatch(const TransitionBatch& batch) const {
  return CheckTransitionBatch(batch, options_.obs_dim, options_.act_dim, options_.device);
}

absl::Status Sac::Update(const TransitionBatch& batch) {
  RETURN_IF_ERROR(CheckBatch(batch));
  return CatchTorchErrors("SAC update failed", [&] {
    const int64_t b = batch.obs.size(0);
    torch::Tensor noise = torch::randn({2 * b, options_.act_dim}, generator_, batch.obs.options());
    return UpdateUnchecked(batch, noise);
  });
}

absl::Status Sac::UpdateWithNoiseForTesting(const TransitionBatch& batch, const torch::Tensor& next_noise,
                                            const torch::Tensor& noise) {
  RETURN_IF_ERROR(CheckBatch(batch));
  const int64_t b = batch.obs.size(0);
  RETURN_IF_ERROR(CheckBatchField("next_noise", next_noise, {b, options_.act_dim}, options_.device));
  RETURN_IF_ERROR(CheckBatchField("noise", noise, {b, options_.act_dim}, options_.device));
  return CatchTorchErrors("SAC update failed",
                          [&] { return UpdateUnchecked(batch, torch::cat({next_noise, noise}, 0)); });
}

absl::Status Sac::UpdateUnchecked(const TransitionBatch& batch, const torch::Tensor& noise) {
  torch::NoGradGuard no_grad;
  const int64_t b = batch.obs.size(0);
  const int64_t a_dim = options_.act_dim;
  const int64_t o_dim = options_.obs_dim;

  // 1. The policy on s' (rows [0, B)) and s (rows [B, 2B)) in one pass: the
  // actor does not change before its own step, and one [2B]-row matmul runs
  // faster than two [B]-row ones. Only the s rows are differentiated.
  torch::Tensor out = actor_.Forward(torch::cat({batch.next_obs, batch.obs}, 0), actor_trace_).squeeze(0);
  const TanhGaussianSample pi = SampleTanhGaussian(out, noise, a_dim);
  torch::Tensor action = pi.action;
  torch::Tensor log_prob = pi.log_prob;
  torch::Tensor alpha = temperature_.log_alpha.exp();  // [1]; every loss uses the temperature before this update

  // 2. TD target, no gradient: y = r + gamma (1 - terminated) (min(Q1t, Q2t)(s', a') - alpha logp(a'|s')).
  torch::Tensor next_action = action.narrow(0, 0, b);
  torch::Tensor next_log_prob = log_prob.narrow(0, 0, b);
  torch::Tensor q_next = critic_target_.Forward(torch::cat({batch.next_obs, next_action}, 1), target_trace_);
  torch::Tensor soft_next = torch::minimum(q_next[0], q_next[1]).view({b}).sub_(alpha * next_log_prob);
  torch::Tensor discount = BootstrapDiscount(batch, options_.gamma);
  torch::Tensor target = torch::addcmul(batch.reward, discount, soft_next);

  // 3. Critic step. Loss = 0.5 * (MSE(Q1, y) + MSE(Q2, y)), SB3's constant,
  // so d loss / d Q_e = (Q_e - y) / B; with importance weights each term
  // is scaled by w_i, and so is its gradient.
  torch::Tensor q = critic_.Forward(torch::cat({batch.obs, batch.action}, 1), critic_trace_);  // [2, B, 1]
  torch::Tensor grad_q = (q - target.view({1, b, 1})).mul_(1.0 / b);
  if (batch.weight.defined()) grad_q.mul_(batch.weight.view({1, b, 1}));
  critic_.Backward(critic_trace_, grad_q, /*row_begin=*/0, /*weight_grads=*/true, std::nullopt);
  RETURN_IF_ERROR(AverageOverRanks(averager_, {critic_.grads()}));
  critic_adam_.Step(critic_.params(), critic_.grads());

  // 4. Actor step through the updated critics, whose weights stay fixed:
  // only d loss / d action is computed on the way back.
  // Loss = mean(alpha * logp(a|s) - min(Q1, Q2)(s, a)).
  torch::Tensor pi_action = action.narrow(0, b, b);
  torch::Tensor pi_log_prob = log_prob.narrow(0, b, b);
  torch::Tensor q_pi = critic_.Forward(torch::cat({batch.obs, pi_action}, 1), pi_trace_);  // [2, B, 1]
  torch::Tensor min_q_pi = torch::minimum(q_pi[0], q_pi[1]).view({b});
  torch::Tensor grad_q_pi = MinOfTwinsGrad(q_pi[0], q_pi[1], -1.0 / b);
  torch::Tensor grad_action =
      critic_.Backward(pi_trace_, grad_q_pi, 0, /*weight_grads=*/false, std::make_pair(o_dim, o_dim + a_dim))
          .sum(0);  // [B, A]
  torch::Tensor grad_out = TanhGaussianOutputGrad(pi, noise, b, b, grad_action, alpha / static_cast<double>(b));
  actor_.Backward(actor_trace_, grad_out, /*row_begin=*/b, /*weight_grads=*/true, std::nullopt);

  // 5. Temperature: loss = -mean(log_alpha * (logp + target_entropy)) with
  // logp detached, so d loss / d log_alpha = -mean(logp + target_entropy).
  // Its gradient is averaged over the ranks with the actor's, in one go.
  torch::Tensor log_alpha_before = temperature_.log_alpha.clone();
  RETURN_IF_ERROR(StepActorAndTemperature(averager_, actor_, actor_adam_, temperature_, pi_log_prob));

  // 6. Polyak: target = tau * online + (1 - tau) * target.
  critic_target_.params().lerp_(critic_.params(), options_.tau);

  last_.q = q;
  last_.target = target;
  last_.log_alpha = log_alpha_before;
  last_.log_prob = pi_log_prob;
  last_.min_q_pi = min_q_pi;
  ++updates_;
  return absl::OkStatus();
}

torch::Tensor Sac::LastTdErrors() const {
  if (!last_.q.defined()) return {};
  torch::NoGradGuard no_grad;
  return (last_.q - last_.target.view({1, -1, 1})).abs_().mean(0).view({-1});
}

SacStats Sac::LastStats() const {
  SacStats stats;
  if (!last_.q.defined()) return stats;
  torch::NoGradGuard no_grad;
  const torch::Tensor alpha = last_.log_alpha.exp();
  // One tensor, one device-to-host copy.
  torch::Tensor all = torch::stack({
                                       (last_.q - last_.target.view({1, -1, 1})).square().mean({1, 2}).sum() * 0.5,
                                       (alpha * last_.log_prob - last_.min_q_pi).mean(),
                                       -(last_.log_alpha * (last_.log_prob + temperature_.target_entropy)).mean(),
                                       alpha.squeeze(0),
                                       last_.q.mean(),
                                       last_.log_prob.mean(),
                                   })
                          .to(torch::kCPU, torch::kFloat64);
  const double* v = all.data_ptr<double>();
  stats.critic_loss = v[0];
  stats.actor_loss = v[1];
  stats.alpha_loss = v[2];
  stats.alpha = v[3];
  stats.q_mean = v[4];
  stats.log_prob_mean = v[5];
  return stats;
}

absl::StatusOr<rill::v1::ParameterSet> Sac::ExportPolicy() const {
  return ExportTanhGaussianPolicy(actor_, options_.obs_dim, options_.act_dim, options_.hidden, options_.action_low,
                                  options_.action_high);
}

std::vector<Statistic> Sac::Statistics() const {
  const SacStats stats = LastStats();
  return {
      {"critic", stats.critic_loss, true},
      {"actor", stats.actor_loss, true},
      {"alpha", stats.alpha_loss, true},
      {"alpha", stats.alpha, false},
      {"q_mean", stats.q_mean, false},
      {"log_prob_mean", stats.log_prob_mean, false},
  };
}

std::map<std::string, torch::Tensor> Sac::ParametersForTesting() {
  std::map<std::string, torch::Tensor> named;
  for (auto& [name, t] : actor_.NamedParameters(policies::kPolicyPrefix)) named[name] = t;
  for (auto& [name, t] : critic_.NamedParameters("critic")) named[name] = t;
  for (auto& [name, t] : critic_target_.NamedParameters("critic_target")) named[name] = t;
  named["log_alpha"] = temperature_.log_alpha;
  return named;
}

std::map<std::string, torch::Tensor> Sac::GradientsForTesting() {
  std::map<std::string, torch::Tensor> named;
  for (auto& [name, t] : actor_.NamedGradients(policies::kPolicyPrefix)) named[name] = t;
  for (auto& [name, t] : critic_.NamedGradients("critic")) named[name] = t;
  named["log_alpha"] = temperature_.grad;
  return named;
}

void Sac::RegisterState() {
  state_.AddTensor("actor", actor_.params());
  state_.AddTensor("critic", critic_.params());
  state_.AddTensor("critic_target", critic_target_.params());
  state_.AddTensor("log_alpha", temperature_.log_alpha);
  state_.AddAdam("actor_adam", &actor_adam_);
  state_.AddAdam("critic_adam", &critic_adam_);
  state_.AddAdam("alpha_adam", &temperature_.adam);
  state_.AddCounter("updates", &updates_);
  if (generator_.has_value()) state_.AddGenerator("generator", &*generator_);
}

absl::Status Sac::Save(const std::string& dir) {
  ASSIGN_OR_RETURN(rill::v1::ParameterSet policy, ExportPolicy());
  return WriteCheckpoint(dir, state_.Save(), policy);
}

absl::Status Sac::Load(const std::string& dir) {
  ASSIGN_OR_RETURN(auto saved, ReadCheckpointState(dir));
  RETURN_IF_ERROR(state_.Restore(saved));
  last_ = Last();
  return absl::OkStatus();
}

int64_t Sac::UpdateMatmulFlops(const SacOptions& options, int64_t batch) {
  // Layer sizes of one actor and of one critic.
  std::vector<int64_t> actor = {options.obs_dim};
  std::vector<int64_t> critic = {options.obs_dim + options.act_dim};
  for (int h : options.hidden) {
    actor.push_back(h);
    critic.push_back(h);
  }
  actor.push_back(2 * options.act_dim);
  critic.push_back(1);
  const int64_t b = batch;
  int64_t flops = 0;
  flops += MatmulFlops(actor, 2 * b);         // actor forward on s' and s
  flops += 2 * MatmulFlops(critic, b);        // target critics forward on (s', a')
  flops += 2 * MatmulFlops(critic, b);        // critics forward on (s, a_replay)
  flops += 2 * MatmulFlops(critic, b);        // critic weight gradients
  flops += 2 * MatmulFlops(critic, b, 1);     // critic input gradients, layers >= 1 (none for the first layer)
  flops += 2 * MatmulFlops(critic, b);        // updated critics forward on (s, a_pi)
  flops += 2 * MatmulFlops(critic, b, 1);     // their input gradients, layers >= 1
  flops += 2 * 2 * b * critic[1] * options.act_dim;  // and the action columns of the first layer's
  flops += MatmulFlops(actor, b);             // actor weight gradients (s rows only)
  flops += MatmulFlops(actor, b, 1);          // actor input gradients, layers >= 1
  return flops;
}

}  // namespace rill::learner
