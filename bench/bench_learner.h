// `rill bench learner`: how many updates per second of an algorithm (SAC,
// TD3, DDPG, SAC-discrete, IMPALA) this machine runs, how many env steps
// per second that learns, and how close that comes to the machine's own
// matmul speed.
//
// Reads the flags --algo (sac, td3, ddpg, sac_discrete, impala), --obs_dim,
// --act_dim, --batch, --unroll (impala's T), --action_space, --hidden,
// --device (auto, cpu, cuda; learner/device.h), --bench_seconds
// (common/flags.h; 0: 10 s), --bench_threads (0: all cores), and for IMPALA
// from pixels --torso and --obs_shape (bench/torso_flags.h), the others
// defined in bench_learner.cc. Builds the algorithm through its registry,
// with its config defaults, on that device, feeds it one random batch over
// and over, and in the same run times the reference: a float32 matmul of
// the update's widest layer, batch x width x width (256x256x256 at the
// defaults), on the same device and threads. Prints a summary to stderr
// and, as the last line of stdout, one JSON object:
//   {"algo", "obs_dim", "act_dim", "discrete", "hidden", "batch",
//    "steps_per_item", "threads", "device", "libtorch",
//    "updates_per_second",
//    "env_steps_per_second" (updates/s x batch x steps per item),
//    "achieved_gflops", "matmul_gflops", "matmul_shape", "flops_per_update",
//    "fraction_of_matmul"}.
// Runs on the calling thread; not meant to run beside other work.
#ifndef RILL_BENCH_BENCH_LEARNER_H_
#define RILL_BENCH_BENCH_LEARNER_H_

namespace rill::bench {

// Returns the process exit code: 0, or 1 after printing the error to stderr.
int RunLearnerBench();

}  // namespace rill::bench

#endif  // RILL_BENCH_BENCH_LEARNER_H_
