#include "learner/algorithms/crossq.h"

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

// Views per layer in a network's layout (renorm_scale, renorm_shift,
// weight, bias) and in its statistics' (running_mean, running_var).
constexpr size_t kParamsPerLayer = 4;
constexpr size_t kStatsPerLayer = 2;

// Layer sizes: `in`, the hidden ones, `out`.
std::vector<int64_t> LayerSizes(int64_t in, const std::vector<int>& hidden, int64_t out) {
  std::vector<int64_t> sizes = {in};
  for (int h : hidden) sizes.push_back(h);
  sizes.push_back(out);
  return sizes;
}

void AddLayers(const std::string& prefix, int64_t members, const std::vector<int64_t>& sizes, FlatLayout& layout,
               FlatLayout& stats) {
  for (size_t l = 0; l + 1 < sizes.size(); ++l) {
    const std::string name = absl::StrCat(prefix, ".layers.", l);
    layout.Add(name + ".renorm_scale", {members, sizes[l]}, 0, /*scale=*/true);
    layout.Add(name + ".renorm_shift", {members, sizes[l]}, 0);
    layout.Add(name + ".weight", {members, sizes[l + 1], sizes[l]}, sizes[l]);
    layout.Add(name + ".bias", {members, sizes[l + 1]}, sizes[l]);
    stats.Add(name + ".running_mean", {members, sizes[l]}, 0);
    stats.Add(name + ".running_var", {members, sizes[l]}, 0, /*scale=*/true);
  }
}

uint64_t Seeded(uint64_t seed, uint64_t stream) { return seed * 2654435761ULL + stream; }

}  // namespace

CrossQ::CrossQ(const CrossQOptions& options, Network actor, Network critic)
    : options_(options),
      actor_(std::move(actor)),
      critic_(std::move(critic)),
      temperature_(MakeTemperature(options.initial_alpha, options.alpha_lr,
                                   options.target_entropy.value_or(-static_cast<double>(options.act_dim)),
                                   options.fixed_alpha, options.device)),
      actor_adam_(actor_.params, options.actor_lr, options.adam_beta1),
      critic_adam_(critic_.params, options.critic_lr, options.adam_beta1) {
  if (options.device.is_cpu()) generator_ = at::detail::createCPUGenerator(Seeded(options.seed, 7));
  RegisterState();
}

