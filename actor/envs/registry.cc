#include "actor/envs/registry.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "actor/envs/cartpole.h"
#include "actor/envs/pendulum.h"
#include "common/status_macros.h"

namespace rill::actor {

absl::StatusOr<std::unique_ptr<Env>> MakeEnv(const std::string& name,
                                             int max_episode_steps,
                                             uint64_t seed) {
  if (name == "CartPole-v1") {
    ASSIGN_OR_RETURN(std::unique_ptr<CartPole> env,
                     CartPole::Create(max_episode_steps, seed));
    return std::unique_ptr<Env>(std::move(env));
  }
  if (name == "Pendulum-v1") {
    ASSIGN_OR_RETURN(std::unique_ptr<Pendulum> env,
                     Pendulum::Create(max_episode_steps, seed));
    return std::unique_ptr<Env>(std::move(env));
  }
  return absl::NotFoundError(absl::StrCat("unknown environment '", name,
                                          "'; known: ",
                                          absl::StrJoin(KnownEnvNames(), ", ")));
}

std::vector<std::string> KnownEnvNames() {
  return {"CartPole-v1", "Pendulum-v1"};
}

}  // namespace rill::actor
