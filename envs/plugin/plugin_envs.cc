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
#include "envs/time_limit.h"

namespace rill::envs {
namespace {

constexpr size_t kErrorBytes = 1024;

// The library's env `info` as a spec, or what is wrong with it.
absl::StatusOr<EnvSpec> SpecOfInfo(const RillEnvInfo& info, int index) {
  const std::string where = absl::StrCat("env ", index);
  if (info.id == nullptr || info.id[0] == '\0') return absl::InvalidArgumentError(absl::StrCat(where, " has no id"));
  EnvSpec spec;
  spec.name = info.id;
  const std::string named = absl::StrCat("env ", spec.name);
  if (info.observation_rank < 1 || info.observation_rank > RILL_ENV_PLUGIN_MAX_RANK) {
    return absl::InvalidArgumentError(absl::StrCat(named, ": observation_rank ", info.observation_rank,
                                                   " is out of range (1..", RILL_ENV_PLUGIN_MAX_RANK, ")"));
  }
  int64_t elements = 1;
  for (int d = 0; d < info.observation_rank; ++d) {
    const int64_t size = info.observation_shape[d];
    if (size <= 0 || size > (int64_t{1} << 24) || elements > (int64_t{1} << 28) / size) {
      return absl::InvalidArgumentError(absl::StrCat(named, ": observation_shape[", d, "] = ", size,
                                                     " is out of range (positive, at most 2^28 elements in all)"));
    }
    elements *= size;
    spec.observation_shape.push_back(size);
  }
  if (info.observation_dtype != RILL_DTYPE_FLOAT32 && info.observation_dtype != RILL_DTYPE_UINT8) {
    return absl::InvalidArgumentError(absl::StrCat(named, ": observation_dtype ", info.observation_dtype,
                                                   " is not a RillDType (float32 = 1, uint8 = 2)"));
  }
  spec.observation_type =
      info.observation_dtype == RILL_DTYPE_UINT8 ? ObservationType::kUint8 : ObservationType::kFloat32;
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
    return absl::WrapUnique<Env>(new PluginEnv(std::move(library), std::move(spec), handle));
  }

  ~PluginEnv() override { library_->table().destroy(handle_); }

  void Reset(float* obs) override {
    if (!spec().uint8_observations()) return ResetRaw(obs);
    ResetRaw(bytes_.data());
    std::copy_n(bytes_.data(), obs_dim(), obs);
  }

  absl::StatusOr<StepResult> Step(const float* action, float* next_obs) override {
    if (!spec().uint8_observations()) return StepRaw(action, next_obs);
    absl::StatusOr<StepResult> result = StepRaw(action, bytes_.data());
    if (result.ok()) std::copy_n(bytes_.data(), obs_dim(), next_obs);
    return result;
  }

  void ResetRaw(void* obs) override {
    char error[kErrorBytes] = {0};
    reset_error_.clear();
    if (library_->table().reset(handle_, obs, error, sizeof(error)) != 0) {
      reset_error_ = absl::StrCat("reset failed: ", LibraryMessage(error));
    } else if (std::optional<std::string> bad = NonFinite(obs)) {
      reset_error_ = absl::StrCat("reset returned ", *bad);
    }
    if (!reset_error_.empty()) {
      std::memset(obs, 0, static_cast<size_t>(spec().obs_bytes()));  // never read: the next Step fails
      return;
    }
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
    if (library_->table().step(handle_, checked, next_obs, &out, error, sizeof(error)) != 0) {
      return absl::InternalError(Named(absl::StrCat("step failed: ", LibraryMessage(error))));
    }
    if (std::optional<std::string> bad = NonFinite(next_obs)) {
      return absl::InternalError(Named(absl::StrCat("step returned ", *bad)));
    }
    if (!std::isfinite(out.reward)) return absl::InternalError(Named(absl::StrCat("step returned reward ", out.reward)));
    StepResult result;
    result.reward = out.reward;
    result.terminated = out.terminated != 0;
    result.truncated = out.truncated != 0 && !result.terminated;
    time_limit_.EndStep(&result);
    return result;
  }

