#include "envs/registry.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "envs/env_list.h"
// The MuJoCo tasks' classes (the list names only their specs' sizes).
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

// Each line of envs/env_list.h as its spec and its factory.
const std::vector<Entry>& Entries() {
#define RILL_REGISTRY_ENTRY(type, spec) {&spec, &Make<type>},
  static const std::vector<Entry>* const kEntries = new std::vector<Entry>{RILL_ENV_LIST(RILL_REGISTRY_ENTRY)};
#undef RILL_REGISTRY_ENTRY
  return *kEntries;
}

struct MultiAgentEntry {
  MultiAgentSpec (*spec)();
  absl::StatusOr<std::unique_ptr<MultiAgentEnv>> (*make)(int max_episode_steps, uint64_t seed);
};

template <typename E>
absl::StatusOr<std::unique_ptr<MultiAgentEnv>> MakeMultiAgent(int max_episode_steps, uint64_t seed) {
  // E::Create's own pointer (a ContinuousActions twin makes its Task).
  ASSIGN_OR_RETURN(auto env, E::Create(max_episode_steps, seed));
  return std::unique_ptr<MultiAgentEnv>(std::move(env));
}

const std::vector<MultiAgentEntry>& MultiAgentEntries() {
#define RILL_REGISTRY_ENTRY(type, spec) {&spec, &MakeMultiAgent<type>},
  static const std::vector<MultiAgentEntry>* const kEntries =
      new std::vector<MultiAgentEntry>{RILL_MULTI_AGENT_ENV_LIST(RILL_REGISTRY_ENTRY)};
#undef RILL_REGISTRY_ENTRY
  return *kEntries;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Env>> MakeEnv(const std::string& name,
                                             int max_episode_steps,
                                             uint64_t seed) {
  // The catalogue names the unknown name and checks the time limit.
  RETURN_IF_ERROR(LookupEnvSpec(name, max_episode_steps).status());
  if (IsMultiAgentEnv(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " is a multi-agent environment: its envs are made by MakeMultiAgentEnv"));
  }
  for (const Entry& entry : Entries()) {
    if (entry.spec().name == name) return entry.make(max_episode_steps, seed);
  }
  return absl::InternalError(absl::StrCat("environment '", name, "' is catalogued but has no factory in envs/registry.cc"));
}

absl::StatusOr<std::unique_ptr<MultiAgentEnv>> MakeMultiAgentEnv(const std::string& name, int max_episode_steps,
                                                                 uint64_t seed) {
  RETURN_IF_ERROR(LookupMultiAgentSpec(name, max_episode_steps).status());
  for (const MultiAgentEntry& entry : MultiAgentEntries()) {
    if (entry.spec().name == name) return entry.make(max_episode_steps, seed);
  }
  return absl::InternalError(absl::StrCat("environment '", name, "' is catalogued but has no factory in envs/registry.cc"));
}

}  // namespace rill::envs
