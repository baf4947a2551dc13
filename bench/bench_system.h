// `rill bench system --config=NAME`: how far a config's run is from what
// this machine could do with it. The benchmark runs the config's processes
// (`rill launch`, the real run) for --bench_seconds after a warm-up and
// counts its env steps, learner updates and every process's CPU time from
// /proc; then, on the same machine with the run stopped, it times each
// part of an env step alone, in CPU seconds: the env's step (the config's
// env section and num_envs), the policy's forward per env step (the
// actors' policy, or the inference server's, exported by the config's
// learner), and the learner's update on one thread times the run's updates
// per env step. Replay, the evaluator and the launcher are costed from
// their CPU in the run (a shard's work is its clients' traffic; timing it
// alone would time a different traffic).
//
// The bound is the machine's cores divided by the sum of those costs per
// env step: the env steps/s the run would make if every core worked on
// nothing else; or, where it is lower, the serial stage's: the learner
// trains one update after another on one training thread, so however many
// cores are free it makes at most one update per its fastest update alone
// (wall time, on one thread or on every core, whichever is faster). Where
// the run falls short, the JSON names the stage that
// keeps it below: other work (cores busy outside the run, from
// /proc/stat), cores left idle (the run waits: its rate limiter, its
// policy lag, a slow round trip), or the process whose CPU per env step in
// the run is furthest above its parts timed alone.
//
// Runs of local envs (built-in or plugin); a remote env's cost is its
// server's, which the run does not start. A run of several policies costs
// each policy's update (its view of the config) at its own updates per env
// step, its share of the window's updates in its learner log
// (metrics/learner.NAME.jsonl), and the forward of each policy on its
// agents' rows. Stateless; call from the
// main thread (it forks the launcher).
#ifndef RILL_BENCH_BENCH_SYSTEM_H_
#define RILL_BENCH_BENCH_SYSTEM_H_

#include <map>
#include <string>

namespace rill::bench {

// The CPU seconds of each kind of Rill process in the tree under `root`
// (root included), by role: "launcher", "actor", "replay", "learner",
// "evaluator", "inference", "env-server"; other programs by their name.
// Processes that cannot be read (they ended) are left out.
std::map<std::string, double> ProcessTreeCpuSeconds(int root);

// The role of a process from its /proc/PID/cmdline (arguments separated
// by NULs): rill-actor and rill-replay by their binary, `rill ROLE` by
// its first argument ("launch": "launcher"; an actor with --eval:
// "evaluator"), another program by its binary's name.
std::string RoleOfCommandLine(const std::string& cmdline);

// Reads a field of progress.json's one-line JSON object (cli/run_monitor:
// env_steps, learner_updates, wall_seconds); -1 when it is not there.
double ProgressField(const std::string& json, const std::string& name);

// The bound of a run (see above) and what sets it.
struct Roofline {
  double cores_bound = 0;   // cores / the stages' CPU seconds per env step
  double serial_bound = 0;  // 1 / (update wall seconds x updates per env step); 0: no updates
  double bound = 0;         // the lower of the two (cores_bound without updates)
  std::string bound_by;     // "cores" or "learner thread"
};
// From the stages' CPU seconds per env step (their sum), the machine's
// cores and the serial stage's wall seconds per env step: the learner's
// fastest update alone times the run's updates per env step (of the
// policy whose thread needs most, where each policy trains on its own).
Roofline RooflineOf(double cpu_per_env_step, int cores, double serial_seconds_per_env_step);

// Each policy's learner updates as its scalar log in `run_dir` last says
// (the "updates" of its last whole line): metrics/learner.jsonl's under
// "", metrics/learner.NAME.jsonl's under NAME. Empty where there are none.
std::map<std::string, double> PolicyUpdates(const std::string& run_dir);

int RunSystemBench();

}  // namespace rill::bench

#endif  // RILL_BENCH_BENCH_SYSTEM_H_
