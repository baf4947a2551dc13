// `rill bench torso`: the convolutional torsos (policies/torso.h) on one
// core, three ways, on the same shapes in the same run:
//   actor_forward: BlasTorso::Forward, the actors' oneDNN forward (no
//     LibTorch in `rill-actor`);
//   libtorch_forward: LibTorch's CPU conv2d forward of the same layers
//     (TorchTorso under NoGradGuard), the reference the actors' forward is
//     judged against (target: actor >= 80% of its samples/s);
//   libtorch_train: forward plus backward to every parameter (autograd),
//     what one learner update costs per sample in the torso.
// Cases: the MinAtar CNN on [4, 10, 10] (batch 1, 8, 32, 256), the Nature
// CNN on [4, 84, 84] (batch 1, 8, 32, 256) and the IMPALA ResNet on
// [3, 64, 64] (batch 1, 8, 32). Both sides run one thread; the two forwards
// alternate over several rounds and each reports its best (a burst of other
// load then slows both instead of skewing the ratio). Reads
// --bench_seconds (0: 1 s per measurement). Prints one line per case to
// stderr and, as the last line of stdout, one JSON object: {"bench":
// "torso", "cores", "load_average_1m_before", "load_average_1m_after",
// "forward_rounds",
// "cases": [{"torso", "input", "batch", "actor_samples_per_second",
// "libtorch_samples_per_second", "actor_fraction_of_libtorch",
// "libtorch_train_samples_per_second", "multiply_adds_per_sample"}]}.
// Not meant to run beside other work.
#ifndef RILL_BENCH_BENCH_TORSO_H_
#define RILL_BENCH_BENCH_TORSO_H_

namespace rill::bench {

// Returns the process exit code: 0, or 1 after printing the error to stderr.
int RunTorsoBench();

}  // namespace rill::bench

#endif  // RILL_BENCH_BENCH_TORSO_H_
