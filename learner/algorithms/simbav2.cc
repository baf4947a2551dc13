#include "learner/algorithms/simbav2.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "ATen/CPUGeneratorImpl.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "learner/algorithms/checks.h"
#include "learner/algorithms/spec.h"
#include "learner/algorithms/tanh_gaussian.h"
#include "learner/algorithms/torch_errors.h"
#include "policies/spec.h"
#include "torch/torch.h"

namespace rill::learner {
namespace {

constexpr int64_t kCritics = 2;

uint64_t Seeded(uint64_t seed, uint64_t stream) { return seed * 2654435761ULL + stream; }

absl::Status CheckOptions(const SimbaV2Options& o) {
  RETURN_IF_ERROR(CheckSoftActorCriticSizes(o.obs_dim, o.act_dim, {o.actor_hidden}, o.action_low, o.action_high,
                                            o.device));
  auto bad = [](const std::string& field, auto value, const std::string& range) {
    return absl::InvalidArgumentError(absl::StrCat(field, " ", value, " is out of range: must be ", range));
  };
  if (o.critic_hidden < 1) return bad("critic_hidden", o.critic_hidden, ">= 1");
  if (o.actor_blocks < 0 || o.actor_blocks > 16) return bad("actor_blocks", o.actor_blocks, "in 0..16");
  if (o.critic_blocks < 0 || o.critic_blocks > 16) return bad("critic_blocks", o.critic_blocks, "in 0..16");
  if (o.num_atoms < 2) return bad("num_atoms", o.num_atoms, ">= 2");
  if (!(o.v_max > 0) || std::isinf(o.v_max)) return bad("v_max", o.v_max, "finite and > 0");
  if (!(o.shift >= 0) || std::isinf(o.shift)) return bad("shift", o.shift, "finite and >= 0");
  if (!(o.final_lr_fraction > 0 && o.final_lr_fraction <= 1)) {
    return bad("final_lr_fraction", o.final_lr_fraction, "in (0, 1]");
  }
  if (o.lr_decay_updates < 1) return bad("lr_decay_updates", o.lr_decay_updates, ">= 1");
  if (!(o.gamma >= 0 && o.gamma < 1)) {
    return bad("gamma", o.gamma, "in [0, 1) (the reward scale bounds returns by 1 / (1 - gamma^n_step))");
  }
  if (o.n_step < 1) return bad("n_step", o.n_step, ">= 1");
  if (!(o.tau >= 0 && o.tau <= 1)) return bad("tau", o.tau, "in [0, 1]");
  return absl::OkStatus();
}

}  // namespace

torch::Tensor ProjectOntoAtoms(const torch::Tensor& probs, const torch::Tensor& values, double v_max) {
  const int64_t k = probs.size(1);
  const double delta = 2 * v_max / static_cast<double>(k - 1);
  torch::Tensor position = (values.clamp(-v_max, v_max) + v_max) / delta;  // in [0, K - 1]
  torch::Tensor lower = position.floor().clamp(0, k - 2);
  torch::Tensor upper_weight = position - lower;  // in [0, 1]
  torch::Tensor projected = torch::zeros_like(probs);
  const torch::Tensor l = lower.to(torch::kInt64);
  projected.scatter_add_(1, l, probs * (1 - upper_weight));
  projected.scatter_add_(1, l + 1, probs * upper_weight);
  return projected;
}

SimbaV2::SimbaV2(const SimbaV2Options& options, Network actor, Network critic)
    : options_(options),
      actor_(std::move(actor)),
      critic_(std::move(critic)),
      target_critic_(critic_.params.clone()),
      atoms_(torch::linspace(-options.v_max, options.v_max, options.num_atoms,
                             torch::TensorOptions().device(options.device))),
      reward_max_(torch::zeros({1}, torch::TensorOptions().device(options.device))),
      temperature_(MakeTemperature(options.initial_alpha, options.alpha_lr,
                                   options.target_entropy.value_or(-0.5 * options.act_dim), options.fixed_alpha,
                                   options.device)),
      actor_adam_(actor_.params, options.actor_lr),
      critic_adam_(critic_.params, options.critic_lr) {
  if (options.device.is_cpu()) generator_ = at::detail::createCPUGenerator(Seeded(options.seed, 7));
  RegisterState();
}

absl::StatusOr<std::unique_ptr<SimbaV2>> SimbaV2::Create(const SimbaV2Options& options) {
  RETURN_IF_ERROR(CheckOptions(options));
  try {
    auto make = [&](const std::string& prefix, HypersphericalShape shape, uint64_t stream) {
      Network network;
      network.shape = shape;
      AddHyperspherical(shape, prefix, network.layout);
      at::Generator init = at::detail::createCPUGenerator(Seeded(options.seed, stream));
      network.params = InitialHyperspherical(shape, network.layout, init).to(options.device);
      network.grad = torch::zeros_like(network.params);
      return network;
    };
    const HypersphericalShape actor{.members = 1, .in = options.obs_dim, .hidden = options.actor_hidden,
                                    .blocks = options.actor_blocks, .out = 2 * int64_t{options.act_dim},
                                    .shift = options.shift};
    const HypersphericalShape critic{.members = kCritics, .in = options.obs_dim + options.act_dim,
                                     .hidden = options.critic_hidden, .blocks = options.critic_blocks,
                                     .out = options.num_atoms, .shift = options.shift};
    Network a = make(policies::kPolicyPrefix, actor, 1);
    Network c = make("critic", critic, 2);
    return std::unique_ptr<SimbaV2>(new SimbaV2(options, std::move(a), std::move(c)));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("cannot create SimbaV2: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<std::unique_ptr<Algorithm>> SimbaV2::FromConfig(const AlgorithmContext& context) {
  RETURN_IF_ERROR(CheckSoftActorCriticSection(context, v1::LearnerConfig::kSimbav2));
  const v1::LearnerConfig& learner = context.config.learner();
  const v1::SimbaV2Config& simba = learner.simbav2();
  SimbaV2Options options;
  FillSoftActorCriticOptions(context, simba, options);
  options.actor_hidden = simba.actor_hidden_size();
  options.actor_blocks = simba.actor_blocks();
  options.critic_hidden = simba.critic_hidden_size();
  options.critic_blocks = simba.critic_blocks();
  options.num_atoms = simba.num_atoms();
  options.v_max = simba.v_max();
  options.shift = simba.shift();
  options.final_lr_fraction = simba.final_lr_fraction();
  options.lr_decay_updates = simba.lr_decay_updates();
  options.n_step = learner.n_step();
  ASSIGN_OR_RETURN(std::unique_ptr<SimbaV2> algorithm, Create(options));
  return std::unique_ptr<Algorithm>(std::move(algorithm));
}

const std::string& SimbaV2::name() const { return AlgorithmName(v1::LearnerConfig::kSimbav2); }

std::vector<ColumnRequirement> SimbaV2::Columns() const {
  return ContinuousTransitionColumns(options_.obs_dim, options_.observation_type, options_.act_dim);
}

absl::Status SimbaV2::Update(const Batch& batch) {
  ASSIGN_OR_RETURN(TransitionBatch transitions, ToTransitionBatch(batch));
  return Update(transitions);
}

absl::Status SimbaV2::Update(const TransitionBatch& batch) {
  RETURN_IF_ERROR(CheckTransitionBatch(batch, options_.obs_dim, options_.act_dim, options_.device));
  return CatchTorchErrors("SimbaV2 update failed", [&] {
    const int64_t b = batch.obs.size(0);
    torch::Tensor noise = torch::randn({2 * b, options_.act_dim}, generator_, batch.obs.options());
    return UpdateUnchecked(batch, noise);
  });
}

absl::Status SimbaV2::UpdateWithNoiseForTesting(const TransitionBatch& batch, const torch::Tensor& next_noise,
                                                const torch::Tensor& noise) {
  RETURN_IF_ERROR(CheckTransitionBatch(batch, options_.obs_dim, options_.act_dim, options_.device));
  const int64_t b = batch.obs.size(0);
  RETURN_IF_ERROR(CheckBatchField("next_noise", next_noise, {b, options_.act_dim}, options_.device));
  RETURN_IF_ERROR(CheckBatchField("noise", noise, {b, options_.act_dim}, options_.device));
  return CatchTorchErrors("SimbaV2 update failed",
                          [&] { return UpdateUnchecked(batch, torch::cat({next_noise, noise}, 0)); });
}

double SimbaV2::DecayedLr(double lr) const {
  const double progress =
      std::min(1.0, static_cast<double>(updates_) / static_cast<double>(options_.lr_decay_updates));
  return lr * (1.0 - (1.0 - options_.final_lr_fraction) * progress);
}

double SimbaV2::ActorLr() const { return DecayedLr(options_.actor_lr); }
double SimbaV2::CriticLr() const { return DecayedLr(options_.critic_lr); }

double SimbaV2::RewardScale() const { return last_.scale.defined() ? last_.scale.item<double>() : 1.0; }

torch::Tensor SimbaV2::Mean(const torch::Tensor& logits) const {
  return (logits.softmax(-1) * atoms_).sum(-1);
}

absl::StatusOr<torch::Tensor> SimbaV2::UpdateRewardScale(const torch::Tensor& reward) {
  reward_max_.copy_(torch::maximum(reward_max_, reward.abs().max().view({1})));
  // The ranks' scales stay one: their maxima averaged.
  RETURN_IF_ERROR(AverageOverRanks(averager_, {reward_max_}));
  const double bound = (1.0 - std::pow(options_.gamma, options_.n_step)) * options_.v_max;
  return torch::where(reward_max_ > 0, reward_max_ / bound, torch::ones_like(reward_max_));
}

torch::Tensor SimbaV2::Target(const TransitionBatch& batch, const torch::Tensor& scale, const torch::Tensor& noise,
                              const torch::Tensor& alpha) {
  torch::Tensor next_out = HypersphericalForward(actor_.shape, actor_.layout.Views(actor_.params), batch.next_obs)
                               .squeeze(0);
  const TanhGaussianSample next = SampleTanhGaussian(next_out, noise, options_.act_dim);
  torch::Tensor logits = HypersphericalForward(critic_.shape, critic_.layout.Views(target_critic_),
                                               torch::cat({batch.next_obs, next.action}, 1));  // [E, B, K]
  // Per row, the distribution of the critic whose mean is lower.
  torch::Tensor lower = Mean(logits).argmin(0);  // [B]
  torch::Tensor probs = logits.softmax(-1).gather(0, lower.view({1, -1, 1}).expand({1, -1, logits.size(2)}))
                            .squeeze(0);  // [B, K]
  torch::Tensor soft = atoms_.view({1, -1}) - (alpha * next.log_prob).view({-1, 1});
  torch::Tensor values = torch::addcmul((batch.reward / scale).view({-1, 1}),
                                        BootstrapDiscount(batch, options_.gamma).view({-1, 1}), soft);
  return ProjectOntoAtoms(probs, values, options_.v_max);
}

absl::Status SimbaV2::CriticStep(const TransitionBatch& batch, const torch::Tensor& target) {
  const std::vector<torch::Tensor> leaves = critic_.layout.Leaves(critic_.params);
  torch::Tensor logits, ce;
  {
    torch::AutoGradMode enable(true);
    logits = HypersphericalForward(critic_.shape, leaves, torch::cat({batch.obs, batch.action}, 1));
    ce = -(target.unsqueeze(0) * logits.log_softmax(-1)).sum(-1);  // [E, B]
    torch::Tensor weighted = batch.weight.defined() ? ce * batch.weight.view({1, -1}) : ce;
    critic_.layout.CopyToFlat(torch::autograd::grad({weighted.mean(1).sum()}, leaves), critic_.grad);
  }
  RETURN_IF_ERROR(AverageOverRanks(averager_, {critic_.grad}));
  critic_adam_.lr = CriticLr();
  critic_adam_.Step(critic_.params, critic_.grad);
  ProjectOntoSphere(critic_.shape, critic_.layout, critic_.params);
  last_.q = Mean(logits.detach());
  last_.ce = ce.detach();
  return absl::OkStatus();
}

absl::Status SimbaV2::ActorStep(const TransitionBatch& batch, const torch::Tensor& noise,
                                const torch::Tensor& alpha) {
  // loss = mean_i(alpha logp_i - min_e E[Q_e(s_i, a_i)]) through the
  // updated critics (their weights fixed).
  const int64_t b = batch.obs.size(0);
  const std::vector<torch::Tensor> leaves = actor_.layout.Leaves(actor_.params);
  torch::Tensor out;
  {
    torch::AutoGradMode enable(true);
    out = HypersphericalForward(actor_.shape, leaves, batch.obs).squeeze(0);  // [B, 2A]
  }
  const TanhGaussianSample pi = SampleTanhGaussian(out.detach(), noise, options_.act_dim);
  torch::Tensor q_pi, grad_action;
  {
    torch::AutoGradMode enable(true);
    torch::Tensor action = pi.action.detach().requires_grad_(true);
    q_pi = Mean(HypersphericalForward(critic_.shape, critic_.layout.Views(critic_.params),
                                      torch::cat({batch.obs, action}, 1)))
               .amin(0);  // [B]
    grad_action = torch::autograd::grad({q_pi.sum() * (-1.0 / static_cast<double>(b))}, {action})[0];
  }
  torch::Tensor grad_out =
      TanhGaussianOutputGrad(pi, noise, 0, b, grad_action, alpha / static_cast<double>(b)).squeeze(0);
  {
    torch::AutoGradMode enable(true);
    actor_.layout.CopyToFlat(torch::autograd::grad({out}, leaves, {grad_out}), actor_.grad);
  }
  actor_adam_.lr = ActorLr();
  RETURN_IF_ERROR(
      StepActorAndTemperature(averager_, actor_.params, actor_.grad, actor_adam_, temperature_, pi.log_prob));
  ProjectOntoSphere(actor_.shape, actor_.layout, actor_.params);
  last_.log_prob = pi.log_prob;
  last_.actor_loss = (alpha * pi.log_prob - q_pi.detach()).mean();
  return absl::OkStatus();
}

absl::Status SimbaV2::UpdateUnchecked(const TransitionBatch& batch, const torch::Tensor& noise) {
  torch::NoGradGuard no_grad;
  const int64_t b = batch.obs.size(0);
  torch::Tensor alpha = temperature_.log_alpha.exp();  // [1]; every loss uses the temperature before this update
  last_.log_alpha = temperature_.log_alpha.clone();
  ASSIGN_OR_RETURN(torch::Tensor scale, UpdateRewardScale(batch.reward));
  torch::Tensor target = Target(batch, scale, noise.narrow(0, 0, b), alpha);
  RETURN_IF_ERROR(CriticStep(batch, target));
  RETURN_IF_ERROR(ActorStep(batch, noise.narrow(0, b, b), alpha));
  target_critic_.lerp_(critic_.params, options_.tau);
  ProjectOntoSphere(critic_.shape, critic_.layout, target_critic_);
  last_.target = target;
  last_.scale = scale;
  last_.weight = batch.weight.defined() ? batch.weight.clone() : torch::Tensor();
  ++updates_;
  return absl::OkStatus();
}

torch::Tensor SimbaV2::LastTdErrors() const {
  if (!last_.q.defined()) return torch::Tensor();
  torch::NoGradGuard no_grad;
  return (last_.q - (last_.target * atoms_).sum(1).view({1, -1})).abs().mean(0);
}

SimbaV2Stats SimbaV2::LastStats() const {
  SimbaV2Stats stats;
  if (!last_.q.defined()) return stats;
  torch::NoGradGuard no_grad;
  torch::Tensor ce = last_.weight.defined() ? last_.ce * last_.weight.view({1, -1}) : last_.ce;
  torch::Tensor all = torch::stack({ce.mean(1).sum(), last_.actor_loss, last_.log_alpha.exp().squeeze(0),
                                    last_.q.mean() * last_.scale.squeeze(0), last_.scale.squeeze(0),
                                    last_.log_prob.mean()})
                          .to(torch::kCPU, torch::kFloat64);
  const double* v = all.data_ptr<double>();
  stats.critic_loss = v[0];
  stats.actor_loss = v[1];
  stats.alpha = v[2];
  stats.q_mean = v[3];
  stats.reward_scale = v[4];
  stats.log_prob_mean = v[5];
  return stats;
}

std::vector<Statistic> SimbaV2::Statistics() const {
  const SimbaV2Stats stats = LastStats();
  return {
      {"critic", stats.critic_loss, true},         {"actor", stats.actor_loss, true},
      {"alpha", stats.alpha, false},               {"q_mean", stats.q_mean, false},
      {"reward_scale", stats.reward_scale, false}, {"log_prob_mean", stats.log_prob_mean, false},
  };
}

torch::Tensor SimbaV2::CriticsForTesting(const torch::Tensor& obs, const torch::Tensor& action) {
  torch::NoGradGuard no_grad;
  return HypersphericalForward(critic_.shape, critic_.layout.Views(critic_.params), torch::cat({obs, action}, 1));
}

torch::Tensor SimbaV2::ActorForTesting(const torch::Tensor& obs) {
  torch::NoGradGuard no_grad;
  return HypersphericalForward(actor_.shape, actor_.layout.Views(actor_.params), obs).squeeze(0);
}

absl::StatusOr<rill::v1::ParameterSet> SimbaV2::ExportPolicy() const {
  std::vector<std::pair<std::string, torch::Tensor>> named;
  try {
    const std::vector<torch::Tensor> p = actor_.layout.Views(actor_.params);
    for (size_t i = 0; i < p.size(); ++i) named.emplace_back(actor_.layout.names[i], p[i][0]);
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("cannot export the SimbaV2 policy: ", e.what_without_backtrace()));
  }
  ASSIGN_OR_RETURN(v1::ParameterSet set,
                   ExportTanhGaussianPolicy(named, options_.obs_dim, options_.act_dim, {options_.actor_hidden},
                                            options_.action_low, options_.action_high));
  v1::HypersphericalNet& sphere = *set.mutable_policy()->mutable_hyperspherical();
  sphere.set_blocks(options_.actor_blocks);
  sphere.set_shift(static_cast<float>(options_.shift));
  return set;
}

std::map<std::string, torch::Tensor> SimbaV2::ParametersForTesting() {
  std::map<std::string, torch::Tensor> named;
  for (const Network* network : {&actor_, &critic_}) {
    const std::vector<torch::Tensor> p = network->layout.Views(network->params);
    for (size_t i = 0; i < p.size(); ++i) named[network->layout.names[i]] = p[i];
  }
  const std::vector<torch::Tensor> t = critic_.layout.Views(target_critic_);
  for (size_t i = 0; i < t.size(); ++i) named["target_" + critic_.layout.names[i]] = t[i];
  named["log_alpha"] = temperature_.log_alpha;
  return named;
}

void SimbaV2::RegisterState() {
  state_.AddTensor("actor", actor_.params);
  state_.AddTensor("critic", critic_.params);
  state_.AddTensor("target_critic", target_critic_);
  state_.AddTensor("reward_max", reward_max_);
  state_.AddTensor("log_alpha", temperature_.log_alpha);
  state_.AddAdam("actor_adam", &actor_adam_);
  state_.AddAdam("critic_adam", &critic_adam_);
  state_.AddAdam("alpha_adam", &temperature_.adam);
  state_.AddCounter("updates", &updates_);
  if (generator_.has_value()) state_.AddGenerator("generator", &*generator_);
}

int64_t SimbaV2::UpdateMatmulFlops(int64_t batch) const {
  // Per row, a network's multiply-adds: embedding, 2 x 4H^2 per block, head.
  auto per_row = [](const HypersphericalShape& s) {
    return s.hidden * (s.in + 1) + s.blocks * 8 * s.hidden * s.hidden + s.out * s.hidden;
  };
  const int64_t actor = 2 * per_row(actor_.shape);            // flops per row
  const int64_t critic = 2 * kCritics * per_row(critic_.shape);
  int64_t flops = 0;
  flops += batch * actor;       // actor on s'
  flops += batch * critic;      // target critics on (s', a')
  flops += 3 * batch * critic;  // critics on (s, a): forward, weight and input gradients
  flops += 2 * batch * critic;  // critics on (s, a_pi): forward, input gradients
  flops += 3 * batch * actor;   // actor on s: forward, weight and input gradients
  return flops;
}

}  // namespace rill::learner
