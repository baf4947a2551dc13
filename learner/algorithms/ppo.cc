#include "learner/algorithms/ppo.h"

#include <algorithm>
#include <cmath>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "learner/algorithms/checks.h"
#include "learner/algorithms/spec.h"
#include "learner/algorithms/torch_errors.h"

namespace rill::learner {
namespace {

// Adam, as CleanRL's PPO steps (torch.optim.Adam, eps set per config).
constexpr v1::ImpalaConfig::Optimizer kOptimizer = v1::ImpalaConfig::ADAM;
// Keeps the normalised advantages finite when a minibatch's are all equal.
constexpr double kAdvantageEpsilon = 1e-8;
// Bound on |log pi - log mu| in the ratio: a squashed Gaussian whose mean
// drifts past the saturation edge (policies::kSquashEdge) with a small std
// gives actions log-probabilities of -1e5 and less, and a small step of the
// mean moves them by thousands: exp of that is infinite, and one infinite
// ratio makes the whole minibatch's gradient NaN. e^20 still clips (the
// surrogate's clip range is far inside) and stays finite.
constexpr double kMaxLogRatio = 20;

// Statistics in last_statistics_'s order: sums over the minibatches but for
// the per-batch ones after kPerMinibatch.
enum StatisticIndex {
  kPolicyLoss, kValueLoss, kEntropyLoss, kTotalLoss, kEntropy, kApproxKl, kClipFraction, kGradNorm, kPerMinibatch,
  kKl = kPerMinibatch, kClippedRho, kValueMean, kAdvantageStd, kCount,
};

torch::Tensor TimeMajor(const torch::Tensor& batch_major) { return batch_major.transpose(0, 1).contiguous(); }

// [T, B, ...] -> [T B, ...].
torch::Tensor Rows(const torch::Tensor& time_major) {
  std::vector<int64_t> shape = {-1};
  for (int64_t i = 2; i < time_major.dim(); ++i) shape.push_back(time_major.size(i));
  return time_major.reshape(shape);
}

}  // namespace

absl::StatusOr<PpoTargets> PpoAdvantages(const VTraceOptions& vtrace, const torch::Tensor& log_rhos,
                                         const torch::Tensor& rewards, const torch::Tensor& values,
                                         const torch::Tensor& bootstrap_values, const torch::Tensor& terminated,
                                         const torch::Tensor& truncated) {
  PpoTargets targets;
  if (!log_rhos.defined()) {
    // On-policy V-trace (ratios 1, rho_bar = c_bar = 1) is GAE(lambda):
    // v_t - V(x_t) = delta_t + gamma lambda (v_{t+1} - V(x_{t+1})).
    VTraceOptions gae = vtrace;
    gae.rho_bar = 1;
    gae.c_bar = 1;
    if (!rewards.defined()) return absl::InvalidArgumentError("rewards is undefined");
    ASSIGN_OR_RETURN(VTraceReturns returns, VTrace(gae, torch::zeros_like(rewards), rewards, values, bootstrap_values,
                                                   terminated, truncated));
    targets.returns = returns.vs;
    targets.advantages = returns.vs - values.detach();
    targets.clipped_rhos = returns.clipped_rhos;
    return targets;
  }
  ASSIGN_OR_RETURN(VTraceReturns returns,
                   VTrace(vtrace, log_rhos, rewards, values, bootstrap_values, terminated, truncated));
  targets.returns = returns.vs;
  targets.advantages = returns.advantages;
  targets.clipped_rhos = returns.clipped_rhos;
  return targets;
}

PpoLossTerms PpoLoss(const PpoOptions& options, const torch::Tensor& log_pi, const torch::Tensor& behaviour_log_prob,
                     const torch::Tensor& advantages, const torch::Tensor& entropy, const torch::Tensor& values,
                     const torch::Tensor& old_values, const torch::Tensor& returns) {
  PpoLossTerms terms;
  torch::Tensor advantage = advantages;
  if (options.normalize_advantages) {
    // Population std when the minibatch has one row (std of one is NaN).
    const bool unbiased = advantages.numel() > 1;
    advantage = (advantages - advantages.mean()) / (advantages.std(unbiased) + kAdvantageEpsilon);
  }
  torch::Tensor ratio = torch::exp((log_pi - behaviour_log_prob).clamp(-kMaxLogRatio, kMaxLogRatio));
  torch::Tensor clipped = ratio.clamp(1 - options.clip_range, 1 + options.clip_range);
  terms.policy = torch::max(-advantage * ratio, -advantage * clipped).mean();
  torch::Tensor squared = (values - returns).pow(2);
  if (options.value_clip_range > 0) {
    torch::Tensor values_clipped =
        old_values + (values - old_values).clamp(-options.value_clip_range, options.value_clip_range);
    squared = torch::max(squared, (values_clipped - returns).pow(2));
  }
  terms.value = options.value_cost * 0.5 * squared.mean();
  terms.entropy = -options.entropy_cost * entropy.mean();
  terms.total = terms.policy + terms.value + terms.entropy;
  {
    torch::NoGradGuard no_grad;
    terms.clip_fraction = ((ratio - 1).abs() > options.clip_range).to(torch::kFloat32).mean();
  }
  return terms;
}

std::vector<torch::Tensor> MinibatchIndices(int64_t rows, int num_minibatches, at::Generator& generator) {
  torch::Tensor order = torch::randperm(rows, generator, torch::TensorOptions().dtype(torch::kInt64));
  const int64_t size = rows / num_minibatches;
  std::vector<torch::Tensor> minibatches;
  for (int m = 0; m < num_minibatches; ++m) minibatches.push_back(order.narrow(0, m * size, size));
  return minibatches;
}

absl::StatusOr<std::unique_ptr<Algorithm>> Ppo::FromConfig(const AlgorithmContext& context) {
  const v1::LearnerConfig& learner = context.config.learner();
  const v1::PpoConfig& ppo = learner.ppo();
  PpoOptions options;
  options.env = context.env;
  options.hidden = context.hidden();
  options.torso = context.torso();
  options.lstm_size = context.lstm_size();
  options.state_independent_log_std = ppo.state_independent_log_std();
  options.unroll_length = ppo.unroll_length();
  options.gamma = learner.gamma();
  options.lambda = ppo.lambda();
  options.clip_range = ppo.clip_range();
  options.value_clip_range = ppo.value_clip_range();
  options.normalize_advantages = ppo.normalize_advantages();
  options.value_cost = ppo.value_cost();
  options.entropy_cost = ppo.entropy_cost();
  options.epochs = ppo.epochs();
  options.num_minibatches = ppo.num_minibatches();
  options.target_kl = ppo.target_kl();
  options.learning_rate = ppo.learning_rate();
  options.epsilon = ppo.epsilon();
  options.lr_decay_env_steps = ppo.lr_decay_env_steps();
  options.max_grad_norm = ppo.max_grad_norm();
  options.vtrace = !ppo.synchronous();
  options.rho_bar = ppo.rho_bar();
  options.c_bar = ppo.c_bar();
  options.centralised_value = ppo.centralised_value();
  options.device = context.device;
  options.seed = context.seed;
  ASSIGN_OR_RETURN(std::unique_ptr<Ppo> algorithm, Create(options));
  return std::unique_ptr<Algorithm>(std::move(algorithm));
}

absl::StatusOr<std::unique_ptr<Ppo>> Ppo::Create(const PpoOptions& options) {
  auto invalid = [](const std::string& what) { return absl::InvalidArgumentError(absl::StrCat("ppo: ", what)); };
  if (options.unroll_length < 1) return invalid(absl::StrCat("unroll_length ", options.unroll_length, " must be >= 1"));
  if (!(options.gamma >= 0 && options.gamma <= 1)) return invalid("gamma must be in [0, 1]");
  if (!(options.lambda >= 0 && options.lambda <= 1)) return invalid("lambda must be in [0, 1]");
  if (!(options.clip_range > 0 && options.clip_range <= 1)) return invalid("clip_range must be in (0, 1]");
  if (!(options.value_clip_range >= 0)) return invalid("value_clip_range must be >= 0");
  if (!(options.value_cost >= 0) || !(options.entropy_cost >= 0) || !(options.max_grad_norm >= 0)) {
    return invalid("value_cost, entropy_cost and max_grad_norm must be >= 0");
  }
  if (options.epochs < 1) return invalid(absl::StrCat("epochs ", options.epochs, " must be >= 1"));
  if (options.num_minibatches < 1) {
    return invalid(absl::StrCat("num_minibatches ", options.num_minibatches, " must be >= 1"));
  }
  if (!(options.target_kl >= 0)) return invalid("target_kl must be >= 0");
  if (!(options.learning_rate > 0)) return invalid("learning_rate must be > 0");
  if (!(options.epsilon > 0)) return invalid("epsilon must be > 0");
  if (options.lr_decay_env_steps < 0) return invalid("lr_decay_env_steps must be >= 0");
  if (!(options.rho_bar > 0) || !(options.c_bar > 0)) return invalid("rho_bar and c_bar must be > 0");
  if (options.centralised_value && options.env.state_dim < 1) {
    return invalid(absl::StrCat("centralised_value needs rows of an env offering a global state; ", options.env.name,
                                " offers none"));
  }
  if (options.centralised_value && options.lstm_size > 0) {
    return invalid("centralised_value takes no LSTM core (its value is a feed-forward MLP)");
  }
  ActorCriticOptions net;
  net.env = options.env;
  net.hidden = options.hidden;
  net.torso = options.torso;
  net.lstm_size = options.lstm_size;
  net.state_independent_log_std = options.state_independent_log_std;
  net.device = options.device;
  net.seed = options.seed;
  ASSIGN_OR_RETURN(std::unique_ptr<ActorCritic> network, ActorCritic::Create(net, "ppo"));
  std::unique_ptr<StateValue> value;
  if (options.centralised_value) {
    // Another stream than the policy network's.
    ASSIGN_OR_RETURN(value, StateValue::Create(options.env.state_dim, options.hidden, options.device,
                                               options.seed + 0x51ed270b27a9c0d1ULL, "ppo"));
  }
  try {
    return std::unique_ptr<Ppo>(new Ppo(options, std::move(network), std::move(value)));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("ppo: ", e.what_without_backtrace()));
  }
}

