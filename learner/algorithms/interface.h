// Algorithm: what the learner loop trains, behind one interface, so that the
// loop (learner/learner.h), the benchmark and the checkpoint format know no
// algorithm by name. Implementations sit beside this file (sac, td3 with
// ddpg as its one-critic variant, sac_discrete, impala) and are created by name
// through registry.h.
//
// The loop samples a batch from the replay table, looks its columns up by
// the names Columns() declares (in whatever order the table's signature
// lists them), calls Update, sends Priorities() back to a prioritized table,
// publishes ExportPolicy() every few updates, reads Statistics() for
// metrics and logs now and then, and checkpoints state().
//
// Thread safety: none; one thread calls every method.
#ifndef RILL_LEARNER_ALGORITHMS_INTERFACE_H_
#define RILL_LEARNER_ALGORITHMS_INTERFACE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/torch_types.h"
#include "learner/algorithms/gradient_averager.h"
#include "learner/algorithms/training_state.h"
#include "proto/parameters.pb.h"
#include "proto/tensor.pb.h"

namespace rill::learner {

// A column the algorithm reads from sampled items.
struct ColumnRequirement {
  std::string name;
  v1::DType dtype = v1::DTYPE_FLOAT32;
  // Shape of one item (the batch dimension excluded).
  std::vector<int64_t> shape;
  // The algorithm can do without it (e.g. "discount", which a one-step
  // table leaves out: the loop then derives it from "terminated").
  bool optional = false;
};

// One sampled batch: columns by name, each [B, shape...] on the learner's
// device, viewing the sampled bytes where it can.
struct Batch {
  std::map<std::string, torch::Tensor> columns;
  // [B] importance weights of a prioritized table; undefined otherwise.
  torch::Tensor weight;
  int64_t size = 0;

  // The column, or an undefined tensor when the batch has none of that name.
  torch::Tensor column(const std::string& name) const {
    auto it = columns.find(name);
    return it == columns.end() ? torch::Tensor() : it->second;
  }
};

// A named scalar the algorithm reports. Losses are exported as
// rill_learner_loss{name=...}, the others as rill_learner_statistic{name=...}.
struct Statistic {
  std::string name;
  double value = 0;
  bool is_loss = false;
};

class Algorithm {
 public:
  virtual ~Algorithm() = default;

  // "sac", "td3", "ddpg", "sac_discrete", "impala": the config's oneof field
  // name, as its spec row has it (AlgorithmName in spec.h).
  virtual const std::string& name() const = 0;

  // The columns Update reads, with the dtype and item shape each must have.
  // The learner checks the table's signature against them at start-up and
  // refuses one that lacks a required column or has another dtype or shape,
  // naming the column.
  virtual std::vector<ColumnRequirement> Columns() const = 0;

  // One gradient step on `batch`. InvalidArgument naming the column for a
  // wrong shape, dtype or device (nothing is changed then). Never blocks on
  // the device.
  virtual absl::Status Update(const Batch& batch) = 0;

  // Rows of `batch` ([B] bool) the algorithm cannot train on (e.g. a NaN
  // behaviour log-probability); the loop drops them before Update, counts
  // and logs them. Undefined: every row is fine (the default).
  virtual torch::Tensor RefusedRows(const Batch& batch) const { return {}; }

  // Updates done (counting those restored from a checkpoint).
  virtual int64_t updates() const = 0;

  // The policy actors run, as a ParameterSet whose PolicySpec says which
  // network it is (policies/ builds it from that alone).
  virtual absl::StatusOr<v1::ParameterSet> ExportPolicy() const = 0;

  // New priorities of the last update's items ([B] float32, e.g. |TD
  // error|), for a prioritized table; undefined when the algorithm has none
  // or before the first update. Synchronizes with the device.
  virtual torch::Tensor Priorities() const { return {}; }

  // Named scalars of the last update (zeros before the first), in a fixed
  // order and with fixed names. Synchronizes with the device: read rarely.
  virtual std::vector<Statistic> Statistics() const = 0;

  // Networks, optimizer states, counters and noise generators, by name: what
  // a checkpoint saves and a restart restores.
  virtual TrainingState& state() = 0;

  // Floating-point operations in the matmuls of one Update of `batch` items
  // (2*M*N*K per matmul, forward and backward); the benchmark divides by it.
  virtual int64_t UpdateMatmulFlops(int64_t batch) const = 0;

  // Data-parallel learners (learner/learner_group.h): every optimizer step
  // of Update averages its gradients over the group's ranks first
  // (gradient_averager.h). Null (the default): one learner.
  void set_gradient_averager(GradientAverager* averager) { averager_ = averager; }

 protected:
  GradientAverager* averager_ = nullptr;
};

}  // namespace rill::learner

#endif  // RILL_LEARNER_ALGORITHMS_INTERFACE_H_
