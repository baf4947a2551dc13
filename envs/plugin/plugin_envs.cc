#include "envs/plugin/plugin_envs.h"

#include <dlfcn.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "common/shape.h"
#include "common/status_macros.h"
#include "envs/action_mask.h"
#include "envs/observation_leaves.h"
#include "envs/time_limit.h"

namespace rill::envs {
namespace {

constexpr size_t kErrorBytes = 1024;

// `shape`'s first `rank` sizes, or what is wrong with them ("<field>[d] =
// ..."): each positive, at most 2^28 elements in all.
absl::StatusOr<std::vector<int64_t>> ShapeOf(const int64_t* shape, int rank, const std::string& field) {
  std::vector<int64_t> sizes;
  int64_t elements = 1;
  for (int d = 0; d < rank; ++d) {
    const int64_t size = shape[d];
    if (size <= 0 || size > (int64_t{1} << 24) || elements > (int64_t{1} << 28) / size) {
      return absl::InvalidArgumentError(absl::StrCat(field, "[", d, "] = ", size,
                                                     " is out of range (positive, at most 2^28 elements in all)"));
    }
    elements *= size;
    sizes.push_back(size);
  }
  return sizes;
}

// A RillDType as an observation type, or what is wrong with it.
absl::StatusOr<ObservationType> TypeOf(int32_t dtype, const std::string& field) {
  if (dtype == RILL_DTYPE_FLOAT32) return ObservationType::kFloat32;
  if (dtype == RILL_DTYPE_UINT8) return ObservationType::kUint8;
  return absl::InvalidArgumentError(absl::StrCat(field, " ", dtype, " is not a RillDType (float32 = 1, uint8 = 2)"));
}

// The library's env `info` as a spec, or what is wrong with it. An env
// with a Dict observation (`dict`) declares observation_rank 0, and its
// observation is set from the Dict (DictObservation).
absl::StatusOr<EnvSpec> SpecOfInfo(const RillEnvInfo& info, int index, bool dict = false) {
  const std::string where = absl::StrCat("env ", index);
  if (info.id == nullptr || info.id[0] == '\0') return absl::InvalidArgumentError(absl::StrCat(where, " has no id"));
  EnvSpec spec;
  spec.name = info.id;
  const std::string named = absl::StrCat("env ", spec.name);
  if (dict) {
    if (info.observation_rank != 0) {
      return absl::InvalidArgumentError(absl::StrCat(named, ": observation_rank ", info.observation_rank,
                                                     " beside a Dict in env_dict_spaces; a Dict env declares 0"));
    }
  } else {
    if (info.observation_rank < 1 || info.observation_rank > RILL_ENV_PLUGIN_MAX_RANK) {
      return absl::InvalidArgumentError(absl::StrCat(named, ": observation_rank ", info.observation_rank,
                                                     " is out of range (1..", RILL_ENV_PLUGIN_MAX_RANK, ")"));
    }
    ASSIGN_OR_RETURN(spec.observation_shape, ShapeOf(info.observation_shape, info.observation_rank,
                                                     absl::StrCat(named, ": observation_shape")));
    ASSIGN_OR_RETURN(spec.observation_type, TypeOf(info.observation_dtype, absl::StrCat(named, ": observation_dtype")));
  }
  if (info.num_actions < 0) {
    return absl::InvalidArgumentError(absl::StrCat(named, ": num_actions ", info.num_actions, " is negative"));
  }
  if (info.num_actions > 0) {
    spec.discrete = true;
    spec.num_actions = info.num_actions;
  } else {
    if (info.action_dim < 1 || info.action_dim > 4096) {
      return absl::InvalidArgumentError(absl::StrCat(named, ": a Box action needs action_dim in 1..4096, not ",
                                                     info.action_dim, " (or num_actions > 0 for a Discrete one)"));
    }
    if (info.action_low == nullptr || info.action_high == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(named, ": a Box action needs action_low and action_high"));
    }
    for (int j = 0; j < info.action_dim; ++j) {
      const float low = info.action_low[j], high = info.action_high[j];
      if (!std::isfinite(low) || !std::isfinite(high) || low > high) {
        return absl::InvalidArgumentError(absl::StrCat(named, ": action bounds [", low, ", ", high, "] of dimension ",
                                                       j, " are not finite with low <= high"));
      }
      spec.action_low.push_back(low);
      spec.action_high.push_back(high);
    }
  }
  if (info.max_episode_steps <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(named, ": max_episode_steps ", info.max_episode_steps,
                                                   " must be > 0"));
  }
  spec.max_episode_steps = info.max_episode_steps;
  return spec;
}