Ppo::Ppo(PpoOptions options, std::unique_ptr<ActorCritic> net, std::unique_ptr<StateValue> value)
    : options_(std::move(options)),
      net_(std::move(net)),
      optimizer_(kOptimizer, options_.epsilon, net_->data()),
      value_(std::move(value)),
      // Another stream than the network's initialisation (seeded with seed).
      generator_(at::detail::createCPUGenerator(options_.seed + 0x9e3779b97f4a7c15ULL)) {
  last_statistics_ = torch::zeros({kCount}, net_->data().options());
  state_.AddTensor("ppo.params", net_->data());
  state_.AddTensor("ppo.square_avg", optimizer_.square_avg());
  state_.AddTensor("ppo.exp_avg", optimizer_.exp_avg());
  state_.AddCounter("ppo.updates", &updates_);
  state_.AddCounter("ppo.optimizer_steps", &optimizer_steps_);
  state_.AddCounter("ppo.env_steps_learned", &env_steps_learned_);
  state_.AddGenerator("ppo.minibatch_generator", &generator_);
  if (value_ != nullptr) {
    value_optimizer_ = std::make_unique<FlatOptimizer>(kOptimizer, options_.epsilon, value_->data());
    state_.AddTensor("ppo.state_value.params", value_->data());
    state_.AddTensor("ppo.state_value.square_avg", value_optimizer_->square_avg());
    state_.AddTensor("ppo.state_value.exp_avg", value_optimizer_->exp_avg());
  }
}

