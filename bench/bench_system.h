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
// nothing else. Where the run falls short, the JSON names the stage that
// keeps it below: other work (cores busy outside the run, from
// /proc/stat), cores left idle (the run waits: its rate limiter, its
// policy lag, a slow round trip), or the process whose CPU per env step in
// the run is furthest above its parts timed alone.
//
// One-policy runs of local envs (built-in or plugin); a remote env's cost
// is its server's, which the run does not start. Stateless; call from the
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

int RunSystemBench();

}  // namespace rill::bench

#endif  // RILL_BENCH_BENCH_SYSTEM_H_
