// Hover-v0, an env plugin: a thruster craft on a vertical line must climb or
// sink to a target altitude and hold it there. Built by Bazel into
// libhover.so (examples/plugin/BUILD.bazel) against Rill's public header
// alone, and loaded by Rill at run time:
//
//   env { plugin { library: "bazel-bin/examples/plugin/libhover.so" id: "Hover-v0" } }
//
// Dynamics (dt = 0.05 s): throttle a in [0, 1] gives an upward acceleration
// of 20 a m/s^2 against gravity (9.81) and air drag (0.3 v), so a = 0.49
// hovers. The craft starts at an altitude in [1, 9] m with a speed in
// [-1, 1] m/s; the target is drawn in [2, 8] m. Observation (float32 [3]):
// target - altitude, vertical speed, altitude / 10. Reward per step:
// 1 - min(|target - altitude|, 4) / 2, so +1 on target, 0 two metres off,
// -1 from four metres. Touching the ground (altitude <= 0) or leaving the
// 15 m column ends the episode as terminal with a reward of -1. Time limit
// 200 steps (10 s): returns lie in [-200, 200].
//
// Mean returns over 200 episodes (envs/plugin/plugin_envs_test prints
// them): a uniformly random throttle -41, full throttle -13 (it leaves the
// column within about 2 s), the proportional-derivative controller
// a = 0.49 + 0.3 e - 0.3 v (e = target - altitude) 176.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <new>
#include <random>

#include "envs/plugin/rill_env_plugin.h"

namespace {

constexpr double kDt = 0.05;
constexpr double kGravity = 9.81;
constexpr double kMaxThrust = 20.0;
constexpr double kDrag = 0.3;
constexpr double kCeiling = 15.0;
constexpr float kCrashReward = -1.f;

class Hover {
 public:
  explicit Hover(uint64_t seed) : rng_(seed) {}

  void Reset(float* obs) {
    altitude_ = Uniform(1.0, 9.0);
    speed_ = Uniform(-1.0, 1.0);
    target_ = Uniform(2.0, 8.0);
    Observe(obs);
  }

  void Step(float throttle, float* obs, RillEnvStepResult* result) {
    const double a = std::clamp<double>(throttle, 0.0, 1.0);
    const double acceleration = kMaxThrust * a - kGravity - kDrag * speed_;
    speed_ += acceleration * kDt;
    altitude_ += speed_ * kDt;
    Observe(obs);
    result->truncated = 0;
    if (altitude_ <= 0.0 || altitude_ >= kCeiling) {
      result->terminated = 1;
      result->reward = kCrashReward;
      return;
    }
    result->terminated = 0;
    result->reward = static_cast<float>(1.0 - std::min(std::abs(target_ - altitude_), 4.0) / 2.0);
  }

 private:
  double Uniform(double low, double high) { return std::uniform_real_distribution<double>(low, high)(rng_); }
  void Observe(float* obs) const {
    obs[0] = static_cast<float>(target_ - altitude_);
    obs[1] = static_cast<float>(speed_);
    obs[2] = static_cast<float>(altitude_ / 10.0);
  }

  std::mt19937_64 rng_;
  double altitude_ = 0, speed_ = 0, target_ = 0;
};

const float kThrottleLow[] = {0.f};
const float kThrottleHigh[] = {1.f};

const RillEnvInfo kEnvs[] = {{
    /*id=*/"Hover-v0",
    /*observation_rank=*/1,
    /*observation_shape=*/{3},
    /*observation_dtype=*/RILL_DTYPE_FLOAT32,
    /*num_actions=*/0,
    /*action_dim=*/1,
    /*action_low=*/kThrottleLow,
    /*action_high=*/kThrottleHigh,
    /*max_episode_steps=*/200,
}};

void* Create(int32_t env_index, uint64_t seed, char* error, size_t error_size) {
  if (env_index != 0) {
    std::snprintf(error, error_size, "no env %d", static_cast<int>(env_index));
    return nullptr;
  }
  Hover* env = new (std::nothrow) Hover(seed);
  if (env == nullptr) std::snprintf(error, error_size, "out of memory");
  return env;
}

void Destroy(void* env) { delete static_cast<Hover*>(env); }

int32_t Reset(void* env, void* observation, char*, size_t) {
  static_cast<Hover*>(env)->Reset(static_cast<float*>(observation));
  return 0;
}

int32_t Step(void* env, const float* action, void* observation, RillEnvStepResult* result, char*, size_t) {
  static_cast<Hover*>(env)->Step(action[0], static_cast<float*>(observation), result);
  return 0;
}

const RillEnvPlugin kPlugin = {
    /*abi_version=*/RILL_ENV_PLUGIN_ABI_VERSION,
    /*struct_size=*/sizeof(RillEnvPlugin),
    /*num_envs=*/1,
    /*envs=*/kEnvs,
    /*create=*/&Create,
    /*destroy=*/&Destroy,
    /*reset=*/&Reset,
    /*step=*/&Step,
};

}  // namespace

extern "C" RILL_ENV_PLUGIN_EXPORT const RillEnvPlugin* rill_env_plugin(void) { return &kPlugin; }
