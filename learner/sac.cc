#include "learner/sac.h"

#include <cmath>
#include <filesystem>
#include <system_error>
#include <utility>

#include "ATen/CPUGeneratorImpl.h"
#include "ATen/Parallel.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"

namespace rill::learner {
namespace {

constexpr double kAdamBeta1 = 0.9;
constexpr double kAdamBeta2 = 0.999;
constexpr double kAdamEps = 1e-8;
// SB3's epsilon in the tanh correction log(1 - tanh(u)^2 + eps).
constexpr double kTanhEps = 1e-6;
constexpr char kCheckpointFile[] = "sac.pt";

std::string ShapeString(at::IntArrayRef shape) { return absl::StrCat("[", absl::StrJoin(shape, ", "), "]"); }

absl::Status CheckField(const char* name, const torch::Tensor& t, const std::vector<int64_t>& shape,
                        const torch::Device& device) {
  if (!t.defined()) return absl::InvalidArgumentError(absl::StrCat("batch.", name, " is missing"));
  if (t.scalar_type() != torch::kFloat32) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch.", name, " must be float32, not ", c10::toString(t.scalar_type())));
  }
  if (t.device() != device) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch.", name, " is on ", t.device().str(), ", the learner on ", device.str()));
  }
  if (t.sizes() != at::IntArrayRef(shape)) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch.", name, " has shape ", ShapeString(t.sizes()), ", expected ", ShapeString(shape)));
  }
  return absl::OkStatus();
}

std::vector<int64_t> Hidden(const SacOptions& options) {
  return std::vector<int64_t>(options.hidden.begin(), options.hidden.end());
}

// 2 * rows * in * out summed over the layers l in [first, last).
int64_t MatmulFlops(const std::vector<int64_t>& sizes, int64_t rows, size_t first = 0) {
  int64_t flops = 0;
  for (size_t l = first; l + 1 < sizes.size(); ++l) flops += 2 * rows * sizes[l] * sizes[l + 1];
  return flops;
}

}  // namespace

FlatAdam::FlatAdam(const torch::Tensor& like, double lr)
    : lr(lr),
      exp_avg(torch::zeros_like(like)),
      exp_avg_sq(torch::zeros_like(like)),
      scratch(torch::empty_like(like)) {}

namespace {

// Adam on float32 CPU buffers in one pass instead of six element-wise ops
// (the step is memory-bound); the same arithmetic as the ATen path below.
void AdamChunk(float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v,
               int64_t n, float step_size, float bias_correction2_sqrt) {
  constexpr float kOneMinusBeta1 = static_cast<float>(1 - kAdamBeta1);
  constexpr float kBeta2 = static_cast<float>(kAdamBeta2);
  constexpr float kOneMinusBeta2 = static_cast<float>(1 - kAdamBeta2);
  constexpr float kEps = static_cast<float>(kAdamEps);
  for (int64_t i = 0; i < n; ++i) {
    const float gi = g[i];
    const float mi = m[i] + kOneMinusBeta1 * (gi - m[i]);
    const float vi = kBeta2 * v[i] + kOneMinusBeta2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] -= step_size * mi / (std::sqrt(vi) / bias_correction2_sqrt + kEps);
  }
}

}  // namespace

