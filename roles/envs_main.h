// `rill envs`: the environments the registry knows, one line each, with
// their observation shape, action space, default time limit and the
// cameras they render from; with
// --remote=HOST:PORT, the env section of a config for the envs that env
// server serves (its spaces, as env.remote needs them).
#ifndef RILL_ROLES_ENVS_MAIN_H_
#define RILL_ROLES_ENVS_MAIN_H_

#include <string>

#include "envs/spec.h"

namespace rill::roles {

// "Discrete(3)", or "Box(-1, 1, (6,))" for bounds shared by every
// dimension, else "Box([lows], [highs])".
std::string DescribeActionSpace(const envs::EnvSpec& spec);

// The RENDERS column for the registered env `name`: "yes: CAMERA, ..."
// (its default first), or "no".
std::string RenderCameras(const std::string& name);

// Prints the table (or the remote env's section) to stdout; returns the
// process exit code (0; 1 when the server cannot be asked).
int ListEnvsMain();

}  // namespace rill::roles

#endif  // RILL_ROLES_ENVS_MAIN_H_
