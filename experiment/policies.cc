#include "experiment/policies.h"

#include <algorithm>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/invalid_field.h"
#include "common/status_macros.h"
#include "envs/catalog.h"
#include "experiment/finalize_network.h"
#include "experiment/finalize_replay.h"
#include "items/registry.h"
#include "replay/table_config.h"

namespace rill::experiment {
namespace {

// The envs of an actor in which policy `p` trains: all of them, or with
// self_play env e for e mod P == p (actor/policy_opponents.h).
int64_t TrainingEnvs(const v1::ExperimentConfig& config, const PolicyMap& map, int p) {
  const int64_t envs = config.actor().num_envs();
  if (!config.has_self_play()) return envs;
  const int64_t policies = map.num_policies();
  return envs > p ? (envs - p + policies - 1) / policies : 0;
}

// Self-play between policies: each trains in env e mod P against the
// others' past versions, so there must be two or more, and an env for
// each.
absl::Status CheckSelfPlayBetweenPolicies(const v1::ExperimentConfig& config, const PolicyMap& map) {
  if (map.num_policies() < 2) {
    return InvalidField("policies", absl::StrCat("self_play beside one policy: with self_play each policy plays the "
                                                 "others' past versions; for one policy against its own, leave "
                                                 "policies out"));
  }
  if (config.actor().num_envs() < map.num_policies()) {
    return InvalidField("actor.num_envs", absl::StrCat(config.actor().num_envs(), " envs for ", map.num_policies(),
                                                       " policies: with self_play env e trains policy e mod ",
                                                       map.num_policies(), ", so each policy needs an env"));
  }
  return absl::OkStatus();
}

constexpr int kMaxPolicyNameLength = 32;

bool ValidPolicyName(const std::string& name) {
  if (name.empty() || name.size() > kMaxPolicyNameLength) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_'; });
}

// Each agent's policy index, from the section's names and patterns; the
// first problem named by its field.
absl::StatusOr<PolicyMap> MapAgents(const v1::ExperimentConfig& config, const std::vector<std::string>& agents) {
  PolicyMap map;
  map.agent_policy.assign(agents.size(), -1);
  for (int p = 0; p < config.policies_size(); ++p) {
    const v1::PolicyConfig& policy = config.policies(p);
    const std::string field = absl::StrCat("policies[", p, "]");
    if (!ValidPolicyName(policy.name())) {
      return InvalidField(field + ".name", absl::StrCat("'", policy.name(), "' must be 1..", kMaxPolicyNameLength,
                                                        " characters of a-z, 0-9 and _"));
    }
    if (std::find(map.names.begin(), map.names.end(), policy.name()) != map.names.end()) {
      return InvalidField(field + ".name", absl::StrCat("'", policy.name(), "' names two policies"));
    }
    map.names.push_back(policy.name());
    if (policy.agents_size() == 0) {
      return InvalidField(field + ".agents", absl::StrCat("policy '", policy.name(), "' plays no agent; the env's: ",
                                                          absl::StrJoin(agents, ", ")));
    }
    for (const std::string& pattern : policy.agents()) {
      bool matched = false;
      for (size_t k = 0; k < agents.size(); ++k) {
        if (!AgentPatternMatches(pattern, agents[k])) continue;
        matched = true;
        if (map.agent_policy[k] >= 0 && map.agent_policy[k] != p) {
          return InvalidField(field + ".agents",
                              absl::StrCat("agent ", agents[k], " is policy '", map.names[map.agent_policy[k]],
                                           "''s and policy '", policy.name(), "''s; each agent plays for one policy"));
        }
        map.agent_policy[k] = p;
      }
      if (!matched) {
        return InvalidField(field + ".agents", absl::StrCat("'", pattern, "' matches no agent of ", config.env().name(),
                                                            "; its agents: ", absl::StrJoin(agents, ", ")));
      }
    }
  }
  for (size_t k = 0; k < agents.size(); ++k) {
    if (map.agent_policy[k] < 0) {
      return InvalidField("policies", absl::StrCat("agent ", agents[k], " of ", config.env().name(),
                                                   " is no policy's; every agent plays for one"));
    }
  }
  for (int p = 0; p < map.num_policies(); ++p) {
    if (map.AgentsOf(p).empty()) {
      return InvalidField(absl::StrCat("policies[", p, "].agents"),
                          absl::StrCat("policy '", map.names[p], "' is left no agent (the policies before it play "
                                                                 "all it names)"));
    }
  }
  return map;
}

// A refusal of the merged learner section of policy `p`, named for that
// policy's section: "config field learner.x: ..." becomes "config field
// policies[p].learner.x: ...".
absl::Status InPolicySection(const absl::Status& status, int p) {
  constexpr absl::string_view kRunField = "config field learner";
  absl::string_view message = status.message();
  if (!absl::ConsumePrefix(&message, kRunField)) return status;
  return absl::Status(status.code(), absl::StrCat("config field policies[", p, "].learner", message));
}

// Policy `p`'s own learner section, where it has one: the section as the
// config gave it (`given`) with the policy's fields over it, finalized for
// the policy's agents (`row`) and written back into the policy's section;
// refused where the actors or the learner process could not follow it.
absl::Status FinalizePolicyLearner(v1::ExperimentConfig& config, int p, const v1::LearnerConfig& given,
                                   const envs::EnvSpec& row, const learner::ActorDuty& duty) {
  v1::PolicyConfig& policy = *config.mutable_policies(p);
  if (!policy.has_learner()) return absl::OkStatus();
  const std::string field = absl::StrCat("policies[", p, "].learner");
  v1::LearnerConfig merged = given;
  // An algorithm of the policy's own replaces the run's (proto merging
  // switches the oneof), with its own defaults.
  merged.MergeFrom(policy.learner());
  const v1::LearnerConfig& run = config.learner();
  if (merged.device() != run.device()) {
    return InvalidField(field + ".device", "one learner process trains every policy, on learner.device; set it there");
  }
  if (merged.num_threads() != run.num_threads()) {
    return InvalidField(field + ".num_threads",
                        "one learner process trains every policy, with learner.num_threads; set it there");
  }
  if (learner::TrainsOnJointAgents(merged)) {
    return InvalidField(field, "an algorithm of joint agents (maddpg) trains every agent as one row, not a policy "
                               "of its own; set it in learner, without policies");
  }
  RETURN_IF_ERROR(InPolicySection(learner::FinalizeLearnerConfig(merged, row), p));
  ASSIGN_OR_RETURN(const learner::AlgorithmSpec* algorithm, learner::FindAlgorithmSpec(merged));
  RETURN_IF_ERROR(InPolicySection(CheckNetworkFitsAlgorithm(config.network(), merged, row, *algorithm), p));
  if (merged.batch_size() > replay::kMaxSampleBatchItems) {
    return InvalidField(field + ".batch_size", absl::StrCat(merged.batch_size(), " is out of range: one sample "
                                                            "holds 1..", replay::kMaxSampleBatchItems, " items"));
  }
  v1::ExperimentConfig mine = config;
  *mine.mutable_learner() = merged;
  const learner::ActorDuty own = learner::ActorDutyFor(*algorithm, mine);
  if (own.items.kind != duty.items.kind || own.synchronous != duty.synchronous) {
    ASSIGN_OR_RETURN(const learner::AlgorithmSpec* run_algorithm, learner::FindAlgorithmSpec(run));
    auto what = [](const learner::ActorDuty& d) {
      return absl::StrCat(d.items.kind == items::ItemKind::kUnroll ? "unrolls" : "transitions",
                          d.synchronous ? ", waiting for each version" : "");
    };
    return InvalidField(absl::StrCat(field, ".", algorithm->name),
                        absl::StrCat(algorithm->name, " has the actors write ", what(own), "; the run's ",
                                     run_algorithm->name, " ", what(duty), ": every policy's actors write one "
                                     "kind of item and wait alike"));
  }
  *policy.mutable_learner() = merged;
  return absl::OkStatus();
}

}  // namespace

std::vector<int> PolicyMap::AgentsOf(int policy) const {
  std::vector<int> agents;
  for (size_t k = 0; k < agent_policy.size(); ++k) {
    if (agent_policy[k] == policy) agents.push_back(static_cast<int>(k));
  }
  return agents;
}

bool AgentPatternMatches(const std::string& pattern, const std::string& name) {
  // Greedy matching with one backtrack point: the last * seen.
  size_t p = 0, n = 0, star = std::string::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++p;
      ++n;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (star != std::string::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

absl::Status FinalizePolicies(v1::ExperimentConfig& config, const learner::ActorDuty& duty,
                              const v1::LearnerConfig& given_learner) {
  if (config.policies_size() == 0) return absl::OkStatus();
  const v1::EnvConfig& env = config.env();
  if (!envs::IsMultiAgentSection(env)) {
    return InvalidField("policies", absl::StrCat(env.name(), " is a single-agent env: its one agent is the one "
                                                 "policy's (leave policies out)"));
  }
  if (env.joint_agents()) {
    return InvalidField("policies", "needs agents as rows of their policies' batches; env.joint_agents makes all "
                                    "agents one row (MADDPG already trains a policy per agent)");
  }
  if (env.row_agents_size() > 0) {
    return InvalidField("env.row_agents", "is set in each policy's view of the config, by the run; with a policies "
                                          "section, leave it out");
  }
  ASSIGN_OR_RETURN(const PolicyMap map, ResolvePolicies(config));
  if (config.has_self_play()) RETURN_IF_ERROR(CheckSelfPlayBetweenPolicies(config, map));
  absl::StatusOr<envs::EnvSpec> batch_row = envs::ConfiguredEnvSpec(env);
  if (!batch_row.ok()) {
    // Its message starts with the field (env.pixels: ...).
    return absl::InvalidArgumentError(absl::StrCat("config field ", batch_row.status().message()));
  }
  // What finalization fills in for a table without one (a run's processes
  // finalize the config the launcher wrote out again).
  const std::string filled = items::DefaultSignature(duty.items, *batch_row).SerializeAsString();
  for (int p = 0; p < map.num_policies(); ++p) {
    absl::StatusOr<envs::EnvSpec> row = envs::PolicyRowSpec(env, map.agent_policy, p);
    if (!row.ok()) return InvalidField(absl::StrCat("policies[", p, "].agents"), row.status().message());
    RETURN_IF_ERROR(FinalizePolicyLearner(config, p, given_learner, *row, duty));
    const bool own_items = row->obs_dim() != batch_row->obs_dim() || config.policies(p).has_learner();
    for (int t = 0; t < config.replay().tables_size(); ++t) {
      const v1::Signature& signature = config.replay().tables(t).signature();
      if (!own_items || signature.columns_size() == 0 || signature.SerializeAsString() == filled) continue;
      return InvalidField(absl::StrCat("replay.tables[", t, "].signature"),
                          row->obs_dim() != batch_row->obs_dim()
                              ? absl::StrCat("policy '", map.names[p], "''s agents observe ", row->obs_dim(),
                                             " values, others ", batch_row->obs_dim(), ": each policy's tables take "
                                             "the signature of its own agents, so leave it out")
                              : absl::StrCat("policy '", map.names[p], "' has a learner section of its own: each "
                                             "policy's tables take the signature of its own items, so leave it out"));
    }
  }
  if (duty.synchronous) {
    // Each policy's learner waits for its batch_size unrolls of its own rows.
    for (int p = 0; p < map.num_policies(); ++p) {
      const v1::PolicyConfig& policy = config.policies(p);
      const int64_t batch = policy.has_learner() ? policy.learner().batch_size() : config.learner().batch_size();
      // With self_play a policy trains in 1 env of every P (env e mod P).
      const int64_t envs = TrainingEnvs(config, map, p);
      const int64_t rows = static_cast<int64_t>(config.topology().num_actors()) * envs *
                           static_cast<int64_t>(map.AgentsOf(p).size());
      if (batch > rows) {
        return InvalidField(policy.has_learner() ? absl::StrCat("policies[", p, "].learner.batch_size")
                                                 : std::string("learner.batch_size"),
                            absl::StrCat(batch, " unrolls per batch, but policy '", map.names[p], "' plays only ",
                                         rows, " rows (num_actors x ",
                                         config.has_self_play() ? absl::StrCat("the ", envs, " envs it trains in")
                                                                : std::string("num_envs"),
                                         " x its ", map.AgentsOf(p).size(),
                                         " agents), each waiting for its next version"));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<PolicyMap> ResolvePolicies(const v1::ExperimentConfig& config) {
  if (config.policies_size() == 0) {
    PolicyMap map;
    map.names = {""};
    map.agent_policy.assign(static_cast<size_t>(envs::RowsPerEnv(config.env())), 0);
    return map;
  }
  absl::StatusOr<envs::MultiAgentSpec> multi = envs::ConfiguredMultiAgentSpec(config.env());
  if (!multi.ok()) return InvalidField("policies", multi.status().message());
  return MapAgents(config, multi->agents);
}

absl::StatusOr<v1::ReplayConfig> PolicyReplay(const v1::ExperimentConfig& config) {
  v1::ReplayConfig replay = config.replay();
  if (config.policies_size() == 0) return replay;
  replay.clear_tables();
  for (const v1::PolicyConfig& policy : config.policies()) {
    ASSIGN_OR_RETURN(const v1::ExperimentConfig view, PolicyView(config, policy.name()));
    for (const v1::TableConfig& table : view.replay().tables()) *replay.add_tables() = table;
  }
  return replay;
}

absl::StatusOr<v1::ExperimentConfig> PolicyView(const v1::ExperimentConfig& config, const std::string& name) {
  if (config.policies_size() == 0) {
    if (name.empty()) return config;
    return absl::NotFoundError(absl::StrCat("this run has no policies section, so no policy '", name, "'"));
  }
  std::vector<std::string> names;
  for (const v1::PolicyConfig& policy : config.policies()) names.push_back(policy.name());
  const auto found = std::find(names.begin(), names.end(), name);
  if (found == names.end()) {
    return absl::NotFoundError(absl::StrCat("no policy '", name, "' in this run; its policies: ",
                                            absl::StrJoin(names, ", ")));
  }
  const int p = static_cast<int>(found - names.begin());
  const v1::PolicyConfig& policy = config.policies(p);
  ASSIGN_OR_RETURN(const PolicyMap map, ResolvePolicies(config));
  ASSIGN_OR_RETURN(const envs::MultiAgentSpec multi, envs::ConfiguredMultiAgentSpec(config.env()));
  v1::ExperimentConfig view = config;
  view.clear_policies();
  for (int k : map.AgentsOf(p)) view.mutable_env()->add_row_agents(multi.agents[k]);
  if (policy.has_learner()) {
    *view.mutable_learner() = policy.learner();
    // The process's (a learner given --learner_threads after it loaded the
    // config sets the run's).
    view.mutable_learner()->set_num_threads(config.learner().num_threads());
  }
  ASSIGN_OR_RETURN(const envs::EnvSpec batch_row, envs::ConfiguredEnvSpec(config.env()));
  ASSIGN_OR_RETURN(const envs::EnvSpec row, envs::ConfiguredEnvSpec(view.env()));
  ASSIGN_OR_RETURN(const learner::AlgorithmSpec* algorithm, learner::FindAlgorithmSpec(view.learner()));
  const learner::ActorDuty duty = learner::ActorDutyFor(*algorithm, view);
  // Agents that observe otherwise than the batch's rows, or items of a
  // learner of the policy's own: their own signature (FinalizePolicies
  // refused one the config gave).
  std::optional<v1::Signature> signature;
  if (row.obs_dim() != batch_row.obs_dim() || policy.has_learner()) {
    signature = items::DefaultSignature(duty.items, row);
  }
  const bool unrolls = duty.items.kind == items::ItemKind::kUnroll;
  for (int t = 0; t < view.replay().tables_size(); ++t) {
    v1::TableConfig& table = *view.mutable_replay()->mutable_tables(t);
    if (t == 0) {
      const double run_ratio = config.learner().updates_per_env_step();
      table = SizeTableForBatch(table, unrolls, config.learner().batch_size(), view.learner().batch_size(),
                                run_ratio,
                                view.learner().has_updates_per_env_step() ? view.learner().updates_per_env_step()
                                                                          : run_ratio,
                                config.actor().learning_starts());
    }
    table.set_name(replay::PolicyTableName(table.name(), name));
    if (signature.has_value()) *table.mutable_signature() = *signature;
  }
  view.set_seed(config.seed() + 7919ULL * static_cast<uint64_t>(p));
  return view;
}

}  // namespace rill::experiment