const std::string& Ppo::name() const { return AlgorithmName(v1::LearnerConfig::kPpo); }

std::vector<ColumnRequirement> Ppo::Columns() const {
  std::vector<ColumnRequirement> columns = net_->UnrollColumns(options_.unroll_length);
  if (value_ != nullptr) {
    const int64_t t = options_.unroll_length;
    columns.push_back({"state", v1::DTYPE_FLOAT32, {t + 1, value_->state_dim()}});
    columns.push_back({"final_state", v1::DTYPE_FLOAT32, {t, value_->state_dim()}});
  }
  return columns;
}

std::pair<torch::Tensor, torch::Tensor> Ppo::StateValues(const Batch& batch) const {
  const int64_t s = value_->state_dim();
  torch::Tensor states = TimeMajor(batch.column("state"));  // [T + 1, B, S]
  const int64_t t = states.size(0) - 1, b = states.size(1);
  torch::Tensor values = value_->Forward(states.reshape({-1, s})).reshape({t + 1, b});
  torch::NoGradGuard no_grad;
  // After a truncation the episode's real last state stands in (zeros
  // elsewhere in final_state: their values are not read).
  torch::Tensor final_values = value_->Forward(TimeMajor(batch.column("final_state")).reshape({-1, s})).reshape({t, b});
  torch::Tensor truncated = TimeMajor(batch.column("truncated"));
  return {values, torch::where(truncated > 0, final_values, values.narrow(0, 1, t).detach())};
}

