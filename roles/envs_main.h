// `rill envs`: the environments the registry knows, one line each, with
// their observation shape, action space, default time limit and the
// cameras they render from (a multi-agent env's line is one agent's, with
// a line under it naming its agents and its global state); with
// --remote=HOST:PORT, the env section of a config for the envs that env
// server serves (its spaces, as env.remote needs them).
#ifndef RILL_ROLES_ENVS_MAIN_H_
#define RILL_ROLES_ENVS_MAIN_H_

#include <string>

#include "envs/multi_agent/interface.h"
#include "envs/spec.h"

namespace rill::roles {

// "Discrete(3)", or "Box(-1, 1, (6,))" for bounds shared by every
// dimension, else "Box([lows], [highs])".
std::string DescribeActionSpace(const envs::EnvSpec& spec);

// The RENDERS column for the registered env `name`: "yes: CAMERA, ..."
// (its default first), or "no".
std::string RenderCameras(const std::string& name);

// The line under a multi-agent env's: its agents, each one's spaces when
// they differ, and its global state, e.g. "agents: agent_0, agent_1,
// agent_2 (one row each); global state (18,)".
std::string DescribeAgents(const envs::MultiAgentSpec& spec);

// The agents a built-in multi-agent env `name` scripts a player for
// (MultiAgentEnv::ScriptedAction: what eval.scripted_agents may name), in
// agent order: "scripted players: player_0, player_1"; "" for none.
std::string DescribeScriptedAgents(const std::string& name);

// Prints the table (or the remote env's section) to stdout; returns the
// process exit code (0; 1 when the server cannot be asked).
int ListEnvsMain();

}  // namespace rill::roles

#endif  // RILL_ROLES_ENVS_MAIN_H_
