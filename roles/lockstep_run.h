// The lock-step run behind `rill launch --deterministic`: one actor, its
// replay table and the learner in this one process and on one thread,
// taking turns, so that the same config and seed repeat a run bit for bit.
//
// The turns. The actor steps its envs (config.actor.num_envs of them, in
// lockstep) with the newest published version (InProcessPolicySource) and
// hands each step's ready items to the table in this process (no
// ReplayWriter, no gRPC); at once, on the same thread, the learner samples
// every batch the table's rate limiter allows and trains on each
// (Learner::Train), publishing its versions into a ParameterStore the actor
// reads before its next step. Nothing runs concurrently, so nothing depends
// on timing:
//   - the envs and the actor's exploration are seeded from config.seed as a
//     launched actor 0's are, and the table samples from a generator seeded
//     from it too (Table::SeedSampling);
//   - the learner's initial weights and its own sampling are seeded (as in
//     every run), and LibTorch runs on one intra-op thread on the CPU, where
//     its kernels are deterministic (CUDA is refused: many of its kernels
//     are not);
//   - the final evaluation plays config.eval.episodes episodes of the final
//     version with the launched evaluator's seeds.
// What is given up: speed (no parallelism at all), several actors, replay
// shards and durable tables (the table lives in memory), central inference
// (the actor acts with its own copy), remote envs (their server runs
// elsewhere) and resuming (a resumed run is a different run).
//
// Several policies (config.policies): each has its own side, as in a
// launched run: its table (its view's, experiment::PolicyView, sampled
// from a generator seeded by its view's seed), its store and its learner
// state. The actor hands each policy's items to its table, and that
// policy's learner trains on every batch its table then allows, in the
// actor's order of policies (config order).
//
// Files, as a launched run writes them: <run_dir>/checkpoints/learner
// (/NAME for each policy, beside its view's config.textpb), and
// metrics/learner.jsonl (learner.NAME.jsonl), actor-0.jsonl and
// evaluator.jsonl (the last evaluation's round).
#ifndef RILL_ROLES_LOCKSTEP_RUN_H_
#define RILL_ROLES_LOCKSTEP_RUN_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "proto/config.pb.h"

namespace rill::roles {

struct LockstepOptions {
  // Finalized (experiment/config.h), with max_env_steps > 0.
  v1::ExperimentConfig config;
  std::string run_dir;
  // Called about every `progress_every` with the env steps and updates so
  // far (it only reports: nothing of the run depends on when it is called).
  absl::Duration progress_every = absl::Seconds(5);
  std::function<void(int64_t env_steps, int64_t learner_updates)> on_progress;
};

struct LockstepResult {
  int64_t env_steps = 0;
  int64_t learner_updates = 0;  // every policy's together
  int64_t items_inserted = 0;
  // The final version's evaluation (each policy's final version playing
  // its agents); none when Ctrl-C came first. The version is the first
  // policy's.
  std::optional<double> eval_return_mean;
  int eval_episodes = 0;
  int64_t eval_parameter_version = 0;
  // "done" or "skipped: interrupted".
  std::string final_eval;
  // FNV-1a (64 bits, hex) of the final policy's serialized ParameterSet
  // (every policy's, one after another in config order): two runs that
  // repeat each other print the same.
  std::string policy_digest;
};

// InvalidArgument naming the field for what a lock-step run cannot do: a
// CUDA learner, replay shards or a durable table, remote envs, no step
// budget. Fixes, in the config it returns, what it sets for the run: one
// actor and one shard, learner.device CPU and learner.num_threads 1.
absl::StatusOr<v1::ExperimentConfig> LockstepConfig(v1::ExperimentConfig config);

// Runs the config (from LockstepConfig) to its step budget, or until `stop`,
// then evaluates the final version unless stopped. The first error of the
// actor, the table or the learner ends the run.
absl::StatusOr<LockstepResult> RunLockstep(const LockstepOptions& options, const absl::Notification& stop);

}  // namespace rill::roles

#endif  // RILL_ROLES_LOCKSTEP_RUN_H_
