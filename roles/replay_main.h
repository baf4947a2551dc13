// The replay shard's process entry point, called by `rill replay` (and by
// replay_main_bin in tests). Reads the shared flags of common/flags.h
// (--config, --host, --port, --metrics_port, --ready_fd) and its own
// --shard_index, serves the config's tables until SIGINT / SIGTERM, then shuts
// down gracefully: tables closed (blocked calls end CANCELLED, clients resend
// what was not acknowledged), server stopped, and with replay.durability
// set, a final checkpoint written. With durability it restores its tables
// from DIR/shard-<index> (or --checkpoint_dir as is) before it serves, and
// checkpoints them periodically (replay/durability.h).
#ifndef RILL_ROLES_REPLAY_MAIN_H_
#define RILL_ROLES_REPLAY_MAIN_H_

namespace rill::roles {

// Call after absl::ParseCommandLine and before starting any thread (it
// installs the shutdown signal mask first). Returns the exit code: 0 after a
// graceful shutdown, 2 for a bad config or flag or a checkpoint / log that
// does not fit the config (the reason on stderr), 1 when a port cannot be
// bound or the durability dir cannot be read.
int ReplayMain();

}  // namespace rill::roles

#endif  // RILL_ROLES_REPLAY_MAIN_H_