void FlatAdam::Step(const torch::Tensor& params, const torch::Tensor& grads) {
  // torch.optim.Adam (1.13, single-tensor path), on the whole buffer at once.
  ++step;
  const double bias_correction1 = 1 - std::pow(kAdamBeta1, static_cast<double>(step));
  const double bias_correction2_sqrt = std::sqrt(1 - std::pow(kAdamBeta2, static_cast<double>(step)));
  const double step_size = lr / bias_correction1;
  if (params.is_cpu() && params.scalar_type() == torch::kFloat32 && params.is_contiguous() &&
      grads.is_contiguous()) {
    float* p = params.data_ptr<float>();
    const float* g = grads.data_ptr<float>();
    float* m = exp_avg.data_ptr<float>();
    float* v = exp_avg_sq.data_ptr<float>();
    at::parallel_for(0, params.numel(), /*grain_size=*/16384, [&](int64_t begin, int64_t end) {
      AdamChunk(p + begin, g + begin, m + begin, v + begin, end - begin, static_cast<float>(step_size),
                static_cast<float>(bias_correction2_sqrt));
    });
    return;
  }
  exp_avg.lerp_(grads, 1 - kAdamBeta1);
  exp_avg_sq.mul_(kAdamBeta2).addcmul_(grads, grads, 1 - kAdamBeta2);
  at::sqrt_out(scratch, exp_avg_sq).div_(bias_correction2_sqrt).add_(kAdamEps);
  params.addcdiv_(exp_avg, scratch, -step_size);
}

Sac::Sac(const SacOptions& options, FlatMlp actor, FlatMlp critic)
    : options_(options),
      target_entropy_(options.target_entropy.value_or(-static_cast<double>(options.act_dim))),
      actor_(std::move(actor)),
      critic_(std::move(critic)),
      critic_target_(critic_.Clone()),
      log_alpha_(torch::full({1}, std::log(options.initial_alpha),
                             torch::TensorOptions().dtype(torch::kFloat32).device(options.device))),
      log_alpha_grad_(torch::zeros_like(log_alpha_)),
      actor_adam_(actor_.params(), options.actor_lr),
      critic_adam_(critic_.params(), options.critic_lr),
      alpha_adam_(log_alpha_, options.alpha_lr) {
  if (options.device.is_cpu()) generator_ = at::detail::createCPUGenerator(options.seed * 2654435761ULL + 3);
}

absl::StatusOr<std::unique_ptr<Sac>> Sac::Create(const SacOptions& options) {
  if (options.obs_dim <= 0 || options.act_dim <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("obs_dim (", options.obs_dim, ") and act_dim (", options.act_dim, ") must be positive"));
  }
  if (options.hidden.empty()) return absl::InvalidArgumentError("hidden must name at least one layer");
  for (int h : options.hidden) {
    if (h <= 0) return absl::InvalidArgumentError(absl::StrCat("hidden sizes must be positive, got ", h));
  }
  if (!(options.actor_lr > 0) || !(options.critic_lr > 0) || !(options.alpha_lr > 0)) {
    return absl::InvalidArgumentError("learning rates must be positive");
  }
  if (!(options.gamma >= 0 && options.gamma <= 1)) return absl::InvalidArgumentError("gamma must be in [0, 1]");
  if (!(options.tau > 0 && options.tau <= 1)) return absl::InvalidArgumentError("tau must be in (0, 1]");
  if (!(options.initial_alpha > 0)) return absl::InvalidArgumentError("initial_alpha must be positive");
  if (options.target_entropy.has_value() && !std::isfinite(*options.target_entropy)) {
    return absl::InvalidArgumentError("target_entropy must be finite");
  }
  if (options.device.is_cuda() && !torch::cuda::is_available()) {
    return absl::FailedPreconditionError(absl::StrCat("device ", options.device.str(), " is not available"));
  }
  if (!options.device.is_cpu() && !options.device.is_cuda()) {
    return absl::InvalidArgumentError(absl::StrCat("unsupported device ", options.device.str()));
  }
  MlpShape actor_shape{options.obs_dim, Hidden(options), 2 * static_cast<int64_t>(options.act_dim), 1};
  MlpShape critic_shape{options.obs_dim + options.act_dim, Hidden(options), 1, 2};
  ASSIGN_OR_RETURN(FlatMlp actor, FlatMlp::Create(actor_shape, options.seed * 2654435761ULL + 1, options.device));
  ASSIGN_OR_RETURN(FlatMlp critic, FlatMlp::Create(critic_shape, options.seed * 2654435761ULL + 2, options.device));
  try {
    return std::unique_ptr<Sac>(new Sac(options, std::move(actor), std::move(critic)));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("cannot create SAC: ", e.what_without_backtrace()));
  }
}

