#ifndef RILL_LEARNER_THREAD_TUNER_H_
#define RILL_LEARNER_THREAD_TUNER_H_

// Picks how many intra-op threads a CPU learner's updates run on, by
// measuring them as the learner trains.
//
// A learner shares its machine with actors, an evaluator, an inference
// server or a user's env, and cannot know ahead how many cores they leave.
// A team of intra-op threads waits for all its members at every op, so it
// loses most of its rate when one member is descheduled: SAC at 2 threads on
// 2 cores makes 260 updates/s alone but 77 beside one busy process, where 1
// thread makes 133. Counting the other processes' cores does not help
// either: a Pendulum actor uses 2% of a core, a MuJoCo actor all of one.
//
// So the tuner times windows of updates at each candidate count (the most
// threads, half of them, ..., 1), keeps the fastest, and measures again:
// at once when the kept count's time per update moves by more than `drift`
// (a neighbour came or went), otherwise after `recheck`, an interval that
// doubles each time a probe keeps the count (up to `max_recheck`). A probe
// measures the kept count's neighbours and then the kept count itself, and
// changes it only for one faster by more than `margin`, or for fewer threads
// that are no slower (more threads take cores from the processes beside).
//
// Time is the updates' own duration as the caller measures it (not the wait
// for batches), so the tuner reads no clock and a test drives it with any
// cost model. Not thread-safe: the learner's loop calls it.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace rill::learner {

class ThreadTuner {
 public:
  struct Options {
    // The most threads an update may use (>= 1); 1 leaves nothing to tune.
    int max_threads = 1;
    // A window closes after at least this many updates and this much of
    // their time.
    int window_updates = 16;
    absl::Duration window = absl::Milliseconds(300);
    // Updates not measured at the start (allocations, cold caches).
    int warmup_updates = 8;
    absl::Duration recheck = absl::Seconds(10);
    absl::Duration max_recheck = absl::Seconds(80);
    double margin = 0.05;
    double drift = 0.2;
  };

  // Calls `set_threads` with the first count to measure (the most), and
  // again each time the count changes.
  ThreadTuner(const Options& options, std::function<void(int)> set_threads);

  // After each update, with its duration.
  void Observe(absl::Duration update_time);

  // The count the next update runs on.
  int threads() const { return threads_; }
  // The count kept by the last finished probe (0 before the first ends).
  int kept() const { return kept_; }
  // Seconds per update last measured at each count, most threads first
  // (0 where not measured yet).
  std::vector<std::pair<int, double>> Measured() const;
  // "2 threads: 3.85 ms per update, 1 thread: 7.10 ms": the figures behind
  // the last decision.
  std::string Describe() const;
  int64_t probes() const { return probes_; }
  int64_t changes() const { return changes_; }

 private:
  void StartProbe(bool everything);
  void EndWindow(double seconds_per_update);
  void Decide();
  void Use(int threads);

  const Options options_;
  const std::function<void(int)> set_threads_;
  std::vector<int> candidates_;  // most threads first
  std::map<int, double> measured_;  // count -> seconds per update
  int threads_ = 1;
  int kept_ = 0;
  int64_t seen_ = 0;
  // The window being measured.
  int window_count_ = 0;
  absl::Duration window_time_;
  // The probe under way: the counts still to measure (next at the back).
  bool probing_ = false;
  std::vector<int> to_measure_;
  std::vector<int> probed_;  // measured in this probe
  // Between probes: the kept count's time per update when it was kept, the
  // update time since, and the interval before the next probe.
  double baseline_ = 0;
  absl::Duration since_probe_;
  absl::Duration recheck_;
  int64_t probes_ = 0;
  int64_t changes_ = 0;
};

// The counts a tuner with `max_threads` measures: max, max/2, ..., 1.
std::vector<int> ThreadCandidates(int max_threads);

}  // namespace rill::learner

#endif  // RILL_LEARNER_THREAD_TUNER_H_