torch::Tensor Ppo::RefusedRows(const Batch& batch) const { return ActorCritic::NonFiniteUnrollRows(batch); }

double Ppo::LearningRate() const {
  if (options_.lr_decay_env_steps <= 0) return options_.learning_rate;
  const double left = 1.0 - static_cast<double>(env_steps_learned_) / static_cast<double>(options_.lr_decay_env_steps);
  return options_.learning_rate * std::max(0.0, left);
}

absl::StatusOr<Ppo::Rollout> Ppo::Prepare(const Batch& batch) const {
  Rollout r;
  r.b = batch.size;
  r.t = options_.unroll_length;
  r.n = r.b * r.t;
  // A recurrent core's minibatches are whole unrolls (it re-runs over each).
  r.recurrent = net_->recurrent();
  if (r.recurrent && r.b % options_.num_minibatches != 0) {
    return absl::InvalidArgumentError(absl::StrCat("ppo: num_minibatches ", options_.num_minibatches,
                                                   " does not divide the batch's ", r.b,
                                                   " unrolls (a recurrent core's minibatches are whole unrolls)"));
  }
  if (r.n % options_.num_minibatches != 0) {
    return absl::InvalidArgumentError(absl::StrCat("ppo: num_minibatches ", options_.num_minibatches,
                                                   " does not divide the batch's ", r.n, " steps (", r.b,
                                                   " unrolls of ", r.t, ")"));
  }
  const int64_t t = r.t;
  r.obs_all = TimeMajor(batch.column("obs"));  // [T + 1, B, D]
  r.actions = Rows(TimeMajor(batch.column("action")));
  r.behaviour_log_prob = Rows(TimeMajor(batch.column("behaviour_log_prob")));
  torch::Tensor terminated = TimeMajor(batch.column("terminated"));
  torch::Tensor truncated = TimeMajor(batch.column("truncated"));
  torch::Tensor rewards = TimeMajor(batch.column("reward"));
  r.starts = ActorCritic::EpisodeStarts(terminated, truncated);  // [T + 1, B]
  r.core_state = batch.column("core_state");                     // recurrent: [B, 2N]

  // 1-2: the network at the batch's start, and the targets.
  torch::NoGradGuard no_grad;
  const UnrollOutputs unrolled = net_->ForwardUnroll(r.obs_all, r.starts, r.core_state);
  torch::Tensor values_plus = unrolled.value;
  torch::Tensor head = unrolled.head.narrow(0, 0, t);
  torch::Tensor one = torch::ones({}, values_plus.options());
  torch::Tensor bootstrap;
  if (value_ != nullptr) {
    // MAPPO: V on the env's state, never the agent's observation alone.
    std::tie(values_plus, bootstrap) = StateValues(batch);
    r.states = TimeMajor(batch.column("state")).narrow(0, 0, t).reshape({r.n, value_->state_dim()});
  } else {
    bootstrap = net_->BootstrapValues(values_plus.narrow(0, 1, t), truncated, TimeMajor(batch.column("final_obs")),
                                      one - 1, one, unrolled.states);
  }
  torch::Tensor values = values_plus.narrow(0, 0, t);
  torch::Tensor log_pi = net_->Evaluate(head, TimeMajor(batch.column("action"))).log_prob;
  r.kl = net_->BehaviourKl(head, batch, &TimeMajor);
  VTraceOptions vtrace{options_.gamma, options_.rho_bar, options_.c_bar, options_.lambda};
  ASSIGN_OR_RETURN(PpoTargets targets,
                   PpoAdvantages(vtrace, options_.vtrace ? log_pi - TimeMajor(batch.column("behaviour_log_prob"))
                                                         : torch::Tensor(),
                                 rewards, values, bootstrap, terminated, truncated));
  r.old_log_pi = log_pi.reshape(-1);
  r.old_values = values.reshape(-1);
  r.advantages = targets.advantages.reshape(-1);
  r.returns = targets.returns.reshape(-1);
  r.clipped_rhos = targets.clipped_rhos;
  r.obs = r.obs_all.narrow(0, 0, t).reshape({r.n, net_->obs_dim()});
  return r;
}