// Leaf `k` of a Dict (`named`: its env, for messages), or what is wrong
// with it on its own: a name, rank 0 to 3, a shape, a dtype (float32
// unless an image).
absl::StatusOr<ObservationLeaf> LeafOf(const RillObservationLeaf& leaf, int k, const std::string& named) {
  if (leaf.name == nullptr || leaf.name[0] == '\0') {
    return absl::InvalidArgumentError(absl::StrCat(named, ": leaf ", k, " has no name"));
  }
  const std::string where = absl::StrCat(named, ": leaf '", leaf.name, "'");
  if (leaf.rank < 0 || leaf.rank > 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, " has rank ", leaf.rank, "; a leaf is an image (rank 3, [C, H, W]) or flat (rank 0 to 2)"));
  }
  ASSIGN_OR_RETURN(std::vector<int64_t> shape, ShapeOf(leaf.shape, leaf.rank, absl::StrCat(where, ": shape")));
  ASSIGN_OR_RETURN(const ObservationType type, TypeOf(leaf.dtype, absl::StrCat(where, ": dtype")));
  if (leaf.rank < 3 && type != ObservationType::kFloat32) {
    return absl::InvalidArgumentError(absl::StrCat(where, " is uint8; a flat leaf is float32"));
  }
  return ObservationLeaf{leaf.name, std::move(shape), type};
}

// `spec`'s observation from the Dict `dict` (`spec` has its actions):
// the leaves in the order a row holds them (EnvSpec::observation_leaves:
// the images, the flat leaves, with `masked` the "action_mask" leaf last),
// and `order`, for each of them, its index in the table. What is wrong
// with the Dict otherwise, naming the leaf.
absl::Status DictObservation(const RillDictSpace& dict, bool masked, EnvSpec* spec, std::vector<int>* order) {
  const std::string named = absl::StrCat("env ", spec->name, ": its Dict observation");
  if (dict.num_leaves < 1 || dict.num_leaves > RILL_ENV_PLUGIN_MAX_LEAVES || dict.leaves == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(named, " has num_leaves ", dict.num_leaves, " (1..",
                                                   RILL_ENV_PLUGIN_MAX_LEAVES, ", with leaves set)"));
  }
  std::vector<ObservationLeaf> leaves;
  std::vector<int> images;
  int mask = -1;
  int64_t flat = 0;
  for (int k = 0; k < dict.num_leaves; ++k) {
    ASSIGN_OR_RETURN(ObservationLeaf leaf, LeafOf(dict.leaves[k], k, named));
    const std::string where = absl::StrCat(named, ": leaf '", leaf.name, "'");
    for (const ObservationLeaf& other : leaves) {
      if (other.name == leaf.name) return absl::InvalidArgumentError(absl::StrCat(where, " is declared twice"));
    }
    if (leaf.shape.size() == 3) {
      if (!images.empty()) RETURN_IF_ERROR(CheckSameImage(leaves[images.front()], leaf, named));
      images.push_back(k);
    } else {
      if (masked && leaf.name == "action_mask") mask = k;
      flat += leaf.elements();
    }
    leaves.push_back(std::move(leaf));
  }
  if (masked && (mask < 0 || leaves[mask].elements() != spec->num_actions)) {
    return absl::InvalidArgumentError(absl::StrCat(
        named, ": env_action_masks says it has an action mask, so it needs a flat leaf 'action_mask' of its ",
        spec->num_actions, " actions", mask < 0 ? "" : absl::StrCat(" (it has ", leaves[mask].elements(), ")")));
  }
  if (flat > (int64_t{1} << 24)) {
    return absl::InvalidArgumentError(absl::StrCat(named, " has ", flat, " flat elements; at most 2^24"));
  }
  *order = images;
  for (int k = 0; k < dict.num_leaves; ++k) {
    if (leaves[k].shape.size() != 3 && k != mask) order->push_back(k);
  }
  if (mask >= 0) order->push_back(mask);
  for (const int k : *order) spec->observation_leaves.push_back(leaves[k]);
  if (!images.empty()) {
    // The images one after another: one image of all their channels.
    spec->observation_shape = leaves[images.front()].shape;
    spec->observation_type = leaves[images.front()].type;
    for (size_t i = 1; i < images.size(); ++i) spec->observation_shape[0] += leaves[images[i]].shape[0];
    spec->flat_dim = static_cast<int>(flat);
  } else {
    // Flat leaves alone: one float32 vector.
    spec->observation_shape = {flat};
    spec->observation_type = ObservationType::kFloat32;
  }
  return absl::OkStatus();
}

