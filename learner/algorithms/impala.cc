#include "learner/algorithms/impala.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "learner/algorithms/checks.h"
#include "learner/networks.h"
#include "policies/categorical.h"
#include "policies/gaussian.h"
#include "policies/spec.h"
#include "learner/torch_policy.h"  // SquashedGaussianLogProb

namespace rill::learner {
namespace {

// RMSProp's decay (torch.optim.RMSprop's alpha) and Adam's betas.
constexpr double kRmsDecay = 0.99;
constexpr double kAdamBeta1 = 0.9;
constexpr double kAdamBeta2 = 0.999;
// 0.5 * (1 + log(2 pi)): a unit Gaussian's entropy.
constexpr double kGaussianEntropyConstant = 1.4189385332046727;
// PopArt's standard deviation is kept in this range (the paper's bounds).
constexpr double kPopArtMinStd = 1e-4;
constexpr double kPopArtMaxStd = 1e6;

// Statistics in last_statistics_'s order.
enum StatisticIndex {
  kPolicyLoss, kBaselineLoss, kEntropyLoss, kTotalLoss, kEntropy, kKl, kClippedRho, kValueMean, kGradNorm,
  kValueScaleMean, kValueScaleStd, kCount,
};

torch::Tensor TimeMajor(const torch::Tensor& batch_major) { return batch_major.transpose(0, 1).contiguous(); }

}  // namespace

absl::StatusOr<std::unique_ptr<Algorithm>> Impala::FromConfig(const AlgorithmContext& context) {
  const v1::LearnerConfig& learner = context.config.learner();
  const v1::ImpalaConfig& impala = learner.impala();
  ImpalaOptions options;
  options.env = context.env;
  options.hidden = context.hidden();
  options.torso = context.torso();
  options.unroll_length = impala.unroll_length();
  options.vtrace.gamma = learner.gamma();
  options.vtrace.rho_bar = impala.rho_bar();
  options.vtrace.c_bar = impala.c_bar();
  options.vtrace.lambda = impala.lambda();
  options.baseline_cost = impala.baseline_cost();
  options.entropy_cost = impala.entropy_cost();
  options.max_grad_norm = impala.max_grad_norm();
  options.optimizer = impala.optimizer();
  options.learning_rate = impala.learning_rate();
  options.epsilon = impala.epsilon();
  options.lr_decay_env_steps = impala.lr_decay_env_steps();
  options.popart = impala.popart();
  options.popart_beta = impala.popart_beta();
  options.device = context.device;
  options.seed = context.seed;
  ASSIGN_OR_RETURN(std::unique_ptr<Impala> algorithm, Create(options));
  return std::unique_ptr<Algorithm>(std::move(algorithm));
}

absl::StatusOr<std::unique_ptr<Impala>> Impala::Create(const ImpalaOptions& options) {
  auto invalid = [](const std::string& what) { return absl::InvalidArgumentError(absl::StrCat("impala: ", what)); };
  if (options.env.obs_dim() < 1) return invalid("the env has no observation elements");
  if (options.env.discrete ? options.env.num_actions < 2 : options.env.action_low.empty()) {
    return invalid(absl::StrCat("env '", options.env.name, "' has no usable action space"));
  }
  if (options.hidden.empty()) return invalid("hidden needs at least one layer (the shared torso)");
  for (int h : options.hidden) {
    if (h < 1) return invalid(absl::StrCat("hidden width ", h, " must be >= 1"));
  }
  if (options.unroll_length < 1) return invalid(absl::StrCat("unroll_length ", options.unroll_length, " must be >= 1"));
  if (!(options.learning_rate > 0)) return invalid("learning_rate must be > 0");
  if (!(options.epsilon > 0)) return invalid("epsilon must be > 0");
  if (!(options.baseline_cost >= 0) || !(options.entropy_cost >= 0) || !(options.max_grad_norm >= 0)) {
    return invalid("baseline_cost, entropy_cost and max_grad_norm must be >= 0");
  }
  if (!v1::ImpalaConfig::Optimizer_IsValid(options.optimizer)) {
    return invalid(absl::StrCat("optimizer ", options.optimizer, " is unknown (known: RMSPROP, ADAM)"));
  }
  if (options.lr_decay_env_steps < 0) return invalid("lr_decay_env_steps must be >= 0");
  if (!(options.popart_beta > 0 && options.popart_beta <= 1)) return invalid("popart_beta must be in (0, 1]");
  if (options.device.is_cuda() && !torch::cuda::is_available()) {
    return absl::FailedPreconditionError("impala: CUDA device requested but LibTorch sees none");
  }
  if (!options.torso.empty()) {
    v1::PolicySpec probe;
    probe.set_obs_dim(options.env.obs_dim());
    absl::Status fits = policies::SetTorso(options.env, options.torso, &probe);
    if (!fits.ok()) return invalid(std::string(fits.message()));
  }
  try {
    return std::unique_ptr<Impala>(new Impala(options));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("impala: ", e.what_without_backtrace()));
  }
}

