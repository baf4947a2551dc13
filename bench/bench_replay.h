// `rill bench replay`: how fast one replay shard stores and serves items, and
// how much resident memory it needs per stored payload byte.
//
// Starts a real shard (`rill replay`, this same binary via /proc/self/exe)
// as a child process on a loopback port with a generated config, and drives
// the wire protocol (proto/replay.proto) with raw gRPC streams, each client
// on its own channel and TCP connection, several requests in flight per
// stream, prebuilt requests whose keys change per request (equal keys would
// be retries and not stored). Three item sizes: a Pendulum transition
// (36 B), a HalfCheetah transition (168 B: obs 17, action 6, reward,
// terminated, next_obs 17, all float32) and an 84x84x4 uint8 frame stack
// (28,224 B); 1, 4 and 16 concurrent writers (then as many concurrent
// samplers, batch 256) per size. In the same run it measures the loopback
// TCP bandwidth the figures are bounded by, the insert rate of a shard in
// WAL durability mode against the same case without it, and, in fresh
// shards filled to a sizeable payload, VmRSS per stored byte.
//
// Flags (bench_replay.cc): --bench_seconds (common/flags.h; 0: 2 s per
// case), --bench_tables, --bench_writers, --bench_insert_request_kib, --bench_in_flight,
// --bench_sample_batch, --bench_memory, --bench_memory_mib,
// --bench_memory_large_mib, --bench_wal, --bench_dir. Progress goes to
// stderr; the last line of stdout is one JSON object:
//   {"loopback_tcp_mb_per_second", "cases": [{"item_bytes", "writers",
//    "insert_items_per_second", "insert_mb_per_second",
//    "sample_batches_per_second", ...}], "wal": {...}, "memory": [...], ...}
// Not meant to run beside other work: it measures the machine.
#ifndef RILL_BENCH_BENCH_REPLAY_H_
#define RILL_BENCH_BENCH_REPLAY_H_

namespace rill::bench {

// Returns the process exit code: 0, or 1 after printing the error to stderr.
int RunReplayBench();

}  // namespace rill::bench

#endif  // RILL_BENCH_BENCH_REPLAY_H_