// Multi-agent env `info` (index `index`) as a spec, or what is wrong
// with it: each agent's spaces checked as a single-agent env's are.
absl::StatusOr<MultiAgentSpec> SpecOfMultiAgentInfo(const RillMultiAgentEnvInfo& info, int index) {
  if (info.id == nullptr || info.id[0] == '\0') {
    return absl::InvalidArgumentError(absl::StrCat("multi-agent env ", index, " has no id"));
  }
  MultiAgentSpec spec;
  spec.name = info.id;
  const std::string named = absl::StrCat("multi-agent env ", spec.name);
  if (info.num_agents < 1 || info.num_agents > RILL_ENV_PLUGIN_MAX_AGENTS || info.agents == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(named, ": num_agents ", info.num_agents, " is out of range (1..",
                                                   RILL_ENV_PLUGIN_MAX_AGENTS, ", with agents set)"));
  }
  if (info.max_episode_steps <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(named, ": max_episode_steps ", info.max_episode_steps,
                                                   " must be > 0"));
  }
  spec.max_episode_steps = info.max_episode_steps;
  for (int k = 0; k < info.num_agents; ++k) {
    const RillAgentInfo& agent = info.agents[k];
    if (agent.name == nullptr || agent.name[0] == '\0') {
      return absl::InvalidArgumentError(absl::StrCat(named, ": agent ", k, " has no name"));
    }
    const std::string name = agent.name;
    if (std::find(spec.agents.begin(), spec.agents.end(), name) != spec.agents.end()) {
      return absl::InvalidArgumentError(absl::StrCat(named, ": agent ", name, " is declared twice"));
    }
    // An agent's spaces are a single-agent env's, float32.
    RillEnvInfo as_env{};
    as_env.id = info.id;
    as_env.observation_rank = agent.observation_rank;
    std::copy_n(agent.observation_shape, RILL_ENV_PLUGIN_MAX_RANK, as_env.observation_shape);
    as_env.observation_dtype = RILL_DTYPE_FLOAT32;
    as_env.num_actions = agent.num_actions;
    as_env.action_dim = agent.action_dim;
    as_env.action_low = agent.action_low;
    as_env.action_high = agent.action_high;
    as_env.max_episode_steps = info.max_episode_steps;
    absl::StatusOr<EnvSpec> agent_spec = SpecOfInfo(as_env, index);
    if (!agent_spec.ok()) {
      // "env Id: observation_rank ..." becomes "multi-agent env Id, agent a: ...".
      std::string message(agent_spec.status().message());
      const std::string prefix = absl::StrCat("env ", spec.name, ": ");
      if (message.rfind(prefix, 0) == 0) message = message.substr(prefix.size());
      return absl::InvalidArgumentError(absl::StrCat(named, ", agent ", name, ": ", message));
    }
    spec.agents.push_back(name);
    spec.agent_specs.push_back(*std::move(agent_spec));
  }
  if (info.state_rank < 0 || info.state_rank > RILL_ENV_PLUGIN_MAX_RANK) {
    return absl::InvalidArgumentError(absl::StrCat(named, ": state_rank ", info.state_rank, " is out of range (0..",
                                                   RILL_ENV_PLUGIN_MAX_RANK, ")"));
  }
  int64_t elements = 1;
  for (int d = 0; d < info.state_rank; ++d) {
    const int64_t size = info.state_shape[d];
    if (size <= 0 || elements > (int64_t{1} << 24) / size) {
      return absl::InvalidArgumentError(absl::StrCat(named, ": state_shape[", d, "] = ", size,
                                                     " is out of range (positive, at most 2^24 elements in all)"));
    }
    elements *= size;
    spec.state_shape.push_back(size);
  }
  return spec;
}

// The functions a table must have for the envs it offers.
std::vector<std::string> MissingFunctions(const RillEnvPlugin& table, bool box, bool dict, bool multi_agent,
                                          bool state) {
  std::vector<std::string> missing;
  if (table.num_envs > 0) {
    if (table.create == nullptr) missing.push_back("create");
    if (table.destroy == nullptr) missing.push_back("destroy");
  }
  if (box) {
    if (table.reset == nullptr) missing.push_back("reset");
    if (table.step == nullptr) missing.push_back("step");
  }
  if (dict) {
    if (table.reset_dict == nullptr) missing.push_back("reset_dict (an env has a Dict observation)");
    if (table.step_dict == nullptr) missing.push_back("step_dict (an env has a Dict observation)");
  }
  if (multi_agent) {
    if (table.create_multi_agent == nullptr) missing.push_back("create_multi_agent");
    if (table.destroy_multi_agent == nullptr) missing.push_back("destroy_multi_agent");
    if (table.reset_multi_agent == nullptr) missing.push_back("reset_multi_agent");
    if (table.step_multi_agent == nullptr) missing.push_back("step_multi_agent");
    if (state && table.multi_agent_state == nullptr) missing.push_back("multi_agent_state (an env has a state)");
  }
  return missing;
}

// The error message a library wrote, or a stand-in when it wrote none.
std::string LibraryMessage(const char* error) {
  return error[0] != '\0' ? std::string(error) : std::string("(the library gave no message)");
}

// An env of a loaded library behind the Env interface.
class PluginEnv final : public Env {
 public:
  static absl::StatusOr<std::unique_ptr<Env>> Create(std::shared_ptr<const PluginLibrary> library, int index,
                                                     EnvSpec spec, uint64_t seed) {
    char error[kErrorBytes] = {0};
    void* handle = library->table().create(index, seed, error, sizeof(error));
    if (handle == nullptr) {
      return absl::InternalError(absl::StrCat("env ", spec.name, " of plugin ", library->path(),
                                              ": create failed: ", LibraryMessage(error)));
    }
    std::vector<int> order = library->leaf_orders()[index];
    return absl::WrapUnique<Env>(new PluginEnv(std::move(library), std::move(spec), std::move(order), handle));
  }

  ~PluginEnv() override { library_->table().destroy(handle_); }