Impala::Impala(ImpalaOptions options) : options_(std::move(options)) {
  obs_dim_ = options_.env.obs_dim();
  action_width_ = options_.env.discrete ? options_.env.num_actions
                                        : static_cast<int64_t>(options_.env.action_low.size());
  head_outputs_ = options_.env.discrete ? action_width_ : 2 * action_width_;
  // Layers: torso (in -> h_1 -> ... -> h_L), policy head (h_L -> out),
  // baseline head (h_L -> 1).
  struct Layer {
    std::string name;
    int64_t in, out;
  };
  std::vector<Layer> layers;
  if (!options_.torso.empty()) {
    const std::vector<int64_t>& shape = options_.env.observation_shape;
    torso_ = *TorchTorso::Create(options_.torso, {shape[0], shape[1], shape[2]});  // checked by Create
  }
  const std::vector<policies::TorsoParameter> torso_parameters = torso_.Parameters(policies::kPolicyPrefix);
  torso_tensors_ = static_cast<int>(torso_parameters.size());
  int64_t in = torso_.empty() ? obs_dim_ : torso_.out_dim();
  for (size_t l = 0; l < options_.hidden.size(); ++l) {
    layers.push_back({absl::StrCat(policies::kPolicyPrefix, ".layers.", l), in, options_.hidden[l]});
    in = options_.hidden[l];
  }
  layers.push_back({absl::StrCat(policies::kPolicyPrefix, ".layers.", options_.hidden.size()), in, head_outputs_});
  layers.push_back({"baseline", in, 1});
  num_policy_layers_ = static_cast<int>(options_.hidden.size()) + 1;
  const int64_t torso_total = torso_.empty() ? 0 : torso_.NumParameters();
  int64_t total = torso_total;
  for (const Layer& layer : layers) total += layer.out * layer.in + layer.out;

  // torch.nn.Linear's initialisation: weights and biases uniform in
  // +-1/sqrt(fan_in), drawn on the CPU from the seed, then moved.
  at::Generator generator = at::detail::createCPUGenerator(options_.seed);
  torch::Tensor init = torch::empty({total}, torch::kFloat32);
  InitTorsoParameters(torso_parameters, init.narrow(0, 0, torso_total), generator);
  int64_t offset = torso_total;
  for (const Layer& layer : layers) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(layer.in));
    const int64_t size = layer.out * layer.in + layer.out;
    init.narrow(0, offset, size).uniform_(-bound, bound, generator);
    offset += size;
  }
  // The policy head starts 100x smaller, so the first policy is near uniform
  // whatever the observation (as the A2C/PPO baselines initialise it): no
  // action is favoured before any return was seen.
  {
    const Layer& head = layers[layers.size() - 2];
    const int64_t size = head.out * head.in + head.out;
    init.narrow(0, total - (layers.back().out * layers.back().in + layers.back().out) - size, size).mul_(0.01);
  }
  params_ = init.to(options_.device).requires_grad_(true);
  torch::Tensor data = params_.detach();
  offset = 0;
  for (const policies::TorsoParameter& parameter : torso_parameters) {
    int64_t size = 1;
    for (int64_t d : parameter.shape) size *= d;
    named_.emplace_back(parameter.name, data.narrow(0, offset, size).view(parameter.shape));
    offset += size;
  }
  for (const Layer& layer : layers) {
    named_.emplace_back(layer.name + ".weight", data.narrow(0, offset, layer.out * layer.in).view({layer.out, layer.in}));
    offset += layer.out * layer.in;
    named_.emplace_back(layer.name + ".bias", data.narrow(0, offset, layer.out));
    offset += layer.out;
  }
  square_avg_ = torch::zeros_like(data);
  exp_avg_ = torch::zeros_like(data);
  value_moments_ = torch::zeros({2}, data.options());
  last_statistics_ = torch::zeros({kCount}, data.options());

  state_.AddTensor("impala.params", data);
  state_.AddTensor("impala.square_avg", square_avg_);
  state_.AddTensor("impala.exp_avg", exp_avg_);
  state_.AddTensor("impala.value_moments", value_moments_);
  state_.AddCounter("impala.updates", &updates_);
  state_.AddCounter("impala.env_steps_learned", &env_steps_learned_);
}