absl::StatusOr<std::unique_ptr<CrossQ>> CrossQ::Create(const CrossQOptions& options) {
  RETURN_IF_ERROR(CheckSoftActorCriticSizes(options.obs_dim, options.act_dim, options.hidden, options.action_low,
                                            options.action_high, options.device));
  if (options.critic_hidden.empty()) return absl::InvalidArgumentError("critic_hidden must name at least one layer");
  for (int h : options.critic_hidden) {
    if (h <= 0) return absl::InvalidArgumentError(absl::StrCat("critic_hidden sizes must be positive, got ", h));
  }
  if (options.num_critics < 1 || options.num_critics > 10) {
    return absl::InvalidArgumentError(absl::StrCat("num_critics ", options.num_critics, " must be in 1..10"));
  }
  if (options.policy_delay < 1) {
    return absl::InvalidArgumentError(absl::StrCat("policy_delay ", options.policy_delay, " must be >= 1"));
  }
  if (!(options.adam_beta1 >= 0 && options.adam_beta1 < 1)) {
    return absl::InvalidArgumentError(absl::StrCat("adam_beta1 ", options.adam_beta1, " must be in [0, 1)"));
  }
  const BatchRenormOptions& renorm = options.renorm;
  if (!(renorm.momentum > 0 && renorm.momentum <= 1) || !(renorm.epsilon > 0) || renorm.warmup_steps < 0 ||
      !(renorm.r_max >= 1) || !(renorm.d_max >= 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "renorm options out of range: momentum ", renorm.momentum, " (in (0, 1]), epsilon ", renorm.epsilon,
        " (> 0), warmup_steps ", renorm.warmup_steps, " (>= 0), r_max ", renorm.r_max, " (>= 1), d_max ",
        renorm.d_max, " (>= 0)"));
  }
  try {
    auto make = [&](const std::string& prefix, int64_t members, const std::vector<int64_t>& sizes,
                    uint64_t stream) {
      Network network;
      AddLayers(prefix, members, sizes, network.layout, network.stats_layout);
      at::Generator init = at::detail::createCPUGenerator(Seeded(options.seed, stream));
      network.params = network.layout.Initialised(init).to(options.device);
      network.grad = torch::zeros_like(network.params);
      network.stats = network.stats_layout.Initialised(init).to(options.device);
      return network;
    };
    Network actor = make(policies::kPolicyPrefix, 1,
                         LayerSizes(options.obs_dim, options.hidden, 2 * static_cast<int64_t>(options.act_dim)), 1);
    Network critic = make("critic", options.num_critics,
                          LayerSizes(options.obs_dim + options.act_dim, options.critic_hidden, 1), 2);
    return std::unique_ptr<CrossQ>(new CrossQ(options, std::move(actor), std::move(critic)));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("cannot create CrossQ: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<std::unique_ptr<Algorithm>> CrossQ::FromConfig(const AlgorithmContext& context) {
  RETURN_IF_ERROR(CheckSoftActorCriticSection(context, v1::LearnerConfig::kCrossq));
  const v1::LearnerConfig& learner = context.config.learner();
  const v1::CrossQConfig& crossq = learner.crossq();
  CrossQOptions options;
  FillSoftActorCriticOptions(context, crossq, options);
  options.critic_hidden.assign(crossq.critic_hidden_sizes().begin(), crossq.critic_hidden_sizes().end());
  options.adam_beta1 = crossq.adam_beta1();
  options.num_critics = crossq.num_critics();
  options.policy_delay = crossq.policy_delay();
  options.renorm.momentum = crossq.renorm_momentum();
  options.renorm.epsilon = crossq.renorm_epsilon();
  options.renorm.warmup_steps = crossq.renorm_warmup_steps();
  options.renorm.r_max = crossq.renorm_r_max();
  options.renorm.d_max = crossq.renorm_d_max();
  ASSIGN_OR_RETURN(std::unique_ptr<CrossQ> algorithm, Create(options));
  return std::unique_ptr<Algorithm>(std::move(algorithm));
}

const std::string& CrossQ::name() const { return AlgorithmName(v1::LearnerConfig::kCrossq); }

std::vector<ColumnRequirement> CrossQ::Columns() const {
  return ContinuousTransitionColumns(options_.obs_dim, options_.observation_type, options_.act_dim);
}

absl::Status CrossQ::Update(const Batch& batch) {
  ASSIGN_OR_RETURN(TransitionBatch transitions, ToTransitionBatch(batch));
  return Update(transitions);
}

absl::Status CrossQ::CheckBatch(const TransitionBatch& batch) const {
  RETURN_IF_ERROR(CheckTransitionBatch(batch, options_.obs_dim, options_.act_dim, options_.device));
  if (batch.obs.size(0) < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("obs: a batch of ", batch.obs.size(0), " row has no batch statistics; CrossQ needs >= 2"));
  }
  return absl::OkStatus();
}

absl::Status CrossQ::Update(const TransitionBatch& batch) {
  RETURN_IF_ERROR(CheckBatch(batch));
  return CatchTorchErrors("CrossQ update failed", [&] {
    const int64_t b = batch.obs.size(0);
    torch::Tensor noise = torch::randn({2 * b, options_.act_dim}, generator_, batch.obs.options());
    return UpdateUnchecked(batch, noise);
  });
}

absl::Status CrossQ::UpdateWithNoiseForTesting(const TransitionBatch& batch, const torch::Tensor& next_noise,
                                               const torch::Tensor& noise) {
  RETURN_IF_ERROR(CheckBatch(batch));
  const int64_t b = batch.obs.size(0);
  RETURN_IF_ERROR(CheckBatchField("next_noise", next_noise, {b, options_.act_dim}, options_.device));
  RETURN_IF_ERROR(CheckBatchField("noise", noise, {b, options_.act_dim}, options_.device));
  return CatchTorchErrors("CrossQ update failed",
                          [&] { return UpdateUnchecked(batch, torch::cat({next_noise, noise}, 0)); });
}