  void Reset(float* obs) override {
    if (!spec().uint8_observations()) return ResetRaw(obs);
    ResetRaw(bytes_.data());
    AsFloats(obs);
  }

  absl::StatusOr<StepResult> Step(const float* action, float* next_obs) override {
    if (!spec().uint8_observations()) return StepRaw(action, next_obs);
    absl::StatusOr<StepResult> result = StepRaw(action, bytes_.data());
    if (result.ok()) AsFloats(next_obs);
    return result;
  }

  void ResetRaw(void* obs) override {
    char error[kErrorBytes] = {0};
    reset_error_.clear();
    const int32_t failed = dict() ? library_->table().reset_dict(handle_, leaves_.data(), error, sizeof(error))
                                  : library_->table().reset(handle_, obs, error, sizeof(error));
    if (failed != 0) {
      reset_error_ = absl::StrCat("reset failed: ", LibraryMessage(error));
    } else if (std::optional<std::string> bad = NonFinite(obs)) {
      reset_error_ = absl::StrCat("reset returned ", *bad);
    }
    if (!reset_error_.empty()) {
      std::memset(obs, 0, static_cast<size_t>(spec().obs_bytes()));  // never read: the next Step fails
      return;
    }
    Pack(obs);
    time_limit_.StartEpisode();
  }

  absl::StatusOr<StepResult> StepRaw(const float* action, void* next_obs) override {
    if (!reset_error_.empty()) return absl::FailedPreconditionError(Named(reset_error_));
    RETURN_IF_ERROR(time_limit_.CheckCanStep(name()));
    const float* checked = action;
    if (discrete()) {
      const float index = action[0];
      if (!(index >= 0 && index < static_cast<float>(spec().num_actions)) || index != std::floor(index)) {
        return absl::InvalidArgumentError(
            Named(absl::StrCat("action index ", index, " is not one of 0..", spec().num_actions - 1)));
      }
    } else {
      clipped_.resize(static_cast<size_t>(act_dim()));
      for (int j = 0; j < act_dim(); ++j) {
        if (std::isnan(action[j])) return absl::InvalidArgumentError(Named(absl::StrCat("action[", j, "] is NaN")));
        clipped_[j] = std::clamp(action[j], spec().action_low[j], spec().action_high[j]);
      }
      checked = clipped_.data();
    }
    char error[kErrorBytes] = {0};
    RillEnvStepResult out{};
    const int32_t failed =
        dict() ? library_->table().step_dict(handle_, checked, leaves_.data(), &out, error, sizeof(error))
               : library_->table().step(handle_, checked, next_obs, &out, error, sizeof(error));
    if (failed != 0) return absl::InternalError(Named(absl::StrCat("step failed: ", LibraryMessage(error))));
    if (std::optional<std::string> bad = NonFinite(next_obs)) {
      return absl::InternalError(Named(absl::StrCat("step returned ", *bad)));
    }
    if (!std::isfinite(out.reward)) return absl::InternalError(Named(absl::StrCat("step returned reward ", out.reward)));
    Pack(next_obs);
    StepResult result;
    result.reward = out.reward;
    result.terminated = out.terminated != 0;
    result.truncated = out.truncated != 0 && !result.terminated;
    time_limit_.EndStep(&result);
    return result;
  }

 private:
  // `order`: LeafOrders()'s entry for the env (empty for a Box).
  PluginEnv(std::shared_ptr<const PluginLibrary> library, EnvSpec spec, std::vector<int> order, void* handle)
      : Env(spec), library_(std::move(library)), handle_(handle), time_limit_(spec.max_episode_steps) {
    if (spec.uint8_observations()) bytes_.resize(static_cast<size_t>(spec.obs_bytes()));
    leaves_.resize(order.size());
    for (size_t p = 0; p < order.size(); ++p) {
      const ObservationLeaf& leaf = spec.observation_leaves[p];
      // Floats, so that every leaf is aligned for its dtype.
      leaf_values_.emplace_back(static_cast<size_t>((leaf.elements() * ObservationTypeBytes(leaf.type) + 3) / 4));
      leaves_[static_cast<size_t>(order[p])] = leaf_values_.back().data();
    }
  }

  // Whether the env observes a Dict (reset_dict and step_dict, one buffer
  // per leaf).
  bool dict() const { return !leaf_values_.empty(); }

  // A Dict observation's leaves, as the library wrote them, into one row
  // at `obs` (their order in observation_leaves); nothing for a Box, which
  // the library wrote there itself.
  void Pack(void* obs) const {
    uint8_t* row = static_cast<uint8_t*>(obs);
    for (size_t p = 0; p < leaf_values_.size(); ++p) {
      const ObservationLeaf& leaf = spec().observation_leaves[p];
      const size_t bytes = static_cast<size_t>(leaf.elements() * ObservationTypeBytes(leaf.type));
      std::memcpy(row, leaf_values_[p].data(), bytes);
      row += bytes;
    }
  }

