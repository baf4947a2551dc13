// minatar_speed: the raw speed of each MinAtar game, one thread, uniformly
// random actions, through StepRaw (uint8 observations, what the actors
// call), resetting at each episode's end. Prints one line per game and, as
// its last line, one JSON object with the steps per second of each.
//
//   bazel run //envs/minatar:minatar_speed -- [steps per game, default 1000000]
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "envs/minatar/asterix.h"
#include "envs/minatar/breakout.h"
#include "envs/minatar/freeway.h"
#include "envs/minatar/seaquest.h"
#include "envs/minatar/space_invaders.h"

namespace rill::envs::minatar {
namespace {

struct Result {
  std::string name;
  double steps_per_second = 0;
  int64_t episodes = 0;
};

template <typename G>
Result Measure(int64_t steps) {
  std::unique_ptr<G> env = G::Create(0, /*seed=*/1).value();
  std::vector<uint8_t> obs(static_cast<size_t>(env->spec().obs_bytes()));
  std::mt19937 actions(2);
  std::uniform_int_distribution<int> pick(0, env->act_dim() - 1);
  Result result;
  result.name = env->name();
  env->ResetRaw(obs.data());
  result.episodes = 1;
  const absl::Time start = absl::Now();
  for (int64_t i = 0; i < steps; ++i) {
    const float action = static_cast<float>(pick(actions));
    const absl::StatusOr<StepResult> step = env->StepRaw(&action, obs.data());
    if (!step.ok()) {
      std::fprintf(stderr, "%s: %s\n", result.name.c_str(), step.status().ToString().c_str());
      std::exit(1);
    }
    if (step->terminated || step->truncated) {
      env->ResetRaw(obs.data());
      ++result.episodes;
    }
  }
  result.steps_per_second = static_cast<double>(steps) / absl::ToDoubleSeconds(absl::Now() - start);
  return result;
}

int Main(int argc, char** argv) {
  const int64_t steps = argc > 1 ? std::atoll(argv[1]) : 1000000;
  if (steps <= 0) {
    std::fprintf(stderr, "usage: minatar_speed [steps per game > 0]\n");
    return 2;
  }
  const std::vector<Result> results = {Measure<Breakout>(steps), Measure<SpaceInvaders>(steps),
                                       Measure<Freeway>(steps), Measure<Asterix>(steps),
                                       Measure<Seaquest>(steps)};
  std::vector<std::string> fields;
  for (const Result& r : results) {
    std::printf("%-26s %12.0f steps/s  (%lld steps, %lld episodes)\n", r.name.c_str(), r.steps_per_second,
                static_cast<long long>(steps), static_cast<long long>(r.episodes));
    fields.push_back(absl::StrCat("\"", r.name, "\": ", static_cast<int64_t>(r.steps_per_second)));
  }
  std::printf("{\"steps_per_game\": %lld, \"steps_per_second\": {%s}}\n", static_cast<long long>(steps),
              absl::StrJoin(fields, ", ").c_str());
  return 0;
}

}  // namespace
}  // namespace rill::envs::minatar

int main(int argc, char** argv) { return rill::envs::minatar::Main(argc, argv); }
