#include "actor/opponent_pool.h"

#include <algorithm>
#include <utility>

#include "common/logging.h"
#include "common/status_macros.h"

namespace rill::actor {

int64_t ChooseOpponent(double latest_probability, const std::vector<int64_t>& pool, std::mt19937_64& rng) {
  if (pool.empty()) return 0;
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  if (coin(rng) < latest_probability) return 0;
  std::uniform_int_distribution<size_t> pick(0, pool.size() - 1);
  return pool[pick(rng)];
}

absl::StatusOr<std::unique_ptr<OpponentPool>> OpponentPool::Create(const v1::SelfPlayConfig& config,
                                                                   const LockstepEnvs& envs, Fetch fetch,
                                                                   uint64_t seed) {
  ASSIGN_OR_RETURN(OpponentSeats seats, OpponentSeats::For(envs, /*players=*/2));
  // Env e's opponent seat is the one it does not train.
  for (int e = 0; e < seats.num_envs(); ++e) seats.Seat(e, 1 - e % 2, nullptr);
  return std::unique_ptr<OpponentPool>(new OpponentPool(config, std::move(seats), std::move(fetch), envs.spec(), seed));
}

void OpponentPool::Update(const std::vector<int64_t>& pool_versions) {
  if (pool_versions == learner_pool_) return;
  learner_pool_ = pool_versions;
  pool_ = pool_versions;
  for (auto it = loaded_.begin(); it != loaded_.end();) {
    bool seated = false;
    for (int e = 0; e < seats_.num_envs() && !seated; ++e) seated = seats_.opponent(e) == it->second.get();
    const bool pooled = std::find(pool_.begin(), pool_.end(), it->first) != pool_.end();
    it = pooled || seated ? std::next(it) : loaded_.erase(it);
  }
}

FixedPolicySource* OpponentPool::Snapshot(int64_t version) {
  auto found = loaded_.find(version);
  if (found != loaded_.end()) return found->second.get();
  absl::StatusOr<parameters::ReceivedParameters> fetched = fetch_(version);
  absl::Status loaded = fetched.status();
  auto policy = std::make_unique<FixedPolicySource>(spec_, seed_ + static_cast<uint64_t>(version));
  if (loaded.ok()) loaded = policy->Load(fetched->parameters, version);
  if (!loaded.ok()) {
    RILL_LOG(WARNING) << "self-play: opponent version " << version << " is unavailable (" << loaded.message()
                      << "); the newest version plays instead";
    // Not asked again until the learner's pool changes.
    pool_.erase(std::remove(pool_.begin(), pool_.end(), version), pool_.end());
    return nullptr;
  }
  FixedPolicySource* kept = policy.get();
  loaded_[version] = std::move(policy);
  return kept;
}

void OpponentPool::PickOpponents(const LockstepEnvs& envs) {
  const uint8_t* starts = envs.observation_rows().episode_start;
  for (int e = 0; e < seats_.num_envs(); ++e) {
    if (starts != nullptr && starts[2 * e] == 0) continue;
    const int64_t version = ChooseOpponent(config_.latest_probability(), pool_, rng_);
    FixedPolicySource* opponent = version == 0 ? nullptr : Snapshot(version);
    seats_.Seat(e, seats_.opponent_seat(e), opponent);
    ++(opponent == nullptr ? newest_picks_ : snapshot_picks_);
  }
}

}  // namespace rill::actor
