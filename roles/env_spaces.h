// The spaces of a served env (env.remote) that its config leaves out, asked
// of the env server itself: `rill launch` fills them in before it finalizes
// the config, so a user of a Gymnasium-style env never writes a space (the
// env declares it), and every process of the run reads them from the run
// folder's config.
//
// With env.remote.command the command is run once, on a free port (or on
// env.remote.address's), asked, and stopped before the run starts its own
// server; with env.remote.address alone the server there is asked. A
// single-agent env gives observation_space and action_space, a multi-agent
// one its agents and state_shape, as `rill envs --remote` prints them.
// Spaces the config states are not asked for: the actors check them
// against the server's when they connect.
//
// Thread-compatible: a function of the caller's config.
#ifndef RILL_ROLES_ENV_SPACES_H_
#define RILL_ROLES_ENV_SPACES_H_

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "proto/config.pb.h"

namespace rill::roles {

// Fills `env`'s remote spaces from its server. Errors name env.remote and
// what failed: the server's start (EnvServerRole::Start's errors, its log
// tail included), or its answer (Unavailable when nothing answers at the
// address within 30 s). Cancelled when `stop` (may be null) is notified
// while a started server has not listened yet.
absl::Status AskEnvForSpaces(v1::EnvConfig& env, const absl::Notification* stop);

}  // namespace rill::roles

#endif  // RILL_ROLES_ENV_SPACES_H_
