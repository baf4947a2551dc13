#include "learner/algorithms/droq.h"

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

// torch.nn.LayerNorm's default epsilon.
constexpr double kNormEpsilon = 1e-5;

// The critic ensemble's parameters: per layer "critic.layers.<l>.weight"
// [E, out, in] and ".bias" [E, out], then for a hidden layer with
// LayerNorm ".norm_scale" and ".norm_shift" [E, out].
FlatLayout CriticLayout(const DroqOptions& options) {
  FlatLayout layout;
  const int64_t e = options.num_critics;
  std::vector<int64_t> sizes = {options.obs_dim + options.act_dim};
  for (int h : options.hidden) sizes.push_back(h);
  sizes.push_back(1);
  for (size_t l = 0; l + 1 < sizes.size(); ++l) {
    const std::string prefix = absl::StrCat("critic.layers.", l);
    layout.Add(prefix + ".weight", {e, sizes[l + 1], sizes[l]}, sizes[l]);
    layout.Add(prefix + ".bias", {e, sizes[l + 1]}, sizes[l]);
    if (options.layer_norm && l + 2 < sizes.size()) {
      layout.Add(prefix + ".norm_scale", {e, sizes[l + 1]}, 0, /*scale=*/true);
      layout.Add(prefix + ".norm_shift", {e, sizes[l + 1]}, 0);
    }
  }
  return layout;
}

}  // namespace

Droq::Droq(const DroqOptions& options, FlatMlp actor, FlatLayout critic_layout, torch::Tensor critic)
    : options_(options),
      actor_(std::move(actor)),
      critic_layout_(std::move(critic_layout)),
      critic_(critic.to(options.device, false, /*copy=*/true)),
      critic_target_(critic.to(options.device, false, /*copy=*/true)),
      critic_grad_(torch::zeros_like(critic_target_)),
      temperature_(MakeTemperature(options.initial_alpha, options.alpha_lr,
                                   options.target_entropy.value_or(-static_cast<double>(options.act_dim)),
                                   options.fixed_alpha, options.device)),
      actor_adam_(actor_.params(), options.actor_lr),
      critic_adam_(critic_target_, options.critic_lr) {
  if (options.device.is_cpu()) generator_ = at::detail::createCPUGenerator(options.seed * 2654435761ULL + 7);
  RegisterState();
}