  // The uint8 row in bytes_ as floats (the image's 0..255, then a Dict's
  // flat leaves as they are).
  void AsFloats(float* obs) const {
    const int image = spec().shape_elements();
    std::copy_n(bytes_.data(), image, obs);
    std::memcpy(obs + image, bytes_.data() + image, static_cast<size_t>(spec().flat_dim) * sizeof(float));
  }

  std::string Named(const std::string& what) const {
    return absl::StrCat("env ", name(), " of plugin ", library_->path(), ": ", what);
  }
  // "observation[3] = nan" (a Dict's: "leaf 'name'[3] = nan") for the
  // first non-finite element the library wrote, if any (uint8 elements
  // always are).
  std::optional<std::string> NonFinite(const void* raw) const {
    if (!dict()) {
      if (spec().uint8_observations()) return std::nullopt;
      const float* obs = static_cast<const float*>(raw);
      for (int k = 0; k < obs_dim(); ++k) {
        if (!std::isfinite(obs[k])) return absl::StrCat("observation[", k, "] = ", obs[k]);
      }
      return std::nullopt;
    }
    for (size_t p = 0; p < leaf_values_.size(); ++p) {
      const ObservationLeaf& leaf = spec().observation_leaves[p];
      if (leaf.type != ObservationType::kFloat32) continue;
      for (int64_t k = 0; k < leaf.elements(); ++k) {
        const float value = leaf_values_[p][static_cast<size_t>(k)];
        if (!std::isfinite(value)) return absl::StrCat("leaf '", leaf.name, "'[", k, "] = ", value);
      }
    }
    return std::nullopt;
  }

  std::shared_ptr<const PluginLibrary> library_;
  void* handle_;
  TimeLimit time_limit_;
  std::string reset_error_;
  std::vector<float> clipped_;
  std::vector<uint8_t> bytes_;  // uint8 envs: the observation behind Reset / Step
  // A Dict env: each leaf's buffer, in observation_leaves' order, and
  // the same buffers in the table's order (what reset_dict and step_dict
  // are passed).
  std::vector<std::vector<float>> leaf_values_;
  std::vector<void*> leaves_;
};

// A multi-agent env of a loaded library behind the MultiAgentEnv
// interface: Rill keeps who is live and the time limit
// (MultiAgentEnv::EndStep), checks the actions (CheckStep; continuous ones
// clipped to their bounds) and what the library returns.
class PluginMultiAgentEnv final : public MultiAgentEnv {
 public:
  static absl::StatusOr<std::unique_ptr<MultiAgentEnv>> Create(std::shared_ptr<const PluginLibrary> library,
                                                               int index, MultiAgentSpec spec, uint64_t seed) {
    char error[kErrorBytes] = {0};
    void* handle = library->table().create_multi_agent(index, seed, error, sizeof(error));
    if (handle == nullptr) {
      return absl::InternalError(absl::StrCat("env ", spec.name, " of plugin ", library->path(),
                                              ": create failed: ", LibraryMessage(error)));
    }
    return absl::WrapUnique<MultiAgentEnv>(new PluginMultiAgentEnv(std::move(library), std::move(spec), handle));
  }

  ~PluginMultiAgentEnv() override { library_->table().destroy_multi_agent(handle_); }

  void Reset(float* const* obs) override {
    char error[kErrorBytes] = {0};
    StartEpisode();
    error_.clear();
    if (library_->table().reset_multi_agent(handle_, obs, error, sizeof(error)) != 0) {
      error_ = absl::StrCat("reset failed: ", LibraryMessage(error));
    } else if (std::optional<std::string> bad = NonFinite(obs, /*only_live=*/false)) {
      error_ = absl::StrCat("reset returned ", *bad);
    }
    if (error_.empty()) return;
    for (int k = 0; k < num_agents(); ++k) std::fill_n(obs[k], spec().agent_specs[k].obs_dim(), 0.f);
  }

  absl::Status Step(const float* const* actions, float* const* next_obs, StepResult* results) override {
    if (!error_.empty()) return absl::FailedPreconditionError(Named(error_));
    if (!state_error_.empty()) {
      // Read after the last step (perhaps as its episode ended): this
      // step fails the env in its place.
      const std::string what = std::exchange(state_error_, "");
      return absl::InternalError(Named(what));
    }
    RETURN_IF_ERROR(CheckStep(actions));
    for (int k = 0; k < num_agents(); ++k) {
      const EnvSpec& agent = spec().agent_specs[k];
      checked_[k] = nullptr;
      if (!live(k)) continue;
      if (agent.discrete) {
        checked_[k] = actions[k];
        continue;
      }
      for (int j = 0; j < agent.action_dim(); ++j) {
        clipped_[k][j] = std::clamp(actions[k][j], agent.action_low[j], agent.action_high[j]);
      }
      checked_[k] = clipped_[k].data();
    }
    char error[kErrorBytes] = {0};
    std::vector<RillEnvStepResult> out(static_cast<size_t>(num_agents()));
    if (library_->table().step_multi_agent(handle_, checked_.data(), next_obs, out.data(), error, sizeof(error)) !=
        0) {
      return absl::InternalError(Named(absl::StrCat("step failed: ", LibraryMessage(error))));
    }
    if (std::optional<std::string> bad = NonFinite(next_obs, /*only_live=*/true)) {
      return absl::InternalError(Named(absl::StrCat("step returned ", *bad)));
    }
    for (int k = 0; k < num_agents(); ++k) {
      if (!live(k)) continue;
      if (!std::isfinite(out[k].reward)) {
        return absl::InternalError(
            Named(absl::StrCat("step returned agent ", spec().agents[k], "'s reward ", out[k].reward)));
      }
      results[k].reward = out[k].reward;
      results[k].terminated = out[k].terminated != 0;
      results[k].truncated = out[k].truncated != 0 && !results[k].terminated;
    }
    EndStep(results);
    return absl::OkStatus();
  }

