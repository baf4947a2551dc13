#include "learner/algorithms/impala.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "learner/algorithms/spec.h"
#include "learner/algorithms/torch_errors.h"

namespace rill::learner {
namespace {

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
  options.lstm_size = context.lstm_size();
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
  ActorCriticOptions net;
  net.env = options.env;
  net.hidden = options.hidden;
  net.torso = options.torso;
  net.lstm_size = options.lstm_size;
  net.device = options.device;
  net.seed = options.seed;
  ASSIGN_OR_RETURN(std::unique_ptr<ActorCritic> network, ActorCritic::Create(net, "impala"));
  try {
    return std::unique_ptr<Impala>(new Impala(options, std::move(network)));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("impala: ", e.what_without_backtrace()));
  }
}

Impala::Impala(ImpalaOptions options, std::unique_ptr<ActorCritic> net)
    : options_(std::move(options)),
      net_(std::move(net)),
      optimizer_(options_.optimizer, options_.epsilon, net_->data()) {
  torch::Tensor data = net_->data();
  value_moments_ = torch::zeros({2}, data.options());
  last_statistics_ = torch::zeros({kCount}, data.options());

  state_.AddTensor("impala.params", data);
  state_.AddTensor("impala.square_avg", optimizer_.square_avg());
  state_.AddTensor("impala.exp_avg", optimizer_.exp_avg());
  state_.AddTensor("impala.value_moments", value_moments_);
  state_.AddCounter("impala.updates", &updates_);
  state_.AddCounter("impala.env_steps_learned", &env_steps_learned_);
}

const std::string& Impala::name() const { return AlgorithmName(v1::LearnerConfig::kImpala); }

std::vector<ColumnRequirement> Impala::Columns() const { return net_->UnrollColumns(options_.unroll_length); }

torch::Tensor Impala::RefusedRows(const Batch& batch) const { return ActorCritic::NonFiniteUnrollRows(batch); }

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

absl::Status Impala::UpdateValueScale(const torch::Tensor& vs) {
  auto [old_mean, old_std] = ValueScale();
  const double beta = options_.popart_beta;
  // The batch's first two moments, over every rank's batch: the ranks keep
  // the same scale.
  torch::Tensor moments = torch::stack({vs.mean(), vs.pow(2).mean()});
  RETURN_IF_ERROR(AverageOverRanks(averager_, {moments}));
  value_moments_[0].mul_(1 - beta).add_(moments[0], beta);
  value_moments_[1].mul_(1 - beta).add_(moments[1], beta);
  ++updates_;  // ValueScale's bias correction counts this update
  auto [mean, std] = ValueScale();
  --updates_;
  // Preserve the outputs: std' v' + mean' = std v + mean for every torso
  // output, so w' = w std / std' and b' = (std b + mean - mean') / std'.
  torch::Tensor& weight = net_->value_weight();
  torch::Tensor& bias = net_->value_bias();
  weight.mul_(old_std / std);
  bias.mul_(old_std).add_(old_mean - mean).div_(std);
  return absl::OkStatus();
}

absl::Status Impala::Update(const Batch& sampled) {
  // Images (uint8) become float32 / 255 here, on the device.
  const Batch batch = net_->FloatObservationColumns(sampled);
  RETURN_IF_ERROR(net_->CheckUnrollBatch(batch, options_.unroll_length));
  return CatchTorchErrors("impala update", [&]() -> absl::Status {
    const int64_t b = batch.size;
    const int64_t t = options_.unroll_length;
    // Time-major [T(+1), B, ...]: V-trace runs backward over the first axis.
    torch::Tensor truncated = TimeMajor(batch.column("truncated"));
    torch::Tensor terminated = TimeMajor(batch.column("terminated"));
    // A recurrent core re-runs over each unroll from its recorded state.
    const UnrollOutputs unrolled =
        net_->ForwardUnroll(TimeMajor(batch.column("obs")), ActorCritic::EpisodeStarts(terminated, truncated),
                            batch.column("core_state"));
    const torch::Tensor& values_all = unrolled.value;
    torch::Tensor head = unrolled.head.narrow(0, 0, t);
    // With PopArt the baseline head's output is normalised: V = std * out + mean.
    auto [value_mean, value_std] = ValueScale();
    torch::Tensor outputs = values_all.view({t + 1, b}).narrow(0, 0, t);
    torch::Tensor values_plus = values_all.detach().view({t + 1, b}) * value_std + value_mean;
    torch::Tensor values = values_plus.narrow(0, 0, t);
    torch::Tensor rewards = TimeMajor(batch.column("reward"));
    torch::Tensor behaviour_log_prob = TimeMajor(batch.column("behaviour_log_prob"));

    // Bootstrap values: V(x_{t+1}), except after a truncation, where the
    // episode's real final observation stands in.
    torch::Tensor bootstrap = net_->BootstrapValues(values_plus.narrow(0, 1, t), truncated,
                                                    TimeMajor(batch.column("final_obs")), value_mean, value_std,
                                                    unrolled.states);

    // log pi(a_t | x_t) and H(pi(.|x_t)), [T, B]; KL(mu || pi) when the
    // batch has mu's distribution.
    const PolicyTerms pi = net_->Evaluate(head, TimeMajor(batch.column("action")));
    const torch::Tensor& log_pi = pi.log_prob;
    const torch::Tensor& entropy = pi.entropy;
    const torch::Tensor kl = net_->BehaviourKl(head.detach(), batch, &TimeMajor);

    torch::Tensor log_rhos = log_pi.detach() - behaviour_log_prob;
    ASSIGN_OR_RETURN(VTraceReturns vtrace, VTrace(options_.vtrace, log_rhos, rewards, values, bootstrap,
                                                  terminated, truncated));
    // Without PopArt value_std is 1 and value_mean 0: the paper's losses.
    torch::Tensor policy_loss = -(log_pi * (vtrace.pg_advantages / value_std)).mean();
    torch::Tensor baseline_loss =
        options_.baseline_cost * 0.5 * ((vtrace.vs - value_mean) / value_std - outputs).pow(2).mean();
    torch::Tensor entropy_loss = -options_.entropy_cost * entropy.mean();
    torch::Tensor total = policy_loss + baseline_loss + entropy_loss;

    const torch::Tensor& params = net_->params();
    if (params.grad().defined()) params.mutable_grad().zero_();
    total.backward();
    torch::NoGradGuard no_grad;
    torch::Tensor grad = params.grad();
    RETURN_IF_ERROR(AverageOverRanks(averager_, {grad}));
    torch::Tensor grad_norm = FlatOptimizer::ClipGradient(grad, options_.max_grad_norm);
    const double lr = LearningRate();
    torch::Tensor data = net_->data();
    optimizer_.Step(data, grad, lr, updates_ + 1);
    if (options_.popart) RETURN_IF_ERROR(UpdateValueScale(vtrace.vs));
    ++updates_;
    env_steps_learned_ += b * t;
    last_learning_rate_ = lr;
    last_had_kl_ = kl.defined();
    last_statistics_ = torch::stack({policy_loss.detach(), baseline_loss.detach(), entropy_loss.detach(),
                                     total.detach(), entropy.detach().mean(),
                                     kl.defined() ? kl : torch::zeros({}, values.options()),
                                     vtrace.clipped_rhos.mean(), values.mean(), grad_norm, value_mean, value_std});
    return absl::OkStatus();
  });
}

absl::StatusOr<v1::ParameterSet> Impala::ExportPolicy() const { return net_->ExportPolicy(); }

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
  return net_->ForwardBackwardFlops((options_.unroll_length + 1) * batch);
}

}  // namespace rill::learner