absl::StatusOr<std::unique_ptr<Droq>> Droq::Create(const DroqOptions& options) {
  RETURN_IF_ERROR(CheckSoftActorCriticSizes(options.obs_dim, options.act_dim, options.hidden, options.action_low,
                                            options.action_high, options.device));
  if (!(options.dropout_rate >= 0 && options.dropout_rate < 1)) {
    return absl::InvalidArgumentError(absl::StrCat("dropout_rate ", options.dropout_rate, " must be in [0, 1)"));
  }
  if (options.num_critics < 1 || options.num_critics > 10) {
    return absl::InvalidArgumentError(absl::StrCat("num_critics ", options.num_critics, " must be in 1..10"));
  }
  if (options.policy_delay < 1) {
    return absl::InvalidArgumentError(absl::StrCat("policy_delay ", options.policy_delay, " must be >= 1"));
  }
  std::vector<int64_t> hidden(options.hidden.begin(), options.hidden.end());
  MlpShape actor_shape{options.obs_dim, hidden, 2 * static_cast<int64_t>(options.act_dim), 1};
  ASSIGN_OR_RETURN(FlatMlp actor, FlatMlp::Create(actor_shape, options.seed * 2654435761ULL + 1, options.device));
  try {
    FlatLayout layout = CriticLayout(options);
    at::Generator init = at::detail::createCPUGenerator(options.seed * 2654435761ULL + 2);
    torch::Tensor critic = layout.Initialised(init);
    return std::unique_ptr<Droq>(new Droq(options, std::move(actor), std::move(layout), std::move(critic)));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("cannot create DroQ: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<std::unique_ptr<Algorithm>> Droq::FromConfig(const AlgorithmContext& context) {
  RETURN_IF_ERROR(CheckSoftActorCriticSection(context, v1::LearnerConfig::kDroq));
  const v1::LearnerConfig& learner = context.config.learner();
  const v1::DroqConfig& droq = learner.droq();
  DroqOptions options;
  FillSoftActorCriticOptions(context, droq, options);
  options.dropout_rate = droq.dropout_rate();
  options.layer_norm = droq.layer_norm();
  options.num_critics = droq.num_critics();
  options.policy_delay = droq.policy_delay();
  ASSIGN_OR_RETURN(std::unique_ptr<Droq> algorithm, Create(options));
  return std::unique_ptr<Algorithm>(std::move(algorithm));
}

const std::string& Droq::name() const { return AlgorithmName(v1::LearnerConfig::kDroq); }

std::vector<ColumnRequirement> Droq::Columns() const {
  return ContinuousTransitionColumns(options_.obs_dim, options_.observation_type, options_.act_dim);
}

absl::Status Droq::Update(const Batch& batch) {
  ASSIGN_OR_RETURN(TransitionBatch transitions, ToTransitionBatch(batch));
  return Update(transitions);
}

absl::Status Droq::CheckBatch(const TransitionBatch& batch) const {
  return CheckTransitionBatch(batch, options_.obs_dim, options_.act_dim, options_.device);
}

absl::Status Droq::Update(const TransitionBatch& batch) {
  RETURN_IF_ERROR(CheckBatch(batch));
  return CatchTorchErrors("DroQ update failed", [&] {
    const int64_t b = batch.obs.size(0);
    torch::Tensor noise = torch::randn({2 * b, options_.act_dim}, generator_, batch.obs.options());
    return UpdateUnchecked(batch, noise);
  });
}

absl::Status Droq::UpdateWithNoiseForTesting(const TransitionBatch& batch, const torch::Tensor& next_noise,
                                             const torch::Tensor& noise) {
  RETURN_IF_ERROR(CheckBatch(batch));
  const int64_t b = batch.obs.size(0);
  RETURN_IF_ERROR(CheckBatchField("next_noise", next_noise, {b, options_.act_dim}, options_.device));
  RETURN_IF_ERROR(CheckBatchField("noise", noise, {b, options_.act_dim}, options_.device));
  return CatchTorchErrors("DroQ update failed",
                          [&] { return UpdateUnchecked(batch, torch::cat({next_noise, noise}, 0)); });
}

torch::Tensor Droq::Critics(const std::vector<torch::Tensor>& views, const torch::Tensor& input, bool dropout) {
  const double p = dropout ? options_.dropout_rate : 0.0;
  const size_t hidden = options_.hidden.size();
  torch::Tensor h = input;  // [B, in], then [E, B, out]: matmul broadcasts over the members
  size_t v = 0;
  for (size_t l = 0; l <= hidden; ++l) {
    h = torch::matmul(h, views[v].transpose(1, 2)) + views[v + 1].unsqueeze(1);
    v += 2;
    if (l == hidden) break;
    if (p > 0) h = h * torch::empty_like(h).bernoulli_(1 - p, generator_).div_(1 - p);
    if (options_.layer_norm) {
      h = torch::addcmul(views[v + 1].unsqueeze(1), torch::layer_norm(h, {h.size(2)}, {}, {}, kNormEpsilon),
                         views[v].unsqueeze(1));
      v += 2;
    }
    h = h.relu();
  }
  return h.squeeze(2);
}

torch::Tensor Droq::CriticsForTesting(const torch::Tensor& obs, const torch::Tensor& action, bool training) {
  torch::NoGradGuard no_grad;
  return Critics(critic_layout_.Views(critic_), torch::cat({obs, action}, 1), training);
}

absl::Status Droq::UpdateUnchecked(const TransitionBatch& batch, const torch::Tensor& noise) {
  torch::NoGradGuard no_grad;
  const int64_t b = batch.obs.size(0);
  const bool policy_step = (updates_ + 1) % options_.policy_delay == 0;

  // 1. The policy on s' and, when the actor steps, on s, in one pass.
  torch::Tensor actor_in = policy_step ? torch::cat({batch.next_obs, batch.obs}, 0) : batch.next_obs;
  torch::Tensor out = actor_.Forward(actor_in, actor_trace_).squeeze(0);
  const TanhGaussianSample pi = SampleTanhGaussian(out, noise.narrow(0, 0, out.size(0)), options_.act_dim);
  torch::Tensor alpha = temperature_.log_alpha.exp();  // [1]; every loss uses the temperature before this update

  // 2. The target through the target critics, dropout active.
  torch::Tensor q_next = Critics(critic_layout_.Views(critic_target_),
                                 torch::cat({batch.next_obs, pi.action.narrow(0, 0, b)}, 1), /*dropout=*/true);
  torch::Tensor soft_next = q_next.amin(0).sub_(alpha * pi.log_prob.narrow(0, 0, b));
  torch::Tensor target = torch::addcmul(batch.reward, BootstrapDiscount(batch, options_.gamma), soft_next);

  // 3. Critic step: 0.5 sum_e mean_i w_i (Q_e - y)^2, by autograd.
  torch::Tensor q;
  {
    torch::AutoGradMode enable(true);
    const std::vector<torch::Tensor> leaves = critic_layout_.Leaves(critic_);
    q = Critics(leaves, torch::cat({batch.obs, batch.action}, 1), /*dropout=*/true);
    critic_layout_.CopyToFlat(torch::autograd::grad({EnsembleCriticLoss(q, target, batch.weight)}, leaves),
                              critic_grad_);
  }
  RETURN_IF_ERROR(AverageOverRanks(averager_, {critic_grad_}));
  critic_adam_.Step(critic_, critic_grad_);

  last_.q = q.detach();
  last_.target = target;
  last_.weight = batch.weight.defined() ? batch.weight.clone() : torch::Tensor();
  last_.log_alpha = temperature_.log_alpha.clone();
  ++updates_;
  if (policy_step) RETURN_IF_ERROR(PolicyStep(batch, noise, pi, alpha));
  // 4. Polyak: target = tau * online + (1 - tau) * target.
  critic_target_.lerp_(critic_, options_.tau);
  return absl::OkStatus();
}

absl::Status Droq::PolicyStep(const TransitionBatch& batch, const torch::Tensor& noise, const TanhGaussianSample& pi,
                              const torch::Tensor& alpha) {
  // d loss / d a through the updated critics (their weights fixed), the
  // members' mean: loss = mean_i(alpha logp_i - mean_e Q_e(s_i, a_i)).
  const int64_t b = batch.obs.size(0);
  torch::Tensor pi_log_prob = pi.log_prob.narrow(0, b, b);
  torch::Tensor q_pi, grad_action;
  {
    torch::AutoGradMode enable(true);
    torch::Tensor action = pi.action.narrow(0, b, b).detach().requires_grad_(true);
    q_pi = Critics(critic_layout_.Views(critic_), torch::cat({batch.obs, action}, 1), /*dropout=*/true)
               .mean(0);  // [B]
    grad_action = torch::autograd::grad({q_pi.sum() * (-1.0 / static_cast<double>(b))}, {action})[0];
  }
  torch::Tensor grad_out = TanhGaussianOutputGrad(pi, noise, b, b, grad_action, alpha / static_cast<double>(b));
  actor_.Backward(actor_trace_, grad_out, /*row_begin=*/b, /*weight_grads=*/true, std::nullopt);
  RETURN_IF_ERROR(StepActorAndTemperature(averager_, actor_, actor_adam_, temperature_, pi_log_prob));
  last_.log_prob = pi_log_prob;
  last_.actor_loss = (alpha * pi_log_prob - q_pi.detach()).mean();
  return absl::OkStatus();
}

torch::Tensor Droq::LastTdErrors() const {
  return last_.q.defined() ? EnsembleTdErrors(last_.q, last_.target) : torch::Tensor();
}

DroqStats Droq::LastStats() const {
  DroqStats stats;
  if (!last_.q.defined()) return stats;
  torch::NoGradGuard no_grad;
  const torch::Tensor alpha = last_.log_alpha.exp().squeeze(0);
  const torch::Tensor zero = torch::zeros({}, alpha.options());
  torch::Tensor all = torch::stack({
                                       EnsembleCriticLoss(last_.q, last_.target, last_.weight),
                                       last_.actor_loss.defined() ? last_.actor_loss : zero,
                                       alpha,
                                       last_.q.mean(),
                                       last_.q.size(0) > 1 ? last_.q.std(0).mean() : zero,
                                       last_.log_prob.defined() ? last_.log_prob.mean() : zero,
                                   })
                          .to(torch::kCPU, torch::kFloat64);
  const double* v = all.data_ptr<double>();
  stats.critic_loss = v[0];
  stats.actor_loss = v[1];
  stats.alpha = v[2];
  stats.q_mean = v[3];
  stats.q_spread = v[4];
  stats.log_prob_mean = v[5];
  return stats;
}

absl::StatusOr<rill::v1::ParameterSet> Droq::ExportPolicy() const {
  return ExportTanhGaussianPolicy(actor_, options_.obs_dim, options_.act_dim, options_.hidden, options_.action_low,
                                  options_.action_high);
}

std::vector<Statistic> Droq::Statistics() const {
  const DroqStats stats = LastStats();
  return {
      {"critic", stats.critic_loss, true},     {"actor", stats.actor_loss, true},
      {"alpha", stats.alpha, false},           {"q_mean", stats.q_mean, false},
      {"q_spread", stats.q_spread, false},     {"log_prob_mean", stats.log_prob_mean, false},
  };
}

std::map<std::string, torch::Tensor> Droq::ParametersForTesting() {
  std::map<std::string, torch::Tensor> named;
  for (auto& [name, t] : actor_.NamedParameters(policies::kPolicyPrefix)) named[name] = t;
  const std::vector<torch::Tensor> live = critic_layout_.Views(critic_);
  const std::vector<torch::Tensor> target = critic_layout_.Views(critic_target_);
  for (size_t i = 0; i < live.size(); ++i) {
    named[critic_layout_.names[i]] = live[i];
    named["critic_target" + critic_layout_.names[i].substr(6)] = target[i];
  }
  named["log_alpha"] = temperature_.log_alpha;
  return named;
}

std::map<std::string, torch::Tensor> Droq::GradientsForTesting() {
  std::map<std::string, torch::Tensor> named;
  for (auto& [name, t] : actor_.NamedGradients(policies::kPolicyPrefix)) named[name] = t;
  const std::vector<torch::Tensor> grads = critic_layout_.Views(critic_grad_);
  for (size_t i = 0; i < grads.size(); ++i) named[critic_layout_.names[i]] = grads[i];
  named["log_alpha"] = temperature_.grad;
  return named;
}

void Droq::RegisterState() {
  state_.AddTensor("actor", actor_.params());
  state_.AddTensor("critic", critic_);
  state_.AddTensor("critic_target", critic_target_);
  state_.AddTensor("log_alpha", temperature_.log_alpha);
  state_.AddAdam("actor_adam", &actor_adam_);
  state_.AddAdam("critic_adam", &critic_adam_);
  state_.AddAdam("alpha_adam", &temperature_.adam);
  state_.AddCounter("updates", &updates_);
  if (generator_.has_value()) state_.AddGenerator("generator", &*generator_);
}

int64_t Droq::UpdateMatmulFlops(int64_t batch) const {
  std::vector<int64_t> actor = {options_.obs_dim};
  std::vector<int64_t> critic = {options_.obs_dim + options_.act_dim};
  for (int h : options_.hidden) {
    actor.push_back(h);
    critic.push_back(h);
  }
  actor.push_back(2 * options_.act_dim);
  critic.push_back(1);
  const int64_t b = batch;
  const int64_t e = options_.num_critics;
  // Every update.
  int64_t flops = 0;
  flops += MatmulFlops(actor, b);          // actor forward on s'
  flops += e * MatmulFlops(critic, b);     // target critics forward on (s', a')
  flops += e * MatmulFlops(critic, b);     // critics forward on (s, a_replay)
  flops += e * MatmulFlops(critic, b);     // critic weight gradients
  flops += e * MatmulFlops(critic, b, 1);  // critic input gradients, layers >= 1
  // Every policy_delay-th update.
  int64_t actor_step = 0;
  actor_step += MatmulFlops(actor, b);         // actor forward on s
  actor_step += e * MatmulFlops(critic, b);    // critics forward on (s, a_pi)
  actor_step += e * MatmulFlops(critic, b);    // their input gradients, every layer
  actor_step += MatmulFlops(actor, b);         // actor weight gradients
  actor_step += MatmulFlops(actor, b, 1);      // actor input gradients, layers >= 1
  return flops + actor_step / options_.policy_delay;
}

}  // namespace rill::learner