  void State(float* state) const override {
    const int dim = spec().state_dim();
    char error[kErrorBytes] = {0};
    if (library_->table().multi_agent_state(handle_, state, error, sizeof(error)) != 0) {
      state_error_ = absl::StrCat("state failed: ", LibraryMessage(error));
    } else {
      for (int j = 0; j < dim; ++j) {
        if (!std::isfinite(state[j])) {
          state_error_ = absl::StrCat("state returned state[", j, "] = ", state[j]);
          break;
        }
      }
    }
    // A bad state is zeros here, and the env's next Step fails.
    if (!state_error_.empty()) std::fill_n(state, dim, 0.f);
  }

 private:
  PluginMultiAgentEnv(std::shared_ptr<const PluginLibrary> library, MultiAgentSpec spec, void* handle)
      : MultiAgentEnv(std::move(spec)),
        library_(std::move(library)),
        handle_(handle),
        checked_(static_cast<size_t>(num_agents()), nullptr),
        clipped_(static_cast<size_t>(num_agents())) {
    for (int k = 0; k < num_agents(); ++k) clipped_[k].resize(static_cast<size_t>(this->spec().agent_specs[k].action_dim()));
  }

  std::string Named(const std::string& what) const {
    return absl::StrCat("env ", name(), " of plugin ", library_->path(), ": ", what);
  }
  // "agent a's observation[3] = nan" for the first non-finite element of
  // `obs` (of the live agents only, or of every agent), if any.
  std::optional<std::string> NonFinite(const float* const* obs, bool only_live) const {
    for (int k = 0; k < num_agents(); ++k) {
      if (only_live && !live(k)) continue;
      for (int j = 0; j < spec().agent_specs[k].obs_dim(); ++j) {
        if (!std::isfinite(obs[k][j])) {
          return absl::StrCat("agent ", spec().agents[k], "'s observation[", j, "] = ", obs[k][j]);
        }
      }
    }
    return std::nullopt;
  }

  std::shared_ptr<const PluginLibrary> library_;
  void* handle_;
  // What failed in the last reset; each Step of its episode returns it.
  std::string error_;
  // What failed in a state read; the next Step returns it, once (a Reset
  // in between keeps it).
  mutable std::string state_error_;
  std::vector<const float*> checked_;      // [K]: the actions the library sees
  std::vector<std::vector<float>> clipped_;  // [K]: continuous actions within bounds
};

absl::Mutex loaded_mutex(absl::kConstInit);

std::map<std::string, std::shared_ptr<const PluginLibrary>>& Loaded() ABSL_EXCLUSIVE_LOCKS_REQUIRED(loaded_mutex) {
  static auto* const loaded = new std::map<std::string, std::shared_ptr<const PluginLibrary>>();
  return *loaded;
}

// `config`'s library and the index of its env.
absl::StatusOr<std::pair<std::shared_ptr<const PluginLibrary>, int>> Resolve(const v1::PluginEnvConfig& config) {
  ASSIGN_OR_RETURN(std::shared_ptr<const PluginLibrary> library, PluginLibrary::Load(config.library()));
  ASSIGN_OR_RETURN(const int index, library->Find(config.id()));
  return std::make_pair(std::move(library), index);
}

