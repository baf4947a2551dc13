#include "learner/algorithms/transitions.h"

#include "absl/strings/str_cat.h"
#include "learner/algorithms/checks.h"

namespace rill::learner {

std::vector<ColumnRequirement> TransitionColumns(const envs::EnvSpec& env) {
  const int64_t obs = env.obs_dim();
  std::vector<ColumnRequirement> columns;
  columns.push_back({"obs", ObservationColumnDType(env), {obs}, false});
  if (env.discrete) {
    columns.push_back({"action", v1::DTYPE_INT64, {}, false});
  } else {
    columns.push_back({"action", v1::DTYPE_FLOAT32, {env.action_dim()}, false});
  }
  columns.push_back({"reward", v1::DTYPE_FLOAT32, {}, false});
  columns.push_back({"terminated", v1::DTYPE_FLOAT32, {}, false});
  columns.push_back({"next_obs", ObservationColumnDType(env), {obs}, false});
  columns.push_back({"discount", v1::DTYPE_FLOAT32, {}, true});
  return columns;
}

absl::StatusOr<TransitionBatch> ToTransitionBatch(const Batch& batch) {
  TransitionBatch view;
  struct Field {
    const char* name;
    torch::Tensor* tensor;
  };
  for (const Field& field : {Field{"obs", &view.obs}, Field{"action", &view.action}, Field{"reward", &view.reward},
                             Field{"terminated", &view.terminated}, Field{"next_obs", &view.next_obs}}) {
    *field.tensor = batch.column(field.name);
    if (!field.tensor->defined()) {
      return absl::InvalidArgumentError(absl::StrCat("sampled batch lacks column '", field.name, "'"));
    }
  }
  view.obs = FloatObservations(view.obs);
  view.next_obs = FloatObservations(view.next_obs);
  view.discount = batch.column("discount");
  view.weight = batch.weight;
  return view;
}

torch::Tensor BootstrapDiscount(const TransitionBatch& batch, double gamma) {
  if (batch.discount.defined()) return batch.discount;
  return batch.terminated.mul(-gamma).add_(gamma);
}

}  // namespace rill::learner
