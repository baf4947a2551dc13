#include "learner/algorithms/transitions.h"

#include "absl/strings/str_cat.h"
#include "learner/algorithms/checks.h"
#include "torch/torch.h"

namespace rill::learner {

absl::Status CheckTransitionBatch(const TransitionBatch& batch, int64_t obs_dim, int64_t act_dim,
                                  const torch::Device& device) {
  if (!batch.obs.defined()) return absl::InvalidArgumentError("batch.obs is missing");
  if (batch.obs.dim() != 2 || batch.obs.size(0) == 0) {
    return absl::InvalidArgumentError(absl::StrCat("batch.obs has shape ", ShapeString(batch.obs.sizes()),
                                                   ", expected [B, ", obs_dim, "] with B > 0"));
  }
  const int64_t b = batch.obs.size(0);
  // In the columns' order; an empty shape stands for the action's.
  const std::vector<int64_t> action_shape = act_dim > 0 ? std::vector<int64_t>{b, act_dim} : std::vector<int64_t>{b};
  const struct {
    const char* name;
    const torch::Tensor* tensor;
    std::vector<int64_t> shape;
    torch::ScalarType dtype;
    bool optional;
  } fields[] = {
      {"obs", &batch.obs, {b, obs_dim}, torch::kFloat32, false},
      {"action", &batch.action, action_shape, act_dim > 0 ? torch::kFloat32 : torch::kInt64, false},
      {"reward", &batch.reward, {b}, torch::kFloat32, false},
      {"terminated", &batch.terminated, {b}, torch::kFloat32, false},
      {"next_obs", &batch.next_obs, {b, obs_dim}, torch::kFloat32, false},
      {"discount", &batch.discount, {b}, torch::kFloat32, true},
      {"weight", &batch.weight, {b}, torch::kFloat32, true},
  };
  for (const auto& field : fields) {
    if (field.optional && !field.tensor->defined()) continue;
    const absl::Status status = CheckBatchField(field.name, *field.tensor, field.shape, device, field.dtype);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

std::vector<ColumnRequirement> TransitionColumns(const envs::EnvSpec& env) {
  const int64_t obs = env.stored_width();
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

std::vector<ColumnRequirement> JointAgentColumns(const envs::EnvSpec& env) {
  if (env.joint_agents <= 0) return {};
  return {{kAgentRewardsColumn, v1::DTYPE_FLOAT32, {env.joint_agents}, false},
          {kAgentTerminatedColumn, v1::DTYPE_FLOAT32, {env.joint_agents}, false}};
}

absl::StatusOr<TransitionBatch> ToTransitionBatch(const Batch& batch, int64_t flat_dim) {
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
  view.obs = FloatObservations(view.obs, flat_dim);
  view.next_obs = FloatObservations(view.next_obs, flat_dim);
  view.discount = batch.column("discount");
  view.weight = batch.weight;
  view.agent_rewards = batch.column(kAgentRewardsColumn);
  view.agent_terminated = batch.column(kAgentTerminatedColumn);
  return view;
}

torch::Tensor BootstrapDiscount(const TransitionBatch& batch, double gamma) {
  if (batch.discount.defined()) return batch.discount;
  return batch.terminated.mul(-gamma).add_(gamma);
}

}  // namespace rill::learner
