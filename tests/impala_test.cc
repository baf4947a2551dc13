// IMPALA across real processes: a replay shard and a learner started as
// `rill` roles, and unrolls of chosen parameter versions written by a
// ReplayWriter in the test, so the learner's policy-lag measurement, its
// max_policy_lag cut and its refusal of a NaN log-probability are seen from
// outside, in its metrics. Also: a mismatched unroll table stops the learner
// and the actor at start-up, naming the column.
#include <cmath>
#include <fstream>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "envs/catalog.h"
#include "items/unroll.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "replay/client/writer.h"
#include "tests/harness.h"

namespace rill::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kConfig[] = "--config=tests/configs/tiny_cartpole_impala.textpb";
constexpr int kT = 5;      // the config's unroll_length
constexpr int kBatch = 4;  // the config's batch_size

// Writes `versions.size()` CartPole unrolls stamped with those versions; the
// unroll at `nan_at` (if any) has a NaN behaviour log-probability.
void WriteUnrolls(replay::ReplayWriter& writer, const v1::Signature& signature, const std::vector<int64_t>& versions,
                  int nan_at = -1) {
  const int n = static_cast<int>(versions.size());
  std::vector<std::vector<float>> floats(signature.columns_size());
  std::vector<std::vector<int64_t>> ints(signature.columns_size());
  std::vector<const void*> columns;
  for (int c = 0; c < signature.columns_size(); ++c) {
    const v1::ColumnSpec& column = signature.columns(c);
    int64_t size = n;
    for (int64_t d : column.shape()) size *= d;
    if (column.name() == "policy_version") {
      ints[c] = versions;
    } else if (column.dtype() == v1::DTYPE_INT64) {
      ints[c].assign(size, 1);  // action index 1
    } else if (column.name() == "behaviour_log_prob") {
      floats[c].assign(size, std::log(0.5f));
      if (nan_at >= 0) floats[c][nan_at * kT + 2] = NAN;
    } else if (column.name() == "reward") {
      floats[c].assign(size, 1.f);
    } else {
      floats[c].assign(size, 0.f);
    }
    columns.push_back(column.dtype() == v1::DTYPE_INT64 ? static_cast<const void*>(ints[c].data())
                                                        : static_cast<const void*>(floats[c].data()));
  }
  absl::Status appended = writer.Append(columns, n);
  ASSERT_TRUE(appended.ok()) << appended;
  absl::Status flushed = writer.Flush(absl::Seconds(20));
  ASSERT_TRUE(flushed.ok()) << flushed;
}

