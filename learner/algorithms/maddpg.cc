#include "learner/algorithms/maddpg.h"

#include <cmath>
#include <utility>

#include "ATen/CPUGeneratorImpl.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "envs/catalog.h"
#include "learner/algorithms/checks.h"
#include "learner/algorithms/flat_optimizer.h"
#include "learner/algorithms/torch_errors.h"
#include "learner/networks.h"
#include "policies/per_agent.h"
#include "policies/spec.h"

namespace rill::learner {
namespace {

// Keeps the Gumbel noise finite where the uniform draw is 0 or 1.
constexpr double kGumbelEpsilon = 1e-20;

// A masked agent's logits `out` with the actions its observation `own`
// forbids (its last action_width elements not above 0) at
// policies::kMaskedLogit: no probability in the Gumbel-softmax, never the
// argmax while another is allowed, as the published policy acts. Others'
// as they are.
torch::Tensor Masked(const envs::JointSlot& slot, const torch::Tensor& own, const torch::Tensor& out) {
  if (!slot.masked) return out;
  const torch::Tensor mask = own.narrow(1, slot.obs_dim - slot.action_width, slot.action_width);
  return out.masked_fill(mask.le(0), policies::kMaskedLogit);
}

absl::Status Invalid(const std::string& why) { return absl::InvalidArgumentError(why); }

// The slots tile the row: contiguous from 0, summing to its sizes.
absl::Status CheckSlots(const MaddpgOptions& options) {
  const envs::EnvSpec& env = options.env;
  if (options.slots.empty()) return Invalid("slots: a joint row needs at least one agent");
  if (env.joint_agents != static_cast<int>(options.slots.size())) {
    return Invalid(absl::StrCat("env ", env.name, ": joint_agents ", env.joint_agents, " but ", options.slots.size(),
                                " slots"));
  }
  int obs = 0, action = 0;
  for (size_t k = 0; k < options.slots.size(); ++k) {
    const envs::JointSlot& slot = options.slots[k];
    if (slot.obs_offset != obs || slot.action_offset != action || slot.obs_dim <= 0 || slot.action_width <= 0) {
      return Invalid(absl::StrCat("slots[", k, "]: obs ", slot.obs_offset, "+", slot.obs_dim, ", action ",
                                  slot.action_offset, "+", slot.action_width, " does not follow the agent before it"));
    }
    if (slot.masked && (!slot.discrete || slot.obs_dim <= slot.action_width)) {
      return Invalid(absl::StrCat("slots[", k, "]: an action mask needs a discrete agent whose observation of ",
                                  slot.obs_dim, " floats is longer than its ", slot.action_width, " actions"));
    }
    obs += slot.obs_dim;
    action += slot.action_width;
  }
  if (obs != env.obs_dim() || action != env.action_dim() || env.discrete ||
      static_cast<int>(env.action_low.size()) != action || static_cast<int>(env.action_high.size()) != action) {
    return Invalid(absl::StrCat("env ", env.name, ": a continuous row of obs_dim ", obs, " and action_dim ", action,
                                " with as many bounds was expected (the slots' sums), got obs_dim ", env.obs_dim(),
                                ", action_dim ", env.action_dim()));
  }
  return absl::OkStatus();
}

absl::Status CheckHyperparameters(const MaddpgOptions& options) {
  if (options.hidden.empty()) return Invalid("hidden must name at least one layer");
  for (int h : options.hidden) {
    if (h <= 0) return Invalid(absl::StrCat("hidden sizes must be positive, got ", h));
  }
  const struct {
    const char* name;
    double value, low, high;
    bool open_low;
  } ranges[] = {
      {"actor_lr", options.actor_lr, 0, INFINITY, true},
      {"critic_lr", options.critic_lr, 0, INFINITY, true},
      {"gumbel_temperature", options.gumbel_temperature, 0, INFINITY, true},
      {"policy_regularization", options.policy_regularization, 0, INFINITY, false},
      {"max_grad_norm", options.max_grad_norm, 0, INFINITY, false},
      {"exploration_noise", options.exploration_noise, 0, INFINITY, false},
      {"gamma", options.gamma, 0, 1, false},
      {"tau", options.tau, 0, 1, false},
  };
  for (const auto& r : ranges) {
    const bool above = r.open_low ? r.value > r.low : r.value >= r.low;
    if (!above || !(r.value <= r.high) || !std::isfinite(r.value)) {
      return Invalid(absl::StrCat(r.name, " ", r.value, " must be finite and ", r.open_low ? "> " : ">= ", r.low,
                                  std::isinf(r.high) ? "" : absl::StrCat(" and <= ", r.high)));
    }
  }
  if (options.device.is_cuda() && !torch::cuda::is_available()) {
    return absl::FailedPreconditionError(absl::StrCat("device ", options.device.str(), " is not available"));
  }
  if (!options.device.is_cpu() && !options.device.is_cuda()) {
    return Invalid(absl::StrCat("unsupported device ", options.device.str()));
  }
  return absl::OkStatus();
}

std::string AgentName(int k, const char* part) { return absl::StrCat("agent_", k, ".", part); }

// One-hot of the row-wise argmax of `x` [B, n], float32.
torch::Tensor OneHotArgmax(const torch::Tensor& x) {
  return torch::zeros_like(x).scatter_(1, x.argmax(1, /*keepdim=*/true), 1.0);
}

}  // namespace

int64_t Maddpg::Layers::numel() const {
  int64_t n = 0;
  for (size_t l = 0; l + 1 < sizes.size(); ++l) n += sizes[l + 1] * sizes[l] + sizes[l + 1];
  return n;
}

std::vector<torch::Tensor> Maddpg::Layers::Views(const torch::Tensor& flat) const {
  std::vector<torch::Tensor> views;
  int64_t offset = 0;
  for (size_t l = 0; l + 1 < sizes.size(); ++l) {
    const int64_t in = sizes[l], out = sizes[l + 1];
    views.push_back(flat.narrow(0, offset, out * in).view({out, in}));
    offset += out * in;
    views.push_back(flat.narrow(0, offset, out));
    offset += out;
  }
  return views;
}

torch::Tensor Maddpg::Layers::Forward(const torch::Tensor& flat, const torch::Tensor& x) const {
  const std::vector<torch::Tensor> views = Views(flat);
  torch::Tensor h = x;
  const size_t layers = views.size() / 2;
  for (size_t l = 0; l < layers; ++l) {
    h = torch::addmm(views[2 * l + 1], h, views[2 * l].t());
    if (l + 1 < layers) h = torch::relu(h);
  }
  return h;
}

std::vector<std::pair<std::string, torch::Tensor>> Maddpg::Layers::Named(const std::string& prefix,
                                                                         const torch::Tensor& flat) const {
  const std::vector<torch::Tensor> views = Views(flat);
  std::vector<std::pair<std::string, torch::Tensor>> named;
  for (size_t i = 0; i < views.size(); ++i) {
    named.emplace_back(absl::StrCat(prefix, ".layers.", i / 2, i % 2 == 0 ? ".weight" : ".bias"), views[i]);
  }
  return named;
}

Maddpg::Maddpg(const MaddpgOptions& options, std::vector<Agent> agents)
    : options_(options),
      // The oneof field's name, as spec.cc fills AlgorithmSpec::name.
      name_(v1::LearnerConfig::descriptor()->FindFieldByNumber(v1::LearnerConfig::kMaddpg)->name()),
      agents_(std::move(agents)) {
  if (options.device.is_cpu()) generator_ = at::detail::createCPUGenerator(options.seed * 2654435761ULL + 3);
  for (int k = 0; k < num_agents(); ++k) {
    Agent& agent = agents_[k];
    state_.AddTensor(AgentName(k, "actor"), agent.actor);
    state_.AddTensor(AgentName(k, "actor_target"), agent.actor_target);
    state_.AddTensor(AgentName(k, "critic"), agent.critic);
    state_.AddTensor(AgentName(k, "critic_target"), agent.critic_target);
    state_.AddAdam(AgentName(k, "actor_adam"), &agent.actor_adam);
    state_.AddAdam(AgentName(k, "critic_adam"), &agent.critic_adam);
  }
  state_.AddCounter("updates", &updates_);
  if (generator_.has_value()) state_.AddGenerator("generator", &*generator_);
}

absl::StatusOr<std::unique_ptr<Algorithm>> Maddpg::FromConfig(const AlgorithmContext& context) {
  const v1::LearnerConfig& learner = context.config.learner();
  if (learner.algorithm_case() != v1::LearnerConfig::kMaddpg) {
    return Invalid("config field learner.algorithm: MADDPG needs learner.maddpg");
  }
  if (context.env.joint_agents <= 0) {
    return Invalid(absl::StrCat("config field env.joint_agents: maddpg trains on a multi-agent env's joint rows; ",
                                context.env.name, "'s rows are single agents"));
  }
  ASSIGN_OR_RETURN(const envs::MultiAgentSpec spec, envs::ConfiguredMultiAgentSpec(context.config.env()));
  const v1::MaddpgConfig& config = learner.maddpg();
  MaddpgOptions options;
  options.env = context.env;
  options.slots = envs::JointLayout(spec);
  if (context.config.env().ignore_action_mask()) {
    for (envs::JointSlot& slot : options.slots) slot.masked = false;  // the masks are just observations then
  }
  options.hidden = context.hidden();
  options.actor_lr = config.actor_lr();
  options.critic_lr = config.critic_lr();
  options.critic = config.critic();
  options.gumbel_temperature = config.gumbel_temperature();
  options.policy_regularization = config.policy_regularization();
  options.max_grad_norm = config.max_grad_norm();
  options.exploration_noise = config.exploration_noise();
  options.gamma = learner.gamma();
  options.tau = learner.tau();
  options.device = context.device;
  options.seed = context.seed;
  absl::StatusOr<std::unique_ptr<Maddpg>> algorithm = Create(options);
  if (!algorithm.ok()) {
    return absl::Status(algorithm.status().code(), absl::StrCat("learner.maddpg: ", algorithm.status().message()));
  }
  return std::unique_ptr<Algorithm>(*std::move(algorithm));
}

absl::StatusOr<std::unique_ptr<Maddpg>> Maddpg::Create(const MaddpgOptions& options) {
  RETURN_IF_ERROR(CheckSlots(options));
  RETURN_IF_ERROR(CheckHyperparameters(options));
  const bool centralised = options.critic == v1::MaddpgConfig::CENTRALISED;
  try {
    at::Generator init = at::detail::createCPUGenerator(options.seed * 2654435761ULL + 1);
    std::vector<Agent> agents;
    for (const envs::JointSlot& slot : options.slots) {
      Agent agent;
      agent.slot = slot;
      const int64_t critic_in = centralised ? options.env.obs_dim() + options.env.action_dim()
                                            : slot.obs_dim + slot.action_width;
      agent.actor_layers.sizes = {slot.obs_dim};
      agent.critic_layers.sizes = {critic_in};
      for (int h : options.hidden) {
        agent.actor_layers.sizes.push_back(h);
        agent.critic_layers.sizes.push_back(h);
      }
      agent.actor_layers.sizes.push_back(slot.action_width);
      agent.critic_layers.sizes.push_back(1);
      // torch.nn.Linear's initialisation: weights and biases uniform in
      // +-1/sqrt(fan_in).
      auto initialised = [&](const Layers& layers) {
        torch::Tensor flat = torch::empty({layers.numel()}, torch::kFloat32);
        const std::vector<torch::Tensor> views = layers.Views(flat);
        for (size_t i = 0; i < views.size(); ++i) {
          const double bound = 1.0 / std::sqrt(static_cast<double>(layers.sizes[i / 2]));
          views[i].uniform_(-bound, bound, init);
        }
        return flat.to(options.device);
      };
      agent.actor = initialised(agent.actor_layers).requires_grad_(true);
      agent.critic = initialised(agent.critic_layers).requires_grad_(true);
      agent.actor_target = agent.actor.detach().clone();
      agent.critic_target = agent.critic.detach().clone();
      agent.actor_adam = FlatAdam(agent.actor.detach(), options.actor_lr);
      agent.critic_adam = FlatAdam(agent.critic.detach(), options.critic_lr);
      agents.push_back(std::move(agent));
    }
    return std::unique_ptr<Maddpg>(new Maddpg(options, std::move(agents)));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("cannot create maddpg: ", e.what_without_backtrace()));
  }
}

