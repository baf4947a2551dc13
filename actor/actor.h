// A training actor: owns `num_envs` environments stepped in lockstep
// (lockstep_envs.h), gets one step's actions for all of them at once from
// its ActionSource, chosen once at start-up (its own policy copy following
// the learner's parameter stream, or central inference:
// action_sources/), turns the steps into items with an ItemBuilder
// (items/: n-step transitions, or unrolls with the behaviour policy;
// columns filled by name from the table's signature) and writes them to
// replay through a ReplayWriter (batched, acknowledged, long-lived stream).
// New policy parameters are taken up between steps, never stalling the env
// loop. The actor knows no algorithm: its entry point
// (roles/actor_main.cc) tells it which items to write and whether to wait
// for each version. The evaluator is a class of its own (evaluator.h).
//
// Run() is called from one thread; the object is not otherwise thread-safe.
#ifndef RILL_ACTOR_ACTOR_H_
#define RILL_ACTOR_ACTOR_H_

#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "actor/action_sources/interface.h"
#include "actor/action_sources/local.h"
#include "actor/action_sources/row_subset.h"
#include "actor/actor_metrics.h"
#include "actor/agent_returns.h"
#include "actor/lockstep_envs.h"
#include "actor/opponent_pool.h"
#include "common/scalar_log.h"
#include "items/interface.h"
#include "items/registry.h"
#include "parameters/parameter_service.h"
#include "prometheus/registry.h"
#include "proto/config.pb.h"
#include "replay/client/writer.h"

namespace rill::actor {

struct ActorOptions {
  v1::ExperimentConfig config;  // finalized (experiment/config.h)
  int actor_id = 0;
  std::string replay_address;
  std::string learner_address;
  // Central inference: the InferenceService's address; empty: the config's
  // inference.address, and the learner's when that is empty too.
  std::string inference_address;
  // This actor stops after this many env steps; 0: runs until stopped.
  int64_t max_env_steps = 0;
  uint64_t seed = 0;
  // What a training actor writes (its entry point reads it from the
  // algorithm's spec: the actor knows no algorithm).
  items::ItemOptions items;
  // A3C style: after each round of items, wait for the version they
  // produce.
  bool synchronous = false;
  // Where each finished episode is appended (common/scalar_log.h): this
  // process's env steps, return, length, the policy version it ended with,
  // and "episode", this process's count of finished episodes (1 for its
  // first: a reader tells a restarted or resumed actor's lines by it).
  // Null: nowhere. Outlives the actor.
  ScalarLog* scalars = nullptr;

  // The lock-step run (roles/lockstep_run.h) sets both, and the actor then
  // needs no address: each policy's copy takes the newest version of its
  // store (one per policy, in policy_names order; one for a lone policy)
  // before every step, whatever the topology, and each step's ready items
  // go to `insert` with their policy's index, on the actor's own thread,
  // which stores them and trains on them before it returns, instead of to
  // a ReplayWriter. Both outlive the actor.
  std::vector<parameters::ParameterStore*> parameter_stores;
  std::function<absl::Status(int policy, const std::vector<const void*>& columns, int num_items)> insert;

  // The policies the rows play for (config.policies, as
  // experiment::ResolvePolicies maps them; its entry point passes them, as
  // the actor reads no config rule): their names in config order, and each
  // env agent's policy, agent_policy[k] for row e * K + k. Both empty: one
  // policy plays every row. Each policy follows its own parameter stream
  // (or central inference's) and writes its rows' items to its own tables
  // (replay::PolicyTableName).
  std::vector<std::string> policy_names;
  std::vector<int> agent_policy;
  // What each policy's rows write, in policy_names order, from its view
  // (experiment::PolicyView): its first table (its name, and its
  // signature, which follows its agents' spaces and its own learner
  // section) and its algorithm's items. Empty: config.replay.tables(0)
  // renamed for each (replay::PolicyTableName) and `items`, for policies
  // whose items are the batch's rows'.
  struct PolicyWrite {
    v1::TableConfig table;
    items::ItemOptions items;
  };
  std::vector<PolicyWrite> policy_writes;
};

class Actor {
 public:
  // InvalidArgument for a bad config; `registry` may be null (no metrics).
  static absl::StatusOr<std::unique_ptr<Actor>> Create(const ActorOptions& options,
                                                       prometheus::Registry* registry);

  // Steps until `stop` is notified or the step budget is spent, then flushes
  // what it wrote (all acknowledged). Returns the first error that cannot be
  // retried (a replay that rejects the items, an env error).
  absl::Status Run(const absl::Notification& stop);

  int64_t env_steps() const { return env_steps_; }
  // Items replay has acknowledged (in process: items inserted).
  int64_t acknowledged_items() const;