torch::Tensor CrossQ::Forward(Network& network, const std::vector<torch::Tensor>& p, const torch::Tensor& input,
                              bool training) {
  const std::vector<torch::Tensor> s = network.stats_layout.Views(network.stats);
  const size_t layers = s.size() / kStatsPerLayer;
  torch::Tensor h = input;  // [R, in], then [E, R, size]
  for (size_t l = 0; l < layers; ++l) {
    const torch::Tensor* v = &p[l * kParamsPerLayer];
    const torch::Tensor& mean = s[l * kStatsPerLayer];
    const torch::Tensor& var = s[l * kStatsPerLayer + 1];
    h = training ? BatchRenormTrain(h, v[0], v[1], mean, var, network.training_passes, options_.renorm)
                 : BatchRenormEval(h, v[0], v[1], mean, var, options_.renorm.epsilon);
    h = torch::baddbmm(v[3].unsqueeze(1), h, v[2].transpose(1, 2));
    if (l + 1 < layers) h = h.relu();
  }
  if (training) ++network.training_passes;
  return h;
}

torch::Tensor CrossQ::CriticsForTesting(const torch::Tensor& obs, const torch::Tensor& action) {
  torch::NoGradGuard no_grad;
  return Forward(critic_, critic_.layout.Views(critic_.params), torch::cat({obs, action}, 1), false).squeeze(2);
}

torch::Tensor CrossQ::ActorForTesting(const torch::Tensor& obs) {
  torch::NoGradGuard no_grad;
  return Forward(actor_, actor_.layout.Views(actor_.params), obs, false).squeeze(0);
}

absl::Status CrossQ::UpdateUnchecked(const TransitionBatch& batch, const torch::Tensor& noise) {
  torch::NoGradGuard no_grad;
  const int64_t b = batch.obs.size(0);
  const bool policy_step = (updates_ + 1) % options_.policy_delay == 0;
  torch::Tensor alpha = temperature_.log_alpha.exp();  // [1]; every loss uses the temperature before this update

  // 1. a' ~ pi(.|s'), the actor out of training.
  torch::Tensor next_out = Forward(actor_, actor_.layout.Views(actor_.params), batch.next_obs, false).squeeze(0);
  const TanhGaussianSample next = SampleTanhGaussian(next_out, noise.narrow(0, 0, b), options_.act_dim);

  // 2. One training pass of the critics over [(s, a); (s', a')]; the
  //    target from its second half, its gradient stopped.
  torch::Tensor q, q_next, target;
  {
    torch::AutoGradMode enable(true);
    torch::Tensor input = torch::cat({torch::cat({batch.obs, batch.action}, 1),
                                      torch::cat({batch.next_obs, next.action}, 1)},
                                     0);
    const std::vector<torch::Tensor> leaves = critic_.layout.Leaves(critic_.params);
    torch::Tensor q_all = Forward(critic_, leaves, input, /*training=*/true).squeeze(2);  // [E, 2B]
    q = q_all.narrow(1, 0, b);
    q_next = q_all.narrow(1, b, b).detach();
    target = torch::addcmul(batch.reward, BootstrapDiscount(batch, options_.gamma),
                            q_next.amin(0) - alpha * next.log_prob);
    critic_.layout.CopyToFlat(torch::autograd::grad({EnsembleCriticLoss(q, target, batch.weight)}, leaves),
                              critic_.grad);
  }
  // The ranks' running statistics stay one: averaged with the gradient.
  RETURN_IF_ERROR(AverageOverRanks(averager_, {critic_.grad, critic_.stats}));
  critic_adam_.Step(critic_.params, critic_.grad);

  last_.q = q.detach();
  last_.q_next = q_next;
  last_.target = target;
  last_.weight = batch.weight.defined() ? batch.weight.clone() : torch::Tensor();
  last_.log_alpha = temperature_.log_alpha.clone();
  ++updates_;
  if (policy_step) RETURN_IF_ERROR(PolicyStep(batch, noise.narrow(0, b, b), alpha));
  return absl::OkStatus();
}

