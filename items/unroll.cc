#include "items/unroll.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "items/columns.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "common/tensor_codec.h"

namespace rill::items {
namespace {

// Which env (or policy) a column belongs to.
enum class Applies { kAlways, kDiscrete, kContinuous, kRecurrent, kState };

struct KnownColumn {
  const char* name;
  bool required;
  Applies applies;
};

// In DefaultSignature's order.
constexpr KnownColumn kKnownColumns[] = {
    {"obs", true, Applies::kAlways},
    {"action", true, Applies::kAlways},
    {"reward", true, Applies::kAlways},
    {"terminated", true, Applies::kAlways},
    {"truncated", true, Applies::kAlways},
    {"final_obs", true, Applies::kAlways},
    {"behaviour_log_prob", true, Applies::kAlways},
    {"behaviour_logits", false, Applies::kDiscrete},
    {"behaviour_mean", false, Applies::kContinuous},
    {"behaviour_log_std", false, Applies::kContinuous},
    {"policy_version", true, Applies::kAlways},
    {"core_state", true, Applies::kRecurrent},
    {"state", false, Applies::kState},
    {"final_state", false, Applies::kState},
};

bool AppliesTo(const KnownColumn& known, const envs::EnvSpec& env, int core_state_size) {
  if (known.applies == Applies::kRecurrent) return core_state_size > 0;
  if (known.applies == Applies::kState) return env.state_dim > 0;
  return known.applies == Applies::kAlways || (known.applies == Applies::kDiscrete) == env.discrete;
}

int64_t ActionWidth(const envs::EnvSpec& env) {
  return env.discrete ? env.num_actions : static_cast<int64_t>(env.action_low.size());
}

// The column the builder writes for `name`; false for a name it does not
// know or one of the other action space.
bool ExpectedColumn(const std::string& name, const envs::EnvSpec& env, int64_t t, int core_state_size,
                    v1::ColumnSpec* column) {
  const int64_t d = env.stored_width();
  const int64_t a = ActionWidth(env);
  if (name == "obs") {
    *column = MakeColumn(name, ObservationDType(env), {t + 1, d});
  } else if (name == "final_obs") {
    *column = MakeColumn(name, ObservationDType(env), {t, d});
  } else if (name == "action") {
    *column = env.discrete ? MakeColumn(name, v1::DTYPE_INT64, {t}) : MakeColumn(name, v1::DTYPE_FLOAT32, {t, a});
  } else if (name == "reward" || name == "terminated" || name == "truncated" || name == "behaviour_log_prob") {
    *column = MakeColumn(name, v1::DTYPE_FLOAT32, {t});
  } else if ((name == "behaviour_logits" && env.discrete) ||
             ((name == "behaviour_mean" || name == "behaviour_log_std") && !env.discrete)) {
    *column = MakeColumn(name, v1::DTYPE_FLOAT32, {t, a});
  } else if (name == "policy_version") {
    *column = MakeColumn(name, v1::DTYPE_INT64, {});
  } else if (name == "core_state" && core_state_size > 0) {
    *column = MakeColumn(name, v1::DTYPE_FLOAT32, {core_state_size});
  } else if ((name == "state" || name == "final_state") && env.state_dim > 0) {
    *column = MakeColumn(name, v1::DTYPE_FLOAT32, {name == "state" ? t + 1 : t, env.state_dim});
  } else {
    return false;
  }
  return true;
}

std::vector<std::string> KnownNames(const envs::EnvSpec& env, int core_state_size) {
  std::vector<std::string> names;
  for (const KnownColumn& known : kKnownColumns) {
    if (AppliesTo(known, env, core_state_size)) names.push_back(known.name);
  }
  return names;
}

}  // namespace

v1::Signature UnrollBuilder::DefaultSignature(const envs::EnvSpec& env, int unroll_length, int core_state_size,
                                              bool global_state) {
  v1::Signature signature;
  for (const std::string& name : KnownNames(env, core_state_size)) {
    if (!global_state && (name == "state" || name == "final_state")) continue;
    ExpectedColumn(name, env, unroll_length, core_state_size, signature.add_columns());
  }
  return signature;
}

absl::Status UnrollBuilder::CheckSignature(const v1::Signature& signature, const envs::EnvSpec& env, int unroll_length,
                                           int core_state_size) {
  RETURN_IF_ERROR(rill::CheckSignature(signature));
  for (const v1::ColumnSpec& column : signature.columns()) {
    v1::ColumnSpec expected;
    if (!ExpectedColumn(column.name(), env, unroll_length, core_state_size, &expected)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "signature column '", column.name(), "' is not an unroll column of ",
          env.discrete ? "a discrete" : "a continuous", " env", core_state_size > 0 ? " and a recurrent policy" : "",
          "; the known columns are ", absl::StrJoin(KnownNames(env, core_state_size), ", ")));
    }
    RETURN_IF_ERROR(CheckColumnType(column, expected, env.name,
                                    absl::StrCat(" (unroll_length ", unroll_length, ")")));
  }
  for (const KnownColumn& known : kKnownColumns) {
    if (!known.required || !AppliesTo(known, env, core_state_size)) continue;
    const bool present = std::any_of(signature.columns().begin(), signature.columns().end(),
                                     [&known](const v1::ColumnSpec& column) { return column.name() == known.name; });
    if (!present) return absl::InvalidArgumentError(absl::StrCat("signature lacks unroll column '", known.name, "'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<UnrollBuilder>> UnrollBuilder::Create(const UnrollBuilderOptions& options) {
  if (options.num_envs < 1) {
    return absl::InvalidArgumentError(absl::StrCat("num_envs must be >= 1, got ", options.num_envs));
  }
  if (options.unroll_length < 1) {
    return absl::InvalidArgumentError(absl::StrCat("unroll_length must be >= 1, got ", options.unroll_length));
  }
  RETURN_IF_ERROR(CheckEnvForItems(options.env));
  if (options.core_state_size < 0) {
    return absl::InvalidArgumentError(absl::StrCat("core_state_size must be >= 0, got ", options.core_state_size));
  }
  RETURN_IF_ERROR(CheckSignature(options.signature, options.env, options.unroll_length, options.core_state_size));
  return std::unique_ptr<UnrollBuilder>(new UnrollBuilder(options));
}

UnrollBuilder::UnrollBuilder(const UnrollBuilderOptions& options)
    : options_(options), obs_bytes_(options.env.obs_bytes()), action_dim_(static_cast<int>(ActionWidth(options.env))) {
  const int n = options_.num_envs;
  staging_.resize(n);
  index_staging_.resize(n);
  obs_staging_.resize(n);
  steps_.assign(n, 0);
  for (const v1::ColumnSpec& column : options_.signature.columns()) {
    const std::string& name = column.name();
    fields_.push_back(name == "obs"                  ? Field::kObs
                      : name == "action"             ? Field::kAction
                      : name == "reward"             ? Field::kReward
                      : name == "terminated"         ? Field::kTerminated
                      : name == "truncated"          ? Field::kTruncated
                      : name == "final_obs"          ? Field::kFinalObs
                      : name == "behaviour_log_prob" ? Field::kLogProb
                      : name == "behaviour_logits"   ? Field::kLogits
                      : name == "behaviour_mean"     ? Field::kMean
                      : name == "behaviour_log_std"  ? Field::kLogStd
                      : name == "core_state"         ? Field::kCoreState
                      : name == "state"              ? Field::kState
                      : name == "final_state"        ? Field::kFinalState
                                                     : Field::kVersion);
    int64_t size = 1;
    for (int64_t d : column.shape()) size *= d;
    item_sizes_.push_back(size);
    needs_state_ = needs_state_ || fields_.back() == Field::kState || fields_.back() == Field::kFinalState;
  }
  for (Field field : fields_) {
    index_column_.push_back(field == Field::kVersion || (field == Field::kAction && options_.env.discrete));
    obs_column_.push_back(field == Field::kObs || field == Field::kFinalObs);
  }
  float_columns_.resize(fields_.size());
  index_columns_.resize(fields_.size());
  obs_columns_.resize(fields_.size());
  const int64_t element_bytes = envs::ObservationTypeBytes(options_.env.observation_type);
  for (int e = 0; e < n; ++e) {
    staging_[e].resize(fields_.size());
    index_staging_[e].resize(fields_.size());
    obs_staging_[e].resize(fields_.size());
    for (size_t c = 0; c < fields_.size(); ++c) {
      if (obs_column_[c]) {
        obs_staging_[e][c].assign(item_sizes_[c] * element_bytes, 0);
        obs_columns_[c].reserve(item_sizes_[c] * element_bytes * n);
      } else if (index_column_[c]) {
        index_staging_[e][c].assign(item_sizes_[c], 0);
        index_columns_[c].reserve(item_sizes_[c] * n);
      } else {
        staging_[e][c].assign(item_sizes_[c], 0.f);
        float_columns_[c].reserve(item_sizes_[c] * n);
      }
    }
  }
}

void UnrollBuilder::AddStep(int env, const Step& step) {
  if (env < 0 || env >= options_.num_envs) {
    RILL_LOG(FATAL) << "env " << env << " outside [0, " << options_.num_envs << ")";
  }
  if (options_.env.discrete && (step.action_index < 0 || step.action_index >= options_.env.num_actions)) {
    RILL_LOG(FATAL) << "action index " << step.action_index << " outside [0, " << options_.env.num_actions << ")";
  }
  if (step.distribution == nullptr) RILL_LOG(FATAL) << "unroll step without the behaviour distribution";
  if (options_.core_state_size > 0 && steps_[env] == 0 && step.core_state == nullptr) {
    RILL_LOG(FATAL) << "the first step of a recurrent policy's unroll without its core state";
  }
  if (needs_state_ && (step.state == nullptr || step.next_state == nullptr || step.final_state == nullptr)) {
    RILL_LOG(FATAL) << "an unroll step without the env's global state (the table records it)";
  }
  const size_t g = static_cast<size_t>(options_.env.state_dim);
  const int t = steps_[env];
  const int unroll_length = options_.unroll_length;
  const size_t d = static_cast<size_t>(obs_bytes_);
  const size_t a = static_cast<size_t>(action_dim_);
  const uint8_t* obs = static_cast<const uint8_t*>(step.obs);
  for (size_t c = 0; c < fields_.size(); ++c) {
    float* out = staging_[env][c].data();  // null for an int64 or observation column
    uint8_t* obs_out = obs_staging_[env][c].data();  // observation columns
    switch (fields_[c]) {
      case Field::kObs:
        std::copy_n(obs, d, obs_out + t * d);
        if (t + 1 == unroll_length) std::copy_n(static_cast<const uint8_t*>(step.next_obs), d, obs_out + (t + 1) * d);
        break;
      case Field::kAction:
        if (options_.env.discrete) {
          index_staging_[env][c][t] = step.action_index;
        } else {
          std::copy_n(step.action, a, out + t * a);
        }
        break;
      case Field::kReward:
        out[t] = step.reward;
        break;
      case Field::kTerminated:
        out[t] = step.terminated ? 1.f : 0.f;
        break;
      case Field::kTruncated:
        out[t] = step.truncated && !step.terminated ? 1.f : 0.f;
        break;
      case Field::kFinalObs:
        if (step.truncated && !step.terminated) {
          std::copy_n(static_cast<const uint8_t*>(step.final_obs), d, obs_out + t * d);
        } else {
          std::fill_n(obs_out + t * d, d, 0);
        }
        break;
      case Field::kLogProb:
        out[t] = step.log_prob;
        break;
      case Field::kLogits:
      case Field::kMean:
        std::copy_n(step.distribution, a, out + t * a);
        break;
      case Field::kLogStd:
        std::copy_n(step.distribution + a, a, out + t * a);
        break;
      case Field::kVersion:
        if (t == 0) index_staging_[env][c][0] = step.version;
        break;
      case Field::kCoreState:
        if (t == 0) std::copy_n(step.core_state, options_.core_state_size, out);
        break;
      case Field::kState:
        std::copy_n(step.state, g, out + t * g);
        if (t + 1 == unroll_length) std::copy_n(step.next_state, g, out + (t + 1) * g);
        break;
      case Field::kFinalState:
        if (step.truncated && !step.terminated) {
          std::copy_n(step.final_state, g, out + t * g);
        } else {
          std::fill_n(out + t * g, g, 0.f);
        }
        break;
    }
  }
  if (t + 1 < unroll_length) {
    steps_[env] = t + 1;
    return;
  }
  for (size_t c = 0; c < fields_.size(); ++c) {
    if (obs_column_[c]) {
      obs_columns_[c].insert(obs_columns_[c].end(), obs_staging_[env][c].begin(), obs_staging_[env][c].end());
    } else if (index_column_[c]) {
      index_columns_[c].insert(index_columns_[c].end(), index_staging_[env][c].begin(), index_staging_[env][c].end());
    } else {
      float_columns_[c].insert(float_columns_[c].end(), staging_[env][c].begin(), staging_[env][c].end());
    }
  }
  ++ready_;
  steps_[env] = 0;
}

void UnrollBuilder::FlushPending() { std::fill(steps_.begin(), steps_.end(), 0); }

void UnrollBuilder::DropPending(int env) { steps_[env] = 0; }

std::vector<const void*> UnrollBuilder::Columns() const {
  std::vector<const void*> columns(fields_.size());
  for (size_t c = 0; c < fields_.size(); ++c) {
    columns[c] = obs_column_[c]     ? static_cast<const void*>(obs_columns_[c].data())
                 : index_column_[c] ? static_cast<const void*>(index_columns_[c].data())
                                    : static_cast<const void*>(float_columns_[c].data());
  }
  return columns;
}

void UnrollBuilder::ClearReady() {
  for (std::vector<float>& column : float_columns_) column.clear();
  for (std::vector<int64_t>& column : index_columns_) column.clear();
  for (std::vector<uint8_t>& column : obs_columns_) column.clear();
  ready_ = 0;
}

}  // namespace rill::items
