#include "learner/algorithms/actor_critic.h"

#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "learner/algorithms/checks.h"
#include "learner/networks.h"
#include "learner/torch_policy.h"  // SquashedGaussianLogProb
#include "policies/categorical.h"
#include "policies/gaussian.h"
#include "policies/spec.h"

namespace rill::learner {
namespace {

// 0.5 * (1 + log(2 pi)): a unit Gaussian's entropy.
constexpr double kGaussianEntropyConstant = 1.4189385332046727;

}  // namespace

absl::StatusOr<std::unique_ptr<ActorCritic>> ActorCritic::Create(const ActorCriticOptions& options,
                                                                 const std::string& who) {
  auto invalid = [&](const std::string& what) { return absl::InvalidArgumentError(absl::StrCat(who, ": ", what)); };
  if (options.env.obs_dim() < 1) return invalid("the env has no observation elements");
  if (options.env.discrete ? options.env.num_actions < 2 : options.env.action_low.empty()) {
    return invalid(absl::StrCat("env '", options.env.name, "' has no usable action space"));
  }
  if (options.hidden.empty()) return invalid("hidden needs at least one layer (the shared torso)");
  if (options.lstm_size < 0 || options.lstm_size > 4096) {
    return invalid(absl::StrCat("lstm_size ", options.lstm_size, " is out of range (0..4096)"));
  }
  for (int h : options.hidden) {
    if (h < 1) return invalid(absl::StrCat("hidden width ", h, " must be >= 1"));
  }
  if (options.device.is_cuda() && !torch::cuda::is_available()) {
    return absl::FailedPreconditionError(absl::StrCat(who, ": CUDA device requested but LibTorch sees none"));
  }
  if (!options.torso.empty()) {
    v1::PolicySpec probe;
    probe.set_obs_dim(options.env.obs_dim());
    absl::Status fits = policies::SetTorso(options.env, options.torso, &probe);
    if (!fits.ok()) return invalid(std::string(fits.message()));
  }
  try {
    return std::unique_ptr<ActorCritic>(new ActorCritic(options));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat(who, ": ", e.what_without_backtrace()));
  }
}

