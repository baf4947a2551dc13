#include "bench/agents_vs_single.h"

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "actor/action_sources/fixed.h"
#include "actor/item_step.h"
#include "actor/lockstep_envs.h"
#include "bench/agent_turns.h"
#include "bench/measure.h"
#include "bench/solo_navigation.h"
#include "common/bench_probes.h"
#include "common/blas.h"
#include "common/status_macros.h"
#include "envs/batch/agent_rows.h"
#include "envs/batch/local.h"
#include "envs/batch/local_multi_agent_envs.h"
#include "envs/catalog.h"
#include "envs/registry.h"
#include "items/registry.h"
#include "policies/registry.h"
#include "policies/spec.h"
#include "proto/config.pb.h"

namespace rill::bench {
namespace {

// The target: K agents' actor loop costs at most this many times a
// single-agent env's per agent-step.
constexpr double kTargetCostRatio = 1.25;
// Rounds each loop is measured in, the loops taking turns.
constexpr int kRounds = 3;
// PPO's unrolls of one CooperativeNavigation episode
// (deploy/configs/cooperative_navigation_ppo.textpb).
constexpr int kUnrollLength = 25;

// What one actor does per step for its rows, less the network and metrics
// (actor/actor.cc: ChooseActions, LockstepEnvs::Step, AddSteps, the obs
// swap), with the time each part took.
class ActorLoop {
 public:
  // Time spent in each part, and the agent-steps taken, since Create.
  struct Splits {
    absl::Duration policy;
    absl::Duration env;
    absl::Duration bookkeeping;
    int64_t agent_steps = 0;
  };

  // `envs` acted on by a policy with `parameters`, their steps built into
  // PPO unrolls. Errors: the policy's Load, the item builder's Create.
  static absl::StatusOr<std::unique_ptr<ActorLoop>> Create(std::unique_ptr<actor::LockstepEnvs> envs,
                                                           const v1::ParameterSet& parameters) {
    std::unique_ptr<ActorLoop> loop(new ActorLoop(std::move(envs)));
    RETURN_IF_ERROR(loop->source_.Load(parameters, /*version=*/1));
    items::ItemOptions options;
    options.kind = items::ItemKind::kUnroll;
    options.unroll_length = kUnrollLength;
    const envs::EnvSpec& spec = loop->envs_->spec();
    ASSIGN_OR_RETURN(loop->items_, items::MakeItemBuilder(options, spec, loop->envs_->size(),
                                                          items::DefaultSignature(options, spec)));
    RETURN_IF_ERROR(loop->envs_->ResetAll());
    loop->next_obs_.resize(loop->envs_->obs().size());
    loop->final_obs_.resize(loop->envs_->obs().size());
    return loop;
  }

  int rows() const { return envs_->size(); }
  const Splits& splits() const { return splits_; }

  // One step of every row. Errors: the policy's, the envs'.
  absl::Status Step() {
    const absl::Time start = absl::Now();
    RETURN_IF_ERROR(source_.Act(envs_->observation_rows(), /*deterministic=*/false, items_->needs_behaviour(),
                                stop_, envs_->buffers()));
    const absl::Time acted = absl::Now();
    const int n = envs_->size();
    RETURN_IF_ERROR(envs_->Step(n, &next_obs_, &final_obs_, &outcomes_));
    const absl::Time stepped = absl::Now();
    AddSteps(n);
    // No replay here: the unrolls completed are dropped.
    items_->ClearReady();
    envs_->obs().swap(next_obs_);
    const absl::Time end = absl::Now();
    splits_.policy += acted - start;
    splits_.env += stepped - acted;
    splits_.bookkeeping += end - stepped;
    splits_.agent_steps += n;
    return absl::OkStatus();
  }

 private:
  explicit ActorLoop(std::unique_ptr<actor::LockstepEnvs> envs)
      : envs_(std::move(envs)), source_(envs_->spec(), /*seed=*/1) {}