absl::Status CrossQ::PolicyStep(const TransitionBatch& batch, const torch::Tensor& noise,
                                const torch::Tensor& alpha) {
  // A training pass of the actor on s; d loss / d a through the updated
  // critics out of training (their weights fixed), the members' minimum:
  // loss = mean_i(alpha logp_i - min_e Q_e(s_i, a_i)).
  const int64_t b = batch.obs.size(0);
  const std::vector<torch::Tensor> leaves = actor_.layout.Leaves(actor_.params);
  torch::Tensor out;
  {
    torch::AutoGradMode enable(true);
    out = Forward(actor_, leaves, batch.obs, /*training=*/true).squeeze(0);  // [B, 2A]
  }
  const TanhGaussianSample pi = SampleTanhGaussian(out.detach(), noise, options_.act_dim);
  torch::Tensor q_pi, grad_action;
  {
    torch::AutoGradMode enable(true);
    torch::Tensor action = pi.action.detach().requires_grad_(true);
    q_pi = Forward(critic_, critic_.layout.Views(critic_.params), torch::cat({batch.obs, action}, 1),
                   /*training=*/false)
               .squeeze(2)
               .amin(0);  // [B]
    grad_action = torch::autograd::grad({q_pi.sum() * (-1.0 / static_cast<double>(b))}, {action})[0];
  }
  torch::Tensor grad_out =
      TanhGaussianOutputGrad(pi, noise, 0, b, grad_action, alpha / static_cast<double>(b)).squeeze(0);
  {
    torch::AutoGradMode enable(true);
    actor_.layout.CopyToFlat(torch::autograd::grad({out}, leaves, {grad_out}), actor_.grad);
  }
  RETURN_IF_ERROR(AverageOverRanks(averager_, {actor_.stats}));
  RETURN_IF_ERROR(
      StepActorAndTemperature(averager_, actor_.params, actor_.grad, actor_adam_, temperature_, pi.log_prob));
  last_.log_prob = pi.log_prob;
  last_.actor_loss = (alpha * pi.log_prob - q_pi.detach()).mean();
  return absl::OkStatus();
}

torch::Tensor CrossQ::LastTdErrors() const {
  return last_.q.defined() ? EnsembleTdErrors(last_.q, last_.target) : torch::Tensor();
}

CrossQStats CrossQ::LastStats() const {
  CrossQStats stats;
  if (!last_.q.defined()) return stats;
  torch::NoGradGuard no_grad;
  const torch::Tensor alpha = last_.log_alpha.exp().squeeze(0);
  const torch::Tensor zero = torch::zeros({}, alpha.options());
  torch::Tensor all = torch::stack({
                                       EnsembleCriticLoss(last_.q, last_.target, last_.weight),
                                       last_.actor_loss.defined() ? last_.actor_loss : zero,
                                       alpha,
                                       last_.q.mean(),
                                       last_.q_next.mean(),
                                       last_.log_prob.defined() ? last_.log_prob.mean() : zero,
                                   })
                          .to(torch::kCPU, torch::kFloat64);
  const double* v = all.data_ptr<double>();
  stats.critic_loss = v[0];
  stats.actor_loss = v[1];
  stats.alpha = v[2];
  stats.q_mean = v[3];
  stats.q_next_mean = v[4];
  stats.log_prob_mean = v[5];
  return stats;
}

absl::StatusOr<rill::v1::ParameterSet> CrossQ::ExportPolicy() const {
  std::vector<std::pair<std::string, torch::Tensor>> named;
  try {
    const std::vector<torch::Tensor> p = actor_.layout.Views(actor_.params);
    const std::vector<torch::Tensor> s = actor_.stats_layout.Views(actor_.stats);
    for (size_t l = 0; l < s.size() / kStatsPerLayer; ++l) {
      const torch::Tensor* v = &p[l * kParamsPerLayer];
      auto [weight, bias] = FoldRenormIntoLinear(v[0][0], v[1][0], s[l * kStatsPerLayer][0],
                                                 s[l * kStatsPerLayer + 1][0], options_.renorm.epsilon, v[2][0],
                                                 v[3][0]);
      const std::string prefix = absl::StrCat(policies::kPolicyPrefix, ".layers.", l);
      named.emplace_back(prefix + ".weight", weight);
      named.emplace_back(prefix + ".bias", bias);
    }
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("cannot export the CrossQ policy: ", e.what_without_backtrace()));
  }
  return ExportTanhGaussianPolicy(named, options_.obs_dim, options_.act_dim, options_.hidden, options_.action_low,
                                  options_.action_high);
}