absl::Status Sac::CheckBatch(const TransitionBatch& batch) const {
  if (!batch.obs.defined()) return absl::InvalidArgumentError("batch.obs is missing");
  if (batch.obs.dim() != 2 || batch.obs.size(0) == 0) {
    return absl::InvalidArgumentError(absl::StrCat("batch.obs has shape ", ShapeString(batch.obs.sizes()),
                                                   ", expected [B, ", options_.obs_dim, "] with B > 0"));
  }
  const int64_t b = batch.obs.size(0);
  const torch::Device& device = options_.device;
  RETURN_IF_ERROR(CheckField("obs", batch.obs, {b, options_.obs_dim}, device));
  RETURN_IF_ERROR(CheckField("action", batch.action, {b, options_.act_dim}, device));
  RETURN_IF_ERROR(CheckField("reward", batch.reward, {b}, device));
  RETURN_IF_ERROR(CheckField("terminated", batch.terminated, {b}, device));
  RETURN_IF_ERROR(CheckField("next_obs", batch.next_obs, {b, options_.obs_dim}, device));
  if (batch.weight.defined()) RETURN_IF_ERROR(CheckField("weight", batch.weight, {b}, device));
  return absl::OkStatus();
}

absl::Status Sac::Update(const TransitionBatch& batch) {
  RETURN_IF_ERROR(CheckBatch(batch));
  try {
    const int64_t b = batch.obs.size(0);
    torch::Tensor noise = torch::randn({2 * b, options_.act_dim}, generator_, batch.obs.options());
    UpdateUnchecked(batch, noise);
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("SAC update failed: ", e.what_without_backtrace()));
  }
  return absl::OkStatus();
}

absl::Status Sac::UpdateWithNoiseForTesting(const TransitionBatch& batch, const torch::Tensor& next_noise,
                                            const torch::Tensor& noise) {
  RETURN_IF_ERROR(CheckBatch(batch));
  const int64_t b = batch.obs.size(0);
  RETURN_IF_ERROR(CheckField("next_noise", next_noise, {b, options_.act_dim}, options_.device));
  RETURN_IF_ERROR(CheckField("noise", noise, {b, options_.act_dim}, options_.device));
  try {
    UpdateUnchecked(batch, torch::cat({next_noise, noise}, 0));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("SAC update failed: ", e.what_without_backtrace()));
  }
  return absl::OkStatus();
}