  // Actor::AddSteps, without its metrics and self-play seats.
  void AddSteps(int n) {
    const size_t obs_bytes = static_cast<size_t>(envs_->obs_bytes());
    for (int i = 0; i < n; ++i) {
      const actor::EnvOutcome& outcome = outcomes_[i];
      if (outcome.masked) continue;
      if (outcome.failed) {
        items_->DropPending(i);
        continue;
      }
      items_->AddStep(i, actor::ItemStep(*envs_, i, outcome, &next_obs_[i * obs_bytes], &final_obs_[i * obs_bytes],
                                         /*version=*/1));
    }
  }

  std::unique_ptr<actor::LockstepEnvs> envs_;
  actor::FixedPolicySource source_;
  std::unique_ptr<items::ItemBuilder> items_;
  std::vector<uint8_t> next_obs_, final_obs_;
  std::vector<actor::EnvOutcome> outcomes_;
  absl::Notification stop_;  // never notified: nothing here waits
  Splits splits_;
};

// One side's figures.
struct Side {
  int agents_per_env = 1;
  double agent_steps_per_second = 0;  // the mean of the rounds'
  ActorLoop::Splits splits;
  double bare_agent_steps_per_second = 0;
  // The env's layers, each measured alone with cycling actions, from its
  // bare Step up to LockstepEnvs::Step: {name, us per agent-step}.
  std::vector<std::pair<std::string, double>> layers;