std::vector<Statistic> CrossQ::Statistics() const {
  const CrossQStats stats = LastStats();
  return {
      {"critic", stats.critic_loss, true},       {"actor", stats.actor_loss, true},
      {"alpha", stats.alpha, false},             {"q_mean", stats.q_mean, false},
      {"q_next_mean", stats.q_next_mean, false}, {"log_prob_mean", stats.log_prob_mean, false},
  };
}

std::map<std::string, torch::Tensor> CrossQ::ParametersForTesting() {
  std::map<std::string, torch::Tensor> named;
  for (const Network* network : {&actor_, &critic_}) {
    const std::vector<torch::Tensor> p = network->layout.Views(network->params);
    for (size_t i = 0; i < p.size(); ++i) named[network->layout.names[i]] = p[i];
    const std::vector<torch::Tensor> s = network->stats_layout.Views(network->stats);
    for (size_t i = 0; i < s.size(); ++i) named[network->stats_layout.names[i]] = s[i];
  }
  named["log_alpha"] = temperature_.log_alpha;
  return named;
}

std::map<std::string, torch::Tensor> CrossQ::GradientsForTesting() {
  std::map<std::string, torch::Tensor> named;
  for (const Network* network : {&actor_, &critic_}) {
    const std::vector<torch::Tensor> g = network->layout.Views(network->grad);
    for (size_t i = 0; i < g.size(); ++i) named[network->layout.names[i]] = g[i];
  }
  named["log_alpha"] = temperature_.grad;
  return named;
}

void CrossQ::RegisterState() {
  state_.AddTensor("actor", actor_.params);
  state_.AddTensor("actor_statistics", actor_.stats);
  state_.AddTensor("critic", critic_.params);
  state_.AddTensor("critic_statistics", critic_.stats);
  state_.AddTensor("log_alpha", temperature_.log_alpha);
  state_.AddAdam("actor_adam", &actor_adam_);
  state_.AddAdam("critic_adam", &critic_adam_);
  state_.AddAdam("alpha_adam", &temperature_.adam);
  state_.AddCounter("updates", &updates_);
  state_.AddCounter("actor_training_passes", &actor_.training_passes);
  state_.AddCounter("critic_training_passes", &critic_.training_passes);
  if (generator_.has_value()) state_.AddGenerator("generator", &*generator_);
}

int64_t CrossQ::UpdateMatmulFlops(int64_t batch) const {
  const std::vector<int64_t> actor = LayerSizes(options_.obs_dim, options_.hidden, 2 * options_.act_dim);
  const std::vector<int64_t> critic = LayerSizes(options_.obs_dim + options_.act_dim, options_.critic_hidden, 1);
  const int64_t b = batch;
  const int64_t e = options_.num_critics;
  // Every update.
  int64_t flops = 0;
  flops += MatmulFlops(actor, b);             // actor on s', out of training
  flops += e * MatmulFlops(critic, 2 * b);    // the joint pass over (s, a) and (s', a')
  flops += e * MatmulFlops(critic, 2 * b);    // its weight gradients
  flops += e * MatmulFlops(critic, 2 * b, 1); // its input gradients, layers >= 1
  // Every policy_delay-th update.
  int64_t actor_step = 0;
  actor_step += MatmulFlops(actor, b);         // actor training pass on s
  actor_step += e * MatmulFlops(critic, b);    // critics on (s, a_pi), out of training
  actor_step += e * MatmulFlops(critic, b);    // their input gradients, every layer
  actor_step += MatmulFlops(actor, b);         // actor weight gradients
  actor_step += MatmulFlops(actor, b, 1);      // actor input gradients, layers >= 1
  return flops + actor_step / options_.policy_delay;
}

}  // namespace rill::learner