std::vector<ColumnRequirement> Maddpg::Columns() const {
  std::vector<ColumnRequirement> columns = TransitionColumns(options_.env);
  for (ColumnRequirement& column : JointAgentColumns(options_.env)) columns.push_back(std::move(column));
  return columns;
}

int64_t Maddpg::CriticInputWidth(int k) const { return agents_[k].critic_layers.sizes.front(); }

absl::Status Maddpg::CheckBatch(const TransitionBatch& batch) const {
  RETURN_IF_ERROR(CheckTransitionBatch(batch, options_.env.obs_dim(), options_.env.action_dim(), options_.device));
  const int64_t b = batch.obs.size(0);
  RETURN_IF_ERROR(CheckBatchField(kAgentRewardsColumn, batch.agent_rewards, {b, num_agents()}, options_.device));
  return CheckBatchField(kAgentTerminatedColumn, batch.agent_terminated, {b, num_agents()}, options_.device);
}

torch::Tensor Maddpg::CriticInput(int k, const torch::Tensor& obs, const torch::Tensor& action) const {
  if (options_.critic == v1::MaddpgConfig::CENTRALISED) return torch::cat({obs, action}, 1);
  const envs::JointSlot& slot = agents_[k].slot;
  return torch::cat({obs.narrow(1, slot.obs_offset, slot.obs_dim),
                     action.narrow(1, slot.action_offset, slot.action_width)},
                    1);
}