std::pair<PpoLossTerms, PolicyTerms> Ppo::MinibatchLoss(const Rollout& r, const torch::Tensor& picks,
                                                        torch::Tensor* picked_rows) const {
  torch::Tensor rows, head, values;
  if (r.recurrent) {
    // Unrolls `picks`, every step: rows t * B + u of the time-major
    // flattening, in [T, picks] order as ForwardUnroll returns them.
    rows = (torch::arange(r.t, picks.options()).mul(r.b).unsqueeze(1) + picks.unsqueeze(0)).reshape(-1);
    const UnrollOutputs unrolled = net_->ForwardUnroll(r.obs_all.narrow(0, 0, r.t).index_select(1, picks),
                                                       r.starts.narrow(0, 0, r.t).index_select(1, picks),
                                                       r.core_state.index_select(0, picks));
    head = unrolled.head.reshape({-1, net_->head_outputs()});
    values = unrolled.value.reshape(-1);
  } else {
    rows = picks;
    std::tie(head, values) = net_->Forward(r.obs.index_select(0, rows));
    if (value_ != nullptr) values = value_->Forward(r.states.index_select(0, rows));
  }
  const PolicyTerms pi = net_->Evaluate(head, r.actions.index_select(0, rows));
  const PpoLossTerms loss =
      PpoLoss(options_, pi.log_prob, r.behaviour_log_prob.index_select(0, rows), r.advantages.index_select(0, rows),
              pi.entropy, values, r.old_values.index_select(0, rows), r.returns.index_select(0, rows));
  *picked_rows = rows;
  return {loss, pi};
}