  double us_per_agent_step() const { return 1e6 / agent_steps_per_second; }
  double us(absl::Duration part) const {
    return absl::ToDoubleMicroseconds(part) / static_cast<double>(splits.agent_steps);
  }
  std::string Json() const {
    return absl::StrFormat(
        "{\"agent_steps_per_second\": %.1f, \"env_steps_per_second\": %.1f, \"us_per_agent_step\": %.3f, "
        "\"policy_us_per_agent_step\": %.3f, \"env_us_per_agent_step\": %.3f, "
        "\"bookkeeping_us_per_agent_step\": %.3f, \"bare_env_agent_steps_per_second\": %.1f, "
        "\"us_per_agent_step_beyond_bare_env\": %.3f, \"env_layers_us_per_agent_step\": {%s}}",
        agent_steps_per_second, agent_steps_per_second / agents_per_env, us_per_agent_step(), us(splits.policy),
        us(splits.env), us(splits.bookkeeping), bare_agent_steps_per_second, beyond_bare_env(),
        absl::StrJoin(layers, ", ", [](std::string* out, const std::pair<std::string, double>& layer) {
          absl::StrAppendFormat(out, "\"%s\": %.3f", layer.first, layer.second);
        }));
  }
  // The loop's time per agent-step less the env's own Step.
  double beyond_bare_env() const { return us_per_agent_step() - 1e6 / bare_agent_steps_per_second; }
  void Print(const char* what, int rows) const {
    std::fprintf(stderr,
                 "bench env --bench_agents_vs_single: %s, %d rows: %.0f agent-steps/s (%.0f env steps/s), %.2f us "
                 "per agent-step: policy %.2f, env step %.2f, bookkeeping %.2f; bare env Step %.0f agent-steps/s\n",
                 what, rows, agent_steps_per_second, agent_steps_per_second / agents_per_env, us_per_agent_step(),
                 us(splits.policy), us(splits.env), us(splits.bookkeeping), bare_agent_steps_per_second);
    std::fprintf(stderr, "bench env --bench_agents_vs_single: %s, its env's layers in us per agent-step:", what);
    for (const auto& [layer, us] : layers) std::fprintf(stderr, " %s %.3f", layer.c_str(), us);
    std::fprintf(stderr, "\n");
  }
};

// Discrete actions for `rows` rows at step t: every action in turn, each
// row a different one (the same pattern in every measurement here).
void CycleActions(int64_t t, int rows, int num_actions, float* actions) {
  for (int i = 0; i < rows; ++i) actions[i] = static_cast<float>((t + i) % num_actions);
}

// A single-agent env of the comparison, by how it is made.
struct SingleAgentEnv {
  std::string name;
  std::function<absl::StatusOr<std::unique_ptr<envs::Env>>(uint64_t seed)> make;
};

// The bare Step of one such env at its fastest (MeasureFastest): agent-steps/s.
absl::StatusOr<double> BareEnv(const SingleAgentEnv& kind, absl::Duration duration) {
  ASSIGN_OR_RETURN(std::unique_ptr<envs::Env> env, kind.make(/*seed=*/1));
  std::vector<float> obs(env->obs_dim());
  float action = 0;
  env->Reset(obs.data());
  int64_t t = 0;
  return MeasureFastest(duration, 1, [&]() -> absl::Status {
    CycleActions(t++, 1, env->spec().num_actions, &action);
    ASSIGN_OR_RETURN(const envs::StepResult result, env->Step(&action, obs.data()));
    if (result.truncated || result.terminated) env->Reset(obs.data());
    return absl::OkStatus();
  });
}

// Where an EnvBatch's Step writes, for `rows` rows of `obs_dim` floats.
struct BatchBuffers {
  BatchBuffers(int rows, int obs_dim)
      : obs(static_cast<size_t>(rows) * obs_dim * sizeof(float)),
        final_obs(obs.size()),
        rewards(rows),
        terminated(rows),
        truncated(rows),
        masked(rows) {}
  envs::EnvBatchOutput Output() {
    return envs::EnvBatchOutput{obs.data(),        final_obs.data(), rewards.data(), terminated.data(),
                                truncated.data(),  masked.data(),    &failures,      &env_episodes};
  }
  std::vector<uint8_t> obs, final_obs;
  std::vector<float> rewards;
  std::vector<uint8_t> terminated, truncated, masked;
  std::vector<envs::EnvFailure> failures;
  std::vector<envs::EnvEpisodeFigures> env_episodes;
};

// A batch's Step of all its rows, cycling actions: agent-steps/s.
absl::StatusOr<double> MeasureBatch(envs::EnvBatch& batch, absl::Duration duration) {
  const int rows = batch.size();
  BatchBuffers buffers(rows, batch.spec().obs_dim());
  std::vector<float> actions(rows);
  RETURN_IF_ERROR(batch.Reset(buffers.obs.data()));
  const envs::EnvBatchOutput out = buffers.Output();
  int64_t t = 0;
  return Measure(duration, rows, [&]() -> absl::Status {
    CycleActions(t++, rows, batch.spec().num_actions, actions.data());
    return batch.Step(rows, actions.data(), out).status();
  });
}

// LockstepEnvs::Step of all its rows, cycling actions: agent-steps/s.
absl::StatusOr<double> MeasureLockstep(actor::LockstepEnvs& lockstep, absl::Duration duration) {
  const int rows = lockstep.size();
  std::vector<uint8_t> next_obs, final_obs;
  std::vector<actor::EnvOutcome> outcomes;
  RETURN_IF_ERROR(lockstep.ResetAll());
  const actor::ActionBuffers buffers = lockstep.buffers();
  int64_t t = 0;
  return Measure(duration, rows, [&]() -> absl::Status {
    for (int i = 0; i < rows; ++i) buffers.action_indices[i] = (t + i) % lockstep.spec().num_actions;
    ++t;
    RETURN_IF_ERROR(lockstep.Step(rows, &next_obs, &final_obs, &outcomes));
    lockstep.obs().swap(next_obs);
    return absl::OkStatus();
  });
}

double Us(double agent_steps_per_second) { return 1e6 / agent_steps_per_second; }

// The multi-agent env's layers: its Step; with MeasureStep (the metrics
// LocalMultiAgentEnvs adds up each step); LocalMultiAgentEnvs' Step of
// `num_envs` (metrics, observation copies, resets); AgentRowsEnvBatch's
// (masks); LockstepEnvs' (env actions, outcomes, episode statistics).
absl::StatusOr<std::vector<std::pair<std::string, double>>> MultiAgentLayers(const std::string& name,
                                                                              const envs::EnvSpec& row,
                                                                              int num_envs, absl::Duration each,
                                                                              double* bare_rate) {
  std::vector<std::pair<std::string, double>> layers;
  ASSIGN_OR_RETURN(std::unique_ptr<envs::MultiAgentEnv> env, envs::MakeMultiAgentEnv(name, 0, /*seed=*/1));
  const int agents = env->num_agents();
  std::vector<float> obs(static_cast<size_t>(agents) * row.obs_dim());
  std::vector<float> actions(agents);
  std::vector<float*> obs_rows(agents);
  std::vector<const float*> action_rows(agents);
  for (int k = 0; k < agents; ++k) {
    obs_rows[k] = &obs[static_cast<size_t>(k) * row.obs_dim()];
    action_rows[k] = &actions[k];
  }
  std::vector<envs::StepResult> results(agents);
  std::vector<double> values(env->metrics().size());
  for (const bool measured : {false, true}) {
    env->Reset(obs_rows.data());
    int64_t t = 0;
    // The bare Step (the floor the actor loop is compared with) at its
    // fastest; the Step with its metrics as measured.
    const auto measure = [&](auto step) { return measured ? Measure(each, agents, step) : MeasureFastest(each, agents, step); };
    ASSIGN_OR_RETURN(const double rate, measure([&]() -> absl::Status {
                       CycleActions(t++, agents, row.num_actions, actions.data());
                       RETURN_IF_ERROR(env->Step(action_rows.data(), obs_rows.data(), results.data()));
                       if (measured) env->MeasureStep(values.data());
                       if (env->episode_over()) env->Reset(obs_rows.data());
                       return absl::OkStatus();
                     }));
    layers.emplace_back(measured ? "env_step_and_metrics" : "env_step", Us(rate));
    if (!measured) *bare_rate = rate;
  }
  auto make_envs = [&]() -> absl::StatusOr<std::vector<std::unique_ptr<envs::MultiAgentEnv>>> {
    std::vector<std::unique_ptr<envs::MultiAgentEnv>> made;
    for (int e = 0; e < num_envs; ++e) {
      ASSIGN_OR_RETURN(std::unique_ptr<envs::MultiAgentEnv> env, envs::MakeMultiAgentEnv(name, 0, /*seed=*/1000 + e));
      made.push_back(std::move(env));
    }
    return made;
  };
  {
    ASSIGN_OR_RETURN(std::vector<std::unique_ptr<envs::MultiAgentEnv>> made, make_envs());
    ASSIGN_OR_RETURN(std::unique_ptr<envs::LocalMultiAgentEnvs> local,
                     envs::LocalMultiAgentEnvs::Create(std::move(made)));
    const int rows = num_envs * agents;
    BatchBuffers buffers(rows, row.obs_dim());
    std::vector<float> batch_actions(rows);
    std::vector<uint8_t> acted(rows), episode_ended(num_envs);
    envs::MultiAgentEnvsOutput out;
    out.observations = reinterpret_cast<float*>(buffers.obs.data());
    out.final_observations = reinterpret_cast<float*>(buffers.final_obs.data());
    out.rewards = buffers.rewards.data();
    out.terminated = buffers.terminated.data();
    out.truncated = buffers.truncated.data();
    out.acted = acted.data();
    out.episode_ended = episode_ended.data();
    out.failures = &buffers.failures;
    out.env_episodes = &buffers.env_episodes;
    RETURN_IF_ERROR(local->Reset(out.observations));
    int64_t t = 0;
    ASSIGN_OR_RETURN(const double rate, Measure(each, rows, [&]() -> absl::Status {
                       CycleActions(t++, rows, row.num_actions, batch_actions.data());
                       return local->Step(num_envs, batch_actions.data(), out).status();
                     }));
    layers.emplace_back("multi_agent_envs", Us(rate));
  }
  {
    ASSIGN_OR_RETURN(std::vector<std::unique_ptr<envs::MultiAgentEnv>> made, make_envs());
    ASSIGN_OR_RETURN(std::unique_ptr<envs::AgentRowsEnvBatch> batch,
                     envs::AgentRowsEnvBatch::Create(row, std::move(made)));
    ASSIGN_OR_RETURN(const double rate, MeasureBatch(*batch, each));
    layers.emplace_back("env_batch", Us(rate));
  }
  v1::EnvConfig config;
  config.set_name(name);
  ASSIGN_OR_RETURN(std::unique_ptr<actor::LockstepEnvs> lockstep,
                   actor::LockstepEnvs::Create(config, num_envs, /*base_seed=*/999));
  ASSIGN_OR_RETURN(const double rate, MeasureLockstep(*lockstep, each));
  layers.emplace_back("lockstep_envs", Us(rate));
  return layers;
}

// `rows` envs of `kind` in a LocalEnvBatch, the single-agent path.
absl::StatusOr<std::unique_ptr<envs::LocalEnvBatch>> SingleAgentBatch(const SingleAgentEnv& kind, int rows) {
  std::vector<std::unique_ptr<envs::Env>> made;
  for (int i = 0; i < rows; ++i) {
    ASSIGN_OR_RETURN(std::unique_ptr<envs::Env> env, kind.make(/*seed=*/999 + i + 1));
    made.push_back(std::move(env));
  }
  envs::EnvSpec spec = made[0]->spec();
  return envs::LocalEnvBatch::Create(std::move(spec), std::move(made), envs::LocalEnvBatch::StepErrors::kFailStep);
}

// A single-agent env's layers: its Step; LocalEnvBatch's of `rows`;
// LockstepEnvs'.
absl::StatusOr<std::vector<std::pair<std::string, double>>> SingleAgentLayers(const SingleAgentEnv& kind, int rows,
                                                                               absl::Duration each,
                                                                               double* bare_rate) {
  std::vector<std::pair<std::string, double>> layers;
  ASSIGN_OR_RETURN(*bare_rate, BareEnv(kind, each));
  layers.emplace_back("env_step", Us(*bare_rate));
  {
    ASSIGN_OR_RETURN(std::unique_ptr<envs::LocalEnvBatch> batch, SingleAgentBatch(kind, rows));
    ASSIGN_OR_RETURN(const double rate, MeasureBatch(*batch, each));
    layers.emplace_back("env_batch", Us(rate));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<envs::LocalEnvBatch> batch, SingleAgentBatch(kind, rows));
  std::unique_ptr<actor::LockstepEnvs> lockstep = actor::LockstepEnvs::OverBatch(std::move(batch), /*remote=*/false);
  ASSIGN_OR_RETURN(const double rate, MeasureLockstep(*lockstep, each));
  layers.emplace_back("lockstep_envs", Us(rate));
  return layers;
}

// The comparison takes agents of one space (an agent's spec is every
// row's); InvalidArgument otherwise.
absl::Status CheckAgentsOfOneSpace(const std::string& name) {
  ASSIGN_OR_RETURN(const envs::MultiAgentSpec spec, envs::LookupMultiAgentSpec(name));
  if (spec.homogeneous()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("--bench_agents_vs_single: ", name, "'s agents differ in their "
                                                 "spaces; the comparison needs agents of one space"));
}

}  // namespace

absl::Status RunAgentsVsSingle(const std::string& name, int num_envs, const std::vector<int>& hidden,
                               absl::Duration duration) {
  if (!envs::IsMultiAgentEnv(name)) {
    return absl::InvalidArgumentError(absl::StrCat("--bench_agents_vs_single: ", name, " is no multi-agent env"));
  }
  RETURN_IF_ERROR(CheckAgentsOfOneSpace(name));
  ASSIGN_OR_RETURN(const envs::EnvSpec row, envs::LookupEnvSpec(name));
  if (!row.discrete || row.observation_type != envs::ObservationType::kFloat32) {
    return absl::InvalidArgumentError(absl::StrCat("--bench_agents_vs_single: ", name,
                                                   "'s agents act continuously or see images; the comparison "
                                                   "cycles discrete actions over float observations"));
  }
  // The lone agent is measured only for agents of its size.
  const envs::EnvSpec solo = SoloNavigation::Spec();
  const bool with_lone = row.obs_dim() == solo.obs_dim() && row.num_actions == solo.num_actions;
  ASSIGN_OR_RETURN(const envs::MultiAgentSpec multi_spec, envs::LookupMultiAgentSpec(name));
  const int agents = multi_spec.num_agents();
  const int rows = num_envs * agents;
  const std::string load_before = LoadAverage();
  SetBlasThreads(1);

  // The same policy for both: one freshly initialised categorical policy.
  ASSIGN_OR_RETURN(std::unique_ptr<policies::Policy> policy,
                   policies::MakePolicy(policies::PolicySpecFor("categorical", row, hidden), /*seed=*/1));
  ASSIGN_OR_RETURN(const v1::ParameterSet parameters, policy->ExportParameters());

  // The single-agent references: the multi-agent env's agents taking
  // turns (the target's: the same env work per agent-step), and one agent
  // alone in the same world (what a single-agent task of that size costs).
  const SingleAgentEnv turns{absl::StrCat("AgentTurns(", name, ")"),
                             [&name](uint64_t seed) -> absl::StatusOr<std::unique_ptr<envs::Env>> {
                               return AgentTurns::Create(name, seed);
                             }};
  const SingleAgentEnv lone{"SoloNavigation", [](uint64_t seed) -> absl::StatusOr<std::unique_ptr<envs::Env>> {
                              return std::make_unique<SoloNavigation>(seed);
                            }};
  v1::EnvConfig config;
  config.set_name(name);
  ASSIGN_OR_RETURN(std::unique_ptr<actor::LockstepEnvs> multi_envs,
                   actor::LockstepEnvs::Create(config, num_envs, /*base_seed=*/999));
  std::vector<std::unique_ptr<ActorLoop>> loops;
  ASSIGN_OR_RETURN(std::unique_ptr<ActorLoop> multi, ActorLoop::Create(std::move(multi_envs), parameters));
  loops.push_back(std::move(multi));
  std::vector<const SingleAgentEnv*> singles = {&turns};
  if (with_lone) singles.push_back(&lone);
  for (const SingleAgentEnv* kind : singles) {
    ASSIGN_OR_RETURN(std::unique_ptr<envs::LocalEnvBatch> batch, SingleAgentBatch(*kind, rows));
    ASSIGN_OR_RETURN(std::unique_ptr<ActorLoop> loop,
                     ActorLoop::Create(actor::LockstepEnvs::OverBatch(std::move(batch), /*remote=*/false),
                                       parameters));
    loops.push_back(std::move(loop));
  }
  std::fprintf(stderr,
               "bench env --bench_agents_vs_single: %s (%d agents) x %d envs against %s x %d%s, %d rows each, policy "
               "%s, load average %s\n",
               name.c_str(), agents, num_envs, turns.name.c_str(), rows,
               with_lone ? absl::StrCat(" and ", lone.name, " x ", rows).c_str() : "", rows,
               absl::StrJoin(hidden, "x").c_str(), load_before.c_str());

  // The multi-agent loop, then each single-agent one (turns, lone agent).
  std::vector<Side> sides(loops.size());
  sides[0].agents_per_env = agents;
  const absl::Duration round = duration / kRounds;
  for (int r = 0; r < kRounds; ++r) {
    for (size_t i = 0; i < loops.size(); ++i) {
      ActorLoop& loop = *loops[i];
      ASSIGN_OR_RETURN(const double rate, Measure(round, rows, [&loop] { return loop.Step(); }));
      sides[i].agent_steps_per_second += rate / kRounds;
    }
  }
  for (size_t i = 0; i < loops.size(); ++i) sides[i].splits = loops[i]->splits();
  Side& multi_side = sides[0];
  ASSIGN_OR_RETURN(multi_side.layers,
                   MultiAgentLayers(name, row, num_envs, duration / 4, &multi_side.bare_agent_steps_per_second));
  for (size_t i = 0; i < singles.size(); ++i) {
    Side& side = sides[i + 1];
    ASSIGN_OR_RETURN(side.layers,
                     SingleAgentLayers(*singles[i], rows, duration / 4, &side.bare_agent_steps_per_second));
  }
  const Side& single_side = sides[1];

  const double cost_ratio = single_side.agent_steps_per_second / multi_side.agent_steps_per_second;
  const double beyond_ratio = multi_side.beyond_bare_env() / single_side.beyond_bare_env();
  const bool within = cost_ratio <= kTargetCostRatio;
  multi_side.Print(name.c_str(), rows);
  for (size_t i = 0; i < singles.size(); ++i) sides[i + 1].Print(singles[i]->name.c_str(), rows);
  std::fprintf(stderr,
               "bench env --bench_agents_vs_single: an agent-step of %s's actor loop costs %.3f times %s's "
               "(target <= %.2f: %s), %.3f times beyond each env's own Step\n",
               name.c_str(), cost_ratio, turns.name.c_str(), kTargetCostRatio, within ? "met" : "missed",
               beyond_ratio);
  std::string lone_json = "null";
  std::string lone_ratio = "null";
  if (with_lone) {
    const Side& lone_side = sides[2];
    lone_json = lone_side.Json();
    lone_ratio = absl::StrFormat("%.4f", lone_side.agent_steps_per_second / multi_side.agent_steps_per_second);
    std::fprintf(stderr, "bench env --bench_agents_vs_single: and %s times %s's\n", lone_ratio.c_str(),
                 lone.name.c_str());
  }
  std::printf("%s\n",
              absl::StrFormat(
                  "{\"bench\": \"agents_vs_single\", \"env\": \"%s\", \"single_agent_env\": \"%s\", "
                  "\"lone_agent_env\": %s, \"agents_per_env\": %d, \"num_envs\": %d, \"rows\": %d, "
                  "\"obs_dim\": %d, \"num_actions\": %d, \"policy_hidden\": \"%s\", "
                  "\"items\": \"unrolls of %d with behaviour\", \"cores\": %u, \"load_average_1m_before\": %s, "
                  "\"load_average_1m_after\": %s, \"seconds_per_measurement\": %.2f, \"multi_agent\": %s, "
                  "\"single_agent\": %s, \"lone_agent\": %s, \"agent_step_cost_ratio\": %.4f, "
                  "\"target_cost_ratio\": %.2f, \"within_target\": %s, "
                  "\"agent_step_cost_ratio_beyond_bare_env\": %.4f, \"lone_agent_cost_ratio\": %s}",
                  name, turns.name, with_lone ? absl::StrCat("\"", lone.name, "\"") : "null", agents, num_envs, rows,
                  row.obs_dim(), row.num_actions, absl::StrJoin(hidden, ","), kUnrollLength,
                  std::thread::hardware_concurrency(), load_before, LoadAverage(), absl::ToDoubleSeconds(duration),
                  multi_side.Json(), single_side.Json(), lone_json, cost_ratio, kTargetCostRatio,
                  within ? "true" : "false", beyond_ratio, lone_ratio)
                  .c_str());
  return absl::OkStatus();
}

}  // namespace rill::bench
