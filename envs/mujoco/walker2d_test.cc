#include "envs/mujoco/walker2d.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "envs/mujoco/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::envs {
namespace {

using ::testing::ElementsAre;

std::unique_ptr<MujocoEnv> Make(int max_episode_steps, uint64_t seed) {
  auto env = Walker2d::Create(max_episode_steps, seed);
  EXPECT_TRUE(env.ok()) << env.status();
  return std::move(env).value();
}

// Standard values: Gymnasium's walker2d.xml as Walker2d-v4 used it (global
// coordinates, before Gymnasium rewrote it for v5), compiled by MuJoCo 2.2.2:
// total 23.6771366 kg; torso 3.6651914, thigh 4.0578905, leg 2.7813567,
// foot 3.1667254 kg per side; left foot friction 1.9, right 0.9.
TEST(Walker2dTest, ModelHasTheStandardBody) {
  auto env = Make(0, 0);
  const mjModel* m = env->model();
  EXPECT_EQ(m->nq, 9);
  EXPECT_EQ(m->nv, 9);
  EXPECT_EQ(m->njnt, 9);
  EXPECT_EQ(m->nu, 6);
  EXPECT_NEAR(TotalMass(m), 23.6771366326, 1e-8);
  EXPECT_NEAR(m->body_mass[4], 3.166725395, 1e-8);
  EXPECT_NEAR(m->body_mass[7], 3.166725395, 1e-8);
  EXPECT_THAT(Gears(m), ElementsAre(100, 100, 100, 100, 100, 100));
  EXPECT_DOUBLE_EQ(m->opt.timestep, 0.002);
  EXPECT_EQ(m->opt.integrator, mjINT_RK4);
  EXPECT_EQ(env->frame_skip(), 4);
  const int left_foot = mj_name2id(m, mjOBJ_GEOM, "foot_left_geom");
  const int right_foot = mj_name2id(m, mjOBJ_GEOM, "foot_geom");
  ASSERT_GE(left_foot, 0);
  ASSERT_GE(right_foot, 0);
  EXPECT_EQ(m->geom_friction[3 * left_foot], 1.9);
  EXPECT_EQ(m->geom_friction[3 * right_foot], 0.9);
  const int knee = mj_name2id(m, mjOBJ_JOINT, "leg_joint");
  EXPECT_EQ(m->dof_armature[m->jnt_dofadr[knee]], 0.01);
  EXPECT_EQ(m->dof_damping[m->jnt_dofadr[knee]], 0.1);
}

TEST(Walker2dTest, SpecMatchesTheModel) {
  const EnvSpec spec = Walker2d::Spec();
  EXPECT_EQ(spec.name, "Walker2d-v4");
  EXPECT_THAT(spec.observation_shape, ElementsAre(17));
  EXPECT_EQ(spec.action_dim(), 6);
  EXPECT_EQ(spec.action_high[5], 1.0f);
  EXPECT_EQ(spec.max_episode_steps, 1000);
}

TEST(Walker2dTest, RolloutRewardObservationAndTerminationMatchMjData) {
  auto env = Make(0, 1);
  std::vector<float> obs(17);
  env->Reset(obs.data());
  const mjData* d = env->data();
  bool terminated = false;
  for (int step = 0; step < 500 && !terminated; ++step) {
    const std::vector<float> action = WavyAction(6, step, 1.0);
    const double x_before = d->qpos[0];
    absl::StatusOr<StepResult> result = env->Step(action.data(), obs.data());
    ASSERT_TRUE(result.ok()) << result.status();
    double ctrl_cost = 0;
    for (float a : action) ctrl_cost += 1e-3 * a * a;
    const double expected = (d->qpos[0] - x_before) / 0.008 + 1.0 - ctrl_cost;
    EXPECT_NEAR(result->reward, expected, 1e-4 * std::fmax(1.0, std::fabs(expected))) << "step " << step;
    for (int i = 0; i < 8; ++i) ASSERT_EQ(obs[i], static_cast<float>(d->qpos[i + 1]));
    for (int i = 0; i < 9; ++i) ASSERT_EQ(obs[8 + i], static_cast<float>(std::clamp(d->qvel[i], -10.0, 10.0)));
    terminated = result->terminated;
    const double z = d->qpos[1], angle = d->qpos[2];
    ASSERT_EQ(terminated, !(0.8 < z && z < 2.0 && -1.0 < angle && angle < 1.0)) << "step " << step;
  }
  EXPECT_TRUE(terminated);
}

TEST(Walker2dTest, TerminatesAboveTwoMetresAndBeyondOneRadian) {
  for (auto [index, value] : {std::pair{1, 2.05}, std::pair{2, 1.05}, std::pair{2, -1.05}}) {
    auto env = Make(0, 1);
    std::vector<float> obs(17);
    env->Reset(obs.data());
    const mjModel* m = env->model();
    std::vector<double> qpos(m->qpos0, m->qpos0 + m->nq), qvel(m->nv, 0.0);
    qpos[index] = value;
    env->SetState(qpos.data(), qvel.data());
    const std::vector<float> zero(6, 0.0f);
    absl::StatusOr<StepResult> result = env->Step(zero.data(), obs.data());
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_TRUE(result->terminated) << "qpos[" << index << "] = " << value;
  }
}

TEST(Walker2dTest, NonFiniteActionsAreRefusedAndChangeNothing) { ExpectNonFiniteActionsRefused(Make); }

TEST(Walker2dTest, EqualSeedsGiveEqualEpisodes) { ExpectEqualSeedsGiveEqualEpisodes(Make); }

TEST(Walker2dTest, ResetNoiseIsUniformOnQposAndQvel) { ExpectResetNoise(Make, 5e-3, /*normal_velocity=*/false); }

}  // namespace
}  // namespace rill::envs