absl::StatusOr<bool> Ppo::MinibatchStep(const Rollout& r, const torch::Tensor& picks, double lr, torch::Tensor& sums,
                                        torch::Tensor& epoch_kl) {
  const torch::Tensor& params = net_->params();
  torch::Tensor rows;
  const auto [loss, pi] = MinibatchLoss(r, picks, &rows);
  if (params.grad().defined()) params.mutable_grad().zero_();
  if (value_ != nullptr && value_->params().grad().defined()) value_->params().mutable_grad().zero_();
  loss.total.backward();
  torch::NoGradGuard no_grad;
  torch::Tensor grad = params.grad();
  // The loss is averaged with the gradient so that every rank skips the
  // same minibatches.
  torch::Tensor total = loss.total.detach().reshape({1}).clone();
  std::vector<torch::Tensor> averaged = {grad, total};
  torch::Tensor value_grad;
  if (value_ != nullptr) {
    value_grad = value_->params().grad();
    averaged.push_back(value_grad);
  }
  RETURN_IF_ERROR(AverageOverRanks(averager_, averaged));
  torch::Tensor grad_norm = FlatOptimizer::ClipGradient(grad, options_.max_grad_norm);
  // MAPPO's critic is clipped on its own, as its actor is.
  torch::Tensor value_norm = value_ != nullptr ? FlatOptimizer::ClipGradient(value_grad, options_.max_grad_norm)
                                               : torch::zeros({}, grad_norm.options());
  // A non-finite loss or gradient never reaches the parameters (the actors
  // would act on NaN): the step is skipped and counted.
  if (!torch::isfinite(total).item<bool>() || !torch::isfinite(grad_norm + value_norm).item<bool>()) {
    ++skipped_minibatches_;
    return false;
  }
  torch::Tensor data = net_->data();
  optimizer_.Step(data, grad, lr, ++optimizer_steps_);
  if (value_ != nullptr) {
    torch::Tensor value_data = value_->data();
    value_optimizer_->Step(value_data, value_grad, lr, optimizer_steps_);
  }
  // CleanRL's approximate KL, (r - 1) - log r against pi_old.
  torch::Tensor log_ratio = pi.log_prob.detach() - r.old_log_pi.index_select(0, rows);
  torch::Tensor approx_kl = (log_ratio.exp() - 1 - log_ratio).mean();
  epoch_kl += approx_kl;
  sums += torch::stack({loss.policy.detach(), loss.value.detach(), loss.entropy.detach(), loss.total.detach(),
                        pi.entropy.detach().mean(), approx_kl, loss.clip_fraction, grad_norm});
  return true;
}

absl::Status Ppo::CheckBatch(const Batch& batch) const {
  RETURN_IF_ERROR(net_->CheckUnrollBatch(batch, options_.unroll_length));
  if (value_ == nullptr) return absl::OkStatus();
  const int64_t t = options_.unroll_length;
  RETURN_IF_ERROR(CheckBatchField("state", batch.column("state"), {batch.size, t + 1, value_->state_dim()},
                                  options_.device));
  return CheckBatchField("final_state", batch.column("final_state"), {batch.size, t, value_->state_dim()},
                         options_.device);
}

absl::StatusOr<torch::Tensor> Ppo::Gradient(const Batch& sampled) {
  const Batch batch = net_->FloatObservationColumns(sampled);
  RETURN_IF_ERROR(CheckBatch(batch));
  torch::Tensor gradient;
  RETURN_IF_ERROR(CatchTorchErrors("ppo gradient", [&]() -> absl::Status {
    ASSIGN_OR_RETURN(const Rollout r, Prepare(batch));
    torch::Tensor rows;
    const torch::Tensor all = torch::arange(r.recurrent ? r.b : r.n, r.obs.options().dtype(torch::kInt64));
    const PpoLossTerms loss = MinibatchLoss(r, all, &rows).first;
    std::vector<torch::Tensor> leaves = {net_->params()};
    if (value_ != nullptr) leaves.push_back(value_->params());
    const std::vector<torch::Tensor> grads = torch::autograd::grad({loss.total}, leaves);
    gradient = torch::cat(grads);
    return absl::OkStatus();
  }));
  return gradient;
}

