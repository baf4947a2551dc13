// TrainingState: the named tensors and counters an algorithm checkpoints,
// registered once (live views into the networks, optimizer buffers, int64
// counters, a CPU noise generator) so that saving and restoring are one
// generic pass and every algorithm shares one checkpoint format
// (learner/checkpoint.h writes it to disk).
//
// Thread safety: none; the owning algorithm's thread calls it.
#ifndef RILL_LEARNER_ALGORITHMS_TRAINING_STATE_H_
#define RILL_LEARNER_ALGORITHMS_TRAINING_STATE_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "common/torch_types.h"
#include "learner/flat_adam.h"

namespace rill::learner {

class TrainingState {
 public:
  // `live` is restored in place (copy_), so it must stay the tensor the
  // algorithm uses (e.g. a FlatMlp's params()).
  void AddTensor(const std::string& name, torch::Tensor live);
  // Saved as a one-element int64 tensor.
  void AddCounter(const std::string& name, int64_t* counter);
  // Optional on restore: a checkpoint written on another device keeps this
  // process's generator.
  void AddGenerator(const std::string& name, at::Generator* generator);
  // An Adam optimizer's moments and step count, as "<name>.exp_avg",
  // "<name>.exp_avg_sq" and "<name>.step" (one format for every algorithm).
  void AddAdam(const std::string& name, FlatAdam* adam);

  // CPU copies of everything, by name; without the generators' states when
  // `generators` is false (what data-parallel ranks share: each rank keeps
  // its own noise).
  std::vector<std::pair<std::string, torch::Tensor>> Save(bool generators = true) const;

  // Restores everything from `saved`. InvalidArgument naming the entry when
  // one is missing or has another shape or dtype; nothing is changed then.
  // DataLoss if copying fails.
  absl::Status Restore(const std::map<std::string, torch::Tensor>& saved);

  // The registered names, in registration order.
  std::vector<std::string> names() const;

 private:
  struct Entry {
    std::string name;
    torch::Tensor tensor;                // AddTensor
    int64_t* counter = nullptr;          // AddCounter
    at::Generator* generator = nullptr;  // AddGenerator
  };
  std::vector<Entry> entries_;
};

}  // namespace rill::learner

#endif  // RILL_LEARNER_ALGORITHMS_TRAINING_STATE_H_
