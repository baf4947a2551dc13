// `rill launch`: a whole run on this machine. Starts topology.num_replay_shards
// replay shards (--shard_index=i; with a durable replay config each gets
// --checkpoint_dir=<run_dir>/replay-<i>), the learner, K actors and the
// evaluator as child processes on free local ports, waits until each is
// ready and its gRPC health check says SERVING, gives actors and learner the
// comma-separated list of shard addresses (and, when the config has
// env.remote.command, first starts that env server, waits until it listens
// and gives actors and evaluator --env_address with the address it bound;
// tools/env_server_role.h), restarts an actor that crashes
// (with the rest of its step budget), a replay shard that ends (on its old
// ports, so that writers and sampler find it again) and the env server (on
// its address, so that the actors reconnect), prints a progress
// line every few seconds from the processes' own /metrics, and stops
// everything in order on Ctrl-C or once --max_env_steps are taken: actors
// first (their writes flushed), then a last evaluation of the final policy,
// then learner (final checkpoint), evaluator, env server and replay. At the
// end (Ctrl-C too) it writes the metric history behind its progress lines to
// <run_dir>/plots/history.csv and eval.csv and draws the run's plots there
// (eval return over env steps and over time, env steps/s, updates/s) with
// the embedded tools/plot_run.py and --plot_python; without Python or
// matplotlib it says so and still succeeds. With --summary_json it writes
// the run's figures, the plots' paths among them. With --tls every process
// serves and dials mutual TLS with a throwaway CA and certificate made in
// <run_dir>/tls (tools/throwaway_tls.h); with --tls_cert/--tls_key/--tls_ca
// it passes the user's files on. /metrics stays plain HTTP either way.
#ifndef RILL_TOOLS_LAUNCHER_H_
#define RILL_TOOLS_LAUNCHER_H_

namespace rill::tools {

// Reads the flags (already parsed); returns the process exit code.
int LaunchMain();

}  // namespace rill::tools

#endif  // RILL_TOOLS_LAUNCHER_H_