const std::string& Impala::name() const {
  static const std::string* const kName = new std::string("impala");
  return *kName;
}

std::vector<ColumnRequirement> Impala::Columns() const {
  const int64_t t = options_.unroll_length;
  const int64_t d = obs_dim_;
  const int64_t a = action_width_;
  std::vector<ColumnRequirement> columns = {
      {"obs", ObservationColumnDType(options_.env), {t + 1, d}},
      options_.env.discrete ? ColumnRequirement{"action", v1::DTYPE_INT64, {t}}
                            : ColumnRequirement{"action", v1::DTYPE_FLOAT32, {t, a}},
      {"reward", v1::DTYPE_FLOAT32, {t}},
      {"terminated", v1::DTYPE_FLOAT32, {t}},
      {"truncated", v1::DTYPE_FLOAT32, {t}},
      {"final_obs", ObservationColumnDType(options_.env), {t, d}},
      {"behaviour_log_prob", v1::DTYPE_FLOAT32, {t}},
  };
  if (options_.env.discrete) {
    columns.push_back({"behaviour_logits", v1::DTYPE_FLOAT32, {t, a}, /*optional=*/true});
  } else {
    columns.push_back({"behaviour_mean", v1::DTYPE_FLOAT32, {t, a}, /*optional=*/true});
    columns.push_back({"behaviour_log_std", v1::DTYPE_FLOAT32, {t, a}, /*optional=*/true});
  }
  return columns;
}

std::pair<torch::Tensor, torch::Tensor> Impala::Forward(const torch::Tensor& obs) const {
  // Views of the leaf, so that autograd accumulates into params_.grad.
  int64_t offset = 0;
  auto take = [&](at::IntArrayRef shape) {
    int64_t size = 1;
    for (int64_t s : shape) size *= s;
    torch::Tensor view = params_.narrow(0, offset, size).view(shape);
    offset += size;
    return view;
  };
  torch::Tensor h = obs;
  if (!torso_.empty()) {
    std::vector<torch::Tensor> torso_params;
    for (int i = 0; i < torso_tensors_; ++i) torso_params.push_back(take(named_[i].second.sizes()));
    h = torso_.Forward(obs, torso_params);
  }
  torch::Tensor head;
  for (int l = 0; l < num_policy_layers_; ++l) {
    const auto& weight = named_[torso_tensors_ + 2 * l].second;
    torch::Tensor w = take(weight.sizes());
    torch::Tensor b = take({weight.size(0)});
    if (l + 1 < num_policy_layers_) {
      h = torch::relu(torch::addmm(b, h, w.t()));
    } else {
      head = torch::addmm(b, h, w.t());
    }
  }
  torch::Tensor wv = take({1, h.size(1)});
  torch::Tensor bv = take({1});
  torch::Tensor value = torch::addmm(bv, h, wv.t()).squeeze(1);
  return {head, value};
}

absl::Status Impala::CheckBatch(const Batch& batch) const {
  const int64_t b = batch.size;
  const int64_t t = options_.unroll_length;
  const torch::Device& device = options_.device;
  if (b < 1) return absl::InvalidArgumentError("batch has no unrolls");
  RETURN_IF_ERROR(CheckBatchField("obs", batch.column("obs"), {b, t + 1, obs_dim_}, device));
  if (options_.env.discrete) {
    RETURN_IF_ERROR(CheckBatchField("action", batch.column("action"), {b, t}, device, torch::kInt64));
  } else {
    RETURN_IF_ERROR(CheckBatchField("action", batch.column("action"), {b, t, action_width_}, device));
  }
  for (const char* name : {"reward", "terminated", "truncated", "behaviour_log_prob"}) {
    RETURN_IF_ERROR(CheckBatchField(name, batch.column(name), {b, t}, device));
  }
  RETURN_IF_ERROR(CheckBatchField("final_obs", batch.column("final_obs"), {b, t, obs_dim_}, device));
  for (const char* name : {"behaviour_logits", "behaviour_mean", "behaviour_log_std"}) {
    if (batch.column(name).defined()) {
      RETURN_IF_ERROR(CheckBatchField(name, batch.column(name), {b, t, action_width_}, device));
    }
  }
  if (options_.env.discrete) {
    const torch::Tensor& action = batch.column("action");
    if ((action.lt(0) | action.ge(action_width_)).any().item<bool>()) {
      return absl::InvalidArgumentError(
          absl::StrCat("batch.action holds an index outside [0, ", action_width_, ")"));
    }
  }
  if (batch.column("behaviour_log_prob").isnan().any().item<bool>()) {
    return absl::InvalidArgumentError("batch.behaviour_log_prob holds NaN");
  }
  return absl::OkStatus();
}

