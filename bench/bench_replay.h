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
// Compression (TableConfig.compression): on frame data from MinAtar play
// (bench/frame_data.h: Breakout transitions with [4, 10, 10] obs and
// next_obs, and Space Invaders drawn at 84x84 in stacks of 4), zstd alone
// on one core at each level (size ratio, compress and decompress MB/s),
// then per level and without compression a fresh shard holding that table:
// insert and sample MB/s (of items as sampled), the shard's CPU, and the
// bytes it stores and its resident memory per payload byte, each against
// the uncompressed table of the same run.
//
// Flags (bench_replay.cc): --bench_seconds (common/flags.h; 0: 2 s per
// case), --bench_tables (empty: no plain throughput cases),
// --bench_writers, --bench_insert_request_kib, --bench_in_flight,
// --bench_sample_batch, --bench_memory, --bench_memory_mib,
// --bench_memory_large_mib, --bench_wal, --bench_compression,
// --bench_compression_levels, --bench_compression_writers, --bench_dir.
// Progress goes to stderr; the last line of stdout is one JSON object:
//   {"loopback_tcp_mb_per_second", "cases": [{"item_bytes", "writers",
//    "insert_items_per_second", "insert_mb_per_second",
//    "sample_batches_per_second", ...}], "wal": {...}, "memory": [...],
//    "compression": {"data", "codec": [...], "cases": [{"kind", "level",
//    "insert_mb_per_second", "sample_mb_per_second",
//    "stored_per_payload_byte", "insert_vs_none", ...}]}, ...}
// Not meant to run beside other work: it measures the machine.
#ifndef RILL_BENCH_BENCH_REPLAY_H_
#define RILL_BENCH_BENCH_REPLAY_H_

namespace rill::bench {

// Returns the process exit code: 0, or 1 after printing the error to stderr.
int RunReplayBench();

}  // namespace rill::bench

#endif  // RILL_BENCH_BENCH_REPLAY_H_