torch::Tensor Maddpg::DeterministicActions(const torch::Tensor& obs) const {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> actions;
  for (const Agent& agent : agents_) {
    const torch::Tensor own = obs.narrow(1, agent.slot.obs_offset, agent.slot.obs_dim);
    const torch::Tensor out = Masked(agent.slot, own, agent.actor_layers.Forward(agent.actor.detach(), own));
    actions.push_back(agent.slot.discrete ? OneHotArgmax(out) : out.tanh());
  }
  return torch::cat(actions, 1);
}

absl::StatusOr<torch::Tensor> Maddpg::CriticTargets(const TransitionBatch& batch) const {
  RETURN_IF_ERROR(CheckBatch(batch));
  torch::Tensor y;
  RETURN_IF_ERROR(CatchTorchErrors("maddpg critic targets", [&] {
    y = TargetsUnchecked(batch);
    return absl::OkStatus();
  }));
  return y;
}

torch::Tensor Maddpg::TargetsUnchecked(const TransitionBatch& batch) const {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> next_actions;
  for (const Agent& agent : agents_) {
    const torch::Tensor own = batch.next_obs.narrow(1, agent.slot.obs_offset, agent.slot.obs_dim);
    const torch::Tensor out = Masked(agent.slot, own, agent.actor_layers.Forward(agent.actor_target, own));
    next_actions.push_back(agent.slot.discrete ? OneHotArgmax(out) : out.tanh());
  }
  const torch::Tensor next_action = torch::cat(next_actions, 1);
  // The n-step discount column when the items carry one, else gamma.
  const torch::Tensor discount = batch.discount.defined()
                                     ? batch.discount.view({-1, 1})
                                     : torch::full({1, 1}, options_.gamma, batch.next_obs.options());
  std::vector<torch::Tensor> q_next;
  for (int k = 0; k < num_agents(); ++k) {
    const Agent& agent = agents_[k];
    q_next.push_back(agent.critic_layers.Forward(agent.critic_target, CriticInput(k, batch.next_obs, next_action)));
  }
  const torch::Tensor bootstrap = (1 - batch.agent_terminated) * discount;  // [B, K]
  return batch.agent_rewards + bootstrap * torch::cat(q_next, 1);
}

