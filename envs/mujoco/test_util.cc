#include "envs/mujoco/test_util.h"

#include <cmath>

#include "gtest/gtest.h"

namespace rill::envs {

std::vector<float> Observation(const MujocoEnv& env) {
  std::vector<float> obs(env.obs_dim());
  env.Observe(obs.data());
  return obs;
}

std::vector<double> PhysicsState(const MujocoEnv& env) {
  const mjModel* m = env.model();
  const mjData* d = env.data();
  std::vector<double> state(d->qpos, d->qpos + m->nq);
  state.insert(state.end(), d->qvel, d->qvel + m->nv);
  return state;
}

double TotalMass(const mjModel* m) {
  double mass = 0;
  for (int b = 0; b < m->nbody; ++b) mass += m->body_mass[b];
  return mass;
}

std::vector<double> Gears(const mjModel* m) {
  std::vector<double> gears;
  for (int i = 0; i < m->nu; ++i) gears.push_back(m->actuator_gear[6 * i]);
  return gears;
}

std::vector<float> WavyAction(int nu, int step, double bound) {
  std::vector<float> action(nu);
  for (int i = 0; i < nu; ++i) action[i] = static_cast<float>(bound * std::sin(0.3 * step + i));
  return action;
}

void ExpectNonFiniteActionsRefused(const MujocoEnvFactory& make) {
  std::unique_ptr<MujocoEnv> env = make(/*max_episode_steps=*/2, /*seed=*/3);
  std::vector<float> obs(env->obs_dim());
  env->Reset(obs.data());
  const int nu = env->act_dim();
  std::vector<float> good(nu, 0.1f);
  ASSERT_TRUE(env->Step(good.data(), obs.data()).ok());
  const std::vector<double> before = PhysicsState(*env);
  const double time_before = env->data()->time;
  const std::vector<float> obs_before = obs;
  for (int i = 0; i < nu; ++i) {
    for (float bad : {std::nanf(""), INFINITY, -INFINITY}) {
      std::vector<float> action = good;
      action[i] = bad;
      absl::StatusOr<StepResult> result = env->Step(action.data(), obs.data());
      EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << "index " << i;
      EXPECT_NE(result.status().message().find("action[" + std::to_string(i) + "]"), absl::string_view::npos)
          << result.status();
    }
  }
  EXPECT_EQ(PhysicsState(*env), before);
  EXPECT_EQ(env->data()->time, time_before);
  EXPECT_EQ(obs, obs_before);
  // The refused steps did not count: the second real step is the last.
  absl::StatusOr<StepResult> last = env->Step(good.data(), obs.data());
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_TRUE(last->truncated || last->terminated);
}

void ExpectEqualSeedsGiveEqualEpisodes(const MujocoEnvFactory& make) {
  std::unique_ptr<MujocoEnv> a = make(0, 21), b = make(0, 21), c = make(0, 22);
  std::vector<float> oa(a->obs_dim()), ob(b->obs_dim()), oc(c->obs_dim());
  a->Reset(oa.data());
  b->Reset(ob.data());
  c->Reset(oc.data());
  EXPECT_EQ(oa, ob);
  EXPECT_NE(oa, oc);
  for (int step = 0; step < 30; ++step) {
    const std::vector<float> action = WavyAction(a->act_dim(), step, a->action_high());
    absl::StatusOr<StepResult> ra = a->Step(action.data(), oa.data());
    absl::StatusOr<StepResult> rb = b->Step(action.data(), ob.data());
    ASSERT_TRUE(ra.ok() && rb.ok());
    ASSERT_EQ(oa, ob) << "step " << step;
    ASSERT_EQ(ra->reward, rb->reward);
    ASSERT_EQ(ra->terminated, rb->terminated);
    if (ra->terminated) break;
  }
}

namespace {

// Whether qpos[i] is one of the four quaternion entries of a free joint.
bool IsQuaternionCoordinate(const mjModel* m, int i) {
  for (int j = 0; j < m->njnt; ++j) {
    if (m->jnt_type[j] == mjJNT_FREE && i >= m->jnt_qposadr[j] + 3 && i < m->jnt_qposadr[j] + 7) return true;
  }
  return false;
}

}  // namespace

void ExpectResetNoise(const MujocoEnvFactory& make, double scale, bool normal_velocity) {
  std::unique_ptr<MujocoEnv> env = make(0, 5);
  const mjModel* m = env->model();
  std::vector<float> obs(env->obs_dim());
  double max_qpos_offset = 0, max_qvel = 0, sum_sq_qvel = 0;
  int n_qvel = 0;
  for (int episode = 0; episode < 300; ++episode) {
    env->Reset(obs.data());
    const mjData* d = env->data();
    for (int i = 0; i < m->nq; ++i) {
      if (IsQuaternionCoordinate(m, i)) continue;  // mj_forward normalizes it.
      const double offset = d->qpos[i] - m->qpos0[i];
      ASSERT_LE(std::fabs(offset), scale) << "qpos[" << i << "]";
      max_qpos_offset = std::fmax(max_qpos_offset, std::fabs(offset));
    }
    for (int i = 0; i < m->nv; ++i) {
      if (!normal_velocity) {
        ASSERT_LE(std::fabs(d->qvel[i]), scale) << "qvel[" << i << "]";
      }
      max_qvel = std::fmax(max_qvel, std::fabs(d->qvel[i]));
      sum_sq_qvel += d->qvel[i] * d->qvel[i];
      ++n_qvel;
    }
  }
  // Thousands of draws reach close to the bounds.
  EXPECT_GT(max_qpos_offset, 0.95 * scale);
  const double stddev = std::sqrt(sum_sq_qvel / n_qvel);
  if (normal_velocity) {
    EXPECT_NEAR(stddev, scale, 0.05 * scale);
    EXPECT_GT(max_qvel, 2.5 * scale);  // Normal tails, beyond any uniform bound.
  } else {
    // U(-s, s) has standard deviation s / sqrt(3).
    EXPECT_NEAR(stddev, scale / std::sqrt(3.0), 0.05 * scale);
  }
}

}  // namespace rill::envs
