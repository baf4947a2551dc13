#include "envs/registry.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "envs/classic/acrobot.h"
#include "envs/classic/cartpole.h"
#include "envs/classic/cartpole_no_velocity.h"
#include "envs/classic/mountain_car.h"
#include "envs/classic/mountain_car_continuous.h"
#include "envs/classic/pendulum.h"
#include "envs/minatar/asterix.h"
#include "envs/minatar/breakout.h"
#include "envs/minatar/freeway.h"
#include "envs/minatar/seaquest.h"
#include "envs/minatar/space_invaders.h"
#include "envs/mujoco/ant.h"
#include "envs/mujoco/half_cheetah.h"
#include "envs/mujoco/hopper.h"
#include "envs/mujoco/humanoid.h"
#include "envs/mujoco/walker2d.h"

namespace rill::envs {
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
      {&CartPoleNoVelocity::Spec, &Make<CartPoleNoVelocity>},
      {&MountainCar::Spec, &Make<MountainCar>},
      {&MountainCarContinuous::Spec, &Make<MountainCarContinuous>},
      {&Pendulum::Spec, &Make<Pendulum>},
      {&HalfCheetah::Spec, &Make<HalfCheetah>},
      {&Hopper::Spec, &Make<Hopper>},
      {&Walker2d::Spec, &Make<Walker2d>},
      {&Ant::Spec, &Make<Ant>},
      {&Humanoid::Spec, &Make<Humanoid>},
      {&minatar::Breakout::Spec, &Make<minatar::Breakout>},
      {&minatar::SpaceInvaders::Spec, &Make<minatar::SpaceInvaders>},
      {&minatar::Freeway::Spec, &Make<minatar::Freeway>},
      {&minatar::Asterix::Spec, &Make<minatar::Asterix>},
      {&minatar::Seaquest::Spec, &Make<minatar::Seaquest>},
  };
  return *kEntries;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Env>> MakeEnv(const std::string& name,
                                             int max_episode_steps,
                                             uint64_t seed) {
  // The catalogue names the unknown name and checks the time limit.
  RETURN_IF_ERROR(LookupEnvSpec(name, max_episode_steps).status());
  for (const Entry& entry : Entries()) {
    if (entry.spec().name == name) return entry.make(max_episode_steps, seed);
  }
  return absl::InternalError(absl::StrCat("environment '", name, "' is catalogued but has no factory in envs/registry.cc"));
}

}  // namespace rill::envs
