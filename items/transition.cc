#include "items/transition.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "items/columns.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "common/tensor_codec.h"

namespace rill::items {
namespace {

constexpr const char* kObs = "obs";
constexpr const char* kAction = "action";
constexpr const char* kReward = "reward";
constexpr const char* kTerminated = "terminated";
constexpr const char* kNextObs = "next_obs";
constexpr const char* kDiscount = "discount";
constexpr const char* kAgentRewards = "agent_rewards";
constexpr const char* kAgentTerminated = "agent_terminated";

// The columns a transition table can have, in DefaultSignature's order.
constexpr const char* kKnownColumns[] = {kObs,     kAction,   kReward,       kTerminated,
                                         kNextObs, kDiscount, kAgentRewards, kAgentTerminated};

bool IsAgentColumn(const std::string& name) { return name == kAgentRewards || name == kAgentTerminated; }

// Whether `env`'s items must have column `name`.
bool Required(const std::string& name, const envs::EnvSpec& env, int n_step) {
  if (name == kDiscount) return n_step > 1;
  if (IsAgentColumn(name)) return env.joint_agents > 0;
  return true;
}

// The column the builder writes for `name` in `env`; false for an unknown
// name (an agent column of an env that is not a joint row among them).
bool ExpectedColumn(const std::string& name, const envs::EnvSpec& env, v1::ColumnSpec* column) {
  if (IsAgentColumn(name)) {
    if (env.joint_agents <= 0) return false;
    *column = MakeColumn(name, v1::DTYPE_FLOAT32, {env.joint_agents});
  } else if (name == kObs || name == kNextObs) {
    *column = MakeColumn(name, ObservationDType(env), {env.stored_width()});
  } else if (name == kAction) {
    *column = env.discrete ? MakeColumn(name, v1::DTYPE_INT64, {})
                             : MakeColumn(name, v1::DTYPE_FLOAT32, {static_cast<int64_t>(env.action_low.size())});
  } else if (name == kReward || name == kTerminated || name == kDiscount) {
    *column = MakeColumn(name, v1::DTYPE_FLOAT32, {});
  } else {
    return false;
  }
  return true;
}

}  // namespace

v1::Signature TransitionBuilder::DefaultSignature(const envs::EnvSpec& env, int n_step) {
  v1::Signature signature;
  for (const char* name : kKnownColumns) {
    if (Required(name, env, n_step)) ExpectedColumn(name, env, signature.add_columns());
  }
  return signature;
}

absl::Status TransitionBuilder::CheckSignature(const v1::Signature& signature, const envs::EnvSpec& env, int n_step) {
  RETURN_IF_ERROR(rill::CheckSignature(signature));
  for (const v1::ColumnSpec& column : signature.columns()) {
    v1::ColumnSpec expected;
    if (!ExpectedColumn(column.name(), env, &expected)) {
      if (IsAgentColumn(column.name())) {
        return absl::InvalidArgumentError(absl::StrCat("signature column '", column.name(), "' is a joint row's (",
                                                       "env.joint_agents), and ", env.name, "'s rows are not joint"));
      }
      return absl::InvalidArgumentError(absl::StrCat("signature column '", column.name(),
                                                     "' is not a transition column; the known columns are ",
                                                     absl::StrJoin(kKnownColumns, ", ")));
    }
    RETURN_IF_ERROR(CheckColumnType(column, expected, env.name,
                                    column.name() == kAction && env.discrete ? " (the action index)" : ""));
  }
  for (const char* name : kKnownColumns) {
    if (!Required(name, env, n_step)) continue;  // discount is optional at n = 1
    const bool present = std::any_of(signature.columns().begin(), signature.columns().end(),
                                     [name](const v1::ColumnSpec& column) { return column.name() == name; });
    if (!present) {
      return absl::InvalidArgumentError(absl::StrCat("signature lacks column '", name, "'",
                                                     std::string(name) == kDiscount
                                                         ? absl::StrCat(", needed when n_step > 1 (n_step is ", n_step, ")")
                                                     : IsAgentColumn(name)
                                                         ? absl::StrCat(", needed for ", env.name, "'s joint rows of ",
                                                                        env.joint_agents, " agents")
                                                         : ""));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<TransitionBuilder>> TransitionBuilder::Create(const TransitionBuilderOptions& options) {
  if (options.num_envs < 1) {
    return absl::InvalidArgumentError(absl::StrCat("num_envs must be >= 1, got ", options.num_envs));
  }
  if (options.n_step < 1) return absl::InvalidArgumentError(absl::StrCat("n_step must be >= 1, got ", options.n_step));
  if (!(options.gamma >= 0 && options.gamma <= 1)) {  // NaN fails too
    return absl::InvalidArgumentError(absl::StrCat("gamma must be in [0, 1], got ", options.gamma));
  }
  RETURN_IF_ERROR(CheckEnvForItems(options.env));
  RETURN_IF_ERROR(CheckSignature(options.signature, options.env, options.n_step));
  return std::unique_ptr<TransitionBuilder>(new TransitionBuilder(options));
}

TransitionBuilder::TransitionBuilder(const TransitionBuilderOptions& options)
    : options_(options),
      obs_bytes_(options.env.obs_bytes()),
      action_dim_(options.env.discrete ? 0 : static_cast<int>(options.env.action_low.size())),
      agents_(std::max(0, options.env.joint_agents)) {
  const int n = options_.n_step;
  const size_t slots = static_cast<size_t>(options_.num_envs) * n;
  for (const v1::ColumnSpec& column : options_.signature.columns()) {
    const std::string& name = column.name();
    fields_.push_back(name == kObs           ? Field::kObs
                      : name == kAction      ? Field::kAction
                      : name == kReward      ? Field::kReward
                      : name == kTerminated  ? Field::kTerminated
                      : name == kNextObs     ? Field::kNextObs
                      : name == kDiscount    ? Field::kDiscount
                      : name == kAgentRewards ? Field::kAgentRewards
                                              : Field::kAgentTerminated);
  }
  gamma_powers_.resize(n + 1);
  for (int k = 0; k <= n; ++k) gamma_powers_[k] = std::pow(options_.gamma, k);
  windows_.resize(options_.num_envs);
  obs_ring_.resize(slots * obs_bytes_);
  action_ring_.resize(slots * action_dim_);
  index_ring_.resize(options_.env.discrete ? slots : 0);
  reward_ring_.resize(slots);
  agent_reward_ring_.resize(slots * agents_);
  agent_terminated_ring_.resize(slots * agents_);
  last_next_obs_.resize(static_cast<size_t>(options_.num_envs) * obs_bytes_);

  // Room for every env ending an episode of n steps at once.
  const size_t items = slots;
  float_columns_.resize(fields_.size());
  index_columns_.resize(fields_.size());
  obs_columns_.resize(fields_.size());
  for (size_t c = 0; c < fields_.size(); ++c) {
    switch (fields_[c]) {
      case Field::kObs:
      case Field::kNextObs:
        obs_columns_[c].reserve(items * obs_bytes_);
        break;
      case Field::kAction:
        if (options_.env.discrete) {
          index_columns_[c].reserve(items);
        } else {
          float_columns_[c].reserve(items * action_dim_);
        }
        break;
      case Field::kAgentRewards:
      case Field::kAgentTerminated:
        float_columns_[c].reserve(items * agents_);
        break;
      default:
        float_columns_[c].reserve(items);
    }
  }
}

void TransitionBuilder::AddStep(int env, const void* obs, const float* action, float reward, bool terminated,
                                bool truncated, const void* next_obs) {
  if (options_.env.discrete) RILL_LOG(FATAL) << "AddStep with a float action for discrete env " << options_.env.name;
  Add(env, static_cast<const uint8_t*>(obs), action, 0, reward, terminated, truncated,
      static_cast<const uint8_t*>(next_obs), nullptr, nullptr);
}

void TransitionBuilder::AddStep(int env, const void* obs, int64_t action_index, float reward, bool terminated,
                                bool truncated, const void* next_obs) {
  if (!options_.env.discrete) {
    RILL_LOG(FATAL) << "AddStep with an action index for continuous env " << options_.env.name;
  }
  if (action_index < 0 || action_index >= options_.env.num_actions) {
    RILL_LOG(FATAL) << "action index " << action_index << " outside [0, " << options_.env.num_actions << ")";
  }
  Add(env, static_cast<const uint8_t*>(obs), nullptr, action_index, reward, terminated, truncated,
      static_cast<const uint8_t*>(next_obs), nullptr, nullptr);
}

void TransitionBuilder::AddStep(int env, const Step& step) {
  if (agents_ > 0) {  // a joint row: continuous, its agents' outcomes with it
    Add(env, static_cast<const uint8_t*>(step.obs), step.action, 0, step.reward, step.terminated, step.truncated,
        static_cast<const uint8_t*>(step.final_obs), step.agent_rewards, step.agent_terminated);
  } else if (options_.env.discrete) {
    AddStep(env, step.obs, step.action_index, step.reward, step.terminated, step.truncated, step.final_obs);
  } else {
    AddStep(env, step.obs, step.action, step.reward, step.terminated, step.truncated, step.final_obs);
  }
}

int TransitionBuilder::Slot(int env, int i) const {
  return env * options_.n_step + (windows_[env].head + i) % options_.n_step;
}

void TransitionBuilder::Add(int env, const uint8_t* obs, const float* action, int64_t index, float reward,
                            bool terminated, bool truncated, const uint8_t* next_obs, const float* agent_rewards,
                            const uint8_t* agent_terminated) {
  if (env < 0 || env >= options_.num_envs) {
    RILL_LOG(FATAL) << "env " << env << " outside [0, " << options_.num_envs << ")";
  }
  if (agents_ > 0 && (agent_rewards == nullptr || agent_terminated == nullptr)) {
    RILL_LOG(FATAL) << "a step of " << options_.env.name << "'s joint rows without its agents' rewards and terminations";
  }
  Window& window = windows_[env];
  const int slot = Slot(env, window.count);
  std::copy_n(obs, obs_bytes_, &obs_ring_[static_cast<size_t>(slot) * obs_bytes_]);
  if (options_.env.discrete) {
    index_ring_[slot] = index;
  } else {
    std::copy_n(action, action_dim_, &action_ring_[static_cast<size_t>(slot) * action_dim_]);
  }
  reward_ring_[slot] = reward;
  if (agents_ > 0) {
    std::copy_n(agent_rewards, agents_, &agent_reward_ring_[static_cast<size_t>(slot) * agents_]);
    std::copy_n(agent_terminated, agents_, &agent_terminated_ring_[static_cast<size_t>(slot) * agents_]);
  }
  ++window.count;
  std::copy_n(next_obs, obs_bytes_, &last_next_obs_[static_cast<size_t>(env) * obs_bytes_]);

  if (terminated || truncated) {
    // The episode ends: every pending item ends here too.
    while (window.count > 0) EmitFront(env, terminated, next_obs);
    window.head = 0;
  } else if (window.count == options_.n_step) {
    EmitFront(env, /*terminated=*/false, next_obs);
  }
}

void TransitionBuilder::EmitFront(int env, bool terminated, const uint8_t* next_obs) {
  Window& window = windows_[env];
  const int k = window.count;
  const int front = Slot(env, 0);
  double reward = 0;
  for (int i = 0; i < k; ++i) reward += gamma_powers_[i] * reward_ring_[Slot(env, i)];
  const float discount = terminated ? 0.f : static_cast<float>(gamma_powers_[k]);

  for (size_t c = 0; c < fields_.size(); ++c) {
    std::vector<float>& out = float_columns_[c];
    switch (fields_[c]) {
      case Field::kObs: {
        const uint8_t* obs = &obs_ring_[static_cast<size_t>(front) * obs_bytes_];
        obs_columns_[c].insert(obs_columns_[c].end(), obs, obs + obs_bytes_);
        break;
      }
      case Field::kAction:
        if (options_.env.discrete) {
          index_columns_[c].push_back(index_ring_[front]);
        } else {
          const float* action = &action_ring_[static_cast<size_t>(front) * action_dim_];
          out.insert(out.end(), action, action + action_dim_);
        }
        break;
      case Field::kReward:
        out.push_back(static_cast<float>(reward));
        break;
      case Field::kTerminated:
        out.push_back(terminated ? 1.f : 0.f);
        break;
      case Field::kNextObs:
        obs_columns_[c].insert(obs_columns_[c].end(), next_obs, next_obs + obs_bytes_);
        break;
      case Field::kDiscount:
        out.push_back(discount);
        break;
      case Field::kAgentRewards:
      case Field::kAgentTerminated:
        EmitAgents(env, k, fields_[c], &out);
        break;
    }
  }
  ++ready_;
  window.head = (window.head + 1) % options_.n_step;
  --window.count;
}

void TransitionBuilder::EmitAgents(int env, int steps, Field field, std::vector<float>* out) const {
  for (int agent = 0; agent < agents_; ++agent) {
    double value = 0;
    for (int i = 0; i < steps; ++i) {
      const size_t at = static_cast<size_t>(Slot(env, i)) * agents_ + agent;
      if (field == Field::kAgentRewards) {
        value += gamma_powers_[i] * agent_reward_ring_[at];
      } else if (agent_terminated_ring_[at] != 0) {
        value = 1;
      }
    }
    out->push_back(static_cast<float>(value));
  }
}

void TransitionBuilder::FlushPending() {
  for (int env = 0; env < options_.num_envs; ++env) {
    const uint8_t* next_obs = &last_next_obs_[static_cast<size_t>(env) * obs_bytes_];
    while (windows_[env].count > 0) EmitFront(env, /*terminated=*/false, next_obs);
    windows_[env].head = 0;
  }
}

void TransitionBuilder::DropPending(int env) {
  windows_[env].count = 0;
  windows_[env].head = 0;
}

std::vector<const void*> TransitionBuilder::Columns() const {
  std::vector<const void*> columns(fields_.size());
  for (size_t c = 0; c < fields_.size(); ++c) {
    if (fields_[c] == Field::kAction && options_.env.discrete) {
      columns[c] = index_columns_[c].data();
    } else if (fields_[c] == Field::kObs || fields_[c] == Field::kNextObs) {
      columns[c] = obs_columns_[c].data();
    } else {
      columns[c] = float_columns_[c].data();
    }
  }
  return columns;
}

void TransitionBuilder::ClearReady() {
  for (std::vector<float>& column : float_columns_) column.clear();
  for (std::vector<int64_t>& column : index_columns_) column.clear();
  for (std::vector<uint8_t>& column : obs_columns_) column.clear();
  ready_ = 0;
}

}  // namespace rill::items