 private:
  // One policy's rows and where they act from and write to.
  struct PolicyRoute {
    std::string name;  // "" for a run without config.policies
    // The batch rows it plays, ascending (every row for a lone policy).
    std::vector<int> rows;
    // What its rows are to it: the first spec.obs_dim() values of each
    // batch row (envs::PolicyRowSpec).
    envs::EnvSpec spec;
    // Chosen once: the local policy copy (`local` points at it) or central
    // inference; behind a RowSubsetSource when the policy plays some rows
    // only.
    std::unique_ptr<ActionSource> source;
    LocalPolicySource* local = nullptr;
    // Its rows' items, row r of it being rows[r].
    std::unique_ptr<items::ItemBuilder> items;
    std::unique_ptr<replay::ReplayWriter> writer;
    int64_t version = 0;  // the parameter version that acted last
    int64_t reconnects = 0;  // source->reconnects() as last counted
    prometheus::Gauge* version_gauge = nullptr;
    // Items handed to options_.insert (the lock-step run).
    int64_t inserted_items = 0;
  };

  explicit Actor(ActorOptions options) : options_(std::move(options)) {}
  // Self-play (config self_play): the opponent pool, fetching snapshots
  // through the actor's parameter stream or its in-process store.
  absl::Status CreateOpponentPool(uint64_t seed, prometheus::Registry& registry);
  // How self-play gets route `route`'s pool versions: from its store in
  // process, else from its learner. InvalidArgument without a policy copy.
  absl::StatusOr<OpponentPool::Fetch> PoolFetch(int route) const;
  // Picks the opponents of the envs whose episode starts and counts them.
  void PickOpponents();
  // Copies the writer's failover counters into the metrics.
  void ExportWriterMetrics();
  // Exports a row's episode if its last step finished one (the actor's
  // `env_steps` counting that step, `version` the row's policy's), and
  // adds it to the training log's summary and the scalar log.
  void RecordEpisode(const std::optional<envs::EpisodeRecord>& episode, int64_t env_steps, int64_t version);
  // A multi-agent env's row `row` finished its episode with `row_return`:
  // each of its agents' returns to the agent-labelled metrics.
  void RecordAgentEpisode(int row, double row_return);
  // One step's outcomes of rows [0, active): each live row's step to the
  // item builder (a failed row's pending items dropped, a masked row
  // skipped), finished episodes recorded, the envs' figures exported.
  // Returns how many rows failed.
  int AddSteps(int active, const std::vector<uint8_t>& next_obs, const std::vector<uint8_t>& final_obs,
               const std::vector<EnvOutcome>& outcomes);
  // Logs the episodes finished since the last summary (every 30 s, and at
  // the end of the run): count, mean / min / max return, mean length.
  void LogEpisodeSummary(bool force);
  // Fills the envs' action buffers: uniform random actions when `random`,
  // otherwise the action source's (with the behaviour policy when the item
  // builder needs it).
  absl::Status ChooseActions(bool random, const absl::Notification& stop);
  // Writes every policy's ready items; false if asked to stop while replay
  // held them back.
  absl::StatusOr<bool> WriteReady(const absl::Notification& stop);
  absl::StatusOr<bool> WriteReady(int route, const absl::Notification& stop);
  // Waits until replay has acknowledged every item written (in process:
  // nothing to wait for).
  absl::Status Flush();
  // A3C style: after a round of unrolls, waits for the version they make
  // of every policy, for at most 30 s (a restarted learner may have lost
  // them).
  absl::Status WaitForNextVersion(const absl::Notification& stop);

  // Makes policy `index`'s route (its source, items and writer).
  absl::Status CreateRoute(int index, uint64_t seed);
  // Whether any policy's items are waiting for a recurrent core state.
  bool NeedsCoreStates() const;

  ActorOptions options_;
  std::unique_ptr<LockstepEnvs> envs_;
  std::vector<PolicyRoute> routes_;
  // Row i's policy, and its index among that policy's rows.
  std::vector<int> row_route_;
  std::vector<int> row_index_;
  // Each agent's returns (a multi-agent env's), with its metrics' series
  // by agent index; null for a single-agent env.
  std::unique_ptr<AgentReturns> agent_returns_;
  std::vector<prometheus::Counter*> agent_episodes_;
  std::vector<prometheus::Gauge*> agent_episode_return_;
  // Self-play's opponents (config.self_play): one policy against its own
  // past versions, or several policies against each other's; null without
  // self_play.
  std::unique_ptr<SelfPlayOpponents> opponents_;
  prometheus::Counter* newest_opponents_ = nullptr;
  prometheus::Counter* snapshot_opponents_ = nullptr;
  std::unique_ptr<prometheus::Registry> own_registry_;
  ActorMetrics metrics_;
  std::mt19937_64 rng_;
  int64_t env_steps_ = 0;
  // Episodes finished since the last LogEpisodeSummary.
  struct EpisodeSummary {
    int64_t episodes = 0;
    double return_sum = 0, return_min = 0, return_max = 0;
    int64_t length_sum = 0;
    absl::Time since = absl::InfinitePast();
  } summary_;
};

}  // namespace rill::actor

#endif  // RILL_ACTOR_ACTOR_H_
