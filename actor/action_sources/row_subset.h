// RowSubsetSource: an ActionSource that acts for some rows of a batch only,
// through another source that sees just those rows: the actor's policies
// (config.policies) each act on their agents' rows of one env batch. Act
// takes the whole batch's observations and buffers, like any source;
// it gathers its rows' observations (and episode_start flags), lets the
// inner source act on them as a batch of their own, and writes the answers
// (actions, behaviour log-probabilities and distributions, core states)
// back into its rows of `out`, leaving every other row as it was.
//
// Not thread-safe: the step loop owns it.
#ifndef RILL_ACTOR_ACTION_SOURCES_ROW_SUBSET_H_
#define RILL_ACTOR_ACTION_SOURCES_ROW_SUBSET_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "actor/action_sources/interface.h"

namespace rill::actor {

class RowSubsetSource final : public ActionSource {
 public:
  // `rows`: the batch rows this source acts for, ascending; `inner` acts
  // for them as rows 0..rows.size()-1 of a batch of its own, each the
  // first `obs_dim` values of its batch row (a policy of agents that
  // observe less than the batch's widest: envs/catalog.h's PolicyRowSpec);
  // 0: the batch's whole rows.
  RowSubsetSource(std::vector<int> rows, std::unique_ptr<ActionSource> inner, int obs_dim = 0)
      : rows_(std::move(rows)), inner_(std::move(inner)), obs_dim_(obs_dim) {}

  absl::Status Refresh() override { return inner_->Refresh(); }
  bool ready() const override { return inner_->ready(); }
  int64_t version() const override { return inner_->version(); }
  const std::vector<int64_t>& pool_versions() const override { return inner_->pool_versions(); }
  int64_t reconnects() const override { return inner_->reconnects(); }
  // InvalidArgument when a row of this source is outside `observations`,
  // or its rows are wider than the batch's; otherwise the inner source's
  // answer.
  absl::Status Act(const ObservationRows& observations, bool deterministic, bool behaviour,
                   const absl::Notification& stop, const ActionBuffers& out) override;

  const std::vector<int>& rows() const { return rows_; }
  ActionSource& inner() { return *inner_; }

 private:
  const std::vector<int> rows_;
  std::unique_ptr<ActionSource> inner_;
  const int obs_dim_;  // 0: the batch's
  // The gathered rows, and what the inner source wrote for them (reused:
  // a step allocates nothing once warm).
  std::vector<uint8_t> observations_;
  std::vector<uint8_t> episode_start_;
  std::vector<float> actions_;
  std::vector<int64_t> action_indices_;
  std::vector<float> log_probs_;
  std::vector<float> distributions_;
  std::vector<float> core_states_;
};

// Several RowSubsetSources as one source for the whole batch (the
// evaluator's policies): Act lets each act for its rows, in order; it is
// ready once all are; its version is the first one's (the one that paces
// the caller).
class SplitSource final : public ActionSource {
 public:
  // At least one part; their rows together should cover the batch.
  explicit SplitSource(std::vector<std::unique_ptr<RowSubsetSource>> parts) : parts_(std::move(parts)) {}

  absl::Status Refresh() override;
  bool ready() const override;
  int64_t version() const override { return parts_.front()->version(); }
  absl::Status Act(const ObservationRows& observations, bool deterministic, bool behaviour,
                   const absl::Notification& stop, const ActionBuffers& out) override;

  RowSubsetSource& part(int index) { return *parts_[index]; }
  int num_parts() const { return static_cast<int>(parts_.size()); }

 private:
  std::vector<std::unique_ptr<RowSubsetSource>> parts_;
};

// Every policy's source acting together on a batch of `batch_rows` rows
// whose envs' agent k plays for agent_policy[k]: sources[p] on policy p's
// rows (RowsOfPolicy), each seen as its first obs_dims[p] values (0: the
// whole row), behind a SplitSource; one source (a lone policy) as it is.
// `sources` and `obs_dims` in policy order, at least one.
std::unique_ptr<ActionSource> ActingTogether(std::vector<std::unique_ptr<ActionSource>> sources,
                                             const std::vector<int>& obs_dims, const std::vector<int>& agent_policy,
                                             int batch_rows);

// The rows of a batch of `batch_rows` rows that policy `policy` plays,
// ascending, when agent k of every env plays for agent_policy[k] (row
// e * K + k of K agents per env).
std::vector<int> RowsOfPolicy(const std::vector<int>& agent_policy, int batch_rows, int policy);

}  // namespace rill::actor

#endif  // RILL_ACTOR_ACTION_SOURCES_ROW_SUBSET_H_