void Sac::UpdateUnchecked(const TransitionBatch& batch, const torch::Tensor& noise) {
  torch::NoGradGuard no_grad;
  const int64_t b = batch.obs.size(0);
  const int64_t a_dim = options_.act_dim;
  const int64_t o_dim = options_.obs_dim;

  // 1. The policy on s' (rows [0, B)) and s (rows [B, 2B)) in one pass: the
  // actor does not change before its own step, and one [2B]-row matmul runs
  // faster than two [B]-row ones. Only the s rows are differentiated.
  torch::Tensor out = actor_.Forward(torch::cat({batch.next_obs, batch.obs}, 0), actor_trace_).squeeze(0);
  torch::Tensor raw_log_std = out.narrow(1, a_dim, a_dim);
  torch::Tensor log_std = raw_log_std.clamp(kLogStdMin, kLogStdMax);
  torch::Tensor std_dev = log_std.exp();
  // Reparameterised: u = mean + std * eps, a = tanh(u).
  torch::Tensor action = torch::addcmul(out.narrow(1, 0, a_dim), std_dev, noise).tanh_();
  torch::Tensor one_minus_a2 = 1 - action.square();
  // log N(u; mean, std) = sum_j(-eps_j^2 / 2 - log_std_j) - A log(2 pi) / 2,
  // minus the tanh correction sum_j log(1 - a_j^2 + 1e-6), as SB3.
  torch::Tensor log_prob =
      (noise.square().mul_(-0.5).sub_(log_std).sub_(torch::log(one_minus_a2 + kTanhEps))).sum(1).sub_(
          0.5 * a_dim * std::log(2 * M_PI));
  torch::Tensor alpha = log_alpha_.exp();  // [1]; every loss uses the temperature before this update

  // 2. TD target, no gradient: y = r + gamma (1 - terminated) (min(Q1t, Q2t)(s', a') - alpha logp(a'|s')).
  torch::Tensor next_action = action.narrow(0, 0, b);
  torch::Tensor next_log_prob = log_prob.narrow(0, 0, b);
  torch::Tensor q_next = critic_target_.Forward(torch::cat({batch.next_obs, next_action}, 1), target_trace_);
  torch::Tensor soft_next = torch::minimum(q_next[0], q_next[1]).view({b}).sub_(alpha * next_log_prob);
  torch::Tensor discount = batch.terminated.mul(-options_.gamma).add_(options_.gamma);
  torch::Tensor target = torch::addcmul(batch.reward, discount, soft_next);

  // 3. Critic step. Loss = 0.5 * (MSE(Q1, y) + MSE(Q2, y)), SB3's constant,
  // so d loss / d Q_e = (Q_e - y) / B; with importance weights each term
  // is scaled by w_i, and so is its gradient.
  torch::Tensor q = critic_.Forward(torch::cat({batch.obs, batch.action}, 1), critic_trace_);  // [2, B, 1]
  torch::Tensor grad_q = (q - target.view({1, b, 1})).mul_(1.0 / b);
  if (batch.weight.defined()) grad_q.mul_(batch.weight.view({1, b, 1}));
  critic_.Backward(critic_trace_, grad_q, /*row_begin=*/0, /*weight_grads=*/true, std::nullopt);
  critic_adam_.Step(critic_.params(), critic_.grads());

  // 4. Actor step through the updated critics, whose weights stay fixed:
  // only d loss / d action is computed on the way back.
  // Loss = mean(alpha * logp(a|s) - min(Q1, Q2)(s, a)).
  torch::Tensor pi_action = action.narrow(0, b, b);
  torch::Tensor pi_log_prob = log_prob.narrow(0, b, b);
  torch::Tensor pi_one_minus_a2 = one_minus_a2.narrow(0, b, b);
  torch::Tensor q_pi = critic_.Forward(torch::cat({batch.obs, pi_action}, 1), pi_trace_);  // [2, B, 1]
  torch::Tensor min_q_pi = torch::minimum(q_pi[0], q_pi[1]).view({b});
  // d loss / d Q_e = -1/B for the smaller critic (torch.min splits ties):
  // with s = sign(Q1 - Q2), dQ1 = -(1 - s) / 2B and dQ2 = -(1 + s) / 2B.
  torch::Tensor sign = (q_pi[0] - q_pi[1]).sign_();
  torch::Tensor grad_q_pi = torch::stack({sign - 1, sign.neg() - 1}).mul_(0.5 / b);
  torch::Tensor grad_action =
      critic_.Backward(pi_trace_, grad_q_pi, 0, /*weight_grads=*/false, std::make_pair(o_dim, o_dim + a_dim))
          .sum(0);  // [B, A]
  // Through a = tanh(u) and logp: with c = alpha / B (d loss / d logp),
  // d/du = g_a (1 - a^2) + c * 2a (1 - a^2) / (1 - a^2 + 1e-6),
  // d/dmean = d/du, d/dlog_std = d/du * std * eps - c (zero where clamped).
  torch::Tensor c = alpha / static_cast<double>(b);
  torch::Tensor grad_u = grad_action.mul_(pi_one_minus_a2)
                             .add_(pi_action.mul(pi_one_minus_a2).div_(pi_one_minus_a2 + kTanhEps).mul_(2 * c));
  torch::Tensor pi_raw_log_std = raw_log_std.narrow(0, b, b);
  torch::Tensor in_range = pi_raw_log_std.ge(kLogStdMin).logical_and_(pi_raw_log_std.le(kLogStdMax));
  torch::Tensor grad_log_std =
      (grad_u * std_dev.narrow(0, b, b) * noise.narrow(0, b, b)).sub_(c).mul_(in_range);
  torch::Tensor grad_out = torch::cat({grad_u, grad_log_std}, 1).unsqueeze(0);  // [1, B, 2A]
  actor_.Backward(actor_trace_, grad_out, /*row_begin=*/b, /*weight_grads=*/true, std::nullopt);
  actor_adam_.Step(actor_.params(), actor_.grads());

  // 5. Temperature: loss = -mean(log_alpha * (logp + target_entropy)) with
  // logp detached, so d loss / d log_alpha = -mean(logp + target_entropy).
  torch::Tensor log_alpha_before = log_alpha_.clone();
  if (!options_.fixed_alpha) {
    at::mean_out(log_alpha_grad_, pi_log_prob, {0}, /*keepdim=*/true).add_(target_entropy_).neg_();
    alpha_adam_.Step(log_alpha_, log_alpha_grad_);
  }

  // 6. Polyak: target = tau * online + (1 - tau) * target.
  critic_target_.params().lerp_(critic_.params(), options_.tau);

  last_.q = q;
  last_.target = target;
  last_.log_alpha = log_alpha_before;
  last_.log_prob = pi_log_prob;
  last_.min_q_pi = min_q_pi;
  ++updates_;
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
                                       -(last_.log_alpha * (last_.log_prob + target_entropy_)).mean(),
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
  return ToParameterSet(actor_.NamedParameters(kPolicyPrefix));
}

