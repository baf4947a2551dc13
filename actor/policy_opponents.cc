#include "actor/policy_opponents.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status_macros.h"

namespace rill::actor {

absl::StatusOr<std::unique_ptr<PolicyOpponents>> PolicyOpponents::Create(const v1::SelfPlayConfig& config,
                                                                         const LockstepEnvs& envs,
                                                                         std::vector<int> agent_policy,
                                                                         std::vector<Side> sides, uint64_t seed) {
  const int policies = static_cast<int>(sides.size());
  const int agents = static_cast<int>(agent_policy.size());
  if (policies < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("self-play between policies needs two or more policies; the run has ", policies));
  }
  if (agents == 0 || envs.size() % agents != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(envs.size(), " rows are not whole envs of ", agents, " agents (", envs.spec().name, ")"));
  }
  const int num_envs = envs.size() / agents;
  if (num_envs < policies) {
    return absl::InvalidArgumentError(absl::StrCat("self-play between policies: ", num_envs, " envs for ", policies,
                                                   " policies; env e trains policy e mod ", policies,
                                                   ", so each policy needs an env (actor.num_envs)"));
  }
  for (const int policy : agent_policy) {
    if (policy < 0 || policy >= policies) {
      return absl::InvalidArgumentError(absl::StrCat("agent policy ", policy, " of ", policies, " policies"));
    }
  }
  std::vector<Pool> pools(static_cast<size_t>(policies));
  for (int p = 0; p < policies; ++p) pools[static_cast<size_t>(p)].side = std::move(sides[static_cast<size_t>(p)]);
  return std::unique_ptr<PolicyOpponents>(
      new PolicyOpponents(config, num_envs, std::move(agent_policy), std::move(pools), seed));
}

PolicyOpponents::PolicyOpponents(const v1::SelfPlayConfig& config, int num_envs, std::vector<int> agent_policy,
                                 std::vector<Pool> pools, uint64_t seed)
    : config_(config),
      num_envs_(num_envs),
      agent_policy_(std::move(agent_policy)),
      pools_(std::move(pools)),
      seed_(seed),
      rng_(seed),
      opponents_(static_cast<size_t>(num_envs) * pools_.size(), nullptr) {}

void PolicyOpponents::Update(int policy, const std::vector<int64_t>& pool_versions) {
  if (policy < 0 || policy >= num_policies()) return;
  Pool& pool = pools_[static_cast<size_t>(policy)];
  if (pool_versions == pool.learner_pool) return;
  pool.learner_pool = pool_versions;
  pool.pool = pool_versions;
  for (auto it = pool.loaded.begin(); it != pool.loaded.end();) {
    bool seated = false;
    for (int e = 0; e < num_envs_ && !seated; ++e) seated = opponent(e, policy) == it->second.get();
    const bool pooled = std::find(pool.pool.begin(), pool.pool.end(), it->first) != pool.pool.end();
    it = pooled || seated ? std::next(it) : pool.loaded.erase(it);
  }
}

FixedPolicySource* PolicyOpponents::Snapshot(int policy, int64_t version) {
  Pool& pool = pools_[static_cast<size_t>(policy)];
  const auto found = pool.loaded.find(version);
  if (found != pool.loaded.end()) return found->second.get();
  absl::StatusOr<parameters::ReceivedParameters> fetched = pool.side.fetch(version);
  absl::Status loaded = fetched.status();
  // Seeded apart by policy and version.
  auto snapshot = std::make_unique<FixedPolicySource>(
      pool.side.spec, seed_ + 7919ULL * static_cast<uint64_t>(policy) + static_cast<uint64_t>(version));
  if (loaded.ok()) loaded = snapshot->Load(fetched->parameters, version);
  if (!loaded.ok()) {
    RILL_LOG(WARNING) << "self-play: opponent version " << version << " of policy " << policy
                      << " is unavailable (" << loaded.message() << "); its newest version plays instead";
    // Not asked again until the learner's pool changes.
    pool.pool.erase(std::remove(pool.pool.begin(), pool.pool.end(), version), pool.pool.end());
    return nullptr;
  }
  FixedPolicySource* kept = snapshot.get();
  pool.loaded[version] = std::move(snapshot);
  return kept;
}

void PolicyOpponents::PickOpponents(const LockstepEnvs& envs) {
  const uint8_t* starts = envs.observation_rows().episode_start;
  for (int e = 0; e < num_envs_; ++e) {
    if (starts != nullptr && starts[e * agents()] == 0) continue;
    for (int q = 0; q < num_policies(); ++q) {
      if (q == trained_policy(e)) continue;
      const int64_t version = ChooseOpponent(config_.latest_probability(), pools_[static_cast<size_t>(q)].pool, rng_);
      FixedPolicySource* snapshot = version == 0 ? nullptr : Snapshot(q, version);
      opponents_[static_cast<size_t>(e * num_policies() + q)] = snapshot;
      ++(snapshot == nullptr ? newest_picks_ : snapshot_picks_);
    }
  }
}

absl::Status PolicyOpponents::Act(LockstepEnvs& envs, const absl::Notification& stop) {
  // Each distinct snapshot once, over all of the rows it plays.
  std::vector<FixedPolicySource*> done;
  for (int q = 0; q < num_policies(); ++q) {
    done.clear();
    for (int e = 0; e < num_envs_; ++e) {
      FixedPolicySource* snapshot = opponent(e, q);
      if (snapshot == nullptr || std::find(done.begin(), done.end(), snapshot) != done.end()) continue;
      done.push_back(snapshot);
      RETURN_IF_ERROR(ActFor(q, snapshot, envs, stop));
    }
  }
  return absl::OkStatus();
}

absl::Status PolicyOpponents::ActFor(int policy, FixedPolicySource* snapshot, LockstepEnvs& envs,
                                     const absl::Notification& stop) {
  rows_.clear();
  for (int e = 0; e < num_envs_; ++e) {
    if (opponent(e, policy) != snapshot) continue;
    for (int k = 0; k < agents(); ++k) {
      if (agent_policy_[static_cast<size_t>(k)] == policy) rows_.push_back(e * agents() + k);
    }
  }
  return ActOnRows(*snapshot, rows_, pools_[static_cast<size_t>(policy)].side.spec.obs_dim(),
                   /*deterministic=*/false, envs, stop, scratch_);
}

}  // namespace rill::actor