ActorCritic::ActorCritic(ActorCriticOptions options) : options_(std::move(options)) {
  obs_dim_ = options_.env.obs_dim();
  action_width_ = options_.env.discrete ? options_.env.num_actions
                                        : static_cast<int64_t>(options_.env.action_low.size());
  head_outputs_ = options_.env.discrete ? action_width_ : 2 * action_width_;
  const int64_t lstm = options_.lstm_size;
  // Tensors after the torso's: the hidden layers (in -> h_1 -> ... -> h_L),
  // the LSTM's (h_L -> N), the policy head (-> out) and the baseline head
  // (-> 1), each with its fan-in (what its uniform initialisation divides
  // by).
  struct Tensor {
    std::string name;
    std::vector<int64_t> shape;
    int64_t fan_in;
  };
  std::vector<Tensor> tensors;
  auto linear = [&](const std::string& name, int64_t in, int64_t out) {
    tensors.push_back({name + ".weight", {out, in}, in});
    tensors.push_back({name + ".bias", {out}, in});
  };
  if (!options_.torso.empty()) {
    const std::vector<int64_t>& shape = options_.env.observation_shape;
    torso_ = *TorchTorso::Create(options_.torso, {shape[0], shape[1], shape[2]},
                                 options_.env.image_channels());  // checked by Create
  }
  const std::vector<policies::TorsoParameter> torso_parameters = torso_.Parameters(policies::kPolicyPrefix);
  torso_tensors_ = static_cast<int>(torso_parameters.size());
  num_hidden_ = static_cast<int>(options_.hidden.size());
  int64_t in = MlpInput();
  for (int l = 0; l < num_hidden_; ++l) {
    linear(absl::StrCat(policies::kPolicyPrefix, ".layers.", l), in, options_.hidden[l]);
    in = options_.hidden[l];
  }
  if (lstm > 0) {
    // torch.nn.LSTM's initialisation: everything uniform in +-1/sqrt(N).
    lstm_index_ = torso_tensors_ + static_cast<int>(tensors.size());
    const std::string prefix = absl::StrCat(policies::kPolicyPrefix, ".lstm");
    tensors.push_back({prefix + ".weight_ih", {4 * lstm, in}, lstm});
    tensors.push_back({prefix + ".weight_hh", {4 * lstm, lstm}, lstm});
    tensors.push_back({prefix + ".bias", {4 * lstm}, lstm});
    in = lstm;
  }
  head_index_ = torso_tensors_ + static_cast<int>(tensors.size());
  linear(lstm > 0 ? absl::StrCat(policies::kPolicyPrefix, ".head")
                  : absl::StrCat(policies::kPolicyPrefix, ".layers.", num_hidden_),
         in, head_outputs_);
  baseline_index_ = torso_tensors_ + static_cast<int>(tensors.size());
  linear("baseline", in, 1);

  const int64_t torso_total = torso_.empty() ? 0 : torso_.NumParameters();
  int64_t total = torso_total;
  for (const Tensor& tensor : tensors) {
    int64_t size = 1;
    for (int64_t d : tensor.shape) size *= d;
    total += size;
  }
  // torch.nn.Linear's initialisation: weights and biases uniform in
  // +-1/sqrt(fan_in), drawn on the CPU from the seed, then moved.
  at::Generator generator = at::detail::createCPUGenerator(options_.seed);
  torch::Tensor init = torch::empty({total}, torch::kFloat32);
  InitTorsoParameters(torso_parameters, init.narrow(0, 0, torso_total), generator);
  int64_t offset = 0;
  for (const policies::TorsoParameter& parameter : torso_parameters) {
    int64_t size = 1;
    for (int64_t d : parameter.shape) size *= d;
    named_.emplace_back(parameter.name, torch::Tensor());
    offsets_.push_back(offset);
    offset += size;
  }
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& tensor = tensors[i];
    int64_t size = 1;
    for (int64_t d : tensor.shape) size *= d;
    const double bound = 1.0 / std::sqrt(static_cast<double>(tensor.fan_in));
    torch::Tensor slice = init.narrow(0, offset, size);
    slice.uniform_(-bound, bound, generator);
    // The policy head starts 100x smaller, so the first policy is near
    // uniform whatever the observation (as the A2C/PPO baselines initialise
    // it): no action is favoured before any return was seen.
    if (torso_tensors_ + static_cast<int>(i) == head_index_ || torso_tensors_ + static_cast<int>(i) == head_index_ + 1) {
      slice.mul_(0.01);
      // A state-independent log-std starts at 0 (std 1) in every dimension,
      // its weight rows (never read) at 0.
      if (state_independent_log_std()) {
        const int64_t per_output = size / head_outputs_;
        slice.narrow(0, action_width_ * per_output, action_width_ * per_output).zero_();
      }
    }
    named_.emplace_back(tensor.name, torch::Tensor());
    offsets_.push_back(offset);
    offset += size;
  }
  params_ = init.to(options_.device).requires_grad_(true);
  torch::Tensor data = params_.detach();
  std::vector<std::vector<int64_t>> shapes;
  for (const policies::TorsoParameter& parameter : torso_parameters) shapes.push_back(parameter.shape);
  for (const Tensor& tensor : tensors) shapes.push_back(tensor.shape);
  for (size_t i = 0; i < named_.size(); ++i) {
    int64_t size = 1;
    for (int64_t d : shapes[i]) size *= d;
    named_[i].second = data.narrow(0, offsets_[i], size).view(shapes[i]);
  }
}

torch::Tensor ActorCritic::Param(size_t i) const {
  const torch::Tensor& shape = named_[i].second;
  return params_.narrow(0, offsets_[i], shape.numel()).view(shape.sizes());
}

torch::Tensor ActorCritic::Features(const torch::Tensor& obs) const {
  // Views of the leaf, so that autograd accumulates into params_.grad.
  torch::Tensor h = obs;
  if (!torso_.empty()) {
    std::vector<torch::Tensor> torso_params;
    for (int i = 0; i < torso_tensors_; ++i) torso_params.push_back(Param(i));
    const int64_t flat = options_.env.flat_dim;
    if (flat == 0) {
      h = torso_.Forward(obs, torso_params);
    } else {
      // A Dict observation: the torso's features of the image, then the
      // flat leaves beside them.
      const int64_t image = obs_dim_ - flat;
      h = torch::cat({torso_.Forward(obs.narrow(1, 0, image), torso_params), obs.narrow(1, image, flat)}, 1);
    }
  }
  for (int l = 0; l < num_hidden_; ++l) {
    h = torch::relu(torch::addmm(Param(torso_tensors_ + 2 * l + 1), h, Param(torso_tensors_ + 2 * l).t()));
  }
  return h;
}