std::map<std::string, torch::Tensor> Sac::ParametersForTesting() {
  std::map<std::string, torch::Tensor> named;
  for (auto& [name, t] : actor_.NamedParameters(kPolicyPrefix)) named[name] = t;
  for (auto& [name, t] : critic_.NamedParameters("critic")) named[name] = t;
  for (auto& [name, t] : critic_target_.NamedParameters("critic_target")) named[name] = t;
  named["log_alpha"] = log_alpha_;
  return named;
}

std::map<std::string, torch::Tensor> Sac::GradientsForTesting() {
  std::map<std::string, torch::Tensor> named;
  for (auto& [name, t] : actor_.NamedGradients(kPolicyPrefix)) named[name] = t;
  for (auto& [name, t] : critic_.NamedGradients("critic")) named[name] = t;
  named["log_alpha"] = log_alpha_grad_;
  return named;
}

std::vector<std::pair<std::string, torch::Tensor>> Sac::CheckpointTensors() const {
  auto counter = [](int64_t value) { return torch::full({1}, value, torch::kInt64); };
  std::vector<std::pair<std::string, torch::Tensor>> tensors = {
      {"actor", actor_.params()},
      {"critic", critic_.params()},
      {"critic_target", critic_target_.params()},
      {"log_alpha", log_alpha_},
      {"actor_adam.exp_avg", actor_adam_.exp_avg},
      {"actor_adam.exp_avg_sq", actor_adam_.exp_avg_sq},
      {"actor_adam.step", counter(actor_adam_.step)},
      {"critic_adam.exp_avg", critic_adam_.exp_avg},
      {"critic_adam.exp_avg_sq", critic_adam_.exp_avg_sq},
      {"critic_adam.step", counter(critic_adam_.step)},
      {"alpha_adam.exp_avg", alpha_adam_.exp_avg},
      {"alpha_adam.exp_avg_sq", alpha_adam_.exp_avg_sq},
      {"alpha_adam.step", counter(alpha_adam_.step)},
      {"updates", counter(updates_)},
  };
  if (generator_.has_value()) tensors.emplace_back("generator", generator_->get_state());
  return tensors;
}

