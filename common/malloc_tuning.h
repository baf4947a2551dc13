// glibc malloc settings for processes that move messages of megabytes.
//
// By default glibc serves an allocation above its mmap threshold (128 KiB,
// raised adaptively up to 32 MiB) with a fresh mmap, and hands the top of a
// heap back to the kernel once more than its trim threshold is free. A
// replay shard serializing 7 MB sampled batches of frames, or a learner
// receiving them, then allocates and frees the same few megabytes per
// message and the kernel zero-fills every page again. Page faults are
// costly in a virtual machine (perf shows them entering the hypervisor),
// and perf showed a single sampler stream of 28 KB items spending most of
// its time in them (frames x 1: 49 -> 298 batches/s, inserts 149 -> 968
// MB/s once fixed).
//
// TuneMallocForLargeMessages() fixes the mmap threshold at 32 MiB (the
// adaptive maximum, so messages come from the heap and are reused) and lets
// up to 64 MiB stay free at a heap's top. Memory freed stays resident only
// up to what the process has used at its peak; a replay shard still returns
// it every few seconds with malloc_trim (replay_main), which ignores the
// threshold. Rill's binaries call it first thing in main.
#ifndef RILL_COMMON_MALLOC_TUNING_H_
#define RILL_COMMON_MALLOC_TUNING_H_

namespace rill {

// The mmap threshold and trim threshold glibc uses after the call.
inline constexpr int kMallocMmapThreshold = 32 << 20;
inline constexpr int kMallocTrimThreshold = 64 << 20;

// False if glibc refused a setting.
bool TuneMallocForLargeMessages();

}  // namespace rill

#endif  // RILL_COMMON_MALLOC_TUNING_H_
