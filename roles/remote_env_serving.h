// Where the remote envs (env.remote) of a role are served: the env server
// that --env_address names, the config's env.remote.address, or, for a role
// that plays a run's envs on its own (`rill eval`, `rill render`), the
// server that the config's env.remote.command starts, started as `rill
// launch` starts it (roles/env_server_role.h: the same command, a free port
// unless env.remote.address fixes one, the same wait until it listens).
// An address that none of them gives is refused at once, naming the field
// and the flag; remote envs would otherwise go on dialing an empty address.
//
// Thread-compatible: functions of the caller's config.
#ifndef RILL_ROLES_REMOTE_ENV_SERVING_H_
#define RILL_ROLES_REMOTE_ENV_SERVING_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "proto/config.pb.h"
#include "roles/env_server_role.h"

namespace rill::roles {

struct RemoteEnvServing {
  // --env_address: a running env server (HOST:PORT) to dial in place of the
  // config's env.remote.address and of what env.remote.command would start;
  // empty: none given.
  std::string env_address;
  // Where a started server's output goes; empty: a file in the temp folder
  // named after this process ("rill-env-server-<pid>.log").
  std::string log_path;
  // Ends the wait for a started server to listen early; may be null.
  const absl::Notification* stop = nullptr;
};

// Puts `env_address` (--env_address), when given, into the config's
// env.remote.address, which its remote envs dial. InvalidArgument naming
// the flag when it is given for a config whose env is not remote, and
// naming the field and the flag when the env is remote and neither gives
// an address. What `rill actor` does (`rill launch` passes it the address
// of the server it started).
absl::Status ApplyEnvAddress(const std::string& env_address, v1::ExperimentConfig& config);

// ApplyEnvAddress for `rill eval` and `rill render`, which start the server
// themselves where `rill launch` would: for a config with
// env.remote.command and no serving.env_address, runs the command, blocks
// until it listens and points config's env.remote.address at the address
// it bound. Returns that server, which the caller keeps as long as the envs
// that dial it (destroying it kills its process group), or null when none
// was started. Errors: ApplyEnvAddress's; EnvServerRole::Start's (a server
// that exits or does not listen within a minute, with its log's tail;
// Cancelled when serving.stop is notified first).
absl::StatusOr<std::unique_ptr<EnvServerRole>> ServeRemoteEnvs(const RemoteEnvServing& serving,
                                                               v1::ExperimentConfig& config);

}  // namespace rill::roles

#endif  // RILL_ROLES_REMOTE_ENV_SERVING_H_