absl::Status Sac::Save(const std::string& dir) const {
  namespace fs = std::filesystem;
  const fs::path final_dir = fs::path(dir).lexically_normal();
  if (final_dir.filename().empty()) return absl::InvalidArgumentError(absl::StrCat("bad checkpoint folder '", dir, "'"));
  const fs::path staging = fs::path(final_dir.string() + ".saving");
  const fs::path previous = fs::path(final_dir.string() + ".previous");
  std::error_code error;
  fs::remove_all(staging, error);
  fs::create_directories(staging, error);
  if (error) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create checkpoint folder '", staging.string(), "': ", error.message()));
  }
  try {
    torch::serialize::OutputArchive archive;
    for (const auto& [name, tensor] : CheckpointTensors()) archive.write(name, tensor.detach().to(torch::kCPU));
    archive.save_to((staging / kCheckpointFile).string());
  } catch (const c10::Error& e) {
    fs::remove_all(staging, error);
    return absl::InternalError(absl::StrCat("cannot write checkpoint to '", staging.string(), "': ",
                                            e.what_without_backtrace()));
  }
  // Swap the finished folder in; an older checkpoint is removed only after.
  fs::remove_all(previous, error);
  error.clear();
  if (fs::exists(final_dir)) fs::rename(final_dir, previous, error);
  if (!error) fs::rename(staging, final_dir, error);
  if (error) {
    return absl::InternalError(absl::StrCat("cannot install checkpoint '", final_dir.string(), "': ", error.message()));
  }
  fs::remove_all(previous, error);
  return absl::OkStatus();
}

absl::Status Sac::Load(const std::string& dir) {
  const std::filesystem::path file = std::filesystem::path(dir) / kCheckpointFile;
  if (!std::filesystem::exists(file)) {
    return absl::NotFoundError(absl::StrCat("no SAC checkpoint in '", dir, "'"));
  }
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(file.string());
  } catch (const c10::Error& e) {
    return absl::DataLossError(absl::StrCat("cannot read checkpoint '", file.string(), "': ", e.what_without_backtrace()));
  }
  // Read and check everything before changing anything.
  std::vector<std::pair<std::string, torch::Tensor>> targets = CheckpointTensors();
  std::vector<torch::Tensor> loaded;
  for (const auto& [name, target] : targets) {
    torch::Tensor value;
    bool found = false;
    try {
      found = archive.try_read(name, value);
    } catch (const c10::Error& e) {
      return absl::DataLossError(absl::StrCat("checkpoint '", file.string(), "': cannot read '", name, "': ",
                                              e.what_without_backtrace()));
    }
    if (!found && name == "generator") {
      // Written on another device: keep this learner's noise generator.
      loaded.emplace_back();
      continue;
    }
    if (!found) return absl::InvalidArgumentError(absl::StrCat("checkpoint '", file.string(), "' lacks '", name, "'"));
    if (value.sizes() != target.sizes() || value.scalar_type() != target.scalar_type()) {
      return absl::InvalidArgumentError(absl::StrCat("checkpoint '", file.string(), "': '", name, "' has shape ",
                                                     ShapeString(value.sizes()), " ", c10::toString(value.scalar_type()),
                                                     ", this learner needs ", ShapeString(target.sizes()), " ",
                                                     c10::toString(target.scalar_type())));
    }
    loaded.push_back(value);
  }
  try {
    torch::NoGradGuard no_grad;
    auto count = [&](size_t i) { return loaded[i].item<int64_t>(); };
    for (size_t i = 0; i < targets.size(); ++i) {
      const std::string& name = targets[i].first;
      if (name == "actor_adam.step") {
        actor_adam_.step = count(i);
      } else if (name == "critic_adam.step") {
        critic_adam_.step = count(i);
      } else if (name == "alpha_adam.step") {
        alpha_adam_.step = count(i);
      } else if (name == "updates") {
        updates_ = count(i);
      } else if (name == "generator") {
        if (loaded[i].defined()) generator_->set_state(loaded[i]);
      } else {
        targets[i].second.copy_(loaded[i]);
      }
    }
  } catch (const c10::Error& e) {
    return absl::DataLossError(absl::StrCat("cannot restore checkpoint '", file.string(), "': ", e.what_without_backtrace()));
  }
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