std::pair<torch::Tensor, torch::Tensor> ActorCritic::Heads(const torch::Tensor& features) const {
  torch::Tensor head;
  if (state_independent_log_std()) {
    const int64_t a = action_width_;
    torch::Tensor bias = Param(head_index_ + 1);
    torch::Tensor mean = torch::addmm(bias.narrow(0, 0, a), features, Param(head_index_).narrow(0, 0, a).t());
    head = torch::cat({mean, bias.narrow(0, a, a).expand({features.size(0), a})}, 1);
  } else {
    head = torch::addmm(Param(head_index_ + 1), features, Param(head_index_).t());
  }
  torch::Tensor value = torch::addmm(Param(baseline_index_ + 1), features, Param(baseline_index_).t()).squeeze(1);
  return {head, value};
}

std::pair<torch::Tensor, torch::Tensor> ActorCritic::Forward(const torch::Tensor& obs) const {
  auto [head, value] = Heads(Features(obs));
  return {Masked(head, obs), value};
}

std::pair<torch::Tensor, torch::Tensor> ActorCritic::LstmStep(const torch::Tensor& input_gates, const torch::Tensor& h,
                                                              const torch::Tensor& c,
                                                              const torch::Tensor& w_hh) const {
  // Gates in torch.nn.LSTM's order: input, forget, cell, output.
  std::vector<torch::Tensor> gates = torch::addmm(input_gates, h, w_hh.t()).chunk(4, 1);
  torch::Tensor c_next = torch::sigmoid(gates[1]) * c + torch::sigmoid(gates[0]) * torch::tanh(gates[2]);
  torch::Tensor h_next = torch::sigmoid(gates[3]) * torch::tanh(c_next);
  return {h_next, c_next};
}

UnrollOutputs ActorCritic::ForwardUnroll(const torch::Tensor& obs, const torch::Tensor& starts,
                                         const torch::Tensor& core_state) const {
  const int64_t t1 = obs.size(0);
  const int64_t b = obs.size(1);
  UnrollOutputs out;
  torch::Tensor features = Features(obs.reshape({t1 * b, obs_dim_}));
  if (!recurrent()) {
    auto [head, value] = Heads(features);
    out.head = Masked(head.view({t1, b, head_outputs_}), obs);
    out.value = value.view({t1, b});
    return out;
  }
  const int64_t n = options_.lstm_size;
  // The input's part of every step's gates in one matmul.
  torch::Tensor input_gates =
      torch::addmm(Param(lstm_index_ + 2), features, Param(lstm_index_).t()).view({t1, b, 4 * n});
  torch::Tensor w_hh = Param(lstm_index_ + 1);
  torch::Tensor keep = (1 - starts.to(torch::kFloat32)).unsqueeze(-1);  // [T1, B, 1]
  torch::Tensor h = core_state.narrow(1, 0, n);
  torch::Tensor c = core_state.narrow(1, n, n);
  std::vector<torch::Tensor> outputs, states;
  outputs.reserve(t1);
  states.reserve(t1);
  for (int64_t t = 0; t < t1; ++t) {
    std::tie(h, c) = LstmStep(input_gates[t], h * keep[t], c * keep[t], w_hh);
    outputs.push_back(h);
    states.push_back(torch::cat({h, c}, 1).detach());
  }
  auto [head, value] = Heads(torch::stack(outputs).view({t1 * b, n}));
  out.head = Masked(head.view({t1, b, head_outputs_}), obs);
  out.value = value.view({t1, b});
  out.states = torch::stack(states);
  return out;
}

torch::Tensor ActorCritic::Masked(const torch::Tensor& head, const torch::Tensor& obs) const {
  return options_.env.action_mask ? MaskLogits(head, obs) : head;
}

torch::Tensor ActorCritic::EpisodeStarts(const torch::Tensor& terminated, const torch::Tensor& truncated) {
  torch::Tensor ended = (terminated + truncated).gt(0).to(torch::kFloat32);
  return torch::cat({torch::zeros_like(ended.narrow(0, 0, 1)), ended}, 0);
}

PolicyTerms ActorCritic::Evaluate(const torch::Tensor& head, const torch::Tensor& actions) const {
  PolicyTerms terms;
  if (options_.env.discrete) {
    torch::Tensor log_probs = torch::log_softmax(head, -1);
    terms.log_prob = log_probs.gather(-1, actions.unsqueeze(-1)).squeeze(-1);
    terms.entropy = -(log_probs.exp() * log_probs).sum(-1);
  } else {
    const int64_t a = action_width_;
    torch::Tensor mean = head.narrow(-1, 0, a);
    torch::Tensor log_std = head.narrow(-1, a, a).clamp(policies::kLogStdMin, policies::kLogStdMax);
    std::vector<int64_t> rows(head.sizes().begin(), head.sizes().end() - 1);
    terms.log_prob = SquashedGaussianLogProb(mean.reshape({-1, a}), log_std.reshape({-1, a}), actions.reshape({-1, a}))
                         .view(rows);
    terms.entropy = (log_std + kGaussianEntropyConstant).sum(-1);
  }
  return terms;
}