// The table of the library at `path` (`named` in messages), opened and
// checked up to its envs: a file, its symbol, an ABI version this Rill
// loads, the version's size, at least one env.
absl::StatusOr<const RillEnvPlugin*> OpenTable(const std::string& path, const std::string& named) {
  struct stat file_status;
  if (path.empty() || ::stat(path.c_str(), &file_status) != 0) {
    return absl::NotFoundError(absl::StrCat(named, ": no such file"));
  }
  // A path without a slash would make dlopen search the library path:
  // Rill loads the file it was given.
  const std::string open_path = path.find('/') == std::string::npos ? "./" + path : path;
  void* handle = ::dlopen(open_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    return absl::InvalidArgumentError(absl::StrCat(named, ": cannot be loaded: ", why != nullptr ? why : "dlopen failed"));
  }
  // From here on the library stays loaded: it may have run constructors,
  // and unloading is not worth the risk in a process that refuses to start.
  using Entry = const RillEnvPlugin* (*)();
  void* symbol = ::dlsym(handle, RILL_ENV_PLUGIN_SYMBOL);
  if (symbol == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(named, ": does not export ", RILL_ENV_PLUGIN_SYMBOL,
                                                   " (define it with C linkage, as envs/plugin/rill_env_plugin.h "
                                                   "declares it)"));
  }
  const RillEnvPlugin* table = reinterpret_cast<Entry>(symbol)();
  if (table == nullptr) return absl::InvalidArgumentError(absl::StrCat(named, ": ", RILL_ENV_PLUGIN_SYMBOL, "() returned NULL"));
  if (table->abi_version < 1 || table->abi_version > RILL_ENV_PLUGIN_ABI_VERSION) {
    return absl::InvalidArgumentError(absl::StrCat(named, ": built for env plugin ABI version ", table->abi_version,
                                                   "; this Rill loads version ", RILL_ENV_PLUGIN_ABI_VERSION,
                                                   " and older (rebuild it against this Rill's envs/plugin/rill_env_plugin.h)"));
  }
  // Each older version's table ends before the next one's fields: nothing
  // past its own end is read.
  const uint32_t version = table->abi_version;
  const size_t size = version >= 4   ? sizeof(RillEnvPlugin)
                      : version == 3 ? RILL_ENV_PLUGIN_V3_STRUCT_SIZE
                      : version == 2 ? RILL_ENV_PLUGIN_V2_STRUCT_SIZE
                                     : RILL_ENV_PLUGIN_V1_STRUCT_SIZE;
  if (table->struct_size < size) {
    return absl::InvalidArgumentError(absl::StrCat(named, ": its table is ", table->struct_size, " bytes, version ",
                                                   version, "'s is ", size));
  }
  const int32_t num_multi = version >= 2 ? table->num_multi_agent_envs : 0;
  if (table->num_envs < 0 || (table->num_envs > 0 && table->envs == nullptr) || num_multi < 0 ||
      (num_multi > 0 && table->multi_agent_envs == nullptr) || table->num_envs + num_multi < 1) {
    return absl::InvalidArgumentError(absl::StrCat(named, ": offers no env (num_envs ", table->num_envs,
                                                   version >= 2 ? absl::StrCat(", num_multi_agent_envs ", num_multi) : "",
                                                   ")"));
  }
  return table;
}

// Adds `id` to the library's `ids`; InvalidArgument when it is there.
absl::Status AddId(const std::string& named, const std::string& id, std::vector<std::string>* ids) {
  if (std::find(ids->begin(), ids->end(), id) != ids->end()) {
    return absl::InvalidArgumentError(absl::StrCat(named, ": offers env ", id, " twice"));
  }
  ids->push_back(id);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<const PluginLibrary>> PluginLibrary::Load(const std::string& path) {
  absl::MutexLock lock(&loaded_mutex);
  auto found = Loaded().find(path);
  if (found != Loaded().end()) return found->second;

  const std::string named = absl::StrCat("env plugin ", path);
  auto library = std::shared_ptr<PluginLibrary>(new PluginLibrary());
  library->path_ = path;
  ASSIGN_OR_RETURN(library->table_, OpenTable(path, named));
  std::vector<std::string> ids;
  Needs needs;
  RETURN_IF_ERROR(library->AddEnvs(named, &ids, &needs));
  RETURN_IF_ERROR(library->AddMultiAgentEnvs(named, &ids, &needs));
  const std::vector<std::string> missing =
      MissingFunctions(*library->table_, needs.box, needs.dict, !library->multi_agent_specs_.empty(), needs.state);
  if (!missing.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(named, ": its table has no ", absl::StrJoin(missing, ", ")));
  }
  Loaded()[path] = library;
  return library;
}

absl::Status PluginLibrary::AddEnvs(const std::string& named, std::vector<std::string>* ids, Needs* needs) {
  const RillEnvPlugin& table = *table_;
  const bool v3 = table.abi_version >= 3, v4 = table.abi_version >= 4;
  for (int i = 0; i < table.num_envs; ++i) {
    const RillDictSpace* dict = v4 && table.env_dict_spaces != nullptr ? table.env_dict_spaces[i] : nullptr;
    const bool masked = v3 && table.env_action_masks != nullptr && table.env_action_masks[i] != 0;
    absl::StatusOr<EnvSpec> spec = SpecOfInfo(table.envs[i], i, dict != nullptr);
    if (!spec.ok()) return absl::InvalidArgumentError(absl::StrCat(named, ": ", spec.status().message()));
    RETURN_IF_ERROR(AddId(named, spec->name, ids));
    std::vector<int> order;
    if (dict != nullptr) {
      if (absl::Status leaves = DictObservation(*dict, masked, &*spec, &order); !leaves.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(named, ": ", leaves.message()));
      }
    }
    (dict != nullptr ? needs->dict : needs->box) = true;
    if (masked) {
      spec->action_mask = true;
      if (absl::Status mask = CheckActionMaskSpec(*spec); !mask.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(named, ": env ", spec->name, ": env_action_masks says its observations end in an action "
                         "mask, but ", mask.message()));
      }
    }
    specs_.push_back(*std::move(spec));
    leaf_orders_.push_back(std::move(order));
  }
  return absl::OkStatus();
}