TEST(ImpalaTest, LearnerMeasuresPolicyLagDropsStaleUnrollsAndRefusesNanLogProbabilities) {
  absl::StatusOr<RoleProcess> replay = StartRole("replay", {"replay", kConfig});
  ASSERT_TRUE(replay.ok()) << replay.status();
  absl::StatusOr<RoleProcess> learner =
      StartRole("learner", {"learner", kConfig, "--replay_address=" + replay->address()});
  ASSERT_TRUE(learner.ok()) << learner.status();

  const envs::EnvSpec env = *envs::LookupEnvSpec("CartPole-v1", 0);
  replay::WriterOptions options;
  options.addresses = {replay->address()};
  options.table = "unrolls";
  options.signature = items::UnrollBuilder::DefaultSignature(env, kT);
  options.batch_items = kBatch;
  options.max_in_flight_batches = 1;
  absl::StatusOr<std::unique_ptr<replay::ReplayWriter>> writer = replay::ReplayWriter::Create(options);
  ASSERT_TRUE(writer.ok()) << writer.status();
  auto metric = [&](const std::string& name) { return SumMetric(learner->Metrics(), name); };
  auto wait_for = [&](const std::string& name, double value) {
    return WaitUntil([&] { return metric(name) >= value; }, absl::Seconds(30));
  };

  // The learner starts at version 1 (no update yet): unrolls of version 1
  // have lag 0 and are trained on.
  WriteUnrolls(**writer, options.signature, {1, 1, 1, 1});
  ASSERT_TRUE(wait_for("rill_learner_updates_total", 1)) << learner->process->LogTail(20);
  EXPECT_EQ(metric("rill_learner_policy_lag_updates_count"), 4);
  EXPECT_EQ(metric("rill_learner_policy_lag_updates_sum"), 0);

  // Now at version 2: more unrolls of version 1 are 1 behind, above
  // max_policy_lag 0, and dropped -- counted, never trained on.
  WriteUnrolls(**writer, options.signature, {1, 1, 1, 1});
  ASSERT_TRUE(wait_for("rill_learner_stale_unrolls_total", 4)) << learner->process->LogTail(20);
  EXPECT_EQ(metric("rill_learner_policy_lag_updates_count"), 8);
  EXPECT_EQ(metric("rill_learner_policy_lag_updates_sum"), 4);
  EXPECT_EQ(metric("rill_learner_updates_total"), 1);

  // Fresh unrolls train again; one with a NaN log-probability is refused,
  // counted and logged, and the update goes on with the other three.
  WriteUnrolls(**writer, options.signature, {2, 2, 2, 2}, /*nan_at=*/1);
  ASSERT_TRUE(wait_for("rill_learner_updates_total", 2)) << learner->process->LogTail(20);
  EXPECT_EQ(metric("rill_learner_refused_items_total"), 1);
  EXPECT_EQ(metric("rill_learner_samples_total"), 4 + 3);
  EXPECT_EQ(metric("rill_learner_stale_unrolls_total"), 4);
  EXPECT_TRUE(WaitUntil([&] { return learner->process->LogTail(50).find("refuses") != std::string::npos; },
                        absl::Seconds(10)))
      << learner->process->LogTail(20);
  WriteUnrolls(**writer, options.signature, {3, 3, 3, 3});
  ASSERT_TRUE(wait_for("rill_learner_updates_total", 3)) << learner->process->LogTail(20);
  EXPECT_TRUE(learner->process->running());
}

TEST(ImpalaTest, AnUnrollTableOfAnotherUnrollLengthStopsLearnerAndActorAtStartUpNamingTheColumn) {
  // A config whose unroll table was written for unrolls of 20 steps while
  // the run asks for 5.
  const std::string dir = TempDir("impala-mismatch");
  const std::string path = dir + "/mismatch.textpb";
  {
    const envs::EnvSpec env = *envs::LookupEnvSpec("CartPole-v1", 0);
    std::string signature;
    const v1::Signature twenty = items::UnrollBuilder::DefaultSignature(env, 20);
    for (const v1::ColumnSpec& column : twenty.columns()) {
      absl::StrAppend(&signature, "columns { name: \"", column.name(), "\" dtype: ",
                      column.dtype() == v1::DTYPE_INT64 ? "DTYPE_INT64" : "DTYPE_FLOAT32");
      for (int64_t d : column.shape()) absl::StrAppend(&signature, " shape: ", d);
      absl::StrAppend(&signature, " }\n");
    }
    std::ofstream out(path);
    out << "env { name: \"CartPole-v1\" }\n"
        << "replay { tables { name: \"unrolls\" selector { fifo {} } max_size: 64 signature { " << signature << "} } }\n"
        << "learner { impala { unroll_length: 5 } batch_size: 4 }\n";
  }
  absl::StatusOr<RoleProcess> replay = StartRole("replay", {"replay", "--config=" + path});
  ASSERT_TRUE(replay.ok()) << replay.status();
  absl::StatusOr<RoleProcess> learner =
      StartRole("learner", {"learner", "--config=" + path, "--replay_address=" + replay->address()});
  ASSERT_FALSE(learner.ok());
  EXPECT_THAT(learner.status().message(), HasSubstr("column 'obs' is DTYPE_FLOAT32 [21, 4]; impala needs DTYPE_FLOAT32 [6, 4]"));
  absl::StatusOr<RoleProcess> actor = StartRole(
      "actor", {"actor", "--config=" + path, "--actor_id=0", "--replay_address=" + replay->address(),
                "--learner_address=127.0.0.1:1"});
  ASSERT_FALSE(actor.ok());
  EXPECT_THAT(actor.status().message(), HasSubstr("signature column 'obs' is DTYPE_FLOAT32 [21, 4]"));
  EXPECT_THAT(actor.status().message(), HasSubstr("unroll_length 5"));
}

}  // namespace
}  // namespace rill::testing
