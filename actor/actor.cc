#include "actor/actor.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "actor/action_sources/central.h"
#include "actor/action_sources/in_process.h"
#include "actor/item_step.h"
#include "actor/policy_opponents.h"
#include "replay/table_config.h"
#include "common/blas.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "envs/catalog.h"

namespace rill::actor {
namespace {

// Steps in a row in which every env fails before the actor gives up.
constexpr int kMaxAllFailedSteps = 100;

// How long a synchronous actor waits for the version its unrolls make
// before it acts on with the one it has. A learner's update takes well
// under this; a learner that restarted takes longer and may never come.
constexpr absl::Duration kMaxVersionWait = absl::Seconds(30);

// Where policy `policy`'s central inference is and how this actor's
// stream of `rows` rows reaches it.
CentralOptions CentralSourceOptions(const ActorOptions& options, const std::string& policy, int rows) {
  const v1::ExperimentConfig& config = options.config;
  CentralOptions central;
  central.address = options.inference_address;
  if (central.address.empty()) central.address = config.inference().address();
  if (central.address.empty()) central.address = options.learner_address;
  central.max_message_bytes = config.replay().max_message_bytes();
  central.policy = policy;
  central.shared_memory = config.inference().shared_memory();
  central.max_rows = rows;
  return central;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Actor>> Actor::Create(const ActorOptions& options, prometheus::Registry* registry) {
  std::unique_ptr<Actor> actor(new Actor(options));
  const v1::ExperimentConfig& config = actor->options_.config;
  if (options.actor_id < 0) return absl::InvalidArgumentError("actor id must be >= 0");
  const int num_envs = config.actor().num_envs();
  const uint64_t base_seed = options.seed * 1000003ULL + static_cast<uint64_t>(options.actor_id) * 4099ULL;
  actor->rng_.seed(base_seed);
  ASSIGN_OR_RETURN(actor->envs_, LockstepEnvs::Create(config.env(), num_envs, base_seed));
  if (registry == nullptr) {
    actor->own_registry_ = std::make_unique<prometheus::Registry>();
    registry = actor->own_registry_.get();
  }
  actor->metrics_ = RegisterActorMetrics(*registry, "actor");
  actor->agent_returns_ = AgentReturns::ForEnv(config.env(), actor->envs_->size());
  if (actor->agent_returns_ != nullptr) {
    for (const std::string& agent : actor->agent_returns_->agents()) {
      const std::map<std::string, std::string> labels = {{"role", "actor"}, {"agent", agent}};
      actor->agent_episodes_.push_back(&actor->metrics_.agent_episodes->Add(labels));
      actor->agent_episode_return_.push_back(&actor->metrics_.agent_episode_return->Add(labels));
    }
  }
  if (options.parameter_stores.empty() != (options.insert == nullptr)) {
    return absl::InvalidArgumentError("an actor in process needs both its parameter stores and its insert");
  }
  if (options.replay_address.empty() && options.insert == nullptr) {
    return absl::InvalidArgumentError("no replay address given");
  }
  // The rows' policies: each env's agent k plays for agent_policy[k].
  std::vector<std::string> names = options.policy_names;
  std::vector<int> agent_policy = options.agent_policy;
  if (names.empty()) {
    if (config.policies_size() > 0) {
      return absl::InvalidArgumentError("the config names policies, but the actor was given no agent-to-policy map");
    }
    names = {""};
    agent_policy.assign(static_cast<size_t>(actor->envs_->size() / std::max(1, num_envs)), 0);
  }
  const int agents = static_cast<int>(agent_policy.size());
  if (agents == 0 || actor->envs_->size() != num_envs * agents) {
    return absl::InvalidArgumentError(absl::StrCat("the agent-to-policy map has ", agents, " agents, but ",
                                                   config.env().name(), " fills ", actor->envs_->size() / num_envs,
                                                   " rows per env"));
  }
  actor->routes_.resize(names.size());
  for (int row = 0; row < actor->envs_->size(); ++row) {
    const int policy = agent_policy[row % agents];
    if (policy < 0 || policy >= static_cast<int>(names.size())) {
      return absl::InvalidArgumentError(absl::StrCat("agent ", row % agents, " has no policy (", policy, ")"));
    }
    actor->row_route_.push_back(policy);
    actor->row_index_.push_back(static_cast<int>(actor->routes_[policy].rows.size()));
    actor->routes_[policy].rows.push_back(row);
  }
  if (!options.parameter_stores.empty() && options.parameter_stores.size() != names.size()) {
    return absl::InvalidArgumentError(absl::StrCat("the actor in process was given ", options.parameter_stores.size(),
                                                   " parameter stores for ", names.size(), " policies"));
  }
  if (!options.policy_writes.empty() && options.policy_writes.size() != names.size()) {
    return absl::InvalidArgumentError(absl::StrCat("the actor was given ", options.policy_writes.size(),
                                                   " policy tables for ", names.size(), " policies"));
  }
  for (size_t p = 0; p < names.size(); ++p) {
    PolicyRoute& route = actor->routes_[p];
    route.name = names[p];
    if (names.size() == 1) {
      route.spec = actor->envs_->spec();
    } else {
      ASSIGN_OR_RETURN(route.spec, envs::PolicyRowSpec(config.env(), agent_policy, static_cast<int>(p)));
    }
    RETURN_IF_ERROR(actor->CreateRoute(static_cast<int>(p), base_seed + 7919ULL * p));
  }
  if (config.has_self_play()) RETURN_IF_ERROR(actor->CreateOpponentPool(base_seed, *registry));
  if (options.synchronous && actor->routes_[0].local == nullptr) {
    return absl::InvalidArgumentError("a synchronous actor waits for versions on its own parameter stream; "
                                      "with central inference or in process it has none");
  }
  actor->envs_->set_core_state_size(options.items.core_state_size);
  bool needs_state = false;
  for (const PolicyRoute& route : actor->routes_) needs_state = needs_state || route.items->needs_state();
  if (needs_state) {
    absl::Status tracked = actor->envs_->TrackStates();
    if (!tracked.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("replay table '", config.replay().tables(0).name(),
                                                     "' records the state: ", tracked.message()));
    }
  }
  return actor;
}

absl::Status Actor::CreateRoute(int index, uint64_t seed) {
  const ActorOptions& options = options_;
  const v1::ExperimentConfig& config = options.config;
  PolicyRoute& route = routes_[index];
  const bool several = routes_.size() > 1;
  const int rows = static_cast<int>(route.rows.size());
  std::unique_ptr<ActionSource> source;
  route.version_gauge = several ? &metrics_.parameter_versions->Add({{"role", "actor"}, {"policy", route.name}})
                                : metrics_.parameter_version;
  if (!options.parameter_stores.empty()) {
    source = std::make_unique<InProcessPolicySource>(options.parameter_stores[static_cast<size_t>(index)], route.spec,
                                                     seed);
  } else if (config.topology().inference() == v1::TopologyConfig::CENTRAL) {
    // GA3C / SEED: no policy copy and no parameter stream here.
    source = std::make_unique<CentralActionSource>(CentralSourceOptions(options, route.name, rows));
  } else {
    LocalPolicyOptions follow =
        FollowLearner(options.learner_address, config.replay().max_message_bytes(), route.spec, seed,
                      metrics_.parameter_delay_seconds, route.version_gauge);
    follow.policy = route.name;
    follow.shared_memory = config.learner().shared_memory_parameters();
    auto local = std::make_unique<LocalPolicySource>(std::move(follow));
    route.local = local.get();
    source = std::move(local);
  }
  route.source = several ? std::make_unique<RowSubsetSource>(route.rows, std::move(source), route.spec.obs_dim())
                         : std::move(source);

  v1::TableConfig table = config.replay().tables(0);
  table.set_name(replay::PolicyTableName(table.name(), route.name));
  items::ItemOptions item_options = options.items;
  if (!options.policy_writes.empty()) {
    table = options.policy_writes[index].table;
    item_options = options.policy_writes[index].items;
  }
  absl::StatusOr<std::unique_ptr<items::ItemBuilder>> builder =
      items::MakeItemBuilder(item_options, route.spec, rows, table.signature());
  if (!builder.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("replay table '", table.name(), "': ", builder.status().message()));
  }
  route.items = *std::move(builder);
  if (options.insert != nullptr) return absl::OkStatus();
  replay::WriterOptions writer_options;
  // Every shard: the writer picks its home shard by actor id and fails
  // over to the others while it is down.
  writer_options.addresses = absl::StrSplit(options.replay_address, ',', absl::SkipEmpty());
  writer_options.table = table.name();
  writer_options.signature = table.signature();
  writer_options.batch_items = config.actor().insert_batch_items();
  // The envs step in lockstep, so their unrolls complete together: one
  // insert per completed round keeps them from waiting in the writer
  // for later rounds (which would add to the policy lag).
  if (route.items->needs_behaviour()) writer_options.batch_items = std::min(writer_options.batch_items, rows);
  writer_options.max_in_flight_batches = config.actor().max_in_flight_batches();
  writer_options.max_in_flight_bytes = config.actor().max_in_flight_bytes();
  writer_options.key_prefix = static_cast<uint64_t>(options.actor_id);
  writer_options.max_message_bytes = config.replay().max_message_bytes();
  writer_options.on_ack_latency = [histogram = metrics_.insert_rpc_seconds](absl::Duration latency) {
    histogram->Observe(absl::ToDoubleSeconds(latency));
  };
  ASSIGN_OR_RETURN(route.writer, replay::ReplayWriter::Create(writer_options));
  return absl::OkStatus();
}

absl::StatusOr<OpponentPool::Fetch> Actor::PoolFetch(int route) const {
  if (!options_.parameter_stores.empty()) {
    return [store = options_.parameter_stores[static_cast<size_t>(route)]](
               int64_t version) -> absl::StatusOr<parameters::ReceivedParameters> {
      ASSIGN_OR_RETURN(const parameters::ParameterUpdatePtr update, store->Version(version));
      parameters::ReceivedParameters received;
      received.version = update->version();
      if (!received.parameters.ParseFromString(update->blob())) {
        return absl::DataLossError(absl::StrCat("parameter version ", version, " does not parse"));
      }
      return received;
    };
  }
  if (routes_[static_cast<size_t>(route)].local != nullptr) {
    return [local = routes_[static_cast<size_t>(route)].local](int64_t version) {
      return local->parameters().FetchVersion(version, absl::Seconds(10));
    };
  }
  return absl::InvalidArgumentError("self_play: the actor needs its own policy copy (no central inference)");
}

absl::Status Actor::CreateOpponentPool(uint64_t seed, prometheus::Registry& registry) {
  if (routes_.size() == 1) {
    ASSIGN_OR_RETURN(OpponentPool::Fetch fetch, PoolFetch(0));
    ASSIGN_OR_RETURN(opponents_, OpponentPool::Create(options_.config.self_play(), *envs_, std::move(fetch), seed));
  } else {
    std::vector<PolicyOpponents::Side> sides;
    for (int route = 0; route < static_cast<int>(routes_.size()); ++route) {
      ASSIGN_OR_RETURN(OpponentPool::Fetch fetch, PoolFetch(route));
      sides.push_back({routes_[static_cast<size_t>(route)].spec, std::move(fetch)});
    }
    ASSIGN_OR_RETURN(opponents_, PolicyOpponents::Create(options_.config.self_play(), *envs_, options_.agent_policy,
                                                         std::move(sides), seed));
  }
  auto& picks = prometheus::BuildCounter()
                    .Name("rill_actor_self_play_episodes_total")
                    .Help("Self-play: episodes begun by opponent (the newest version, or a pool snapshot)")
                    .Register(registry);
  newest_opponents_ = &picks.Add({{"role", "actor"}, {"opponent", "newest"}});
  snapshot_opponents_ = &picks.Add({{"role", "actor"}, {"opponent", "snapshot"}});
  return absl::OkStatus();
}

void Actor::PickOpponents() {
  const int64_t newest = opponents_->newest_picks();
  const int64_t snapshot = opponents_->snapshot_picks();
  opponents_->PickOpponents(*envs_);
  newest_opponents_->Increment(static_cast<double>(opponents_->newest_picks() - newest));
  snapshot_opponents_->Increment(static_cast<double>(opponents_->snapshot_picks() - snapshot));
}

void Actor::ExportWriterMetrics() {
  if (routes_[0].writer == nullptr) return;
  // One lock per writer per step.
  int64_t failovers = 0;
  absl::Duration blocked;
  replay::WriterStats first;
  for (size_t r = 0; r < routes_.size(); ++r) {
    const replay::WriterStats stats = routes_[r].writer->stats();
    if (r == 0) first = stats;
    failovers += stats.failovers;
    blocked += stats.blocked;
  }
  const double seen = metrics_.replay_failovers->Value();
  if (failovers > seen) metrics_.replay_failovers->Increment(static_cast<double>(failovers) - seen);
  const double blocked_seen = metrics_.replay_blocked_seconds->Value();
  if (absl::ToDoubleSeconds(blocked) > blocked_seen) {
    metrics_.replay_blocked_seconds->Increment(absl::ToDoubleSeconds(blocked) - blocked_seen);
  }
  metrics_.replay_shard->Set(first.current_shard);
  metrics_.insert_window_batches->Set(first.window_batches);
}

bool Actor::NeedsCoreStates() const {
  for (int i = 0; i < envs_->size(); ++i) {
    if (routes_[row_route_[i]].items->needs_core_state(row_index_[i])) return true;
  }
  return false;
}

absl::Status Actor::ChooseActions(bool random, const absl::Notification& stop) {
  if (random) {
    envs_->RandomActions(rng_);
    return absl::OkStatus();
  }
  // A recurrent policy's state is recorded where an item begins.
  const ActionBuffers buffers = envs_->buffers(NeedsCoreStates());
  for (PolicyRoute& route : routes_) {
    RETURN_IF_ERROR(route.source->Act(envs_->observation_rows(), /*deterministic=*/false,
                                      route.items->needs_behaviour(), stop, buffers));
    if (route.source->reconnects() != route.reconnects) {
      metrics_.inference_reconnects->Increment(static_cast<double>(route.source->reconnects() - route.reconnects));
      route.reconnects = route.source->reconnects();
    }
    if (route.source->version() != route.version) {
      route.version = route.source->version();
      if (route.version_gauge != nullptr) route.version_gauge->Set(static_cast<double>(route.version));
    }
  }
  if (routes_.size() > 1) {
    // Unlabelled: the oldest version any policy acts with.
    int64_t oldest = routes_[0].version;
    for (const PolicyRoute& route : routes_) oldest = std::min(oldest, route.version);
    metrics_.parameter_version->Set(static_cast<double>(oldest));
  }
  if (opponents_ != nullptr) {
    for (size_t r = 0; r < routes_.size(); ++r) {
      opponents_->Update(static_cast<int>(r), routes_[r].source->pool_versions());
    }
    RETURN_IF_ERROR(opponents_->Act(*envs_, stop));
  }
  return absl::OkStatus();
}

absl::Status Actor::WaitForNextVersion(const absl::Notification& stop) {
  // The next unroll is acted by the version the learner makes from this
  // one (policy lag 0).
  RETURN_IF_ERROR(Flush());
  const absl::Time give_up = absl::Now() + kMaxVersionWait;
  for (PolicyRoute& route : routes_) {
    while (!stop.HasBeenNotified() &&
           !route.local->parameters().WaitForVersionAfter(route.version, absl::Milliseconds(200))) {
      if (absl::Now() < give_up) continue;
      // A learner that restarted from its checkpoint may have lost these
      // unrolls (sampled into a batch it never trained on): it waits for
      // new ones, so waiting on would stall both for good.
      RILL_LOG(WARNING) << "actor " << options_.actor_id << ": no parameter version after " << route.version
                        << (route.name.empty() ? "" : absl::StrCat(" of policy ", route.name)) << " in "
                        << absl::FormatDuration(kMaxVersionWait) << "; acting on with it (a restarted learner may "
                        << "have lost the last unrolls)";
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

absl::Status Actor::Flush() {
  for (PolicyRoute& route : routes_) {
    // Fails only after 30 s without an acknowledgement: at many updates
    // per env step the rate limiter admits the items in flight slowly.
    if (route.writer != nullptr) RETURN_IF_ERROR(route.writer->FlushWhileAcknowledged(absl::Seconds(30)));
  }
  return absl::OkStatus();
}

int64_t Actor::acknowledged_items() const {
  int64_t items = 0;
  for (const PolicyRoute& route : routes_) {
    items += route.writer != nullptr ? route.writer->acked_items() : route.inserted_items;
  }
  return items;
}

absl::StatusOr<bool> Actor::WriteReady(const absl::Notification& stop) {
  for (int route = 0; route < static_cast<int>(routes_.size()); ++route) {
    ASSIGN_OR_RETURN(const bool written, WriteReady(route, stop));
    if (!written) return false;
  }
  return true;
}

absl::StatusOr<bool> Actor::WriteReady(int index, const absl::Notification& stop) {
  PolicyRoute& route = routes_[static_cast<size_t>(index)];
  items::ItemBuilder& items = *route.items;
  if (items.ready() == 0) return true;
  if (options_.insert != nullptr) {
    // In process: stored (and trained on) before the next step.
    RETURN_IF_ERROR(options_.insert(index, items.Columns(), items.ready()));
    route.inserted_items += items.ready();
    items.ClearReady();
    return true;
  }
  absl::Status written;
  do {
    written = route.writer->Append(items.Columns(), items.ready());
    // DeadlineExceeded: replay is applying backpressure (rate limiter);
    // keep waiting unless asked to stop.
  } while (absl::IsDeadlineExceeded(written) && !stop.HasBeenNotified());
  if (absl::IsDeadlineExceeded(written)) return false;
  RETURN_IF_ERROR(written);
  items.ClearReady();
  return true;
}

void Actor::RecordEpisode(const std::optional<envs::EpisodeRecord>& episode, int64_t env_steps, int64_t version) {
  if (!episode.has_value()) return;
  metrics_.episodes->Increment();
  metrics_.episode_return->Set(episode->episode_return);
  metrics_.episode_return_hist->Observe(episode->episode_return);
  metrics_.episode_length->Set(episode->length);
  metrics_.episode_length_hist->Observe(episode->length);
  if (options_.scalars != nullptr) {
    options_.scalars->Append({{"env_steps", static_cast<double>(env_steps)},
                              {"return", episode->episode_return},
                              {"length", static_cast<double>(episode->length)},
                              {"parameter_version", static_cast<double>(version)},
                              {"episode", metrics_.episodes->Value()}});
  }
  if (summary_.episodes == 0) {
    summary_.return_min = summary_.return_max = episode->episode_return;
  }
  ++summary_.episodes;
  summary_.return_sum += episode->episode_return;
  summary_.return_min = std::min(summary_.return_min, episode->episode_return);
  summary_.return_max = std::max(summary_.return_max, episode->episode_return);
  summary_.length_sum += episode->length;
}

void Actor::RecordAgentEpisode(int row, double row_return) {
  for (const auto& [agent, agent_return] : agent_returns_->EndEpisode(row, row_return)) {
    agent_episodes_[agent]->Increment();
    agent_episode_return_[agent]->Set(agent_return);
  }
}

void Actor::LogEpisodeSummary(bool force) {
  const absl::Time now = absl::Now();
  if (!force && now - summary_.since < absl::Seconds(30)) return;
  if (summary_.episodes > 0) {
    const double count = static_cast<double>(summary_.episodes);
    RILL_LOG(INFO) << absl::StrFormat(
        "actor %d: %d episodes in %.0f s, return mean %.1f (min %.1f, max %.1f), length mean %.1f", options_.actor_id,
        summary_.episodes, absl::ToDoubleSeconds(now - summary_.since), summary_.return_sum / count,
        summary_.return_min, summary_.return_max, static_cast<double>(summary_.length_sum) / count);
  }
  if (opponents_ != nullptr) {
    RILL_LOG(INFO) << absl::StrFormat("actor %d: self-play opponents so far: %d episodes against the newest version, "
                                      "%d against pool snapshots",
                                      options_.actor_id, opponents_->newest_picks(), opponents_->snapshot_picks());
  }
  summary_ = EpisodeSummary{};
  summary_.since = now;
}

int Actor::AddSteps(int active, const std::vector<uint8_t>& next_obs, const std::vector<uint8_t>& final_obs,
                    const std::vector<EnvOutcome>& outcomes) {
  const int obs_bytes = envs_->obs_bytes();
  int failed = 0;
  for (int i = 0; i < active; ++i) {
    const EnvOutcome& outcome = outcomes[i];
    if (outcome.masked) continue;  // an agent that left: nothing happened to it
    if (outcome.failed) {
      // The env was reset after an error: what it was building is lost.
      ++failed;
      metrics_.env_errors->Increment();
      RILL_LOG(WARNING) << "actor " << options_.actor_id << ": env " << i << " failed and was reset: "
                        << outcome.error;
      routes_[row_route_[i]].items->DropPending(row_index_[i]);
      if (agent_returns_ != nullptr) agent_returns_->Drop(i);
      continue;
    }
    if (agent_returns_ != nullptr) agent_returns_->AddStep(i, envs_->agent_rewards_row(i));
    // Self-play: the opponent's seat is no policy's to train.
    if (opponents_ != nullptr && !opponents_->trained_row(i)) continue;
    const envs::StepResult& result = outcome.result;
    const size_t at = static_cast<size_t>(i) * obs_bytes;
    PolicyRoute& route = routes_[row_route_[i]];
    if (result.terminated || result.truncated) {
      RecordEpisode(outcome.episode, env_steps_ + active, route.version);
      if (agent_returns_ != nullptr && outcome.episode.has_value()) {
        RecordAgentEpisode(i, outcome.episode->episode_return);
      }
    }
    route.items->AddStep(row_index_[i], ItemStep(*envs_, i, outcome, &next_obs[at], &final_obs[at], route.version));
  }
  for (const envs::EnvEpisodeFigures& ended : envs_->env_episodes()) {
    for (size_t m = 0; m < ended.values.size(); ++m) {
      metrics_.env_metric->Add({{"role", "actor"}, {"metric", envs_->metrics()[m].name}}).Set(ended.values[m]);
    }
  }
  return failed;
}

absl::Status Actor::Run(const absl::Notification& stop) {
  // The policy's forwards are small: the BLAS's own threads would only
  // compete with the envs (and with the other actors on the machine).
  SetBlasThreads(1);
  const v1::ExperimentConfig& config = options_.config;
  const int n = envs_->size();
  const int num_actors = std::max(1, config.topology().num_actors());
  // The random-action warm-up is shared out over all actors. Builders that
  // need the behaviour policy never act at random (learning_starts is 0).
  const int64_t random_steps = (config.actor().learning_starts() + num_actors - 1) / num_actors;
  const bool on_policy = routes_[0].items->needs_behaviour();
  std::vector<uint8_t> next_obs(envs_->obs().size());
  std::vector<uint8_t> final_obs(envs_->obs().size());
  std::vector<EnvOutcome> outcomes;
  // Steps in a row in which every env failed: a run whose env keeps
  // failing stops, with the env's message.
  int all_failed_steps = 0;
  RETURN_IF_ERROR(envs_->ResetAll());
  if (opponents_ != nullptr) PickOpponents();
  summary_ = EpisodeSummary{};
  summary_.since = absl::Now();
  bool stopped = false;

  RILL_LOG(INFO) << "actor " << options_.actor_id << ": " << n << " x " << config.env().name() << ", writing to "
                 << (options_.insert != nullptr ? std::string("replay in this process") : options_.replay_address)
                 << ", "
                 << (on_policy ? absl::StrCat("unrolls of the behaviour policy", options_.synchronous ? ", synchronous" : "")
                               : absl::StrCat("random actions for the first ", random_steps, " steps"));
  while (!stop.HasBeenNotified() && (options_.max_env_steps == 0 || env_steps_ < options_.max_env_steps)) {
    const absl::Time start = absl::Now();
    bool ready = true;
    for (PolicyRoute& route : routes_) {
      RETURN_IF_ERROR(route.source->Refresh());
      if (route.local != nullptr) route.version = route.local->version();
      if (!route.source->ready()) ready = false;
    }
    if (on_policy && !ready) {
      // Unrolls carry the behaviour policy: wait for every policy's first
      // parameters.
      for (PolicyRoute& route : routes_) {
        if (route.source->ready()) continue;
        if (route.local == nullptr) {
          return absl::FailedPreconditionError("the actor acts in process but its parameter store has no version");
        }
        route.local->parameters().WaitForVersionAfter(0, absl::Milliseconds(200));
        break;
      }
      continue;
    }
    // Local inference acts at random until every policy's first version
    // arrives; central inference always has the learner's newest.
    absl::Status chosen = ChooseActions(/*random=*/env_steps_ < random_steps || !ready, stop);
    if (absl::IsCancelled(chosen)) break;  // stopped while the inference service was away
    RETURN_IF_ERROR(chosen);
    // The last step of a budget that is not a multiple of num_envs steps only
    // the first envs, so the actor takes exactly its budget.
    const int active = options_.max_env_steps > 0
                           ? static_cast<int>(std::min<int64_t>(n, options_.max_env_steps - env_steps_))
                           : n;
    int64_t ready_before = 0;
    for (const PolicyRoute& route : routes_) ready_before += route.items->ready();
    RETURN_IF_ERROR(envs_->Step(active, &next_obs, &final_obs, &outcomes));
    const int failed = AddSteps(active, next_obs, final_obs, outcomes);
    if (opponents_ != nullptr) PickOpponents();
    all_failed_steps = failed == active ? all_failed_steps + 1 : 0;
    if (all_failed_steps >= kMaxAllFailedSteps) {
      return absl::FailedPreconditionError(absl::StrCat("every env failed ", all_failed_steps,
                                                        " steps in a row; the last error: ", outcomes[0].error));
    }
    int64_t ready_after = 0;
    for (const PolicyRoute& route : routes_) ready_after += route.items->ready();
    const bool completed_unrolls = on_policy && ready_after > ready_before;
    ASSIGN_OR_RETURN(const bool written, WriteReady(stop));
    if (!written) {
      stopped = true;
      break;
    }
    envs_->obs().swap(next_obs);
    if (envs_->tracks_states()) envs_->AdvanceStates();
    env_steps_ += active;
    metrics_.env_steps->Increment(active);
    ExportWriterMetrics();
    metrics_.step_seconds->Observe(absl::ToDoubleSeconds(absl::Now() - start));
    LogEpisodeSummary(/*force=*/false);
    if (completed_unrolls && options_.synchronous) RETURN_IF_ERROR(WaitForNextVersion(stop));
  }
  if (!stopped) {
    // Items still waiting for later steps end here: transitions as if
    // truncated (they bootstrap from the last observation they saw); a
    // partial unroll is dropped.
    for (PolicyRoute& route : routes_) route.items->FlushPending();
    RETURN_IF_ERROR(WriteReady(stop).status());
  }
  absl::Status flushed = Flush();
  LogEpisodeSummary(/*force=*/true);
  RILL_LOG(INFO) << "actor " << options_.actor_id << " stops after " << env_steps_ << " env steps ("
                 << acknowledged_items() << " items acknowledged by replay)";
  return flushed;
}

}  // namespace rill::actor
