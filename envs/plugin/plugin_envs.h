// Env plugins: environments from a user's shared library, compiled against
// the public C header envs/plugin/rill_env_plugin.h (its ABI and semantics
// are stated there), loaded with dlopen and stepped in-process behind the
// Env interface like the registry's envs.
//
// PluginLibrary::Load opens a library once per process and path and checks
// it before anything calls into it: the file exists, it exports
// rill_env_plugin, its table was built for an ABI version this Rill
// loads (1 to 4; both numbers named otherwise), the table has every
// function its envs need, and every env's (and every agent's) spaces are
// well formed, an action mask (version 3) and a Dict observation (version
// 4, its leaves laid out as one row: EnvSpec::observation_leaves)
// included. Each check fails with a message naming the library and what
// is wrong, so `rill launch` and `rill envs --plugin`
// refuse a bad library before any process starts. A loaded library stays
// loaded for the life of the process.
//
// PluginEnvSpec gives config finalization, the learner and `rill envs` an
// env's spaces; MakePluginEnv creates an instance for an actor. A
// multi-agent env (ABI version 2) has PluginMultiAgentSpec and
// MakePluginMultiAgentEnv instead. A plugin
// env applies the time limit itself (envs/time_limit.h), checks the action
// (an out-of-range index or a NaN is refused before the library sees it)
// and what the library returns (an error it reports, a non-finite
// observation or reward), each as a Step error naming the env and the
// field; a failed reset surfaces as the next Step's error. A Dict env's
// leaves, written to one buffer each, are packed into its row after each
// reset and step.
//
// Thread-safe: Load may be called from any thread. A PluginEnv is not
// thread-safe (see interface.h).
#ifndef RILL_ENVS_PLUGIN_PLUGIN_ENVS_H_
#define RILL_ENVS_PLUGIN_PLUGIN_ENVS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "envs/interface.h"
#include "envs/multi_agent/interface.h"
#include "envs/plugin/rill_env_plugin.h"
#include "envs/spec.h"
#include "proto/config.pb.h"

namespace rill::envs {

class PluginLibrary {
 public:
  // The library at `path`, loaded and checked (see above). Errors:
  // NotFound for a missing file; InvalidArgument for a file dlopen refuses,
  // a missing rill_env_plugin, another ABI version or a malformed table.
  static absl::StatusOr<std::shared_ptr<const PluginLibrary>> Load(const std::string& path);

  const std::string& path() const { return path_; }
  const RillEnvPlugin& table() const { return *table_; }
  // Every env of the library, in its order, with its default time limit.
  const std::vector<EnvSpec>& specs() const { return specs_; }
  // For each env, in its order: empty for a Box observation; for a Dict
  // one (ABI version 4), the table's index of each leaf of its spec's
  // observation_leaves (the order a row holds them).
  const std::vector<std::vector<int>>& leaf_orders() const { return leaf_orders_; }
  // Every multi-agent env of the library (ABI version 2), in its order,
  // with its default time limit. Empty for a version-1 library.
  const std::vector<MultiAgentSpec>& multi_agent_specs() const { return multi_agent_specs_; }
  // The ABI version the library was built for (1 to 4).
  uint32_t abi_version() const { return table_->abi_version; }
  // The index of single-agent env `id`; NotFound listing the library's
  // ids (naming a multi-agent one as such).
  absl::StatusOr<int> Find(const std::string& id) const;
  // The index of multi-agent env `id`; NotFound as Find.
  absl::StatusOr<int> FindMultiAgent(const std::string& id) const;

 private:
  // What the table's envs need of it: reset and step (a Box env),
  // reset_dict and step_dict (a Dict env), multi_agent_state.
  struct Needs {
    bool box = false, dict = false, state = false;
  };

  PluginLibrary() = default;
  absl::StatusOr<int> FindIn(const std::string& id, bool multi_agent) const;
  // The table's single-agent (multi-agent) envs, checked, into specs_ and
  // leaf_orders_ (multi_agent_specs_); their ids into `ids`, which each
  // must not be in already. `named`: the library, for messages.
  absl::Status AddEnvs(const std::string& named, std::vector<std::string>* ids, Needs* needs);
  absl::Status AddMultiAgentEnvs(const std::string& named, std::vector<std::string>* ids, Needs* needs);

  std::string path_;
  const RillEnvPlugin* table_ = nullptr;
  std::vector<EnvSpec> specs_;
  std::vector<std::vector<int>> leaf_orders_;
  std::vector<MultiAgentSpec> multi_agent_specs_;
};

// The spec of `config`'s env, its time limit `max_episode_steps` (0: the
// library's). Errors: Load's; NotFound for an unknown id.
absl::StatusOr<EnvSpec> PluginEnvSpec(const v1::PluginEnvConfig& config, int max_episode_steps);

// A new instance of `config`'s env, seeded with `seed`. Errors: as
// PluginEnvSpec; Internal with the library's message when create fails.
absl::StatusOr<std::unique_ptr<Env>> MakePluginEnv(const v1::PluginEnvConfig& config, int max_episode_steps,
                                                   uint64_t seed);

// Whether `config` names one of its library's multi-agent envs; false
// too when the library cannot be loaded (PluginEnvSpec then says why).
bool IsPluginMultiAgentEnv(const v1::PluginEnvConfig& config);

// The agents and spaces of `config`'s multi-agent env, its time limit
// `max_episode_steps` (0: the library's). Errors: as PluginEnvSpec.
absl::StatusOr<MultiAgentSpec> PluginMultiAgentSpec(const v1::PluginEnvConfig& config, int max_episode_steps);

// A new instance of `config`'s multi-agent env, seeded with `seed`:
// stepped as interface.h's MultiAgentEnv says, with the library's errors
// and non-finite observations, rewards or states as Step errors naming
// the env, the agent and the field (a failed reset or state read surfaces
// as the next Step's error). Errors: as PluginMultiAgentSpec; Internal
// with the library's message when create fails.
absl::StatusOr<std::unique_ptr<MultiAgentEnv>> MakePluginMultiAgentEnv(const v1::PluginEnvConfig& config,
                                                                       int max_episode_steps, uint64_t seed);

}  // namespace rill::envs

#endif  // RILL_ENVS_PLUGIN_PLUGIN_ENVS_H_
