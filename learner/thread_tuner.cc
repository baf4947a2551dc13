#include "learner/thread_tuner.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace rill::learner {

std::vector<int> ThreadCandidates(int max_threads) {
  std::vector<int> candidates;
  for (int n = std::max(1, max_threads); n > 1; n /= 2) candidates.push_back(n);
  candidates.push_back(1);
  return candidates;
}

ThreadTuner::ThreadTuner(const Options& options, std::function<void(int)> set_threads)
    : options_(options), set_threads_(std::move(set_threads)), candidates_(ThreadCandidates(options.max_threads)) {
  recheck_ = options_.recheck;
  threads_ = candidates_.front();
  set_threads_(threads_);
  if (candidates_.size() > 1) {
    StartProbe(/*everything=*/true);
  } else {
    kept_ = threads_;
  }
}

void ThreadTuner::Use(int threads) {
  if (threads == threads_) return;
  threads_ = threads;
  set_threads_(threads);
}

void ThreadTuner::StartProbe(bool everything) {
  probing_ = true;
  ++probes_;
  to_measure_.clear();
  probed_.clear();
  if (everything) {
    // Measured most threads first: the back of the list comes next.
    to_measure_.assign(candidates_.rbegin(), candidates_.rend());
  } else {
    // The kept count's neighbours, then the kept count itself, last, under
    // the same conditions as they.
    const auto kept = std::find(candidates_.begin(), candidates_.end(), kept_);
    to_measure_.push_back(kept_);
    if (kept + 1 != candidates_.end()) to_measure_.push_back(*(kept + 1));
    if (kept != candidates_.begin()) to_measure_.push_back(*(kept - 1));
  }
  Use(to_measure_.back());
  window_count_ = 0;
  window_time_ = absl::ZeroDuration();
}

void ThreadTuner::Observe(absl::Duration update_time) {
  if (candidates_.size() == 1) return;
  if (++seen_ <= options_.warmup_updates) return;
  ++window_count_;
  window_time_ += update_time;
  if (window_count_ < options_.window_updates || window_time_ < options_.window) return;
  const double seconds_per_update = absl::ToDoubleSeconds(window_time_) / window_count_;
  const absl::Duration window_time = window_time_;
  window_count_ = 0;
  window_time_ = absl::ZeroDuration();
  if (probing_) {
    EndWindow(seconds_per_update);
    return;
  }
  // Between probes: probe again once the kept count has drifted (something
  // beside the learner started or stopped), or once it is time to.
  measured_[threads_] = seconds_per_update;
  since_probe_ += window_time;
  const bool drifted = seconds_per_update > baseline_ * (1 + options_.drift) ||
                       seconds_per_update < baseline_ * (1 - options_.drift);
  if (drifted) recheck_ = options_.recheck;
  if (drifted || since_probe_ >= recheck_) StartProbe(/*everything=*/false);
}

void ThreadTuner::EndWindow(double seconds_per_update) {
  measured_[threads_] = seconds_per_update;
  probed_.push_back(threads_);
  to_measure_.pop_back();
  if (!to_measure_.empty()) {
    Use(to_measure_.back());
    return;
  }
  Decide();
}

void ThreadTuner::Decide() {
  probing_ = false;
  since_probe_ = absl::ZeroDuration();
  // The kept count (or, at the first probe, the one measured first) stays
  // unless another beats it by the margin, or has fewer threads and is no
  // slower: a thread that buys no speed only takes a core from the
  // processes beside the learner (PPO on HalfCheetah kept 2 threads at
  // 157 ms per update against 150 ms on 1, within the margin).
  const int incumbent = kept_ > 0 ? kept_ : candidates_.front();
  int best = incumbent;
  for (int n : probed_) {
    if (measured_[n] < measured_[best] * (1 - options_.margin) || (n < best && measured_[n] <= measured_[best])) {
      best = n;
    }
  }
  const bool changed = kept_ > 0 && best != kept_;
  if (changed) ++changes_;
  if (kept_ > 0 && !changed) {
    recheck_ = std::min(recheck_ * 2, options_.max_recheck);
  } else {
    recheck_ = options_.recheck;
  }
  kept_ = best;
  baseline_ = measured_[best];
  Use(best);
}

std::vector<std::pair<int, double>> ThreadTuner::Measured() const {
  std::vector<std::pair<int, double>> figures;
  for (int n : candidates_) {
    const auto it = measured_.find(n);
    figures.emplace_back(n, it != measured_.end() ? it->second : 0.0);
  }
  return figures;
}

std::string ThreadTuner::Describe() const {
  std::string text;
  for (const auto& [n, seconds] : Measured()) {
    if (seconds <= 0) continue;
    absl::StrAppendFormat(&text, "%s%d thread%s: %.3g ms per update", text.empty() ? "" : ", ", n, n == 1 ? "" : "s",
                          1e3 * seconds);
  }
  return text;
}

}  // namespace rill::learner
