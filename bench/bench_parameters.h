// `rill bench parameters`: how long a new policy version takes to reach
// every actor subscribed to one learner's parameter service.
//
// Serves a ParameterStore on a real port of this process and opens
// --bench_subscribers Subscribe streams, each on its own channel (its own
// TCP connection, as each actor process has), read by callback reactors.
// Publishes --bench_versions versions of --bench_policy_floats float32s
// (default: the Pendulum SAC policy, 3-256-256-2, 67,330 floats), each once
// the previous one has reached every subscriber, and records for each
// (version, subscriber) the time from Publish to the subscriber's read.
// In the same run, as the reference, it measures one loopback TCP
// connection's throughput and reports the time every subscriber's copy
// would take through it (the floor for any design that sends every actor
// its own bytes over TCP). Prints a summary to stderr and, as the last line of
// stdout, one JSON object: {"subscribers", "blob_bytes", "versions",
// "delivery_ms" {p50, p99, max} over (version, subscriber),
// "all_delivered_ms" {p50, p99, max} over versions, "threads" of the
// process with every stream open, "rss_mb", "loopback_mb_per_second",
// "reference_loopback_ms",
// "cores", "load_average_1m"}.
//
// With --bench_followers=N it measures instead what following the learner
// costs the actors on its host: N ParameterClients each take the newest
// version every --bench_step_micros on a thread of their own (as an
// actor's step loop does) while versions of --bench_policy_floats are
// published at --bench_publish_hz, over gRPC and then through the shared
// region, --bench_seconds each, with the same loop and nothing published
// as the floor. JSON: {"followers", "blob_bytes", "publish_hz",
// "idle_cores", "grpc" and "shared_memory" each {"published", "taken",
// "cores", "cpu_us_per_version_above_idle", "publish_to_take_ms" {p50,
// p99, max}}, "cores", "load_average_1m"}.
#ifndef RILL_BENCH_BENCH_PARAMETERS_H_
#define RILL_BENCH_BENCH_PARAMETERS_H_

namespace rill::bench {

// Returns the process exit code: 0, or 1 after printing the error to stderr.
int RunParameterBench();

}  // namespace rill::bench

#endif  // RILL_BENCH_BENCH_PARAMETERS_H_