torch::Tensor Impala::RefusedRows(const Batch& batch) const {
  const torch::Tensor log_prob = batch.column("behaviour_log_prob");
  const torch::Tensor reward = batch.column("reward");
  const torch::Tensor obs = batch.column("obs");
  const torch::Tensor final_obs = batch.column("final_obs");
  if (!log_prob.defined() || !reward.defined() || !obs.defined() || !final_obs.defined() || batch.size < 1) return {};
  try {
    auto finite_rows = [&](const torch::Tensor& t) { return torch::isfinite(t).reshape({t.size(0), -1}).all(1); };
    return finite_rows(log_prob).logical_and(finite_rows(reward))
        .logical_and(finite_rows(obs)).logical_and(finite_rows(final_obs)).logical_not();
  } catch (const c10::Error&) {
    return {};  // a malformed batch: Update names the column
  }
}

double Impala::LearningRate() const {
  if (options_.lr_decay_env_steps <= 0) return options_.learning_rate;
  const double left = 1.0 - static_cast<double>(env_steps_learned_) / static_cast<double>(options_.lr_decay_env_steps);
  return options_.learning_rate * std::max(0.0, left);
}

std::pair<torch::Tensor, torch::Tensor> Impala::ValueScale() const {
  if (!options_.popart || updates_ == 0) {
    return {torch::zeros({}, value_moments_.options()), torch::ones({}, value_moments_.options())};
  }
  // Bias correction as Adam's: the first update's statistics are its batch's.
  const double correction = 1.0 - std::pow(1.0 - options_.popart_beta, static_cast<double>(updates_));
  torch::Tensor mean = value_moments_[0] / correction;
  torch::Tensor second = value_moments_[1] / correction;
  torch::Tensor std = (second - mean * mean).clamp_min(kPopArtMinStd * kPopArtMinStd).sqrt().clamp_max(kPopArtMaxStd);
  return {mean, std};
}

void Impala::UpdateValueScale(const torch::Tensor& vs) {
  auto [old_mean, old_std] = ValueScale();
  const double beta = options_.popart_beta;
  value_moments_[0].mul_(1 - beta).add_(vs.mean(), beta);
  value_moments_[1].mul_(1 - beta).add_(vs.pow(2).mean(), beta);
  ++updates_;  // ValueScale's bias correction counts this update
  auto [mean, std] = ValueScale();
  --updates_;
  // Preserve the outputs: std' v' + mean' = std v + mean for every torso
  // output, so w' = w std / std' and b' = (std b + mean - mean') / std'.
  torch::Tensor& weight = named_[torso_tensors_ + 2 * num_policy_layers_].second;
  torch::Tensor& bias = named_[torso_tensors_ + 2 * num_policy_layers_ + 1].second;
  weight.mul_(old_std / std);
  bias.mul_(old_std).add_(old_mean - mean).div_(std);
}

