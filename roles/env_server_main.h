// `rill env-server --env=ID [--plugin=LIBRARY] --address=HOST:PORT
// [--max_episode_steps=T]`: serves a registered env, or a plugin library's
// env, over rill.v1.EnvService (envs/remote/env_server.h), so that actors
// with `env { remote { address: ... } }` step it. A multi-agent env (the
// registry's or a plugin's) is served with the protocol's multi-agent
// streams, for actors whose env.remote lists its agents. Like the Python server
// (python/rill/env_server.py) it prints "listening on HOST:PORT" on stdout
// once it serves (port 0 picks a free port), writes the ready line to
// --ready_fd when given, and stops on SIGTERM / SIGINT: health turns
// NOT_SERVING, open streams get two seconds to end, the rest are cancelled.
//
// Exit code: 0 after a signal; 2 for a bad flag, an unknown env id or a
// plugin that cannot be loaded or made; 1 when the address cannot be bound.
#ifndef RILL_ROLES_ENV_SERVER_MAIN_H_
#define RILL_ROLES_ENV_SERVER_MAIN_H_

namespace rill::roles {

int EnvServerMain();

}  // namespace rill::roles

#endif  // RILL_ROLES_ENV_SERVER_MAIN_H_