absl::Status Maddpg::Step(torch::Tensor& params, torch::Tensor grad, FlatAdam& adam) {
  FlatOptimizer::ClipGradient(grad, options_.max_grad_norm);
  RETURN_IF_ERROR(AverageOverRanks(averager_, {grad}));
  torch::NoGradGuard no_grad;
  adam.Step(params, grad);
  return absl::OkStatus();
}

absl::StatusOr<torch::Tensor> Maddpg::CriticStep(int k, const TransitionBatch& batch, const torch::Tensor& y) {
  Agent& agent = agents_[k];
  torch::Tensor q, grad;
  {
    torch::AutoGradMode enable(true);
    q = agent.critic_layers.Forward(agent.critic, CriticInput(k, batch.obs, batch.action)).view({-1});
    torch::Tensor squared = (q - y).square();
    if (batch.weight.defined()) squared = squared * batch.weight;
    grad = torch::autograd::grad({squared.mean()}, {agent.critic})[0];
  }
  RETURN_IF_ERROR(Step(agent.critic, grad, agent.critic_adam));
  return q.detach();
}

torch::Tensor Maddpg::DifferentiableAction(int k, const torch::Tensor& out) {
  if (!agents_[k].slot.discrete) return out.tanh();
  // Straight-through hard Gumbel-softmax: the one-hot of the sample
  // forward, the relaxed sample's gradient backward.
  torch::Tensor u;
  {
    torch::NoGradGuard no_grad;
    u = torch::rand(out.sizes(), generator_, out.options().requires_grad(false));
  }
  const torch::Tensor gumbel = -torch::log(-torch::log(u + kGumbelEpsilon) + kGumbelEpsilon);
  const torch::Tensor soft = torch::softmax((out + gumbel) / options_.gumbel_temperature, 1);
  return OneHotArgmax(soft.detach()) - soft.detach() + soft;
}

