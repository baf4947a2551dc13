#include "actor/envs/registry.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "actor/envs/classic/acrobot.h"
#include "actor/envs/classic/cartpole.h"
#include "actor/envs/classic/mountain_car.h"
#include "actor/envs/classic/mountain_car_continuous.h"
#include "actor/envs/classic/pendulum.h"
#include "actor/envs/mujoco/ant.h"
#include "actor/envs/mujoco/half_cheetah.h"
#include "actor/envs/mujoco/hopper.h"
#include "actor/envs/mujoco/humanoid.h"
#include "actor/envs/mujoco/walker2d.h"
#include "actor/envs/time_limit.h"
#include "common/status_macros.h"

namespace rill::actor {
namespace {

struct Entry {
  EnvSpec (*spec)();
  absl::StatusOr<std::unique_ptr<Env>> (*make)(int max_episode_steps, uint64_t seed);
};

template <typename E>
absl::StatusOr<std::unique_ptr<Env>> Make(int max_episode_steps, uint64_t seed) {
  ASSIGN_OR_RETURN(std::unique_ptr<E> env, E::Create(max_episode_steps, seed));
  return std::unique_ptr<Env>(std::move(env));
}

// One line per environment.
const std::vector<Entry>& Entries() {
  static const std::vector<Entry>* const kEntries = new std::vector<Entry>{
      {&Acrobot::Spec, &Make<Acrobot>},
      {&CartPole::Spec, &Make<CartPole>},
      {&MountainCar::Spec, &Make<MountainCar>},
      {&MountainCarContinuous::Spec, &Make<MountainCarContinuous>},
      {&Pendulum::Spec, &Make<Pendulum>},
      {&HalfCheetah::Spec, &Make<HalfCheetah>},
      {&Hopper::Spec, &Make<Hopper>},
      {&Walker2d::Spec, &Make<Walker2d>},
      {&Ant::Spec, &Make<Ant>},
      {&Humanoid::Spec, &Make<Humanoid>},
  };
  return *kEntries;
}

absl::StatusOr<const Entry*> Find(const std::string& name) {
  for (const Entry& entry : Entries()) {
    if (entry.spec().name == name) return &entry;
  }
  return absl::NotFoundError(absl::StrCat("unknown environment '", name, "'; known: ",
                                          absl::StrJoin(KnownEnvNames(), ", ")));
}

}  // namespace

absl::StatusOr<EnvSpec> LookupEnvSpec(const std::string& name, int max_episode_steps) {
  ASSIGN_OR_RETURN(const Entry* entry, Find(name));
  EnvSpec spec = entry->spec();
  ASSIGN_OR_RETURN(const int steps, ResolveMaxEpisodeSteps(max_episode_steps, spec.max_episode_steps));
  return WithTimeLimit(std::move(spec), steps);
}

absl::StatusOr<std::unique_ptr<Env>> MakeEnv(const std::string& name,
                                             int max_episode_steps,
                                             uint64_t seed) {
  ASSIGN_OR_RETURN(const Entry* entry, Find(name));
  return entry->make(max_episode_steps, seed);
}

std::vector<std::string> KnownEnvNames() {
  std::vector<std::string> names;
  for (const Entry& entry : Entries()) names.push_back(entry.spec().name);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace rill::actor