absl::Status Ppo::Update(const Batch& sampled) {
  // Images (uint8) become float32 / 255 here, on the device.
  const Batch batch = net_->FloatObservationColumns(sampled);
  RETURN_IF_ERROR(CheckBatch(batch));
  return CatchTorchErrors("ppo update", [&]() -> absl::Status {
    ASSIGN_OR_RETURN(const Rollout r, Prepare(batch));
    // 3-4: epochs of minibatch steps.
    const double lr = LearningRate();
    torch::Tensor sums = torch::zeros({kPerMinibatch}, r.old_values.options());
    int epochs = 0;
    int64_t minibatches = 0;
    for (int epoch = 0; epoch < options_.epochs; ++epoch) {
      torch::Tensor epoch_kl = torch::zeros({}, r.old_values.options());
      for (const torch::Tensor& cpu_picks :
           MinibatchIndices(r.recurrent ? r.b : r.n, options_.num_minibatches, generator_)) {
        ASSIGN_OR_RETURN(const bool stepped, MinibatchStep(r, cpu_picks.to(r.obs.device()), lr, sums, epoch_kl));
        if (stepped) ++minibatches;
      }
      ++epochs;
      if (options_.target_kl > 0) {
        // Every rank stops after the same epoch: on the ranks' mean KL.
        RETURN_IF_ERROR(AverageOverRanks(averager_, {epoch_kl}));
        if ((epoch_kl / options_.num_minibatches).item<double>() > options_.target_kl) break;
      }
    }
    ++updates_;
    env_steps_learned_ += r.n;
    last_learning_rate_ = lr;
    last_epochs_ = epochs;
    last_had_kl_ = r.kl.defined();
    torch::NoGradGuard no_grad;
    last_statistics_ = torch::cat({sums / static_cast<double>(std::max<int64_t>(1, minibatches)),
                                   torch::stack({r.kl.defined() ? r.kl : torch::zeros({}, r.old_values.options()),
                                                 r.clipped_rhos.mean(), r.old_values.mean(), r.advantages.std(r.n > 1)})});
    return absl::OkStatus();
  });
}

absl::StatusOr<v1::ParameterSet> Ppo::ExportPolicy() const { return net_->ExportPolicy(); }

std::vector<Statistic> Ppo::Statistics() const {
  torch::Tensor values = last_statistics_.to(torch::kCPU, torch::kFloat64);
  const double* v = values.data_ptr<double>();
  return {
      {"policy", v[kPolicyLoss], true},
      {"value", v[kValueLoss], true},
      {"entropy", v[kEntropyLoss], true},
      {"total", v[kTotalLoss], true},
      {"policy_entropy", v[kEntropy], false},
      {"approx_kl", v[kApproxKl], false},
      {"clip_fraction", v[kClipFraction], false},
      {"kl", last_had_kl_ ? v[kKl] : 0.0, false},
      {"clipped_rho_mean", v[kClippedRho], false},
      {"value_mean", v[kValueMean], false},
      {"advantage_std", v[kAdvantageStd], false},
      {"grad_norm", v[kGradNorm], false},
      {"skipped_minibatches", static_cast<double>(skipped_minibatches_), false},
      {"epochs", static_cast<double>(last_epochs_), false},
      {"learning_rate", updates_ > 0 ? last_learning_rate_ : LearningRate(), false},
  };
}

int64_t Ppo::UpdateMatmulFlops(int64_t batch) const {
  const int64_t t = options_.unroll_length;
  int64_t flops = net_->ForwardFlops((t + 1) * batch) + options_.epochs * net_->ForwardBackwardFlops(t * batch);
  // The state value: a forward pass of (2T + 1) B states, then epochs x
  // B T forward and backward (about three forwards).
  if (value_ != nullptr) {
    flops += value_->ForwardFlops((2 * t + 1) * batch) + options_.epochs * 3 * value_->ForwardFlops(t * batch);
  }
  return flops;
}

}  // namespace rill::learner
