// LearnerGroup with real ranks: each rank a thread with its own TCPStore
// connection and ProcessGroupGloo over loopback (port 0 for rank 0's store),
// as separate processes would have. Two ranks with batch B each end where
// one learner with both batches (2B) ends, for IMPALA and SAC-discrete; a
// rank that goes makes the other fail, naming it; bad rendezvous is refused
// by name; subgroups (one per policy) average at once, each apart.
#include "learner/learner_group.h"

#include <functional>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/algorithms/impala.h"
#include "learner/algorithms/sac_discrete.h"
#include "learner/algorithms/unroll_testing.h"
#include "learner/observation_normalizer.h"

namespace rill::learner {
namespace {

using ::testing::HasSubstr;

constexpr absl::Duration kTimeout = absl::Seconds(20);

// Joins `world` ranks, each on its own thread, rank 0 on port 0; their
// groups in rank order (null where Join failed, with the test failed).
std::vector<std::unique_ptr<LearnerGroup>> JoinAll(int world) {
  std::promise<uint16_t> port;
  std::vector<std::future<absl::StatusOr<std::unique_ptr<LearnerGroup>>>> joined;
  LearnerGroupOptions zero;
  zero.world_size = world;
  zero.store_address = "127.0.0.1:0";
  zero.timeout = kTimeout;
  zero.on_store_port = [&port](uint16_t p) { port.set_value(p); };
  joined.push_back(std::async(std::launch::async, [zero] { return LearnerGroup::Join(zero); }));
  const uint16_t bound = port.get_future().get();
  for (int rank = 1; rank < world; ++rank) {
    LearnerGroupOptions options;
    options.rank = rank;
    options.world_size = world;
    options.store_address = absl::StrCat("127.0.0.1:", bound);
    options.timeout = kTimeout;
    joined.push_back(std::async(std::launch::async, [options] { return LearnerGroup::Join(options); }));
  }
  std::vector<std::unique_ptr<LearnerGroup>> groups;
  for (auto& future : joined) {
    absl::StatusOr<std::unique_ptr<LearnerGroup>> group = future.get();
    EXPECT_TRUE(group.ok()) << group.status();
    groups.push_back(group.ok() ? *std::move(group) : nullptr);
  }
  return groups;
}

// Runs `work(rank)` on one thread per rank and waits for all.
void OnEveryRank(int world, const std::function<void(int)>& work) {
  std::vector<std::thread> threads;
  for (int rank = 0; rank < world; ++rank) threads.emplace_back(work, rank);
  for (std::thread& thread : threads) thread.join();
}

Batch Rows(const Batch& batch, int64_t begin, int64_t count) {
  Batch part;
  for (const auto& [name, column] : batch.columns) part.columns[name] = column.narrow(0, begin, count).contiguous();
  if (batch.weight.defined()) part.weight = batch.weight.narrow(0, begin, count).contiguous();
  part.size = count;
  return part;
}

TransitionBatch Rows(const TransitionBatch& batch, int64_t begin, int64_t count) {
  TransitionBatch part;
  part.obs = batch.obs.narrow(0, begin, count).contiguous();
  part.action = batch.action.narrow(0, begin, count).contiguous();
  part.reward = batch.reward.narrow(0, begin, count).contiguous();
  part.terminated = batch.terminated.narrow(0, begin, count).contiguous();
  part.next_obs = batch.next_obs.narrow(0, begin, count).contiguous();
  return part;
}

// Every float tensor of the algorithms' training states, by name.
std::map<std::string, torch::Tensor> FloatState(Algorithm& algorithm) {
  std::map<std::string, torch::Tensor> state;
  for (const auto& [name, tensor] : algorithm.state().Save()) {
    if (tensor.is_floating_point()) state[name] = tensor.clone();
  }
  return state;
}

// The ranks hold exactly the same state, and it is the single learner's to
// float tolerance (the sums of a 2B batch and of two B halves round
// differently).
void ExpectSameState(Algorithm& single, Algorithm& rank0, Algorithm& rank1) {
  const std::map<std::string, torch::Tensor> one = FloatState(single), zero = FloatState(rank0),
                                             other = FloatState(rank1);
  ASSERT_EQ(one.size(), zero.size());
  int compared = 0;
  for (const auto& [name, tensor] : one) {
    EXPECT_TRUE(torch::equal(zero.at(name), other.at(name))) << name << ": the ranks differ";
    EXPECT_TRUE(torch::allclose(zero.at(name), tensor, /*rtol=*/1e-4, /*atol=*/1e-5))
        << name << ": the ranks differ from one learner with both batches by "
        << (zero.at(name) - tensor).abs().max().item<double>();
    ++compared;
  }
  EXPECT_GT(compared, 3);
}

ImpalaOptions SmallImpala(const envs::EnvSpec& env) {
  ImpalaOptions options;
  options.env = env;
  options.hidden = {16};
  options.unroll_length = 5;
  options.optimizer = v1::ImpalaConfig::ADAM;
  options.learning_rate = 3e-3;
  options.epsilon = 1e-8;
  options.max_grad_norm = 1.0;  // clipped on the averaged gradient
  options.seed = 7;
  return options;
}

TEST(LearnerGroupTest, TwoImpalaRanksWithBatchBEachEndAsOneWithBatch2B) {
  for (const envs::EnvSpec& env : {TwoArmSpec(), ContinuousSpec()}) {
    SCOPED_TRACE(env.name);
    const ImpalaOptions options = SmallImpala(env);
    std::unique_ptr<Impala> single = *Impala::Create(options);
    std::vector<std::unique_ptr<Impala>> ranks;
    for (int r = 0; r < 2; ++r) ranks.push_back(*Impala::Create(options));
    std::vector<std::unique_ptr<LearnerGroup>> groups = JoinAll(2);
    ASSERT_TRUE(groups[0] != nullptr && groups[1] != nullptr);
    for (int r = 0; r < 2; ++r) ranks[r]->set_gradient_averager(groups[r].get());

    // Batches of 2B = 8 unrolls acted by the initial policy.
    std::vector<Batch> batches;
    for (int k = 0; k < 6; ++k) batches.push_back(ActedUnrolls(*single->ExportPolicy(), env, 8, 5, 100 + k));
    for (const Batch& batch : batches) ASSERT_TRUE(single->Update(batch).ok());
    OnEveryRank(2, [&](int rank) {
      for (const Batch& batch : batches) ASSERT_TRUE(ranks[rank]->Update(Rows(batch, rank * 4, 4)).ok());
    });
    ExpectSameState(*single, *ranks[0], *ranks[1]);
    EXPECT_EQ(groups[0]->stats().allreduces, 6);
    EXPECT_GT(groups[0]->stats().allreduce_bytes, 0);
  }
}

TEST(LearnerGroupTest, TwoSacDiscreteRanksWithBatchBEachEndAsOneWithBatch2B) {
  SacDiscreteOptions options;
  options.obs_dim = 3;
  options.num_actions = 4;
  options.hidden = {32, 32};
  options.actor_lr = options.critic_lr = options.alpha_lr = 1e-3;
  options.seed = 5;
  std::unique_ptr<SacDiscrete> single = *SacDiscrete::Create(options);
  std::vector<std::unique_ptr<SacDiscrete>> ranks;
  for (int r = 0; r < 2; ++r) ranks.push_back(*SacDiscrete::Create(options));
  std::vector<std::unique_ptr<LearnerGroup>> groups = JoinAll(2);
  ASSERT_TRUE(groups[0] != nullptr && groups[1] != nullptr);
  for (int r = 0; r < 2; ++r) ranks[r]->set_gradient_averager(groups[r].get());

  torch::manual_seed(11);
  std::vector<TransitionBatch> batches;
  for (int k = 0; k < 8; ++k) {
    TransitionBatch batch;
    batch.obs = torch::randn({32, 3});
    batch.action = torch::randint(0, 4, {32}, torch::kInt64);
    batch.reward = torch::randn({32});
    batch.terminated = (torch::rand({32}) < 0.1).to(torch::kFloat32);
    batch.next_obs = torch::randn({32, 3});
    batches.push_back(batch);
  }
  for (const TransitionBatch& batch : batches) ASSERT_TRUE(single->Update(batch).ok());
  OnEveryRank(2, [&](int rank) {
    for (const TransitionBatch& batch : batches) ASSERT_TRUE(ranks[rank]->Update(Rows(batch, rank * 16, 16)).ok());
  });
  ExpectSameState(*single, *ranks[0], *ranks[1]);
  // A critic step, then the policy and temperature together: two per update.
  EXPECT_EQ(groups[1]->stats().allreduces, 16);
}

TEST(LearnerGroupTest, RanksNormaliseObservationsWithTheStatisticsOfEveryRanksBatch) {
  ObservationNormalizer single(3, 5.0, torch::kCPU);
  std::vector<std::unique_ptr<ObservationNormalizer>> ranks;
  for (int r = 0; r < 2; ++r) ranks.push_back(std::make_unique<ObservationNormalizer>(3, 5.0, torch::kCPU));
  std::vector<std::unique_ptr<LearnerGroup>> groups = JoinAll(2);
  ASSERT_TRUE(groups[0] != nullptr && groups[1] != nullptr);
  torch::manual_seed(3);
  std::vector<torch::Tensor> batches;
  for (int k = 0; k < 5; ++k) batches.push_back(torch::randn({16, 3}).mul_(torch::tensor({1.f, 4.f, 0.5f})).add_(k));
  for (const torch::Tensor& batch : batches) ASSERT_TRUE(single.Update(batch).ok());
  OnEveryRank(2, [&](int rank) {
    for (const torch::Tensor& batch : batches) {
      ASSERT_TRUE(ranks[rank]->Update(batch.narrow(0, rank * 8, 8), groups[rank].get()).ok());
    }
  });
  for (int rank = 0; rank < 2; ++rank) {
    EXPECT_DOUBLE_EQ(ranks[rank]->count(), 80.0);
    EXPECT_TRUE(torch::allclose(ranks[rank]->mean(), single.mean(), 1e-6, 1e-6)) << ranks[rank]->mean();
    EXPECT_TRUE(torch::allclose(ranks[rank]->std(), single.std(), 1e-6, 1e-6)) << ranks[rank]->std();
  }
  EXPECT_TRUE(torch::equal(ranks[0]->mean(), ranks[1]->mean()));
}

TEST(LearnerGroupTest, BroadcastGivesEveryRankRankZerosValuesAndAllGatherStacksThemInRankOrder) {
  std::vector<std::unique_ptr<LearnerGroup>> groups = JoinAll(3);
  for (const auto& group : groups) ASSERT_NE(group, nullptr);
  std::vector<torch::Tensor> values(3), gathered(3);
  OnEveryRank(3, [&](int rank) {
    values[rank] = torch::full({2, 2}, static_cast<float>(rank + 1));
    torch::Tensor counter = torch::full({1}, rank * 10, torch::kInt64);
    ASSERT_TRUE(groups[rank]->Broadcast({values[rank], counter}).ok());
    EXPECT_EQ(counter.item<int64_t>(), 0);
    absl::StatusOr<torch::Tensor> all = groups[rank]->AllGather(torch::full({2}, static_cast<float>(rank)));
    ASSERT_TRUE(all.ok()) << all.status();
    gathered[rank] = *all;
  });
  for (int rank = 0; rank < 3; ++rank) {
    EXPECT_TRUE(torch::equal(values[rank], torch::full({2, 2}, 1.0f))) << "rank " << rank;
    EXPECT_TRUE(torch::equal(gathered[rank], torch::tensor({0.f, 0.f, 1.f, 1.f, 2.f, 2.f}).view({3, 2})));
  }
}

// The ranks agree to stop: true on every rank once any says true. And
// Average on an odd-sized bucket of several tensors, with three ranks.
TEST(LearnerGroupTest, AnyRankIsTrueEverywhereOnceOneRankSaysSo) {
  std::vector<std::unique_ptr<LearnerGroup>> groups = JoinAll(3);
  for (const auto& group : groups) ASSERT_NE(group, nullptr);
  std::vector<int> answers(3, -1);
  for (int says = -1; says < 3; ++says) {
    OnEveryRank(3, [&](int rank) {
      absl::StatusOr<bool> any = groups[rank]->AnyRank(rank == says);
      ASSERT_TRUE(any.ok()) << any.status();
      answers[rank] = *any ? 1 : 0;
    });
    EXPECT_THAT(answers, ::testing::Each(says >= 0 ? 1 : 0)) << "rank " << says << " says stop";
  }
  OnEveryRank(3, [&](int rank) {
    torch::Tensor a = torch::full({7}, static_cast<float>(rank)), b = torch::full({2, 3}, 3.0f * rank);
    ASSERT_TRUE(groups[rank]->Average({a, b}).ok());
    EXPECT_TRUE(torch::equal(a, torch::full({7}, 1.0f)));
    EXPECT_TRUE(torch::equal(b, torch::full({2, 3}, 3.0f)));
  });
}

// A rank's policies train on threads of their own, each averaging through
// its own subgroup: the subgroups' collectives run at the same time, in no
// order between policies, and each policy's average is its own ranks'.
TEST(LearnerGroupTest, SubgroupsAverageAtTheSameTimeEachOverItsOwnRanks) {
  constexpr int kWorld = 2, kPolicies = 2, kSteps = 200;
  std::vector<std::unique_ptr<LearnerGroup>> groups = JoinAll(kWorld);
  for (const auto& group : groups) ASSERT_NE(group, nullptr);
  // subgroups[rank][policy], made in the same order on every rank.
  std::vector<std::vector<std::unique_ptr<LearnerGroup>>> subgroups(kWorld);
  OnEveryRank(kWorld, [&](int rank) {
    for (const char* name : {"red", "blue"}) {
      absl::StatusOr<std::unique_ptr<LearnerGroup>> made = groups[rank]->Subgroup(name);
      ASSERT_TRUE(made.ok()) << made.status();
      subgroups[rank].push_back(*std::move(made));
    }
  });
  for (const auto& made : subgroups) ASSERT_EQ(made.size(), kPolicies);
  std::vector<int> wrong(kWorld * kPolicies, 0);
  std::vector<std::thread> threads;
  for (int rank = 0; rank < kWorld; ++rank) {
    for (int policy = 0; policy < kPolicies; ++policy) {
      threads.emplace_back([&, rank, policy] {
        for (int step = 0; step < kSteps; ++step) {
          // Policy p's ranks hold 100p + step + rank: their mean is
          // 100p + step + 0.5. A sum that mixed in the other policy's
          // values would be off by 50 or more.
          torch::Tensor grad = torch::full({5 + policy}, static_cast<float>(100 * policy + step + rank));
          if (!subgroups[rank][policy]->Average({grad}).ok() ||
              !torch::equal(grad, torch::full({5 + policy}, 100.0f * policy + step + 0.5f))) {
            ++wrong[rank * kPolicies + policy];
          }
        }
      });
    }
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(wrong, ::testing::Each(0));
  for (int rank = 0; rank < kWorld; ++rank) {
    for (int policy = 0; policy < kPolicies; ++policy) {
      EXPECT_EQ(subgroups[rank][policy]->stats().allreduces, kSteps);
    }
    EXPECT_EQ(groups[rank]->stats().allreduces, 0) << "the subgroups' allreduces are their own";
  }
  // The group itself still averages; a subgroup's name is checked.
  OnEveryRank(kWorld, [&](int rank) {
    torch::Tensor grad = torch::full({3}, static_cast<float>(rank));
    ASSERT_TRUE(groups[rank]->Average({grad}).ok());
    EXPECT_TRUE(torch::equal(grad, torch::full({3}, 0.5f)));
  });
  EXPECT_THAT(std::string(groups[0]->Subgroup("a/b").status().message()), HasSubstr("without '/'"));
  EXPECT_THAT(std::string(groups[0]->Subgroup("").status().message()), HasSubstr("non-empty"));
}

TEST(LearnerGroupTest, ARankThatGoesMakesTheOthersFailNamingIt) {
  std::vector<std::unique_ptr<LearnerGroup>> groups = JoinAll(3);
  for (const auto& group : groups) ASSERT_NE(group, nullptr);
  // One allreduce that works, then rank 2 leaves without a word.
  OnEveryRank(3, [&](int rank) {
    torch::Tensor grad = torch::full({4}, static_cast<float>(rank));
    ASSERT_TRUE(groups[rank]->Average({grad}).ok());
    EXPECT_TRUE(torch::equal(grad, torch::full({4}, 1.0f)));
  });
  groups[2].reset();
  std::vector<absl::Status> failed(2);
  const absl::Time start = absl::Now();
  OnEveryRank(2, [&](int rank) {
    torch::Tensor grad = torch::ones({4});
    failed[rank] = groups[rank]->Average({grad});
  });
  for (int rank = 0; rank < 2; ++rank) {
    EXPECT_TRUE(absl::IsUnavailable(failed[rank])) << failed[rank];
    EXPECT_THAT(std::string(failed[rank].message()), HasSubstr("rank 2 has gone")) << failed[rank];
  }
  // Well within the collective's timeout: the broken connection is seen at once.
  EXPECT_LT(absl::Now() - start, kTimeout);
}

TEST(LearnerGroupTest, BadRendezvousIsRefusedByName) {
  LearnerGroupOptions options;
  options.store_address = "127.0.0.1:0";
  options.world_size = 2;
  options.rank = 2;
  EXPECT_THAT(std::string(LearnerGroup::Join(options).status().message()), HasSubstr("rank 2 is outside [0, 2)"));
  options.rank = 0;
  options.store_address = "no-port";
  EXPECT_THAT(std::string(LearnerGroup::Join(options).status().message()), HasSubstr("is not HOST:PORT"));

  // A store nobody listens on: the port of a store that has closed.
  uint16_t closed = 0;
  {
    std::vector<std::unique_ptr<LearnerGroup>> group = JoinAll(1);
    ASSERT_NE(group[0], nullptr);
    closed = group[0]->store_port();
  }
  LearnerGroupOptions lost;
  lost.rank = 1;
  lost.world_size = 2;
  lost.store_address = absl::StrCat("127.0.0.1:", closed);
  lost.timeout = absl::Seconds(2);
  absl::StatusOr<std::unique_ptr<LearnerGroup>> unreachable = LearnerGroup::Join(lost);
  EXPECT_TRUE(absl::IsDeadlineExceeded(unreachable.status())) << unreachable.status();
  EXPECT_THAT(std::string(unreachable.status().message()), HasSubstr(lost.store_address));

  // Rank 0 of a group of 2; then a rank 1 that says the group has 3, and
  // two rank 1s.
  std::promise<uint16_t> port;
  LearnerGroupOptions zero;
  zero.world_size = 2;
  zero.store_address = "127.0.0.1:0";
  zero.timeout = absl::Seconds(10);
  zero.on_store_port = [&port](uint16_t p) { port.set_value(p); };
  auto rank0 = std::async(std::launch::async, [zero] { return LearnerGroup::Join(zero); });
  const std::string address = absl::StrCat("127.0.0.1:", port.get_future().get());
  LearnerGroupOptions three;
  three.rank = 1;
  three.world_size = 3;
  three.store_address = address;
  three.timeout = absl::Seconds(5);
  absl::StatusOr<std::unique_ptr<LearnerGroup>> mismatched = LearnerGroup::Join(three);
  EXPECT_TRUE(absl::IsInvalidArgument(mismatched.status())) << mismatched.status();
  EXPECT_THAT(std::string(mismatched.status().message()), HasSubstr("rank 0's group has world size 2"));
  LearnerGroupOptions one = three;
  one.world_size = 2;
  auto first = std::async(std::launch::async, [one] { return LearnerGroup::Join(one); });
  absl::StatusOr<std::unique_ptr<LearnerGroup>> joined = rank0.get();
  ASSERT_TRUE(joined.ok()) << joined.status();
  ASSERT_TRUE(first.get().ok());
  absl::StatusOr<std::unique_ptr<LearnerGroup>> twice = LearnerGroup::Join(one);
  EXPECT_TRUE(absl::IsInvalidArgument(twice.status())) << twice.status();
  EXPECT_THAT(std::string(twice.status().message()), HasSubstr("rank 1 is claimed by another learner"));
}

}  // namespace
}  // namespace rill::learner
