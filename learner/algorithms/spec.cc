#include "learner/algorithms/spec.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/declared_defaults.h"
#include "common/invalid_field.h"
#include "common/logging.h"
#include "common/os.h"
#include "google/protobuf/descriptor.h"

namespace rill::learner {
namespace {

// For an optional double field: sets it to `fallback` when unset, then
// requires a finite value in [low, high] (or (low, high] when low_open).
template <typename Message>
absl::Status FillDouble(Message& message, const std::string& field, bool (Message::*has)() const,
                        double (Message::*get)() const, void (Message::*set)(double), double fallback, double low,
                        double high, bool low_open) {
  if (!(message.*has)()) (message.*set)(fallback);
  const double value = (message.*get)();
  const bool above = low_open ? value > low : value >= low;
  if (!std::isfinite(value) || !above || value > high) {
    return InvalidField(field, absl::StrCat(value, " is out of range: must be in ", low_open ? "(" : "[", low, ", ",
                                       std::isinf(high) ? "inf)" : absl::StrCat(high, "]")));
  }
  return absl::OkStatus();
}

constexpr double kInf = INFINITY;

// Batches each shard's sampler queues ahead of the update loop (and the
// credits it grants): the loop takes one batch at a time, so a deeper queue
// only holds memory. Experiment config finalization also bounds the queued
// bytes by the machine's memory.
constexpr int kMaxPrefetchBatches = 1024;

// Most intra-op threads: 4 per core on this machine (more only contend),
// and never fewer than kMinThreadLimit, so that a config written for a large
// learner still loads on the smaller machines that also read it (actors,
// replay shards).
constexpr int kMinThreadLimit = 64;
int MaxLearnerThreads() { return std::max(kMinThreadLimit, 4 * OnlineCores()); }

#define RILL_FILL(message, prefix, field, fallback, low, high, low_open)                                      \
  do {                                                                                                          \
    using M = std::decay_t<decltype(message)>;                                                                  \
    absl::Status status = FillDouble<M>(message, absl::StrCat(prefix, "." #field), &M::has_##field, &M::field, \
                                        &M::set_##field, fallback, low, high, low_open);                        \
    if (!status.ok()) return status;                                                                            \
  } while (0)

absl::Status FinalizeSac(v1::LearnerConfig& learner, const envs::EnvSpec& env) {
  v1::SacConfig& sac = *learner.mutable_sac();
  RILL_FILL(sac, "learner.sac", actor_lr, 3e-4, 0, kInf, true);
  RILL_FILL(sac, "learner.sac", critic_lr, 3e-4, 0, kInf, true);
  RILL_FILL(sac, "learner.sac", alpha_lr, 3e-4, 0, kInf, true);
  RILL_FILL(sac, "learner.sac", initial_alpha, 1.0, 0, kInf, true);
  RILL_FILL(sac, "learner.sac", target_entropy, -static_cast<double>(env.action_dim()), -kInf, kInf, false);
  return absl::OkStatus();
}

absl::Status FinalizeDsacT(v1::LearnerConfig& learner, const envs::EnvSpec& env) {
  v1::DsacTConfig& dsac = *learner.mutable_dsac_t();
  RILL_FILL(dsac, "learner.dsac_t", actor_lr, 1e-4, 0, kInf, true);
  RILL_FILL(dsac, "learner.dsac_t", critic_lr, 1e-4, 0, kInf, true);
  RILL_FILL(dsac, "learner.dsac_t", alpha_lr, 3e-4, 0, kInf, true);
  RILL_FILL(dsac, "learner.dsac_t", initial_alpha, 1.0, 0, kInf, true);
  RILL_FILL(dsac, "learner.dsac_t", target_entropy, -static_cast<double>(env.action_dim()), -kInf, kInf, false);
  RILL_FILL(dsac, "learner.dsac_t", td_clip_stds, 3.0, 0, kInf, true);
  RILL_FILL(dsac, "learner.dsac_t", std_average_rate, 0.005, 0, 1, true);
  RILL_FILL(dsac, "learner.dsac_t", gradient_bias, 0.1, 0, kInf, true);
  if (!dsac.has_policy_delay()) dsac.set_policy_delay(2);
  if (dsac.policy_delay() < 1 || dsac.policy_delay() > 1000) {
    return InvalidField("learner.dsac_t.policy_delay",
                        absl::StrCat(dsac.policy_delay(), " is out of range: must be in 1..1000"));
  }
  return absl::OkStatus();
}

absl::Status FinalizeDroq(v1::LearnerConfig& learner, const envs::EnvSpec& env) {
  v1::DroqConfig& droq = *learner.mutable_droq();
  RILL_FILL(droq, "learner.droq", actor_lr, 3e-4, 0, kInf, true);
  RILL_FILL(droq, "learner.droq", critic_lr, 3e-4, 0, kInf, true);
  RILL_FILL(droq, "learner.droq", alpha_lr, 3e-4, 0, kInf, true);
  RILL_FILL(droq, "learner.droq", initial_alpha, 1.0, 0, kInf, true);
  RILL_FILL(droq, "learner.droq", target_entropy, -static_cast<double>(env.action_dim()), -kInf, kInf, false);
  RILL_FILL(droq, "learner.droq", dropout_rate, 0.01, 0, 1, false);
  if (droq.dropout_rate() == 1) {
    return InvalidField("learner.droq.dropout_rate", "1 is out of range: must be in [0, 1) (1 drops every unit)");
  }
  if (!droq.has_layer_norm()) droq.set_layer_norm(true);
  if (!droq.has_num_critics()) droq.set_num_critics(2);
  if (droq.num_critics() < 1 || droq.num_critics() > 10) {
    return InvalidField("learner.droq.num_critics",
                        absl::StrCat(droq.num_critics(), " is out of range: must be in 1..10"));
  }
  if (!droq.has_policy_delay()) {
    const double ratio = learner.updates_per_env_step();
    const bool stated = learner.has_updates_per_env_step() && std::isfinite(ratio) && ratio >= 1 && ratio <= 1000;
    droq.set_policy_delay(stated ? static_cast<int>(std::lround(ratio)) : 1);
  }
  if (droq.policy_delay() < 1 || droq.policy_delay() > 1000) {
    return InvalidField("learner.droq.policy_delay",
                        absl::StrCat(droq.policy_delay(), " is out of range: must be in 1..1000"));
  }
  return absl::OkStatus();
}

absl::Status FinalizeCrossQ(v1::LearnerConfig& learner, const envs::EnvSpec& env) {
  v1::CrossQConfig& crossq = *learner.mutable_crossq();
  const std::string prefix = "learner.crossq";
  RILL_FILL(crossq, prefix, actor_lr, 1e-3, 0, kInf, true);
  RILL_FILL(crossq, prefix, critic_lr, 1e-3, 0, kInf, true);
  RILL_FILL(crossq, prefix, alpha_lr, 1e-3, 0, kInf, true);
  RILL_FILL(crossq, prefix, initial_alpha, 1.0, 0, kInf, true);
  RILL_FILL(crossq, prefix, target_entropy, -static_cast<double>(env.action_dim()), -kInf, kInf, false);
  RILL_FILL(crossq, prefix, adam_beta1, 0.5, 0, 1, false);
  if (crossq.adam_beta1() == 1) {
    return InvalidField(prefix + ".adam_beta1", "1 is out of range: must be in [0, 1) (1 never moves)");
  }
  RILL_FILL(crossq, prefix, renorm_momentum, 0.01, 0, 1, true);
  RILL_FILL(crossq, prefix, renorm_epsilon, 1e-3, 0, kInf, true);
  RILL_FILL(crossq, prefix, renorm_r_max, 3.0, 1, kInf, false);
  RILL_FILL(crossq, prefix, renorm_d_max, 5.0, 0, kInf, false);
  if (!crossq.has_renorm_warmup_steps()) crossq.set_renorm_warmup_steps(100000);
  if (crossq.renorm_warmup_steps() < 0) {
    return InvalidField(prefix + ".renorm_warmup_steps",
                        absl::StrCat(crossq.renorm_warmup_steps(), " is out of range: must be >= 0"));
  }
  if (!crossq.has_policy_delay()) crossq.set_policy_delay(3);
  if (crossq.policy_delay() < 1 || crossq.policy_delay() > 1000) {
    return InvalidField(prefix + ".policy_delay",
                        absl::StrCat(crossq.policy_delay(), " is out of range: must be in 1..1000"));
  }
  if (!crossq.has_num_critics()) crossq.set_num_critics(2);
  if (crossq.num_critics() < 1 || crossq.num_critics() > 10) {
    return InvalidField(prefix + ".num_critics",
                        absl::StrCat(crossq.num_critics(), " is out of range: must be in 1..10"));
  }
  if (crossq.critic_hidden_sizes().empty()) {
    crossq.add_critic_hidden_sizes(2048);
    crossq.add_critic_hidden_sizes(2048);
  }
  for (int i = 0; i < crossq.critic_hidden_sizes_size(); ++i) {
    const int size = crossq.critic_hidden_sizes(i);
    if (size < 1 || size > 65536) {
      return InvalidField(absl::StrCat(prefix, ".critic_hidden_sizes[", i, "]"),
                          absl::StrCat(size, " is out of range: must be in 1..65536"));
    }
  }
  return absl::OkStatus();
}

// An int field of `message` set to `fallback` when unset, then required in
// [low, high].
#define RILL_FILL_INT(message, prefix, field, fallback, low, high)                                              \
  do {                                                                                                          \
    if (!(message).has_##field()) (message).set_##field(fallback);                                              \
    if ((message).field() < (low) || (message).field() > (high)) {                                              \
      return InvalidField(absl::StrCat(prefix, "." #field),                                                     \
                          absl::StrCat((message).field(), " is out of range: must be in ", low, "..", high));   \
    }                                                                                                           \
  } while (0)

// SimbaV2's network begins with the running-statistics normalisation of
// the observations, so it sets learner.normalize_observations.
absl::Status FinalizeSimbaV2(v1::LearnerConfig& learner, const envs::EnvSpec& env) {
  v1::SimbaV2Config& simba = *learner.mutable_simbav2();
  const std::string prefix = "learner.simbav2";
  RILL_FILL(simba, prefix, actor_lr, 1e-4, 0, kInf, true);
  RILL_FILL(simba, prefix, critic_lr, 1e-4, 0, kInf, true);
  RILL_FILL(simba, prefix, alpha_lr, 1e-4, 0, kInf, true);
  RILL_FILL(simba, prefix, initial_alpha, 0.01, 0, kInf, true);
  RILL_FILL(simba, prefix, target_entropy, -0.5 * env.action_dim(), -kInf, kInf, false);
  RILL_FILL(simba, prefix, final_lr_fraction, 0.5, 0, 1, true);
  RILL_FILL_INT(simba, prefix, lr_decay_updates, 1000000, 1, int64_t{1} << 40);
  RILL_FILL_INT(simba, prefix, actor_hidden_size, 128, 1, 65536);
  RILL_FILL_INT(simba, prefix, actor_blocks, 1, 0, 16);
  RILL_FILL_INT(simba, prefix, critic_hidden_size, 512, 1, 65536);
  RILL_FILL_INT(simba, prefix, critic_blocks, 2, 0, 16);
  RILL_FILL_INT(simba, prefix, num_atoms, 101, 2, 1001);
  RILL_FILL(simba, prefix, v_max, 5.0, 0, kInf, true);
  RILL_FILL(simba, prefix, shift, 3.0, 0, kInf, false);
  learner.set_normalize_observations(true);
  return absl::OkStatus();
}

// TD3 and DDPG share the message and every rule; only the defaults differ.
absl::Status FinalizeTd3Like(v1::Td3Config& td3, const std::string& prefix, int critics, double noise, int delay) {
  RILL_FILL(td3, prefix, actor_lr, 1e-3, 0, kInf, true);
  RILL_FILL(td3, prefix, critic_lr, 1e-3, 0, kInf, true);
  RILL_FILL(td3, prefix, target_noise, noise, 0, kInf, false);
  RILL_FILL(td3, prefix, target_noise_clip, 0.5, 0, kInf, false);
  RILL_FILL(td3, prefix, exploration_noise, 0.1, 0, kInf, false);
  if (!td3.has_num_critics()) td3.set_num_critics(critics);
  if (td3.num_critics() < 1 || td3.num_critics() > 8) {
    return InvalidField(prefix + ".num_critics", absl::StrCat(td3.num_critics(), " is out of range: must be in 1..8"));
  }
  if (!td3.has_policy_delay()) td3.set_policy_delay(delay);
  if (td3.policy_delay() < 1) {
    return InvalidField(prefix + ".policy_delay", absl::StrCat(td3.policy_delay(), " is out of range: must be >= 1"));
  }
  return absl::OkStatus();
}

absl::Status FinalizeTd3(v1::LearnerConfig& learner, const envs::EnvSpec&) {
  return FinalizeTd3Like(*learner.mutable_td3(), "learner.td3", /*critics=*/2, /*noise=*/0.2, /*delay=*/2);
}

absl::Status FinalizeDdpg(v1::LearnerConfig& learner, const envs::EnvSpec&) {
  return FinalizeTd3Like(*learner.mutable_ddpg(), "learner.ddpg", /*critics=*/1, /*noise=*/0, /*delay=*/1);
}

absl::Status FinalizeSacDiscrete(v1::LearnerConfig& learner, const envs::EnvSpec&) {
  v1::SacDiscreteConfig& sac = *learner.mutable_sac_discrete();
  RILL_FILL(sac, "learner.sac_discrete", actor_lr, 3e-4, 0, kInf, true);
  RILL_FILL(sac, "learner.sac_discrete", critic_lr, 3e-4, 0, kInf, true);
  RILL_FILL(sac, "learner.sac_discrete", alpha_lr, 3e-4, 0, kInf, true);
  RILL_FILL(sac, "learner.sac_discrete", initial_alpha, 1.0, 0, kInf, true);
  RILL_FILL(sac, "learner.sac_discrete", target_entropy_fraction, 0.89, 0, 1, true);
  return absl::OkStatus();
}

absl::Status FinalizeDrqV2(v1::LearnerConfig& learner, const envs::EnvSpec& env) {
  if (env.observation_shape.size() != 3) {
    return InvalidField("learner.drqv2",
                        absl::StrCat("drqv2 learns from images [C, H, W]; env ", env.name, " observes [",
                                     absl::StrJoin(env.observation_shape, ", "),
                                     "] (env.pixels turns an env that renders into one)"));
  }
  v1::DrqV2Config& drq = *learner.mutable_drqv2();
  RILL_FILL(drq, "learner.drqv2", lr, 1e-4, 0, kInf, true);
  RILL_FILL(drq, "learner.drqv2", std_start, 1.0, 0, kInf, false);
  RILL_FILL(drq, "learner.drqv2", std_end, 0.1, 0, kInf, false);
  RILL_FILL(drq, "learner.drqv2", std_clip, 0.3, 0, kInf, false);
  RILL_FILL(drq, "learner.drqv2", reward_scale, 1.0, 0, kInf, true);
  if (!drq.has_feature_dim()) drq.set_feature_dim(50);
  if (drq.feature_dim() < 1 || drq.feature_dim() > 4096) {
    return InvalidField("learner.drqv2.feature_dim",
                        absl::StrCat(drq.feature_dim(), " is out of range: must be in 1..4096"));
  }
  if (!drq.has_std_schedule_updates()) drq.set_std_schedule_updates(250000);
  if (drq.std_schedule_updates() < 0) {
    return InvalidField("learner.drqv2.std_schedule_updates",
                        absl::StrCat(drq.std_schedule_updates(), " must be >= 0 (0: std_end from the start)"));
  }
  if (!drq.has_pad()) drq.set_pad(4);
  if (drq.pad() < 0 || drq.pad() > 16) {
    return InvalidField("learner.drqv2.pad", absl::StrCat(drq.pad(), " is out of range: must be in 0..16"));
  }
  // The paper's target rate and n-step return, where the config says none.
  if (!learner.has_tau()) learner.set_tau(0.01);
  if (learner.n_step() == 0) learner.set_n_step(3);
  return absl::OkStatus();
}

int DrqV2Trunk(const v1::LearnerConfig& learner) { return learner.drqv2().feature_dim(); }

absl::Status FinalizeImpala(v1::LearnerConfig& learner, const envs::EnvSpec&) {
  v1::ImpalaConfig& impala = *learner.mutable_impala();
  if (!impala.has_unroll_length()) impala.set_unroll_length(20);
  if (impala.unroll_length() < 1 || impala.unroll_length() > 1000) {
    return InvalidField("learner.impala.unroll_length",
                   absl::StrCat(impala.unroll_length(), " is out of range: must be in 1..1000"));
  }
  RILL_FILL(impala, "learner.impala", rho_bar, 1.0, 0, kInf, true);
  RILL_FILL(impala, "learner.impala", c_bar, 1.0, 0, kInf, true);
  RILL_FILL(impala, "learner.impala", lambda, 1.0, 0, 1, false);
  RILL_FILL(impala, "learner.impala", baseline_cost, 0.5, 0, kInf, false);
  RILL_FILL(impala, "learner.impala", entropy_cost, 0.01, 0, kInf, false);
  RILL_FILL(impala, "learner.impala", max_grad_norm, 40.0, 0, kInf, false);
  if (!v1::ImpalaConfig::Optimizer_IsValid(impala.optimizer())) {
    return InvalidField("learner.impala.optimizer", absl::StrCat(impala.optimizer(), " is unknown (known: RMSPROP, ADAM)"));
  }
  const bool adam = impala.optimizer() == v1::ImpalaConfig::ADAM;
  RILL_FILL(impala, "learner.impala", learning_rate, adam ? 1e-3 : 6e-4, 0, kInf, true);
  RILL_FILL(impala, "learner.impala", epsilon, adam ? 1e-8 : 0.01, 0, kInf, true);
  RILL_FILL(impala, "learner.impala", popart_beta, 3e-3, 0, 1, true);
  if (impala.lr_decay_env_steps() < 0) return InvalidField("learner.impala.lr_decay_env_steps", "must be >= 0");
  if (learner.batch_size() == 0) learner.set_batch_size(32);
  return absl::OkStatus();
}

absl::Status FinalizePpo(v1::LearnerConfig& learner, const envs::EnvSpec& env) {
  v1::PpoConfig& ppo = *learner.mutable_ppo();
  if (ppo.centralised_value() && (env.state_dim <= 0 || env.joint_agents > 0)) {
    return InvalidField("learner.ppo.centralised_value",
                        absl::StrCat("needs rows that are agents of a multi-agent env offering a global state; ",
                                     env.name,
                                     env.joint_agents > 0 ? " is stepped with env.joint_agents (a row is every agent)"
                                                          : " offers none (CooperativeNavigation-v0, "
                                                            "PhysicalDeception-v0 and PongDuel-v0 do)"));
  }
  if (!ppo.has_unroll_length()) ppo.set_unroll_length(128);
  if (ppo.unroll_length() < 1 || ppo.unroll_length() > 1000) {
    return InvalidField("learner.ppo.unroll_length",
                        absl::StrCat(ppo.unroll_length(), " is out of range: must be in 1..1000"));
  }
  RILL_FILL(ppo, "learner.ppo", lambda, 0.95, 0, 1, false);
  RILL_FILL(ppo, "learner.ppo", clip_range, 0.2, 0, 1, true);
  RILL_FILL(ppo, "learner.ppo", value_clip_range, 0.0, 0, kInf, false);
  if (!ppo.has_normalize_advantages()) ppo.set_normalize_advantages(true);
  if (!ppo.has_state_independent_log_std()) ppo.set_state_independent_log_std(true);
  RILL_FILL(ppo, "learner.ppo", value_cost, 0.5, 0, kInf, false);
  RILL_FILL(ppo, "learner.ppo", entropy_cost, 0.01, 0, kInf, false);
  if (!ppo.has_epochs()) ppo.set_epochs(4);
  if (ppo.epochs() < 1 || ppo.epochs() > 1000) {
    return InvalidField("learner.ppo.epochs", absl::StrCat(ppo.epochs(), " is out of range: must be in 1..1000"));
  }
  RILL_FILL(ppo, "learner.ppo", target_kl, 0.0, 0, kInf, false);
  RILL_FILL(ppo, "learner.ppo", learning_rate, 3e-4, 0, kInf, true);
  RILL_FILL(ppo, "learner.ppo", epsilon, 1e-5, 0, kInf, true);
  if (ppo.lr_decay_env_steps() < 0) return InvalidField("learner.ppo.lr_decay_env_steps", "must be >= 0");
  RILL_FILL(ppo, "learner.ppo", max_grad_norm, 0.5, 0, kInf, false);
  RILL_FILL(ppo, "learner.ppo", rho_bar, 1.0, 0, kInf, true);
  RILL_FILL(ppo, "learner.ppo", c_bar, 1.0, 0, kInf, true);
  if (learner.batch_size() == 0) learner.set_batch_size(8);
  if (!ppo.has_num_minibatches()) ppo.set_num_minibatches(4);
  // Minibatches cut the batch's B x T steps into equal parts.
  const int64_t steps = static_cast<int64_t>(learner.batch_size()) * ppo.unroll_length();
  if (ppo.num_minibatches() < 1 || (learner.batch_size() > 0 && steps % ppo.num_minibatches() != 0)) {
    return InvalidField("learner.ppo.num_minibatches",
                        absl::StrCat(ppo.num_minibatches(), " must be >= 1 and divide the batch's ", steps,
                                     " steps (learner.batch_size ", learner.batch_size(), " x unroll_length ",
                                     ppo.unroll_length(), ")"));
  }
  return absl::OkStatus();
}

// The paper's settings (Lowe et al. 2017, appendix; its code's gradient
// clip and output regularisation) where the config states none.
absl::Status FinalizeMaddpg(v1::LearnerConfig& learner, const envs::EnvSpec& env) {
  if (env.joint_agents == 0) {
    return InvalidField("learner.maddpg", absl::StrCat("trains every agent of a multi-agent env together; ", env.name,
                                                       " is a single-agent env (rill envs lists the multi-agent "
                                                       "ones)"));
  }
  v1::MaddpgConfig& maddpg = *learner.mutable_maddpg();
  RILL_FILL(maddpg, "learner.maddpg", actor_lr, 1e-2, 0, kInf, true);
  RILL_FILL(maddpg, "learner.maddpg", critic_lr, 1e-2, 0, kInf, true);
  RILL_FILL(maddpg, "learner.maddpg", gumbel_temperature, 1.0, 0, kInf, true);
  RILL_FILL(maddpg, "learner.maddpg", policy_regularization, 1e-3, 0, kInf, false);
  RILL_FILL(maddpg, "learner.maddpg", max_grad_norm, 0.5, 0, kInf, false);
  RILL_FILL(maddpg, "learner.maddpg", exploration_noise, 0.1, 0, kInf, false);
  if (!v1::MaddpgConfig::Critic_IsValid(maddpg.critic())) {
    return InvalidField("learner.maddpg.critic", absl::StrCat(maddpg.critic(), " is unknown (known: CENTRALISED, OWN)"));
  }
  if (learner.normalize_observations()) {
    return InvalidField("learner.normalize_observations", "maddpg's actors see their observations as they are");
  }
  if (!learner.has_gamma()) learner.set_gamma(0.95);
  if (!learner.has_tau()) learner.set_tau(0.01);
  if (learner.batch_size() == 0) learner.set_batch_size(1024);
  return absl::OkStatus();
}

#undef RILL_FILL

// Off-policy algorithms: n-step transitions, actors never wait.
ActorDuty TransitionDuty(const v1::LearnerConfig& learner) {
  ActorDuty duty;
  duty.items.kind = items::ItemKind::kTransition;
  duty.items.n_step = learner.n_step();
  duty.items.gamma = learner.gamma();
  return duty;
}

ActorDuty ImpalaDuty(const v1::LearnerConfig& learner) {
  ActorDuty duty;
  duty.items.kind = items::ItemKind::kUnroll;
  duty.items.unroll_length = learner.impala().unroll_length();
  duty.synchronous = learner.impala().synchronous();
  duty.synchronous_field = "learner.impala.synchronous";
  return duty;
}

ActorDuty PpoDuty(const v1::LearnerConfig& learner) {
  ActorDuty duty;
  duty.items.kind = items::ItemKind::kUnroll;
  duty.items.unroll_length = learner.ppo().unroll_length();
  duty.items.global_state = learner.ppo().centralised_value();
  duty.synchronous = learner.ppo().synchronous();
  duty.synchronous_field = "learner.ppo.synchronous";
  return duty;
}

// A network.lstm core trains on whole unrolls: PPO's minibatches then cut
// the batch's unrolls, not its steps.
absl::Status CheckPpoNetwork(const v1::LearnerConfig& learner, const v1::NetworkConfig& network) {
  if (network.has_lstm() && learner.ppo().centralised_value()) {
    return InvalidField("learner.ppo.centralised_value", "takes no network.lstm (its value is a feed-forward MLP)");
  }
  if (network.has_lstm() && learner.batch_size() % learner.ppo().num_minibatches() != 0) {
    return InvalidField("learner.ppo.num_minibatches",
                        absl::StrCat(learner.ppo().num_minibatches(), " does not divide learner.batch_size ",
                                     learner.batch_size(), ": with network.lstm a minibatch is whole unrolls"));
  }
  return absl::OkStatus();
}

// The rows with each name filled from the oneof field their case selects,
// so that the name is written once (proto/config.proto).
const std::vector<AlgorithmSpec>* WithNames(std::vector<AlgorithmSpec> rows) {
  for (AlgorithmSpec& row : rows) {
    const google::protobuf::FieldDescriptor* field =
        v1::LearnerConfig::descriptor()->FindFieldByNumber(static_cast<int>(row.config_case));
    if (field == nullptr || field->containing_oneof() == nullptr) {
      RILL_LOG(FATAL) << "AlgorithmSpec row " << row.config_case << " is no field of the learner.algorithm oneof";
    }
    row.name = field->name();
  }
  return new std::vector<AlgorithmSpec>(std::move(rows));
}

}  // namespace

const std::vector<AlgorithmSpec>& AlgorithmSpecs() {
  using C = v1::LearnerConfig;
  using items::ItemKind;
  // One row per algorithm, in the oneof's order.
  static const std::vector<AlgorithmSpec>* const kSpecs = WithNames({
      {.config_case = C::kSac, .finalize = &FinalizeSac, .actor_duty = &TransitionDuty, .gelu = true},
      {.config_case = C::kTd3, .finalize = &FinalizeTd3, .actor_duty = &TransitionDuty},
      {.config_case = C::kDdpg, .finalize = &FinalizeDdpg, .actor_duty = &TransitionDuty},
      {.config_case = C::kSacDiscrete,
       .action_spaces = ActionSpaces::kDiscrete,
       .finalize = &FinalizeSacDiscrete,
       .actor_duty = &TransitionDuty,
       .conv_torso = true,
       .dict_observations = true},
      {.config_case = C::kImpala,
       .action_spaces = ActionSpaces::kBoth,
       .finalize = &FinalizeImpala,
       .item_kind = ItemKind::kUnroll,
       .actor_duty = &ImpalaDuty,
       .conv_torso = true,
       .dict_observations = true,
       .recurrent_core = true},
      {.config_case = C::kPpo,
       .action_spaces = ActionSpaces::kBoth,
       .finalize = &FinalizePpo,
       .item_kind = ItemKind::kUnroll,
       .actor_duty = &PpoDuty,
       .conv_torso = true,
       .dict_observations = true,
       .recurrent_core = true,
       .check_network = &CheckPpoNetwork},
      {.config_case = C::kDrqv2,
       .finalize = &FinalizeDrqV2,
       .actor_duty = &TransitionDuty,
       .conv_torso = true,
       .dict_observations = true,
       .needs_torso = true,
       .policy_trunk = &DrqV2Trunk},
      {.config_case = C::kMaddpg,
       .finalize = &FinalizeMaddpg,
       .actor_duty = &TransitionDuty,
       .joint_agents = true},
      {.config_case = C::kDsacT,
       .finalize = &FinalizeDsacT,
       .actor_duty = &TransitionDuty,
       .gelu = true,
       .default_activation = v1::GELU},  // the paper's networks
      {.config_case = C::kDroq, .finalize = &FinalizeDroq, .actor_duty = &TransitionDuty},
      {.config_case = C::kCrossq, .finalize = &FinalizeCrossQ, .actor_duty = &TransitionDuty},
      {.config_case = C::kSimbav2, .finalize = &FinalizeSimbaV2, .actor_duty = &TransitionDuty},
  });
  return *kSpecs;
}

const std::string& AlgorithmName(v1::LearnerConfig::AlgorithmCase config_case) {
  for (const AlgorithmSpec& spec : AlgorithmSpecs()) {
    if (spec.config_case == config_case) return spec.name;
  }
  RILL_LOG(FATAL) << "no AlgorithmSpec row for learner.algorithm case " << config_case;
  std::abort();
}

ActorDuty ActorDutyFor(const AlgorithmSpec& spec, const v1::ExperimentConfig& config) {
  ActorDuty duty = spec.actor_duty(config.learner());
  if (spec.recurrent_core && duty.items.kind == items::ItemKind::kUnroll) {
    duty.items.core_state_size = 2 * config.network().lstm().size();
  }
  return duty;
}

std::string KnownAlgorithmNames() {
  std::vector<std::string> names;
  for (const AlgorithmSpec& spec : AlgorithmSpecs()) names.push_back(spec.name);
  return absl::StrJoin(names, ", ");
}

bool TrainsOnJointAgents(const v1::LearnerConfig& learner) {
  absl::StatusOr<const AlgorithmSpec*> spec = FindAlgorithmSpec(learner);
  return spec.ok() && (*spec)->joint_agents;
}

absl::StatusOr<const AlgorithmSpec*> FindAlgorithmSpec(const v1::LearnerConfig& learner) {
  for (const AlgorithmSpec& spec : AlgorithmSpecs()) {
    if (spec.config_case == learner.algorithm_case()) return &spec;
  }
  return InvalidField("learner.algorithm", absl::StrCat("no algorithm is selected (known: ", KnownAlgorithmNames(), ")"));
}

absl::StatusOr<const AlgorithmSpec*> FindAlgorithmSpec(absl::string_view name) {
  for (const AlgorithmSpec& spec : AlgorithmSpecs()) {
    if (spec.name == name) return &spec;
  }
  return absl::NotFoundError(absl::StrCat("unknown algorithm '", name, "' (known: ", KnownAlgorithmNames(), ")"));
}

const google::protobuf::Message* AlgorithmSection(const v1::LearnerConfig& learner) {
  if (learner.algorithm_case() == v1::LearnerConfig::ALGORITHM_NOT_SET) return nullptr;
  const google::protobuf::FieldDescriptor* field =
      v1::LearnerConfig::descriptor()->FindFieldByNumber(static_cast<int>(learner.algorithm_case()));
  return &learner.GetReflection()->GetMessage(learner, field);
}

absl::Status FinalizeLearnerConfig(v1::LearnerConfig& learner, const envs::EnvSpec& env) {
  if (learner.algorithm_case() == v1::LearnerConfig::ALGORITHM_NOT_SET) {
    if (env.discrete) {
      learner.mutable_sac_discrete();
    } else {
      learner.mutable_sac();
    }
  }
  absl::StatusOr<const AlgorithmSpec*> spec = FindAlgorithmSpec(learner);
  if (!spec.ok()) return spec.status();
  const std::string field = absl::StrCat("learner.", (*spec)->name);
  const ActionSpaces spaces = (*spec)->action_spaces;
  if (spaces != ActionSpaces::kBoth && (spaces == ActionSpaces::kDiscrete) != env.discrete) {
    return InvalidField(field, absl::StrCat((*spec)->name, " needs a ", spaces == ActionSpaces::kDiscrete ? "discrete" : "continuous",
                                       " action space; ", env.name, " is ", env.discrete ? "discrete" : "continuous"));
  }
  absl::Status status = (*spec)->finalize(learner, env);
  if (!status.ok()) return status;

  // The defaults every algorithm shares, for the fields its finalizer left
  // (batch_size, tau and n_step are per algorithm: each finalizer above
  // sets its own first).
  FillDeclaredDefaults(learner);
  if (learner.batch_size() == 0) learner.set_batch_size(256);
  if (learner.batch_size() < 0) return InvalidField("learner.batch_size", "must be > 0");
  if (!(learner.gamma() >= 0 && learner.gamma() <= 1)) {
    return InvalidField("learner.gamma", absl::StrCat(learner.gamma(), " is out of range: must be in [0, 1]"));
  }
  if (!learner.has_tau()) learner.set_tau(0.005);
  if (!(learner.tau() >= 0 && learner.tau() <= 1)) {
    return InvalidField("learner.tau", absl::StrCat(learner.tau(), " is out of range: must be in [0, 1]"));
  }
  if (learner.n_step() == 0) learner.set_n_step(1);
  if (learner.n_step() < 0 || learner.n_step() > 1000) {
    return InvalidField("learner.n_step", absl::StrCat(learner.n_step(), " is out of range: must be in 1..1000"));
  }
  if (!v1::LearnerConfig::Device_IsValid(learner.device())) {
    return InvalidField("learner.device", absl::StrCat(learner.device(), " is unknown (known: AUTO, CPU, CUDA)"));
  }
  if (learner.publish_every() < 0) return InvalidField("learner.publish_every", "must be > 0");
  if (learner.prefetch_batches() < 0 || learner.prefetch_batches() > kMaxPrefetchBatches) {
    return InvalidField("learner.prefetch_batches",
                        absl::StrCat(learner.prefetch_batches(), " is out of range: must be in 1..",
                                     kMaxPrefetchBatches, " (batches queued per shard ahead of the update loop, "
                                     "which takes one at a time)"));
  }
  if (learner.max_prefetch_bytes() < 0) return InvalidField("learner.max_prefetch_bytes", "must be >= 0");
  if (learner.checkpoint_every() < 0) return InvalidField("learner.checkpoint_every", "must be >= 0");
  if (learner.num_threads() < 0) return InvalidField("learner.num_threads", "must be >= 0");
  if (learner.num_threads() > MaxLearnerThreads()) {
    return InvalidField("learner.num_threads",
                        absl::StrCat(learner.num_threads(), " is out of range: at most ", MaxLearnerThreads(),
                                     " intra-op threads (4 per core of this machine's ", OnlineCores(),
                                     ", at least ", kMinThreadLimit, "); 0 uses every core"));
  }
  if (learner.has_max_policy_lag() && learner.max_policy_lag() < 0) {
    return InvalidField("learner.max_policy_lag", absl::StrCat(learner.max_policy_lag(), " is out of range: must be >= 0"));
  }
  if (!(learner.observation_clip() > 0) || std::isinf(learner.observation_clip())) {
    return InvalidField("learner.observation_clip",
                   absl::StrCat(learner.observation_clip(), " is out of range: must be in (0, inf)"));
  }
  const ActorDuty duty = (*spec)->actor_duty(learner);
  if (learner.has_updates_per_env_step()) {
    const double ratio = learner.updates_per_env_step();
    if (duty.items.kind == items::ItemKind::kUnroll) {
      return InvalidField("learner.updates_per_env_step",
                          absl::StrCat((*spec)->name, " trains on each unroll once, as it arrives: the ratio of "
                                       "updates to env steps is not its to set (it is for the off-policy learners)"));
    }
    if (!std::isfinite(ratio) || !(ratio > 0) || ratio > 1000) {
      return InvalidField("learner.updates_per_env_step",
                          absl::StrCat(ratio, " is out of range: must be in (0, 1000]"));
    }
  }
  if (duty.synchronous && learner.publish_every() != 1) {
    return InvalidField(duty.synchronous_field,
                   absl::StrCat("needs learner.publish_every 1 (actors wait for every new version; got ",
                                learner.publish_every(), ")"));
  }
  return absl::OkStatus();
}

}  // namespace rill::learner
