// `rill launch` on an env that fails a fifth of its steps (a Python env
// served by the env server that env.remote.command starts: test_envs'
// raises_every_fifth_step): the failed steps are counted in the progress
// line, summary.json and report.html, and --max_env_error_fraction fails
// a run with more of them than it allows, naming the flag and the
// fraction measured.
#include <sys/wait.h>

#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness.h"

namespace rill::testing {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;

// A small IMPALA run (unrolls of 4: the 4 good steps between failures)
// on the served env, whose spaces the config declares as the server
// reports them.
std::string WriteConfig(const std::string& name) {
  const std::string text = R"(
name: "env_errors"
env {
  remote {
    command: "RILL_PROTO_CACHE=$TEST_TMPDIR/python-protos PYTHONPATH=python:tests/python /usr/bin/python3 -m rill.env_server --factory=test_envs:raises_every_fifth_step --address={address}"
    observation_space { box { shape: 2 dtype: DTYPE_FLOAT32 low: [-inf, -inf] high: [inf, inf] } }
    action_space { discrete { n: 3 } }
  }
}
network { hidden_sizes: 16 }
replay {
  tables {
    name: "unrolls"
    selector { fifo {} }
    max_size: 32
    rate_limiter { min_size_to_sample: 4 samples_per_insert: 1 error_buffer: 24 }
  }
}
actor { num_envs: 4 insert_batch_items: 4 max_in_flight_batches: 1 }
learner { impala { unroll_length: 4 } batch_size: 4 publish_every: 1 prefetch_batches: 1 max_policy_lag: 20 }
eval { episodes: 2 every_updates: 20 }
topology { num_actors: 1 }
seed: 5
)";
  const std::string path = TempDir("config-" + name) + "/env_errors.textpb";
  std::ofstream(path) << text;
  return path;
}

struct Launched {
  std::unique_ptr<ChildProcess> process;
  std::string run_dir;
  std::string log;
  std::optional<int> status;  // once it has exited
};

// `rill launch` of WriteConfig's run to `max_env_steps`, with `extra`
// flags, waited for.
Launched LaunchToTheEnd(const std::string& name, int max_env_steps, const std::vector<std::string>& extra) {
  Launched launched;
  launched.run_dir = TempDir("run-" + name);
  launched.log = launched.run_dir + "-launch.log";
  std::vector<std::string> args = {"launch", "--config=" + WriteConfig(name), "--run_dir=" + launched.run_dir,
                                   absl::StrCat("--max_env_steps=", max_env_steps), "--progress_every=1s",
                                   "--plot_python="};
  args.insert(args.end(), extra.begin(), extra.end());
  auto child = ChildProcess::Start(name, RillBinary(), args, launched.log);
  EXPECT_TRUE(child.ok()) << child.status();
  if (!child.ok()) return launched;
  launched.process = *std::move(child);
  launched.status = launched.process->WaitExit(absl::Seconds(120));
  return launched;
}

TEST(LaunchEnvErrorsTest, FailedStepsAreCountedInTheProgressLineSummaryAndReport) {
  // A bound above the fraction lets the run end as done.
  const Launched run = LaunchToTheEnd("counted", 2000, {"--max_env_error_fraction=0.5"});
  ASSERT_TRUE(run.status.has_value()) << "launch did not finish:\n" << ReadFile(run.log);
  ASSERT_TRUE(WIFEXITED(*run.status) && WEXITSTATUS(*run.status) == 0) << ReadFile(run.log);
  const std::string summary = ReadFile(run.run_dir + "/summary.json");
  EXPECT_EQ(JsonNumber(summary, "env_steps"), 2000) << summary;
  // Each env fails every fifth of its steps: 400 of 2,000.
  EXPECT_NEAR(JsonNumber(summary, "env_errors"), 400, 8) << summary;
  EXPECT_NEAR(JsonNumber(summary, "env_error_fraction"), 0.2, 0.004) << summary;
  EXPECT_THAT(summary, HasSubstr("\"final_eval\": \"done\"")) << summary;
  EXPECT_THAT(ReadFile(run.log), ContainsRegex("\\| env errors [0-9,]+ \\((19|20)\\.[0-9]%\\) \\|"));
  EXPECT_THAT(ReadFile(run.run_dir + "/report.html"),
              ContainsRegex("id=\"env-errors\">Env errors: the env failed [0-9]+ of 2000 env steps \\((19|20)\\.[0-9]%\\)"));
}

TEST(LaunchEnvErrorsTest, MoreFailedStepsThanTheFlagAllowsStopAndFailTheRunNamingItAndTheFraction) {
  // A budget the run would take minutes to spend: it stops at the first
  // progress line after 1,000 env steps.
  const Launched run = LaunchToTheEnd("too-many", 1000000, {"--max_env_error_fraction=0.1"});
  ASSERT_TRUE(run.status.has_value()) << "launch did not finish:\n" << ReadFile(run.log);
  EXPECT_TRUE(WIFEXITED(*run.status) && WEXITSTATUS(*run.status) == 1) << ReadFile(run.log);
  const std::string measured =
      "the env failed (19|20|21)\\.[0-9]% of the actors' env steps \\([0-9,]+ of [0-9,]+; the actors' logs name each "
      "error\\), more than --max_env_error_fraction=0\\.1";
  EXPECT_THAT(ReadFile(run.log), ContainsRegex(measured + "; stopping"));
  EXPECT_THAT(ReadFile(run.log), ContainsRegex("rill launch failed: " + measured));
  // The summary says what the run did before it stopped.
  const std::string summary = ReadFile(run.run_dir + "/summary.json");
  EXPECT_GE(JsonNumber(summary, "env_steps"), 1000) << summary;
  EXPECT_LT(JsonNumber(summary, "env_steps"), 1000000) << summary;
  EXPECT_NEAR(JsonNumber(summary, "env_error_fraction"), 0.2, 0.01) << summary;
  EXPECT_THAT(summary, HasSubstr("\"final_eval\": \"skipped: too many env errors (--max_env_error_fraction)\""));
}

}  // namespace
}  // namespace rill::testing