absl::StatusOr<torch::Tensor> Maddpg::ActorStep(int k, const TransitionBatch& batch) {
  Agent& agent = agents_[k];
  const envs::JointSlot& slot = agent.slot;
  const int64_t a_dim = options_.env.action_dim();
  const torch::Tensor critic = agent.critic.detach();
  torch::Tensor loss, grad;
  {
    torch::AutoGradMode enable(true);
    const torch::Tensor own = batch.obs.narrow(1, slot.obs_offset, slot.obs_dim);
    const torch::Tensor out = agent.actor_layers.Forward(agent.actor, own);
    const torch::Tensor mine = DifferentiableAction(k, Masked(slot, own, out));
    const int64_t after = slot.action_offset + slot.action_width;
    const torch::Tensor action = torch::cat({batch.action.narrow(1, 0, slot.action_offset), mine,
                                             batch.action.narrow(1, after, a_dim - after)},
                                            1);
    const torch::Tensor q = agent.critic_layers.Forward(critic, CriticInput(k, batch.obs, action));
    loss = -q.mean() + options_.policy_regularization * out.square().mean();
    grad = torch::autograd::grad({loss}, {agent.actor})[0];
  }
  RETURN_IF_ERROR(Step(agent.actor, grad, agent.actor_adam));
  return loss.detach();
}

absl::Status Maddpg::Update(const Batch& batch) {
  ASSIGN_OR_RETURN(TransitionBatch view, ToTransitionBatch(batch));
  return Update(view);
}

absl::Status Maddpg::Update(const TransitionBatch& batch) {
  RETURN_IF_ERROR(CheckBatch(batch));
  return CatchTorchErrors("maddpg update failed", [&] { return UpdateUnchecked(batch); });
}

absl::Status Maddpg::UpdateUnchecked(const TransitionBatch& batch) {
  torch::NoGradGuard no_grad;
  const torch::Tensor y = TargetsUnchecked(batch);  // [B, K], before any step
  std::vector<torch::Tensor> q(num_agents()), actor_loss(num_agents());
  for (int k = 0; k < num_agents(); ++k) {
    ASSIGN_OR_RETURN(q[k], CriticStep(k, batch, y.select(1, k)));
    ASSIGN_OR_RETURN(actor_loss[k], ActorStep(k, batch));
  }
  // Polyak: target = tau * online + (1 - tau) * target.
  for (Agent& agent : agents_) {
    agent.actor_target.lerp_(agent.actor.detach(), options_.tau);
    agent.critic_target.lerp_(agent.critic.detach(), options_.tau);
  }
  last_.q = torch::stack(q, 1);
  last_.target = y;
  last_.weight = batch.weight.defined() ? batch.weight.clone() : torch::Tensor();  // the batch's buffer may be reused
  last_.actor_loss = torch::stack(actor_loss);
  ++updates_;
  return absl::OkStatus();
}

torch::Tensor Maddpg::Priorities() const {
  if (!last_.q.defined()) return {};
  torch::NoGradGuard no_grad;
  return (last_.q - last_.target).abs_().mean(1);
}