 private:
  PluginEnv(std::shared_ptr<const PluginLibrary> library, EnvSpec spec, void* handle)
      : Env(spec), library_(std::move(library)), handle_(handle), time_limit_(spec.max_episode_steps) {
    if (spec.uint8_observations()) bytes_.resize(static_cast<size_t>(spec.obs_dim()));
  }

  std::string Named(const std::string& what) const {
    return absl::StrCat("env ", name(), " of plugin ", library_->path(), ": ", what);
  }
  // "observation[3] = nan" for the first non-finite element, if any
  // (uint8 observations always are).
  std::optional<std::string> NonFinite(const void* raw) const {
    if (spec().uint8_observations()) return std::nullopt;
    const float* obs = static_cast<const float*>(raw);
    for (int k = 0; k < obs_dim(); ++k) {
      if (!std::isfinite(obs[k])) return absl::StrCat("observation[", k, "] = ", obs[k]);
    }
    return std::nullopt;
  }

  std::shared_ptr<const PluginLibrary> library_;
  void* handle_;
  TimeLimit time_limit_;
  std::string reset_error_;
  std::vector<float> clipped_;
  std::vector<uint8_t> bytes_;  // uint8 envs: the observation behind Reset / Step
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

}  // namespace

absl::StatusOr<std::shared_ptr<const PluginLibrary>> PluginLibrary::Load(const std::string& path) {
  absl::MutexLock lock(&loaded_mutex);
  auto found = Loaded().find(path);
  if (found != Loaded().end()) return found->second;

  const std::string named = absl::StrCat("env plugin ", path);
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
  if (table->abi_version != RILL_ENV_PLUGIN_ABI_VERSION) {
    return absl::InvalidArgumentError(absl::StrCat(named, ": built for env plugin ABI version ", table->abi_version,
                                                   "; this Rill loads version ", RILL_ENV_PLUGIN_ABI_VERSION,
                                                   " (rebuild it against this Rill's envs/plugin/rill_env_plugin.h)"));
  }
  if (table->struct_size < sizeof(RillEnvPlugin)) {
    return absl::InvalidArgumentError(absl::StrCat(named, ": its table is ", table->struct_size, " bytes, version ",
                                                   RILL_ENV_PLUGIN_ABI_VERSION, "'s is ", sizeof(RillEnvPlugin)));
  }
  std::vector<std::string> missing;
  if (table->create == nullptr) missing.push_back("create");
  if (table->destroy == nullptr) missing.push_back("destroy");
  if (table->reset == nullptr) missing.push_back("reset");
  if (table->step == nullptr) missing.push_back("step");
  if (!missing.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(named, ": its table has no ", absl::StrJoin(missing, ", ")));
  }
  if (table->num_envs < 1 || table->envs == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(named, ": offers no env (num_envs ", table->num_envs, ")"));
  }
  auto library = std::shared_ptr<PluginLibrary>(new PluginLibrary());
  library->path_ = path;
  library->table_ = table;
  for (int i = 0; i < table->num_envs; ++i) {
    absl::StatusOr<EnvSpec> spec = SpecOfInfo(table->envs[i], i);
    if (!spec.ok()) return absl::InvalidArgumentError(absl::StrCat(named, ": ", spec.status().message()));
    for (const EnvSpec& earlier : library->specs_) {
      if (earlier.name == spec->name) {
        return absl::InvalidArgumentError(absl::StrCat(named, ": offers env ", spec->name, " twice"));
      }
    }
    library->specs_.push_back(*std::move(spec));
    library->dtypes_.push_back(static_cast<RillDType>(table->envs[i].observation_dtype));
  }
  Loaded()[path] = library;
  return library;
}

absl::StatusOr<int> PluginLibrary::Find(const std::string& id) const {
  std::vector<std::string> ids;
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (specs_[i].name == id) return static_cast<int>(i);
    ids.push_back(specs_[i].name);
  }
  return absl::NotFoundError(
      absl::StrCat("env plugin ", path_, " has no env '", id, "'; it offers: ", absl::StrJoin(ids, ", ")));
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

}  // namespace rill::envs