torch::Tensor ActorCritic::BehaviourKl(const torch::Tensor& head, const Batch& batch,
                                       torch::Tensor (*time_major)(const torch::Tensor&)) const {
  torch::NoGradGuard no_grad;
  if (options_.env.discrete) {
    if (!batch.column("behaviour_logits").defined()) return {};
    torch::Tensor log_probs = torch::log_softmax(head, -1);
    torch::Tensor mu = torch::log_softmax(time_major(batch.column("behaviour_logits")), -1);
    return (mu.exp() * (mu - log_probs)).sum(-1).mean();
  }
  if (!batch.column("behaviour_mean").defined() || !batch.column("behaviour_log_std").defined()) return {};
  const int64_t a = action_width_;
  torch::Tensor mean = head.narrow(-1, 0, a);
  torch::Tensor log_std = head.narrow(-1, a, a).clamp(policies::kLogStdMin, policies::kLogStdMax);
  torch::Tensor mu_mean = time_major(batch.column("behaviour_mean"));
  torch::Tensor mu_log_std = time_major(batch.column("behaviour_log_std"));
  torch::Tensor ratio = torch::exp(2 * (mu_log_std - log_std));
  return (log_std - mu_log_std + 0.5 * (ratio + (mu_mean - mean).pow(2) * torch::exp(-2 * log_std)) - 0.5)
      .sum(-1)
      .mean();
}

std::vector<ColumnRequirement> ActorCritic::UnrollColumns(int t) const {
  // A packed row (a Dict observation's image and flat leaves) is stored as
  // its bytes.
  const int64_t d = options_.env.stored_width();
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
  if (recurrent()) columns.push_back({"core_state", v1::DTYPE_FLOAT32, {2 * options_.lstm_size}});
  return columns;
}

