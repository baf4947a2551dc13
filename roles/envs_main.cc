#include "roles/envs_main.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "envs/catalog.h"
#include "envs/plugin/plugin_envs.h"
#include "envs/registry.h"
#include "envs/remote/remote_envs.h"
#include "flags/flags.h"
#include "google/protobuf/text_format.h"
#include "proto/config.pb.h"

ABSL_FLAG(std::string, remote, "",
          "rill envs: instead of the registry, ask the env server at HOST:PORT for its spaces and print the "
          "config's env section for it.");

namespace rill::roles {
namespace {

// Python's spelling of a shape: (3,) for one dimension, (2,84,84) beyond;
// "uint8 (3,64,64)" for image observations.
std::string ShapeText(const std::vector<int64_t>& shape, envs::ObservationType type) {
  const std::string dims = absl::StrJoin(shape, ",");
  return absl::StrCat(type == envs::ObservationType::kUint8 ? "uint8 " : "",
                      shape.size() == 1 ? absl::StrCat("(", dims, ",)") : absl::StrCat("(", dims, ")"));
}

// A Box's shape, or a Dict's leaves: "Dict(image: uint8 (1,7,7), beacon: (2,))".
std::string ShapeText(const envs::EnvSpec& spec) {
  if (spec.observation_leaves.empty()) return ShapeText(spec.observation_shape, spec.observation_type);
  std::vector<std::string> leaves;
  for (const envs::ObservationLeaf& leaf : spec.observation_leaves) {
    leaves.push_back(absl::StrCat(leaf.name, ": ", ShapeText(leaf.shape, leaf.type)));
  }
  return absl::StrCat("Dict(", absl::StrJoin(leaves, ", "), ")");
}

void PrintHeader() {
  std::printf("%-26s %-18s %-22s %-18s %s\n", "ENV", "OBSERVATION", "ACTIONS", "MAX_EPISODE_STEPS", "RENDERS");
}

// `renders`: the env's cameras (RenderCameras), "" for a table without the
// column's answer.
void PrintRow(const envs::EnvSpec& spec, const std::string& renders) {
  std::printf("%-26s %-18s %-22s %-18d %s\n", spec.name.c_str(), ShapeText(spec).c_str(),
              DescribeActionSpace(spec).c_str(), spec.max_episode_steps, renders.c_str());
}

// A multi-agent env's row of the table (one agent's spaces when its
// agents share them, "per agent" otherwise) and its agents' line.
void PrintMultiAgentRows(const envs::MultiAgentSpec& multi, const std::string& renders) {
  if (multi.homogeneous()) {
    envs::EnvSpec row = multi.agent_specs[0];
    row.name = multi.name;
    PrintRow(row, renders);
  } else {
    // No one row: each agent's spaces are on the line below.
    std::printf("%-26s %-18s %-22s %-18d %s\n", multi.name.c_str(), "per agent", "per agent", multi.max_episode_steps,
                renders.c_str());
  }
  std::printf("  %s\n", DescribeAgents(multi).c_str());
}

// `rill envs --remote=HOST:PORT`: the env section a config needs for the
// server's envs, ready to paste.
int DescribeRemoteMain(const std::string& address) {
  absl::StatusOr<std::unique_ptr<envs::RemoteEnvs>> opened =
      envs::RemoteEnvs::Open(address, 1, 0, absl::Seconds(10));
  if (!opened.ok()) {
    std::fprintf(stderr, "rill envs: %s\n", std::string(opened.status().message()).c_str());
    return 1;
  }
  v1::ExperimentConfig config;
  v1::EnvConfig* env = config.mutable_env();
  env->set_name((*opened)->spec().name);
  v1::RemoteEnvConfig* remote = env->mutable_remote();
  remote->set_address(address);
  const int limit = (*opened)->spec().max_episode_steps;
  if ((*opened)->multi_agent()) {
    const envs::MultiAgentSpec& multi = (*opened)->multi_agent_spec();
    *remote->mutable_agents() = (*opened)->agent_spaces();
    for (int64_t d : multi.state_shape) remote->add_state_shape(d);
    // Agents that act alike are rows (of one policy, or of `policies`);
    // agents whose actions differ step as joint rows (env.joint_agents,
    // MADDPG).
    if (!envs::ConfiguredEnvSpec(*env).ok()) env->set_joint_agents(true);
    std::string text;
    google::protobuf::TextFormat::PrintToString(config, &text);
    const std::string each =
        multi.homogeneous() ? absl::StrCat("each agent observation ", ShapeText(multi.agent_specs[0]), ", actions ",
                                           DescribeActionSpace(multi.agent_specs[0]), "; ")
                            : "";
    std::printf("# %s: %s%s; %s (the server applies it)\n%s", multi.name.c_str(), each.c_str(),
                DescribeAgents(multi).c_str(),
                limit > 0 ? absl::StrCat("time limit ", limit).c_str() : "no time limit", text.c_str());
    return 0;
  }
  *remote->mutable_observation_space() = (*opened)->observation_space();
  *remote->mutable_action_space() = (*opened)->action_space();
  remote->set_action_mask((*opened)->spec().action_mask);
  std::string text;
  google::protobuf::TextFormat::PrintToString(config, &text);
  std::printf("# %s: observation %s, actions %s, %s (the server applies it)\n%s", (*opened)->spec().name.c_str(),
              ShapeText((*opened)->spec()).c_str(),
              DescribeActionSpace((*opened)->spec()).c_str(),
              limit > 0 ? absl::StrCat("time limit ", limit).c_str() : "no time limit", text.c_str());
  return 0;
}

// `rill envs --plugin=LIBRARY`: the library's envs, checked as a run would
// load them, and the env section for each.
int DescribePluginMain(const std::string& library) {
  absl::StatusOr<std::shared_ptr<const envs::PluginLibrary>> loaded = envs::PluginLibrary::Load(library);
  if (!loaded.ok()) {
    std::fprintf(stderr, "rill envs: %s\n", std::string(loaded.status().message()).c_str());
    return 1;
  }
  PrintHeader();
  std::string sections;
  for (const envs::EnvSpec& spec : (*loaded)->specs()) {
    // The plugin ABI has no render call.
    PrintRow(spec, "no");
    v1::PluginEnvConfig plugin;
    plugin.set_library(library);
    plugin.set_id(spec.name);
    // What a run would say of it.
    absl::StatusOr<envs::EnvSpec> usable = envs::PluginEnvSpec(plugin, 0);
    absl::StrAppend(&sections, "\n", usable.ok() ? "" : absl::StrCat("# not usable: ", usable.status().message(), "\n# "),
                    "env { plugin { library: \"", library, "\" id: \"", spec.name, "\" } }\n");
  }
  for (const envs::MultiAgentSpec& multi : (*loaded)->multi_agent_specs()) {
    PrintMultiAgentRows(multi, "no");
    // Agents of one space are rows of one policy; agents that differ step
    // as joint rows (env.joint_agents, MADDPG).
    absl::StrAppend(&sections, "\n# ", multi.name, ": ", DescribeAgents(multi), "\nenv { plugin { library: \"",
                    library, "\" id: \"", multi.name, "\" }", multi.homogeneous() ? "" : " joint_agents: true",
                    " }\n");
  }
  std::printf("%s", sections.c_str());
  return 0;
}

}  // namespace

std::string RenderCameras(const std::string& name) {
  std::vector<std::string> cameras;
  if (envs::IsMultiAgentEnv(name)) {
    absl::StatusOr<std::unique_ptr<envs::MultiAgentEnv>> env = envs::MakeMultiAgentEnv(name, 0, 0);
    if (!env.ok()) return absl::StrCat("? (", env.status().message(), ")");
    cameras = (*env)->cameras();
  } else {
    absl::StatusOr<std::unique_ptr<envs::Env>> env = envs::MakeEnv(name, 0, 0);
    if (!env.ok()) return absl::StrCat("? (", env.status().message(), ")");
    cameras = (*env)->cameras();
  }
  if (cameras.empty()) return "no";
  return absl::StrCat("yes: ", absl::StrJoin(cameras, ", "));
}

std::string DescribeActionSpace(const envs::EnvSpec& spec) {
  if (spec.discrete) {
    // "masked": the observation's last num_actions elements are the mask
    // (short, so the table's columns stay aligned).
    return absl::StrCat("Discrete(", spec.num_actions, ")", spec.action_mask ? ", masked" : "");
  }
  const bool uniform = std::all_of(spec.action_low.begin(), spec.action_low.end(),
                                   [&](float v) { return v == spec.action_low[0]; }) &&
                       std::all_of(spec.action_high.begin(), spec.action_high.end(),
                                   [&](float v) { return v == spec.action_high[0]; });
  if (uniform && !spec.action_low.empty()) {
    return absl::StrCat("Box(", spec.action_low[0], ", ", spec.action_high[0], ", (", spec.action_low.size(), ",))");
  }
  return absl::StrCat("Box([", absl::StrJoin(spec.action_low, ", "), "], [", absl::StrJoin(spec.action_high, ", "),
                      "])");
}

std::string DescribeAgents(const envs::MultiAgentSpec& spec) {
  std::vector<std::string> agents;
  for (int k = 0; k < spec.num_agents(); ++k) {
    const envs::EnvSpec& agent = spec.agent_specs[k];
    agents.push_back(spec.homogeneous() ? spec.agents[k]
                                        : absl::StrCat(spec.agents[k], " ", ShapeText(agent), " ",
                                                       DescribeActionSpace(agent)));
  }
  return absl::StrCat("agents: ", absl::StrJoin(agents, ", "), spec.homogeneous() ? " (one row each)" : "",
                      "; global state ",
                      spec.state_shape.empty() ? "none" : absl::StrCat("(", absl::StrJoin(spec.state_shape, ","), ",)"));
}

std::string DescribeScriptedAgents(const std::string& name) {
  absl::StatusOr<std::unique_ptr<envs::MultiAgentEnv>> env = envs::MakeMultiAgentEnv(name, 0, 0);
  if (!env.ok()) return "";
  const envs::MultiAgentSpec& spec = (*env)->spec();
  std::vector<std::string> scripted;
  for (int k = 0; k < spec.num_agents(); ++k) {
    // Asked of a fresh env on a zero observation: whether it has a player
    // for the agent, not what the player does.
    const std::vector<float> obs(static_cast<size_t>(spec.agent_specs[k].obs_dim()), 0.f);
    std::vector<float> action(static_cast<size_t>(std::max(1, spec.agent_specs[k].action_dim())), 0.f);
    if ((*env)->ScriptedAction(k, obs.data(), action.data())) scripted.push_back(spec.agents[k]);
  }
  return scripted.empty() ? "" : absl::StrCat("scripted players: ", absl::StrJoin(scripted, ", "));
}

int ListEnvsMain() {
  if (!absl::GetFlag(FLAGS_remote).empty()) return DescribeRemoteMain(absl::GetFlag(FLAGS_remote));
  if (!absl::GetFlag(FLAGS_plugin).empty()) return DescribePluginMain(absl::GetFlag(FLAGS_plugin));
  PrintHeader();
  for (const std::string& name : envs::KnownEnvNames()) {
    if (envs::IsMultiAgentEnv(name)) {
      absl::StatusOr<envs::MultiAgentSpec> multi = envs::LookupMultiAgentSpec(name);
      if (!multi.ok()) {
        std::fprintf(stderr, "rill envs: %s: %s\n", name.c_str(), std::string(multi.status().message()).c_str());
        return 1;
      }
      PrintMultiAgentRows(*multi, RenderCameras(name));
      if (const std::string scripted = DescribeScriptedAgents(name); !scripted.empty()) {
        std::printf("  %s\n", scripted.c_str());
      }
      continue;
    }
    absl::StatusOr<envs::EnvSpec> spec = envs::LookupEnvSpec(name);
    if (!spec.ok()) {
      std::fprintf(stderr, "rill envs: %s: %s\n", name.c_str(), std::string(spec.status().message()).c_str());
      return 1;
    }
    PrintRow(*spec, RenderCameras(name));
  }
  return 0;
}

}  // namespace rill::roles