absl::Status Impala::Update(const Batch& sampled) {
  // Images (uint8) become float32 / 255 here, on the device.
  Batch batch = sampled;
  for (const char* name : {"obs", "final_obs"}) {
    auto column = batch.columns.find(name);
    if (column != batch.columns.end()) column->second = FloatObservations(column->second);
  }
  RETURN_IF_ERROR(CheckBatch(batch));
  try {
    const int64_t b = batch.size;
    const int64_t t = options_.unroll_length;
    const int64_t a = action_width_;
    // Time-major [T(+1), B, ...]: V-trace runs backward over the first axis.
    torch::Tensor obs = TimeMajor(batch.column("obs")).view({(t + 1) * b, obs_dim_});
    auto [head_all, values_all] = Forward(obs);
    torch::Tensor head = head_all.view({t + 1, b, head_outputs_}).narrow(0, 0, t);
    // With PopArt the baseline head's output is normalised: V = std * out + mean.
    auto [value_mean, value_std] = ValueScale();
    torch::Tensor outputs = values_all.view({t + 1, b}).narrow(0, 0, t);
    torch::Tensor values_plus = values_all.detach().view({t + 1, b}) * value_std + value_mean;
    torch::Tensor values = values_plus.narrow(0, 0, t);
    torch::Tensor truncated = TimeMajor(batch.column("truncated"));
    torch::Tensor terminated = TimeMajor(batch.column("terminated"));
    torch::Tensor rewards = TimeMajor(batch.column("reward"));
    torch::Tensor behaviour_log_prob = TimeMajor(batch.column("behaviour_log_prob"));

    // Bootstrap values: V(x_{t+1}), except after a truncation, where the
    // episode's real final observation stands in.
    torch::Tensor bootstrap = values_plus.narrow(0, 1, t).clone();
    {
      torch::NoGradGuard no_grad;
      torch::Tensor rows = truncated.view(-1).nonzero().squeeze(1);
      if (rows.numel() > 0) {
        torch::Tensor final_obs = TimeMajor(batch.column("final_obs")).view({t * b, obs_dim_}).index_select(0, rows);
        bootstrap.view(-1).index_copy_(0, rows, Forward(final_obs).second * value_std + value_mean);
      }
    }

    torch::Tensor log_pi;   // [T, B]: log pi(a_t | x_t)
    torch::Tensor entropy;  // [T, B]
    torch::Tensor kl;       // scalar: KL(mu || pi), when the batch has mu's distribution
    if (options_.env.discrete) {
      torch::Tensor log_probs = torch::log_softmax(head, 2);
      torch::Tensor actions = TimeMajor(batch.column("action"));
      log_pi = log_probs.gather(2, actions.unsqueeze(2)).squeeze(2);
      entropy = -(log_probs.exp() * log_probs).sum(2);
      if (batch.column("behaviour_logits").defined()) {
        torch::NoGradGuard no_grad;
        torch::Tensor mu = torch::log_softmax(TimeMajor(batch.column("behaviour_logits")), 2);
        kl = (mu.exp() * (mu - log_probs)).sum(2).mean();
      }
    } else {
      torch::Tensor mean = head.narrow(2, 0, a);
      torch::Tensor log_std = head.narrow(2, a, a).clamp(policies::kLogStdMin, policies::kLogStdMax);
      torch::Tensor actions = TimeMajor(batch.column("action"));
      log_pi = SquashedGaussianLogProb(mean.reshape({t * b, a}), log_std.reshape({t * b, a}),
                                       actions.view({t * b, a}))
                   .view({t, b});
      entropy = (log_std + kGaussianEntropyConstant).sum(2);
      if (batch.column("behaviour_mean").defined() && batch.column("behaviour_log_std").defined()) {
        torch::NoGradGuard no_grad;
        torch::Tensor mu_mean = TimeMajor(batch.column("behaviour_mean"));
        torch::Tensor mu_log_std = TimeMajor(batch.column("behaviour_log_std"));
        torch::Tensor ratio = torch::exp(2 * (mu_log_std - log_std));
        kl = (log_std - mu_log_std + 0.5 * (ratio + (mu_mean - mean).pow(2) * torch::exp(-2 * log_std)) - 0.5)
                 .sum(2).mean();
      }
    }

    torch::Tensor log_rhos = log_pi.detach() - behaviour_log_prob;
    ASSIGN_OR_RETURN(VTraceReturns vtrace, VTrace(options_.vtrace, log_rhos, rewards, values, bootstrap,
                                                  terminated, truncated));
    // Without PopArt value_std is 1 and value_mean 0: the paper's losses.
    torch::Tensor policy_loss = -(log_pi * (vtrace.pg_advantages / value_std)).mean();
    torch::Tensor baseline_loss =
        options_.baseline_cost * 0.5 * ((vtrace.vs - value_mean) / value_std - outputs).pow(2).mean();
    torch::Tensor entropy_loss = -options_.entropy_cost * entropy.mean();
    torch::Tensor total = policy_loss + baseline_loss + entropy_loss;

    if (params_.grad().defined()) params_.mutable_grad().zero_();
    total.backward();
    torch::NoGradGuard no_grad;
    torch::Tensor grad = params_.grad();
    torch::Tensor grad_norm = grad.norm();
    if (options_.max_grad_norm > 0) {
      // Scale by min(1, max / norm) on the device: no host round trip.
      grad.mul_((options_.max_grad_norm / (grad_norm + 1e-6)).clamp_max(1.0));
    }
    const double lr = LearningRate();
    torch::Tensor data = params_.detach();
    if (options_.optimizer == v1::ImpalaConfig::RMSPROP) {
      // torch.optim.RMSprop (alpha 0.99, no momentum, not centered).
      square_avg_.mul_(kRmsDecay).addcmul_(grad, grad, 1 - kRmsDecay);
      data.addcdiv_(grad, square_avg_.sqrt().add_(options_.epsilon), -lr);
    } else {
      // torch.optim.Adam.
      const double step = static_cast<double>(updates_ + 1);
      exp_avg_.lerp_(grad, 1 - kAdamBeta1);
      square_avg_.mul_(kAdamBeta2).addcmul_(grad, grad, 1 - kAdamBeta2);
      const double correction1 = 1 - std::pow(kAdamBeta1, step);
      const double correction2_sqrt = std::sqrt(1 - std::pow(kAdamBeta2, step));
      data.addcdiv_(exp_avg_, square_avg_.sqrt().div_(correction2_sqrt).add_(options_.epsilon), -lr / correction1);
    }
    if (options_.popart) UpdateValueScale(vtrace.vs);
    ++updates_;
    env_steps_learned_ += b * t;
    last_learning_rate_ = lr;
    last_had_kl_ = kl.defined();
    last_statistics_ = torch::stack({policy_loss.detach(), baseline_loss.detach(), entropy_loss.detach(),
                                     total.detach(), entropy.detach().mean(),
                                     kl.defined() ? kl : torch::zeros({}, values.options()),
                                     vtrace.clipped_rhos.mean(), values.mean(), grad_norm, value_mean, value_std});
    return absl::OkStatus();
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("impala update: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<v1::ParameterSet> Impala::ExportPolicy() const {
  try {
    std::vector<std::pair<std::string, torch::Tensor>> policy(
        named_.begin(), named_.begin() + torso_tensors_ + 2 * num_policy_layers_);
    ASSIGN_OR_RETURN(v1::ParameterSet set, ToParameterSet(policy));
    *set.mutable_policy() = policies::PolicySpecFor(
        options_.env.discrete ? policies::CategoricalPolicy::kKind : policies::GaussianPolicy::kKind, options_.env,
        options_.hidden);
    RETURN_IF_ERROR(policies::SetTorso(options_.env, options_.torso, set.mutable_policy()));
    return set;
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("cannot export the policy: ", e.what_without_backtrace()));
  }
}

std::vector<Statistic> Impala::Statistics() const {
  torch::Tensor values = last_statistics_.to(torch::kCPU, torch::kFloat64);
  const double* v = values.data_ptr<double>();
  std::vector<Statistic> statistics = {
      {"policy", v[kPolicyLoss], true},
      {"baseline", v[kBaselineLoss], true},
      {"entropy", v[kEntropyLoss], true},
      {"total", v[kTotalLoss], true},
      {"policy_entropy", v[kEntropy], false},
      {"kl", last_had_kl_ ? v[kKl] : 0.0, false},
      {"clipped_rho_mean", v[kClippedRho], false},
      {"value_mean", v[kValueMean], false},
      {"grad_norm", v[kGradNorm], false},
      {"learning_rate", updates_ > 0 ? last_learning_rate_ : LearningRate(), false},
  };
  if (options_.popart) {
    statistics.push_back({"popart_mean", v[kValueScaleMean], false});
    statistics.push_back({"popart_std", v[kValueScaleStd], false});
  }
  return statistics;
}

int64_t Impala::UpdateMatmulFlops(int64_t batch) const {
  const int64_t rows = (options_.unroll_length + 1) * batch;
  std::vector<int64_t> sizes = {torso_.empty() ? obs_dim_ : torso_.out_dim()};
  for (int h : options_.hidden) sizes.push_back(h);
  sizes.push_back(head_outputs_);
  const int64_t value_head = 2 * rows * options_.hidden.back();
  // The torso's convolutions: forward, weight gradients and (but for the
  // first layer's, which autograd skips for the observations) input
  // gradients, counted as three passes.
  const int64_t torso = torso_.empty() ? 0 : 2 * rows * torso_.MultiplyAdds();
  const int64_t forward = MatmulFlops(sizes, rows) + value_head;
  const int64_t input_grads = MatmulFlops(sizes, rows, 1) + value_head;
  return 2 * forward + input_grads + 3 * torso;  // forward, weight gradients, input gradients
}

}  // namespace rill::learner
