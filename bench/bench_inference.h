// `rill bench inference`: what central inference serves on this machine,
// against what the actors would do themselves.
//
// For each case (--bench_streams actor streams x --bench_envs envs each, for
// a Pendulum-sized (3) and a HalfCheetah-sized (17) observation, a 2x256 MLP
// Gaussian policy) it serves an InferenceBatcher and InferenceService on a
// real port of this process (batches close at half the connected envs or
// after --bench_max_wait_micros) and runs the actor streams as callback
// reactors, each on its own connection, each sending its next request as
// soon as the previous one is answered. It reports actions/s and the p50 /
// p99 round trip, the mean batch, and, measured in the same run, local
// inference: the same policy's forward over one actor's envs on one thread
// (actions/s per core, and for all cores). Prints a summary to stderr and
// one JSON object as the last line of stdout.
//
// --bench_transport=grpc,shared_memory (default both): each case runs over
// gRPC (async callback reactors, above) and through shared regions (the
// actors' own CentralActionSource, a thread per stream, each stream's
// requests and answers through its region: proto/inference.proto, "Shared
// memory"); each case's JSON names its transport, and the MLP cases also
// report central actions/s per core and central_to_local_per_core.
//
// With --torso and --obs_shape (bench/torso_flags.h) the cases are instead
// one image env's: a categorical policy of 6 actions with that conv torso
// and its preset's MLP width, on uint8 [C, H, W] observations, acting with
// the behaviour information an IMPALA actor asks for. Central requests carry
// the pixels as uint8 (the service scales them; each case reports the
// window's rill_inference_observation_bytes_total by dtype), local inference
// scales them on the actor's thread. Each case adds central actions/s per
// core (per CPU second of this whole process: the service, its batch
// forwards and the actor streams' client side), the batch forwards' own
// rows/s, local actions/s per core (measured just before and just after
// the central case, averaged) and central_to_local_per_core, their ratio:
// SEED RL's claim is that it reaches 1 at 256 streams.
#ifndef RILL_BENCH_BENCH_INFERENCE_H_
#define RILL_BENCH_BENCH_INFERENCE_H_

namespace rill::bench {

// Returns the process exit code: 0, or 1 after printing the error to stderr.
int RunInferenceBench();

}  // namespace rill::bench

#endif  // RILL_BENCH_BENCH_INFERENCE_H_