absl::Status PluginLibrary::AddMultiAgentEnvs(const std::string& named, std::vector<std::string>* ids, Needs* needs) {
  const RillEnvPlugin& table = *table_;
  const int32_t num_multi = table.abi_version >= 2 ? table.num_multi_agent_envs : 0;
  for (int i = 0; i < num_multi; ++i) {
    absl::StatusOr<MultiAgentSpec> spec = SpecOfMultiAgentInfo(table.multi_agent_envs[i], i);
    if (!spec.ok()) return absl::InvalidArgumentError(absl::StrCat(named, ": ", spec.status().message()));
    RETURN_IF_ERROR(AddId(named, spec->name, ids));
    const int32_t* masks =
        table.abi_version >= 3 && table.agent_action_masks != nullptr ? table.agent_action_masks[i] : nullptr;
    for (size_t k = 0; masks != nullptr && k < spec->agents.size(); ++k) {
      if (masks[k] == 0) continue;
      EnvSpec& agent = spec->agent_specs[k];
      agent.action_mask = true;
      if (absl::Status mask = CheckActionMaskSpec(agent); !mask.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(named, ": multi-agent env ", spec->name, ", agent ", spec->agents[k],
                         ": agent_action_masks says its observations end in an action mask, but ", mask.message()));
      }
    }
    needs->state = needs->state || !spec->state_shape.empty();
    multi_agent_specs_.push_back(*std::move(spec));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> PluginLibrary::Find(const std::string& id) const { return FindIn(id, /*multi_agent=*/false); }

absl::StatusOr<int> PluginLibrary::FindMultiAgent(const std::string& id) const {
  return FindIn(id, /*multi_agent=*/true);
}

absl::StatusOr<int> PluginLibrary::FindIn(const std::string& id, bool multi_agent) const {
  std::vector<std::string> ids;
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (specs_[i].name == id && !multi_agent) return static_cast<int>(i);
    ids.push_back(specs_[i].name);
  }
  for (size_t i = 0; i < multi_agent_specs_.size(); ++i) {
    if (multi_agent_specs_[i].name == id && multi_agent) return static_cast<int>(i);
    ids.push_back(absl::StrCat(multi_agent_specs_[i].name, " (multi-agent)"));
  }
  return absl::NotFoundError(absl::StrCat("env plugin ", path_, " has no ", multi_agent ? "multi-agent " : "",
                                          "env '", id, "'; it offers: ", absl::StrJoin(ids, ", ")));
}

absl::StatusOr<EnvSpec> PluginEnvSpec(const v1::PluginEnvConfig& config, int max_episode_steps) {
  ASSIGN_OR_RETURN(auto resolved, Resolve(config));
  EnvSpec spec = resolved.first->specs()[resolved.second];
  ASSIGN_OR_RETURN(const int steps, ResolveMaxEpisodeSteps(max_episode_steps, spec.max_episode_steps));
  return WithTimeLimit(std::move(spec), steps);
}

absl::StatusOr<std::unique_ptr<Env>> MakePluginEnv(const v1::PluginEnvConfig& config, int max_episode_steps,
                                                   uint64_t seed) {
  ASSIGN_OR_RETURN(EnvSpec spec, PluginEnvSpec(config, max_episode_steps));
  ASSIGN_OR_RETURN(auto resolved, Resolve(config));
  return PluginEnv::Create(std::move(resolved.first), resolved.second, std::move(spec), seed);
}

bool IsPluginMultiAgentEnv(const v1::PluginEnvConfig& config) {
  absl::StatusOr<std::shared_ptr<const PluginLibrary>> library = PluginLibrary::Load(config.library());
  return library.ok() && (*library)->FindMultiAgent(config.id()).ok();
}

absl::StatusOr<MultiAgentSpec> PluginMultiAgentSpec(const v1::PluginEnvConfig& config, int max_episode_steps) {
  ASSIGN_OR_RETURN(std::shared_ptr<const PluginLibrary> library, PluginLibrary::Load(config.library()));
  ASSIGN_OR_RETURN(const int index, library->FindMultiAgent(config.id()));
  MultiAgentSpec spec = library->multi_agent_specs()[index];
  ASSIGN_OR_RETURN(const int steps, ResolveMaxEpisodeSteps(max_episode_steps, spec.max_episode_steps));
  return WithTimeLimit(std::move(spec), steps);
}

absl::StatusOr<std::unique_ptr<MultiAgentEnv>> MakePluginMultiAgentEnv(const v1::PluginEnvConfig& config,
                                                                       int max_episode_steps, uint64_t seed) {
  ASSIGN_OR_RETURN(MultiAgentSpec spec, PluginMultiAgentSpec(config, max_episode_steps));
  ASSIGN_OR_RETURN(std::shared_ptr<const PluginLibrary> library, PluginLibrary::Load(config.library()));
  ASSIGN_OR_RETURN(const int index, library->FindMultiAgent(config.id()));
  return PluginMultiAgentEnv::Create(std::move(library), index, std::move(spec), seed);
}

}  // namespace rill::envs
