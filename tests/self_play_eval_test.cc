// The evaluator of a self-play run, in process, against a real parameter
// service on loopback: hand-made PongDuel-v0 policies are published one
// version at a time, and each round plays the version against the
// scripted player and against the versions of the last rounds, reporting
// won/drawn/lost and an Elo-style rating in its scalar log and metrics. A
// paddle that tracks the ball beats one that never moves.
#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "actor/evaluator.h"
#include "actor/lockstep_envs.h"
#include "common/grpc_util.h"
#include "common/scalar_log.h"
#include "experiment/config.h"
#include "gtest/gtest.h"
#include "parameters/parameter_service.h"
#include "policies/hand_set.h"
#include "policies/registry.h"
#include "policies/spec.h"
#include "prometheus/registry.h"
#include "proto/parameters.pb.h"

namespace rill {
namespace {

constexpr int kGames = 8;

class SelfPlayEvalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<v1::ExperimentConfig> config = experiment::ParseExperimentConfig(absl::StrCat(
        "name: \"self_play\" env { name: \"PongDuel-v0\" } learner { ppo {} } "
        "eval { episodes: ",
        kGames, " every_updates: 1 scripted_agents: \"player_1\" } self_play { eval_opponents: 2 }"));
    ASSERT_TRUE(config.ok()) << config.status();
    config_ = *config;
    service_ = std::make_unique<parameters::ParameterServiceImpl>(&store_);
    absl::StatusOr<StartedServer> server = StartGrpcServer("127.0.0.1:0", {service_.get()}, 1 << 24);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    absl::StatusOr<std::unique_ptr<ScalarLog>> log =
        ScalarLog::Open(absl::StrCat(std::getenv("TEST_TMPDIR"), "/evaluator.jsonl"));
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
    absl::StatusOr<std::unique_ptr<actor::LockstepEnvs>> envs = actor::LockstepEnvs::Create(config_.env(), 1, 0);
    ASSERT_TRUE(envs.ok()) << envs.status();
    // What policies::PongDuelPaddle is made for.
    ASSERT_EQ((*envs)->spec().observation_shape, std::vector<int64_t>({6}));
    ASSERT_EQ((*envs)->spec().num_actions, 3);
  }
  void TearDown() override {
    store_.Close();
    if (server_.server != nullptr) server_.server->Shutdown(DeadlineIn(absl::Seconds(2)));
  }

  // Publishes `policy` as `version` and waits (up to a minute) for the
  // evaluator's round of it in the scalar log; that round's fields.
  std::map<std::string, double> Evaluate(int64_t version, const v1::ParameterSet& policy) {
    EXPECT_TRUE(store_.Publish(version, version - 1, policy.SerializeAsString()).ok());
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline) {
      for (const std::map<std::string, double>& round : ReadScalarLog(log_->path())) {
        const auto found = round.find("parameter_version");
        if (found != round.end() && found->second == version) return round;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    ADD_FAILURE() << "no round of version " << version << " within a minute";
    return {};
  }

  v1::ExperimentConfig config_;
  parameters::ParameterStore store_;
  std::unique_ptr<parameters::ParameterServiceImpl> service_;
  StartedServer server_;
  std::unique_ptr<ScalarLog> log_;
};

TEST_F(SelfPlayEvalTest, EachRoundPlaysThePastVersionsAndRatesTheNewOne) {
  actor::EvaluatorOptions options;
  options.config = config_;
  options.learner_address = absl::StrCat("127.0.0.1:", server_.port);
  options.seed = 3;
  options.scalars = log_.get();
  prometheus::Registry registry;
  absl::StatusOr<std::unique_ptr<actor::Evaluator>> evaluator = actor::Evaluator::Create(options, &registry);
  ASSERT_TRUE(evaluator.ok()) << evaluator.status();
  absl::Notification stop;
  absl::Status ran;
  std::thread thread([&] { ran = (*evaluator)->Run(stop); });

  const std::map<std::string, double> still = Evaluate(1, policies::PongDuelPaddle(/*track=*/false));
  const std::map<std::string, double> tracking = Evaluate(2, policies::PongDuelPaddle(/*track=*/true));
  const std::map<std::string, double> still_again = Evaluate(3, policies::PongDuelPaddle(/*track=*/false));
  stop.Notify();
  thread.join();
  EXPECT_TRUE(ran.ok()) << ran;

  // The first round: the scripted player only, and nothing earlier.
  ASSERT_TRUE(still.count("rating")) << "a self-play round is rated";
  EXPECT_EQ(still.at("scripted/games"), kGames);
  EXPECT_EQ(still.count("past/games"), 0u);
  EXPECT_NEAR(still.at("scripted/win_rate") + still.at("scripted/draw_rate") + still.at("scripted/loss_rate"), 1,
              1e-9);
  // The scripted player's mean return is its wins less its losses.
  EXPECT_NEAR(still.at("return_mean"), still.at("scripted/win_rate") - still.at("scripted/loss_rate"), 1e-9);

  // The second: the first version too, eval.episodes games, and beaten.
  ASSERT_TRUE(tracking.count("past/games"));
  EXPECT_EQ(tracking.at("past/versions"), 1);
  EXPECT_EQ(tracking.at("past/games"), kGames);
  EXPECT_GT(tracking.at("past/win_rate"), tracking.at("past/loss_rate"));
  EXPECT_GT(tracking.at("rating"), still.at("rating"));

  // The third: both earlier versions (2 x eval.episodes games); it loses to
  // the tracker and rates below it.
  ASSERT_TRUE(still_again.count("past/games"));
  EXPECT_EQ(still_again.at("past/versions"), 2);
  EXPECT_EQ(still_again.at("past/games"), 2 * kGames);
  EXPECT_LT(still_again.at("rating"), tracking.at("rating"));

  // The gauges hold the last round's figures.
  double rating = -1, past_win_rate = -1;
  for (const prometheus::MetricFamily& family : registry.Collect()) {
    for (const prometheus::ClientMetric& metric : family.metric) {
      if (family.name == "rill_eval_rating") rating = metric.gauge.value;
      if (family.name == "rill_eval_win_rate" && !metric.label.empty() && metric.label[0].value == "past") {
        past_win_rate = metric.gauge.value;
      }
    }
  }
  // The scalar log keeps 9 significant digits (a rating of 1154.63160).
  EXPECT_NEAR(rating, still_again.at("rating"), 1e-8 * std::abs(rating));
  EXPECT_NEAR(past_win_rate, still_again.at("past/win_rate"), 1e-6);
}

}  // namespace
}  // namespace rill