std::vector<Statistic> Maddpg::Statistics() const {
  std::vector<Statistic> stats = {{"critic", 0, true}, {"actor", 0, true}, {"q_mean", 0, false}};
  if (!last_.q.defined()) return stats;
  try {
    torch::NoGradGuard no_grad;
    torch::Tensor squared = (last_.q - last_.target).square_();  // [B, K]
    if (last_.weight.defined()) squared.mul_(last_.weight.view({-1, 1}));
    // One tensor, one device-to-host copy.
    torch::Tensor all = torch::stack({squared.mean(0).mean(), last_.actor_loss.mean(), last_.q.mean()})
                            .to(torch::kCPU, torch::kFloat64);
    for (size_t i = 0; i < stats.size(); ++i) stats[i].value = all[static_cast<int64_t>(i)].item<double>();
  } catch (const c10::Error&) {
    // Statistics are advisory; a failing device shows up in the next Update.
  }
  return stats;
}

absl::StatusOr<v1::ParameterSet> Maddpg::ExportPolicy() const {
  v1::PolicySpec spec;
  spec.set_kind(policies::PolicyKindName(policies::PolicyKind::kPerAgent));
  spec.set_obs_dim(options_.env.obs_dim());
  spec.set_action_dim(options_.env.action_dim());
  for (float low : options_.env.action_low) spec.add_action_low(low);
  for (float high : options_.env.action_high) spec.add_action_high(high);
  std::vector<std::pair<std::string, torch::Tensor>> named;
  for (int k = 0; k < num_agents(); ++k) {
    const Agent& agent = agents_[k];
    const envs::JointSlot& slot = agent.slot;
    v1::PolicySpec* inner = spec.add_agents();
    inner->set_kind(policies::PolicyKindName(slot.discrete ? policies::PolicyKind::kCategorical
                                                           : policies::PolicyKind::kDeterministic));
    inner->set_obs_dim(slot.obs_dim);
    inner->set_action_dim(slot.action_width);
    inner->set_action_mask(slot.masked);
    for (int h : options_.hidden) inner->add_hidden_sizes(h);
    if (!slot.discrete) {
      inner->set_exploration_noise(options_.exploration_noise);
      for (int j = slot.action_offset; j < slot.action_offset + slot.action_width; ++j) {
        inner->add_action_low(options_.env.action_low[j]);
        inner->add_action_high(options_.env.action_high[j]);
      }
    }
    for (auto& entry : agent.actor_layers.Named(
             policies::PerAgentPolicy::AgentPrefix(k) + policies::kPolicyPrefix, agent.actor.detach())) {
      named.push_back(std::move(entry));
    }
  }
  try {
    ASSIGN_OR_RETURN(v1::ParameterSet set, ToParameterSet(named));
    *set.mutable_policy() = std::move(spec);
    return set;
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("cannot export the policy: ", e.what_without_backtrace()));
  }
}

std::map<std::string, torch::Tensor> Maddpg::ParametersForTesting() {
  std::map<std::string, torch::Tensor> named;
  for (int k = 0; k < num_agents(); ++k) {
    const Agent& agent = agents_[k];
    const std::pair<const char*, const torch::Tensor*> nets[] = {
        {"actor", &agent.actor}, {"actor_target", &agent.actor_target},
        {"critic", &agent.critic}, {"critic_target", &agent.critic_target}};
    for (const auto& [net, flat] : nets) {
      const Layers& layers = std::string(net).rfind("actor", 0) == 0 ? agent.actor_layers : agent.critic_layers;
      for (auto& [name, view] : layers.Named(AgentName(k, net), flat->detach())) named[name] = view;
    }
  }
  return named;
}

int64_t Maddpg::UpdateMatmulFlops(int64_t batch) const {
  int64_t flops = 0;
  for (const Agent& agent : agents_) {
    const int64_t actor = MatmulFlops(agent.actor_layers.sizes, batch);
    const int64_t critic = MatmulFlops(agent.critic_layers.sizes, batch);
    flops += actor;           // target actor on s'
    flops += critic;          // target critic on (s', a')
    flops += 2 * critic;      // critic forward and weight gradients (autograd skips the inputs')
    flops += critic;          // ... and its hidden layers' input gradients, at most
    flops += 3 * actor;       // actor forward, weight and hidden input gradients
    flops += 2 * critic;      // critic forward on (s, a~) and its input gradients
  }
  return flops;
}

}  // namespace rill::learner
