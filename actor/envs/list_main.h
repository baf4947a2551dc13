// `rill envs`: the environments the registry knows, one line each, with
// their observation shape, action space and default time limit.
#ifndef RILL_ACTOR_ENVS_LIST_MAIN_H_
#define RILL_ACTOR_ENVS_LIST_MAIN_H_

#include <string>

#include "actor/envs/spec.h"

namespace rill::actor {

// "Discrete(3)", or "Box(-1, 1, (6,))" for bounds shared by every
// dimension, else "Box([lows], [highs])".
std::string DescribeActionSpace(const EnvSpec& spec);

// Prints the table to stdout; returns the process exit code (0).
int ListEnvsMain();

}  // namespace rill::actor

#endif  // RILL_ACTOR_ENVS_LIST_MAIN_H_