absl::Status ActorCritic::CheckUnrollBatch(const Batch& batch, int t) const {
  const int64_t b = batch.size;
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
  if (recurrent()) {
    RETURN_IF_ERROR(CheckBatchField("core_state", batch.column("core_state"), {b, 2 * options_.lstm_size}, device));
  }
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

namespace {

// Sets bad[row] for each row (first dimension) of `t` holding a NaN or an
// infinity; false when `t` has no rows or not `bad.size()` of them. A
// contiguous float32 tensor on the CPU is read in place: an unroll batch
// is small, and the dozen torch ops per column that checked it cost 8% of
// IMPALA's CartPole update on the learner's thread. Integers are finite.
bool MarkNonFiniteRows(const torch::Tensor& t, std::vector<uint8_t>& bad) {
  const int64_t rows = static_cast<int64_t>(bad.size());
  if (t.dim() == 0 || t.size(0) != rows) return false;
  if (!c10::isFloatingType(t.scalar_type())) return true;
  if (t.device().is_cpu() && t.scalar_type() == torch::kFloat32 && t.is_contiguous()) {
    const int64_t width = t.numel() / rows;
    const float* data = t.data_ptr<float>();
    for (int64_t r = 0; r < rows; ++r) {
      const float* row = data + r * width;
      bool finite = true;
      for (int64_t i = 0; i < width; ++i) finite &= std::isfinite(row[i]);
      if (!finite) bad[r] = 1;
    }
    return true;
  }
  const torch::Tensor row_bad =
      torch::isfinite(t).reshape({rows, -1}).all(1).logical_not().to(torch::kCPU, torch::kUInt8).contiguous();
  const uint8_t* flags = row_bad.data_ptr<uint8_t>();
  for (int64_t r = 0; r < rows; ++r) bad[r] |= flags[r];
  return true;
}

}  // namespace

torch::Tensor ActorCritic::NonFiniteUnrollRows(const Batch& batch) {
  const torch::Tensor log_prob = batch.column("behaviour_log_prob");
  const torch::Tensor reward = batch.column("reward");
  const torch::Tensor obs = batch.column("obs");
  const torch::Tensor final_obs = batch.column("final_obs");
  if (!log_prob.defined() || !reward.defined() || !obs.defined() || !final_obs.defined() || batch.size < 1) return {};
  if (log_prob.dim() == 0) return {};
  std::vector<uint8_t> bad(static_cast<size_t>(log_prob.size(0)), 0);
  std::vector<torch::Tensor> columns = {log_prob, reward, obs, final_obs};
  const torch::Tensor core_state = batch.column("core_state");
  if (core_state.defined()) columns.push_back(core_state);
  for (const torch::Tensor& column : columns) {
    if (!MarkNonFiniteRows(column, bad)) return {};  // a malformed batch: the update names the column
  }
  return torch::from_blob(bad.data(), {static_cast<int64_t>(bad.size())}, torch::kUInt8).to(torch::kBool);
}

Batch ActorCritic::FloatObservationColumns(const Batch& sampled) const {
  Batch batch = sampled;
  for (const char* name : {"obs", "final_obs"}) {
    auto column = batch.columns.find(name);
    if (column != batch.columns.end()) column->second = FloatObservations(column->second, options_.env.flat_dim);
  }
  return batch;
}

torch::Tensor ActorCritic::BootstrapValues(const torch::Tensor& next, const torch::Tensor& truncated,
                                           const torch::Tensor& final_obs, const torch::Tensor& value_mean,
                                           const torch::Tensor& value_std, const torch::Tensor& states) const {
  torch::NoGradGuard no_grad;
  torch::Tensor bootstrap = next.clone();
  torch::Tensor rows = truncated.reshape(-1).nonzero().squeeze(1);
  if (rows.numel() > 0) {
    torch::Tensor obs = final_obs.reshape({-1, obs_dim_}).index_select(0, rows);
    torch::Tensor features = Features(obs);
    if (recurrent()) {
      // One more step from the state the truncated step left.
      const int64_t n = options_.lstm_size;
      torch::Tensor state = states.reshape({-1, 2 * n}).index_select(0, rows);
      torch::Tensor input_gates = torch::addmm(Param(lstm_index_ + 2), features, Param(lstm_index_).t());
      features = LstmStep(input_gates, state.narrow(1, 0, n), state.narrow(1, n, n), Param(lstm_index_ + 1)).first;
    }
    bootstrap.view(-1).index_copy_(0, rows, Heads(features).second * value_std + value_mean);
  }
  return bootstrap;
}

absl::StatusOr<v1::ParameterSet> ActorCritic::ExportPolicy() const {
  try {
    std::vector<std::pair<std::string, torch::Tensor>> policy(named_.begin(),
                                                              named_.begin() + baseline_index_);
    if (state_independent_log_std()) {
      // The log-std rows as the learner reads them: zeros (whatever a
      // checkpoint of a state-dependent run left there).
      torch::Tensor weight = policy[head_index_].second.clone();
      weight.narrow(0, action_width_, action_width_).zero_();
      policy[head_index_].second = weight;
    }
    ASSIGN_OR_RETURN(v1::ParameterSet set, ToParameterSet(policy));
    *set.mutable_policy() = policies::PolicySpecFor(
        options_.env.discrete ? policies::CategoricalPolicy::kKind : policies::GaussianPolicy::kKind, options_.env,
        options_.hidden);
    RETURN_IF_ERROR(policies::SetTorso(options_.env, options_.torso, set.mutable_policy()));
    set.mutable_policy()->set_lstm_size(options_.lstm_size);
    return set;
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("cannot export the policy: ", e.what_without_backtrace()));
  }
}

int64_t ActorCritic::ForwardFlops(int64_t rows) const {
  std::vector<int64_t> sizes = {MlpInput()};
  for (int h : options_.hidden) sizes.push_back(h);
  const int64_t torso = torso_.empty() ? 0 : 2 * rows * torso_.MultiplyAdds();
  const int64_t lstm = options_.lstm_size;
  if (lstm > 0) {
    // The MLP, the LSTM's input and recurrent gate matmuls, both heads.
    return torso + MatmulFlops(sizes, rows) + 2 * rows * 4 * lstm * (options_.hidden.back() + lstm) +
           2 * rows * lstm * (head_outputs_ + 1);
  }
  sizes.push_back(head_outputs_);
  return MatmulFlops(sizes, rows) + 2 * rows * options_.hidden.back() + torso;
}

int64_t ActorCritic::ForwardBackwardFlops(int64_t rows) const {
  if (options_.lstm_size > 0) {
    // Forward, weight gradients and input gradients: three passes (the
    // first layer's input gradients, which autograd skips, are small).
    return 3 * ForwardFlops(rows);
  }
  std::vector<int64_t> sizes = {MlpInput()};
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
