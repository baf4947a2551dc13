// `rill launch`: a whole run on this machine. Starts topology.num_replay_shards
// replay shards (--shard_index=i; with a durable replay config each gets
// --checkpoint_dir=<run_dir>/replay-<i>), the learner, K actors and the
// evaluator as child processes on free local ports, waits until each is
// ready and its gRPC health check says SERVING, gives actors and learner the
// comma-separated list of shard addresses (and, when the config has
// env.remote.command, first starts that env server, waits until it listens
// and gives actors and evaluator --env_address with the address it bound;
// roles/env_server_role.h), restarts an actor that crashes
// (with the rest of its step budget), a replay shard that ends (on its old
// ports, so that writers and sampler find it again) and the env server (on
// its address, so that the actors reconnect), prints a progress
// line every few seconds from the processes' own /metrics (with the
// restarts of every kind of process), and stops everything on Ctrl-C /
// SIGTERM or once --max_env_steps are taken, after a last evaluation of the
// final policy (bounded by --final_eval_timeout; skipped on Ctrl-C, and the
// summary says so). Ctrl-C while processes start stops the start-up too.
// Stopping signals the processes in three groups, each at once so that
// they drain in parallel, under one deadline (--stop_timeout, 20 s): actors
// and evaluator (their writes in flight acknowledged while the learner
// still samples, for at most a quarter of it), then learner (final
// checkpoint), inference and env servers, then replay; actors still
// flushing once replay has stopped, and whatever runs at the deadline, are
// killed.
//
// The summary's counters come from the processes themselves, read after
// every one has stopped: each child gets --final_metrics_file and writes
// its metrics there as it exits (common/metrics.h), after its last update,
// acknowledged insert or step. Scraping /metrics instead undercounts by
// whatever happens between the last scrape and the exit (the learner's
// updates while the actors drain), and nothing can be scraped from a
// process that has gone; a file written at exit has neither gap and needs
// no new RPC. A process that wrote none (killed) is counted by its last
// scrape, with a warning. A child that exits with code 2 (it refused its
// flags or config, naming the field) ends the run with exit code 2 and the
// child's message.
//
// At the end (Ctrl-C too) it writes the metric history behind its progress
// lines to <run_dir>/plots/history.csv and eval.csv and draws the run's plots there
// (eval return over env steps and over time, env steps/s, updates/s) with
// the embedded cli/plot_run.py and --plot_python; without Python or
// matplotlib it says so and still succeeds. With --summary_json it writes
// the run's figures, the plots' paths among them. With --tls every process
// serves and dials mutual TLS with a throwaway CA and certificate made in
// <run_dir>/tls (cli/throwaway_tls.h); with --tls_cert/--tls_key/--tls_ca
// it passes the user's files on. /metrics stays plain HTTP either way.
// The summary is always written to <run_dir>/summary.json too.
//
// With --deterministic none of the above runs as processes: one actor, its
// table and the learner take turns in this process (roles/lockstep_run.h),
// and the same config and seed repeat the run bit for bit; the run folder,
// progress lines, plots and summary (with the final policy's digest) are
// those of a launched run.
//
// The parts: RunPlan (cli/run_plan.h, pure: which processes, their
// arguments, order and restart policies), Supervisor (cli/supervisor.h:
// start, restart, ordered stop), RunMonitor (cli/run_monitor.h: progress
// lines, evaluations, progress.json), the run folder (cli/run_folder.h:
// resume, effective config, identity, summary), the machine check
// (cli/machine_check.h) and the deterministic run
// (cli/deterministic_launch.h). This file holds the flags and joins them.
#ifndef RILL_CLI_LAUNCHER_H_
#define RILL_CLI_LAUNCHER_H_

namespace rill::cli {

// Reads the flags (already parsed); returns the process exit code.
int LaunchMain();

}  // namespace rill::cli

#endif  // RILL_CLI_LAUNCHER_H_
