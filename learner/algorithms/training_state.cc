#include "learner/algorithms/training_state.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "torch/torch.h"

namespace rill::learner {
namespace {

std::string Describe(const torch::Tensor& t) {
  return absl::StrCat("[", absl::StrJoin(t.sizes(), ", "), "] ", c10::toString(t.scalar_type()));
}

torch::Tensor CounterTensor(int64_t value) { return torch::full({1}, value, torch::kInt64); }

}  // namespace

void TrainingState::AddTensor(const std::string& name, torch::Tensor live) {
  entries_.push_back(Entry{name, std::move(live), nullptr, nullptr});
}

void TrainingState::AddCounter(const std::string& name, int64_t* counter) {
  entries_.push_back(Entry{name, torch::Tensor(), counter, nullptr});
}

void TrainingState::AddAdam(const std::string& name, FlatAdam* adam) {
  AddTensor(name + ".exp_avg", adam->exp_avg);
  AddTensor(name + ".exp_avg_sq", adam->exp_avg_sq);
  AddCounter(name + ".step", &adam->step);
}

void TrainingState::AddGenerator(const std::string& name, at::Generator* generator) {
  entries_.push_back(Entry{name, torch::Tensor(), nullptr, generator});
}

std::vector<std::string> TrainingState::names() const {
  std::vector<std::string> names;
  for (const Entry& entry : entries_) names.push_back(entry.name);
  return names;
}

std::vector<std::pair<std::string, torch::Tensor>> TrainingState::Save(bool generators) const {
  torch::NoGradGuard no_grad;
  std::vector<std::pair<std::string, torch::Tensor>> saved;
  for (const Entry& entry : entries_) {
    if (entry.counter != nullptr) {
      saved.emplace_back(entry.name, CounterTensor(*entry.counter));
    } else if (entry.generator != nullptr) {
      if (generators) saved.emplace_back(entry.name, entry.generator->get_state());
    } else {
      saved.emplace_back(entry.name, entry.tensor.detach().to(torch::kCPU).clone());
    }
  }
  return saved;
}

absl::Status TrainingState::Restore(const std::map<std::string, torch::Tensor>& saved) {
  // Check everything before changing anything.
  for (const Entry& entry : entries_) {
    auto it = saved.find(entry.name);
    if (it == saved.end()) {
      if (entry.generator != nullptr) continue;
      return absl::InvalidArgumentError(absl::StrCat("checkpoint lacks '", entry.name, "'"));
    }
    if (entry.generator != nullptr) continue;
    const torch::Tensor expected = entry.counter != nullptr ? CounterTensor(0) : entry.tensor;
    if (it->second.sizes() != expected.sizes() || it->second.scalar_type() != expected.scalar_type()) {
      return absl::InvalidArgumentError(absl::StrCat("checkpoint entry '", entry.name, "' is ", Describe(it->second),
                                                     ", this learner needs ", Describe(expected)));
    }
  }
  try {
    torch::NoGradGuard no_grad;
    for (const Entry& entry : entries_) {
      auto it = saved.find(entry.name);
      if (it == saved.end()) continue;
      if (entry.counter != nullptr) {
        *entry.counter = it->second.item<int64_t>();
      } else if (entry.generator != nullptr) {
        entry.generator->set_state(it->second);
      } else {
        entry.tensor.copy_(it->second);
      }
    }
  } catch (const c10::Error& e) {
    return absl::DataLossError(absl::StrCat("cannot restore the checkpoint: ", e.what_without_backtrace()));
  }
  return absl::OkStatus();
}

}  // namespace rill::learner
