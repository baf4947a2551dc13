#include "envs/catalog.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "envs/classic/acrobot.h"
#include "envs/classic/cartpole.h"
#include "envs/classic/cartpole_no_velocity.h"
#include "envs/classic/mountain_car.h"
#include "envs/classic/mountain_car_continuous.h"
#include "envs/classic/pendulum.h"
#include "envs/wrappers.h"
#include "envs/minatar/asterix.h"
#include "envs/minatar/breakout.h"
#include "envs/minatar/freeway.h"
#include "envs/minatar/seaquest.h"
#include "envs/minatar/space_invaders.h"
#include "envs/mujoco/specs.h"
#include "envs/plugin/plugin_envs.h"
#include "envs/remote/spaces.h"
#include "envs/time_limit.h"

namespace rill::envs {
namespace {

// One line per environment.
const std::vector<EnvSpec (*)()>& Specs() {
  static const std::vector<EnvSpec (*)()>* const kSpecs = new std::vector<EnvSpec (*)()>{
      &Acrobot::Spec, &CartPole::Spec, &MountainCar::Spec, &MountainCarContinuous::Spec, &Pendulum::Spec,
      &CartPoleNoVelocity::Spec,  // The memory task: CartPole-v1 observed as [x, theta].
      &HalfCheetahSpec, &HopperSpec, &Walker2dSpec, &AntSpec, &HumanoidSpec,
      &minatar::Asterix::Spec, &minatar::Breakout::Spec, &minatar::Freeway::Spec, &minatar::Seaquest::Spec,
      &minatar::SpaceInvaders::Spec,
  };
  return *kSpecs;
}

}  // namespace

absl::StatusOr<EnvSpec> LookupEnvSpec(const std::string& name, int max_episode_steps) {
  for (EnvSpec (*spec)() : Specs()) {
    EnvSpec found = spec();
    if (found.name != name) continue;
    ASSIGN_OR_RETURN(const int steps, ResolveMaxEpisodeSteps(max_episode_steps, found.max_episode_steps));
    return WithTimeLimit(std::move(found), steps);
  }
  return absl::NotFoundError(absl::StrCat("unknown environment '", name, "'; known: ",
                                          absl::StrJoin(KnownEnvNames(), ", ")));
}

absl::StatusOr<EnvSpec> ConfiguredEnvSpec(const v1::EnvConfig& env) {
  ASSIGN_OR_RETURN(const EnvSpec base, ConfiguredBaseEnvSpec(env));
  return WrappedSpec(base, env);
}

absl::StatusOr<EnvSpec> ConfiguredBaseEnvSpec(const v1::EnvConfig& env) {
  if (env.has_plugin()) return PluginEnvSpec(env.plugin(), env.max_episode_steps());
  if (!env.has_remote()) return LookupEnvSpec(env.name(), env.max_episode_steps());
  return SpecFromSpaces(env.name().empty() ? "remote" : env.name(), env.remote().observation_space(),
                        env.remote().action_space(), env.max_episode_steps());
}

std::vector<std::string> KnownEnvNames() {
  std::vector<std::string> names;
  for (EnvSpec (*spec)() : Specs()) names.push_back(spec().name);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace rill::envs
