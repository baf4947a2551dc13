#include "envs/remote/env_server_batch.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/shape.h"
#include "common/status_macros.h"
#include "common/tensor_codec.h"

namespace rill::envs {
namespace {

// ---- The observation's wire form: the one place that knows its type. ----
// The batch keeps observations as the bytes of spec.observation_type
// (Env::ResetRaw / StepRaw write them), float32 or uint8.

v1::DType ObservationDType(const EnvSpec& spec) {
  return spec.uint8_observations() ? v1::DTYPE_UINT8 : v1::DTYPE_FLOAT32;
}

// `rows` observations of `spec`'s env, row-major, as the tensor the wire
// carries: [rows, observation shape...]; a Dict's [rows, row width]
// (proto/env.proto, DictSpace).
void WriteObservations(const EnvSpec& spec, int64_t rows, const uint8_t* data, v1::Tensor* tensor) {
  tensor->set_dtype(ObservationDType(spec));
  tensor->clear_shape();
  tensor->add_shape(rows);
  if (spec.observation_leaves.empty()) {
    for (int64_t d : spec.observation_shape) tensor->add_shape(d);
  } else {
    tensor->add_shape(spec.stored_width());
  }
  tensor->mutable_data()->assign(reinterpret_cast<const char*>(data), static_cast<size_t>(rows) * spec.obs_bytes());
}

// Why one observation cannot be sent ("holds NaN or infinity
// (observation[2] = nan)"), if it cannot. Every uint8 observation can.
std::optional<std::string> ObservationProblem(const EnvSpec& spec, const uint8_t* row) {
  // The float32 elements: all, or a packed row's flat leaves after its
  // image's bytes.
  const int first = spec.uint8_observations() ? spec.shape_elements() : 0;
  const size_t skip = spec.uint8_observations() ? static_cast<size_t>(first) : 0;
  const int floats = spec.uint8_observations() ? spec.flat_dim : spec.obs_dim();
  for (int k = 0; k < floats; ++k) {
    float value;
    std::memcpy(&value, row + skip + static_cast<size_t>(k) * sizeof(float), sizeof(float));
    if (!std::isfinite(value)) {
      return absl::StrCat("holds NaN or infinity (observation[", first + k, "] = ", value, ")");
    }
  }
  return std::nullopt;
}

// ---- end of the observation's wire form ----

void WriteFlags(const std::vector<uint8_t>& flags, v1::Tensor* tensor) {
  tensor->set_dtype(v1::DTYPE_BOOL);
  tensor->clear_shape();
  tensor->add_shape(static_cast<int64_t>(flags.size()));
  tensor->mutable_data()->assign(reinterpret_cast<const char*>(flags.data()), flags.size());
}

void AddError(int index, const std::string& field, const std::string& message,
              google::protobuf::RepeatedPtrField<v1::EnvError>* errors) {
  v1::EnvError* error = errors->Add();
  error->set_env_index(index);
  error->set_field(field);
  error->set_message(message);
}

std::string ActionText(const EnvSpec& spec) {
  return spec.discrete ? absl::StrCat("Discrete(", spec.num_actions, ")")
                       : absl::StrCat("Box([", absl::StrJoin(spec.action_low, ", "), "], [",
                                      absl::StrJoin(spec.action_high, ", "), "])");
}

}  // namespace

v1::Space ObservationSpaceOf(const EnvSpec& spec) {
  v1::Space space;
  if (!spec.observation_leaves.empty()) {
    // A Dict, leaf by leaf in the row's order, flat leaves as float32.
    for (const ObservationLeaf& leaf : spec.observation_leaves) {
      v1::DictSpace::Leaf* out = space.mutable_dict()->add_leaves();
      out->set_name(leaf.name);
      for (int64_t d : leaf.shape) out->mutable_box()->add_shape(d);
      const bool image = leaf.shape.size() == 3 && leaf.type == ObservationType::kUint8;
      out->mutable_box()->set_dtype(image ? v1::DTYPE_UINT8 : v1::DTYPE_FLOAT32);
    }
    return space;
  }
  v1::BoxSpace* box = space.mutable_box();
  for (int64_t d : spec.observation_shape) box->add_shape(d);
  box->set_dtype(ObservationDType(spec));
  return space;
}

v1::Space ActionSpaceOf(const EnvSpec& spec) {
  v1::Space space;
  if (spec.discrete) {
    space.mutable_discrete()->set_n(spec.num_actions);
    return space;
  }
  v1::BoxSpace* box = space.mutable_box();
  box->add_shape(static_cast<int64_t>(spec.action_low.size()));
  box->set_dtype(v1::DTYPE_FLOAT32);
  box->mutable_low()->Add(spec.action_low.begin(), spec.action_low.end());
  box->mutable_high()->Add(spec.action_high.begin(), spec.action_high.end());
  return space;
}

std::string SpecDifference(const EnvSpec& made, const EnvSpec& served) {
  if (made.observation_leaves != served.observation_leaves || made.flat_dim != served.flat_dim) {
    return absl::StrCat("observation leaves of ", made.observation_leaves.size(), ", the server's are ",
                        served.observation_leaves.size(), " (or differ in a name, shape or dtype)");
  }
  if (made.observation_shape != served.observation_shape) {
    return absl::StrCat("observation shape ", ShapeString(made.observation_shape), ", the server's is ",
                        ShapeString(served.observation_shape));
  }
  if (ObservationDType(made) != ObservationDType(served)) {
    return absl::StrCat("observation dtype ", DTypeName(ObservationDType(made)), ", the server's is ",
                        DTypeName(ObservationDType(served)));
  }
  if (made.discrete != served.discrete || made.num_actions != served.num_actions ||
      made.action_low != served.action_low || made.action_high != served.action_high) {
    return absl::StrCat("action space ", ActionText(made), ", the server's is ", ActionText(served));
  }
  if (made.max_episode_steps != served.max_episode_steps) {
    return absl::StrCat("time limit ", made.max_episode_steps, ", the server's is ", served.max_episode_steps);
  }
  return "";
}

void WriteFrame(const RgbImage& frame, v1::EnvRendered* rendered) {
  v1::Tensor* tensor = rendered->mutable_frame();
  tensor->set_dtype(v1::DTYPE_UINT8);
  tensor->clear_shape();
  tensor->add_shape(frame.height);
  tensor->add_shape(frame.width);
  tensor->add_shape(3);
  tensor->mutable_data()->assign(reinterpret_cast<const char*>(frame.rgb.data()), frame.rgb.size());
}

absl::Status CheckOpenEnvs(const v1::OpenEnvs& open) {
  const int n = open.num_envs();
  if (n < 1 || n > kMaxEnvsPerStream) {
    return absl::InvalidArgumentError(
        absl::StrCat("open.num_envs ", n, " is out of range (1..", kMaxEnvsPerStream, ")"));
  }
  if (open.seeds_size() != n) {
    return absl::InvalidArgumentError(
        absl::StrCat("open.seeds has ", open.seeds_size(), " seeds for ", n, " envs"));
  }
  return absl::OkStatus();
}

EnvServerBatch::EnvServerBatch(EnvSpec spec, std::vector<std::unique_ptr<Env>> envs)
    : spec_(std::move(spec)),
      obs_bytes_(spec_.obs_bytes()),
      action_width_(spec_.discrete ? 1 : spec_.action_dim()),
      envs_(std::move(envs)) {
  const size_t n = envs_.size();
  failed_.assign(n, false);
  ended_.assign(n, false);
  observations_.assign(n * static_cast<size_t>(obs_bytes_), 0);
  actions_.assign(n * static_cast<size_t>(action_width_), 0.f);
  rewards_.assign(n, 0.f);
  terminated_.assign(n, 0);
  truncated_.assign(n, 0);
}

absl::StatusOr<std::unique_ptr<EnvServerBatch>> EnvServerBatch::Open(const EnvFactory& factory, const EnvSpec& spec,
                                                                     const v1::OpenEnvs& open,
                                                                     v1::EnvsOpened* opened) {
  RETURN_IF_ERROR(CheckOpenEnvs(open));
  const int n = open.num_envs();
  ASSIGN_OR_RETURN(std::vector<std::unique_ptr<Env>> envs, MakeStreamEnvs<Env>(factory, spec, open, SpecDifference));
  std::unique_ptr<EnvServerBatch> batch(new EnvServerBatch(spec, std::move(envs)));
  opened->Clear();
  opened->set_env_id(spec.name);
  *opened->mutable_observation_space() = ObservationSpaceOf(spec);
  *opened->mutable_action_space() = ActionSpaceOf(spec);
  opened->set_max_episode_steps(spec.max_episode_steps);
  opened->set_row_control(true);
  opened->set_action_mask(spec.action_mask);
  for (const std::string& camera : batch->envs_[0]->cameras()) opened->add_cameras(camera);
  for (int i = 0; i < n; ++i) batch->failed_[i] = !batch->ResetInstance(i, opened->mutable_errors());
  WriteObservations(spec, n, batch->observations_.data(), opened->mutable_observations());
  return batch;
}

bool EnvServerBatch::ResetInstance(int i, google::protobuf::RepeatedPtrField<v1::EnvError>* errors) {
  uint8_t* obs = row(i);
  ended_[i] = false;
  envs_[i]->ResetRaw(obs);
  if (std::optional<std::string> problem = ObservationProblem(spec_, obs)) {
    AddError(i, "observation", "reset's observation " + *problem, errors);
    std::fill_n(obs, obs_bytes_, 0);
    return false;
  }
  return true;
}

void EnvServerBatch::FailInstance(int i, const std::string& field, const std::string& message,
                                  v1::EnvsStepped* stepped) {
  AddError(i, field, message, stepped->mutable_errors());
  rewards_[i] = 0.f;
  terminated_[i] = 0;
  truncated_[i] = 1;
  failed_[i] = !ResetInstance(i, stepped->mutable_errors());
}

absl::StatusOr<const uint8_t*> EnvServerBatch::TakeStepMask(const v1::StepEnvs& step) const {
  if (!step.has_step_mask()) return nullptr;
  const v1::Tensor& mask = step.step_mask();
  if (mask.dtype() != v1::DTYPE_BOOL || mask.shape_size() != 1 || mask.shape(0) != size()) {
    return absl::InvalidArgumentError(absl::StrCat("step.step_mask has dtype ", DTypeName(mask.dtype()), " and shape ",
                                                   ShapeString(mask.shape()), "; this stream takes ",
                                                   DTypeName(v1::DTYPE_BOOL), " [", size(), "]"));
  }
  if (mask.data().size() != static_cast<size_t>(size())) {
    return absl::InvalidArgumentError(absl::StrCat("step.step_mask holds ", mask.data().size(),
                                                   " bytes; its dtype and shape [", size(), "] need ", size()));
  }
  return reinterpret_cast<const uint8_t*>(mask.data().data());
}

absl::Status EnvServerBatch::TakeActions(const v1::Tensor& actions, const uint8_t* mask) {
  const int64_t n = size();
  std::vector<int64_t> want = {n};
  if (!spec_.discrete) want.push_back(action_width_);
  const v1::DType want_dtype = spec_.discrete ? v1::DTYPE_INT64 : v1::DTYPE_FLOAT32;
  const std::vector<int64_t> got(actions.shape().begin(), actions.shape().end());
  if (actions.dtype() != want_dtype || got != want) {
    return absl::InvalidArgumentError(absl::StrCat("step.actions has dtype ", DTypeName(actions.dtype()),
                                                   " and shape ", ShapeString(got), "; this stream takes ",
                                                   DTypeName(want_dtype), " ", ShapeString(want)));
  }
  const size_t elements = static_cast<size_t>(n * (spec_.discrete ? 1 : action_width_));
  const size_t bytes = elements * (spec_.discrete ? sizeof(int64_t) : sizeof(float));
  if (actions.data().size() != bytes) {
    return absl::InvalidArgumentError(absl::StrCat("step.actions holds ", actions.data().size(), " bytes; its dtype ",
                                                   "and shape ", ShapeString(got), " need ", bytes));
  }
  if (spec_.discrete) {
    indices_.resize(elements);
    std::memcpy(indices_.data(), actions.data().data(), bytes);
    for (size_t i = 0; i < elements; ++i) actions_[i] = static_cast<float>(indices_[i]);
    return absl::OkStatus();
  }
  std::memcpy(actions_.data(), actions.data().data(), bytes);
  for (size_t k = 0; k < elements; ++k) {
    if (mask != nullptr && mask[k / action_width_] == 0) continue;
    if (!std::isfinite(actions_[k])) {
      return absl::InvalidArgumentError(absl::StrCat("step.actions holds NaN or infinity (env ", k / action_width_,
                                                     ", action[", k % action_width_, "] = ", actions_[k], ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status EnvServerBatch::Step(const v1::StepEnvs& step, v1::EnvsStepped* stepped) {
  ASSIGN_OR_RETURN(const uint8_t* mask, TakeStepMask(step));
  RETURN_IF_ERROR(TakeActions(step.actions(), mask));
  stepped->clear_final_indices();
  stepped->clear_errors();
  final_observations_.clear();
  for (int i = 0; i < size(); ++i) {
    if (mask != nullptr && mask[i] == 0) {
      // Not stepped: its row keeps its observation (an ended instance's
      // last one), and nothing of it is reported.
      rewards_[i] = 0.f;
      terminated_[i] = 0;
      truncated_[i] = 0;
      continue;
    }
    if (failed_[i]) {
      // Its last reset failed: retry it; this step is its error row.
      rewards_[i] = 0.f;
      terminated_[i] = 0;
      truncated_[i] = 1;
      failed_[i] = !ResetInstance(i, stepped->mutable_errors());
      continue;
    }
    if (ended_[i]) {
      FailInstance(i, "step",
                   "its episode ended in a step with defer_resets and it was stepped before a reset request named it",
                   stepped);
      continue;
    }
    if (spec_.discrete && (indices_[i] < 0 || indices_[i] >= spec_.num_actions)) {
      FailInstance(i, "action", absl::StrCat("action ", indices_[i], " is outside Discrete(", spec_.num_actions, ")"),
                   stepped);
      continue;
    }
    uint8_t* obs = row(i);
    absl::StatusOr<StepResult> result =
        envs_[i]->StepRaw(actions_.data() + static_cast<size_t>(i) * action_width_, obs);
    if (!result.ok()) {
      FailInstance(i, "step", std::string(result.status().message()), stepped);
      continue;
    }
    if (std::optional<std::string> problem = ObservationProblem(spec_, obs)) {
      FailInstance(i, "observation", "step's observation " + *problem, stepped);
      continue;
    }
    if (!std::isfinite(result->reward)) {
      FailInstance(i, "reward", absl::StrCat("reward is ", result->reward), stepped);
      continue;
    }
    rewards_[i] = result->reward;
    terminated_[i] = result->terminated ? 1 : 0;
    truncated_[i] = result->truncated && !result->terminated ? 1 : 0;
    if (result->terminated || result->truncated) {
      stepped->add_final_indices(i);
      final_observations_.insert(final_observations_.end(), obs, obs + obs_bytes_);
      if (step.defer_resets()) {
        ended_[i] = true;
      } else {
        failed_[i] = !ResetInstance(i, stepped->mutable_errors());
      }
    }
  }
  WriteObservations(spec_, size(), observations_.data(), stepped->mutable_observations());
  v1::Tensor* rewards = stepped->mutable_rewards();
  rewards->set_dtype(v1::DTYPE_FLOAT32);
  rewards->clear_shape();
  rewards->add_shape(size());
  rewards->mutable_data()->assign(reinterpret_cast<const char*>(rewards_.data()), rewards_.size() * sizeof(float));
  WriteFlags(terminated_, stepped->mutable_terminated());
  WriteFlags(truncated_, stepped->mutable_truncated());
  WriteObservations(spec_, stepped->final_indices_size(), final_observations_.data(),
                    stepped->mutable_final_observations());
  return absl::OkStatus();
}

absl::Status EnvServerBatch::Reset(const v1::ResetEnvs& reset, v1::EnvsReset* answer) {
  const google::protobuf::RepeatedField<int32_t>& indices = reset.env_indices();
  for (int k = 0; k < indices.size(); ++k) {
    const int i = indices[k];
    if (i < 0 || i >= size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("reset.env_indices[", k, "] = ", i, " is out of range (0..", size() - 1, ")"));
    }
    if (k > 0 && i == indices[k - 1]) {
      return absl::InvalidArgumentError(absl::StrCat("reset.env_indices names env ", i, " twice"));
    }
    if (k > 0 && i < indices[k - 1]) {
      return absl::InvalidArgumentError(
          absl::StrCat("reset.env_indices is not ascending: [", k, "] = ", i, " follows ", indices[k - 1]));
    }
  }
  answer->clear_errors();
  reset_observations_.clear();
  for (const int i : indices) {
    failed_[i] = !ResetInstance(i, answer->mutable_errors());
    reset_observations_.insert(reset_observations_.end(), row(i), row(i) + obs_bytes_);
  }
  WriteObservations(spec_, indices.size(), reset_observations_.data(), answer->mutable_observations());
  return absl::OkStatus();
}

void EnvServerBatch::Render(const v1::RenderEnv& render, v1::EnvRendered* rendered) {
  const int i = render.env_index();
  rendered->Clear();
  rendered->set_env_index(i);
  if (i < 0 || i >= size()) {
    rendered->set_error(absl::StrCat("render.env_index ", i, " is out of range (0..", size() - 1, ")"));
    return;
  }
  const absl::Status drawn = RenderInto(*envs_[i], render.width(), render.height(), render.camera(), &frame_);
  if (!drawn.ok()) {
    rendered->set_error(absl::StrCat("env ", i, " of ", spec_.name, ": ", drawn.message()));
    return;
  }
  WriteFrame(frame_, rendered);
}

}  // namespace rill::envs
