#include "envs/mujoco/ant.h"

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
  auto env = Ant::Create(max_episode_steps, seed);
  EXPECT_TRUE(env.ok()) << env.status();
  return std::move(env).value();
}

// Standard values: Gymnasium's ant.xml (the Ant-v4 model), compiled by
// MuJoCo 2.2.2: density 5, total 0.9108801 kg; torso sphere 0.3272492 kg,
// each hip segment 0.0391578 kg, each lower leg 0.0675922 kg.
TEST(AntTest, ModelHasTheStandardBody) {
  auto env = Make(0, 0);
  const mjModel* m = env->model();
  EXPECT_EQ(m->nq, 15);
  EXPECT_EQ(m->nv, 14);
  EXPECT_EQ(m->njnt, 9);
  EXPECT_EQ(m->nu, 8);
  EXPECT_EQ(m->nbody, 14);
  EXPECT_NEAR(TotalMass(m), 0.910880082707, 1e-10);
  EXPECT_NEAR(m->body_mass[1], 0.3272492347, 1e-9);
  EXPECT_NEAR(m->body_mass[4], 0.06759220453, 1e-10);
  EXPECT_THAT(Gears(m), ElementsAre(150, 150, 150, 150, 150, 150, 150, 150));
  EXPECT_DOUBLE_EQ(m->opt.timestep, 0.01);
  EXPECT_EQ(m->opt.integrator, mjINT_RK4);
  EXPECT_EQ(env->frame_skip(), 5);
  EXPECT_DOUBLE_EQ(env->dt(), 0.05);
  EXPECT_DOUBLE_EQ(m->qpos0[2], 0.75);
  // The actuators drive hip_4, ankle_4, hip_1, ankle_1, ... in that order.
  EXPECT_EQ(m->actuator_trnid[0], mj_name2id(m, mjOBJ_JOINT, "hip_4"));
  EXPECT_EQ(m->actuator_trnid[2 * 2], mj_name2id(m, mjOBJ_JOINT, "hip_1"));
  const int ankle_1 = mj_name2id(m, mjOBJ_JOINT, "ankle_1");
  EXPECT_NEAR(m->jnt_range[2 * ankle_1], 30 * M_PI / 180, 1e-12);
  EXPECT_NEAR(m->jnt_range[2 * ankle_1 + 1], 70 * M_PI / 180, 1e-12);
}

TEST(AntTest, SpecMatchesTheModel) {
  const EnvSpec spec = Ant::Spec();
  EXPECT_EQ(spec.name, "Ant-v4");
  EXPECT_THAT(spec.observation_shape, ElementsAre(27));
  EXPECT_EQ(spec.action_dim(), 8);
  EXPECT_EQ(spec.action_low[0], -1.0f);
  EXPECT_EQ(spec.max_episode_steps, 1000);
}

TEST(AntTest, RolloutRewardAndObservationMatchMjData) {
  auto env = Make(0, 1);
  std::vector<float> obs(27);
  env->Reset(obs.data());
  const mjModel* m = env->model();
  const int torso = mj_name2id(m, mjOBJ_BODY, "torso");
  std::vector<double> qpos(m->qpos0, m->qpos0 + m->nq), qvel(m->nv, 0.0);
  qvel[0] = 0.8;
  qpos[7] = 0.2;
  env->SetState(qpos.data(), qvel.data());
  const mjData* d = env->data();
  for (int step = 0; step < 60; ++step) {
    const std::vector<float> action = WavyAction(8, step, 1.0);
    // The torso frame's x, as Gymnasium's get_body_com("torso") reads it.
    const double x_before = d->xpos[3 * torso];
    absl::StatusOr<StepResult> result = env->Step(action.data(), obs.data());
    ASSERT_TRUE(result.ok()) << result.status();
    double ctrl_cost = 0;
    for (float a : action) ctrl_cost += 0.5 * a * a;
    const double expected = (d->xpos[3 * torso] - x_before) / 0.05 + 1.0 - ctrl_cost;
    EXPECT_NEAR(result->reward, expected, 1e-4 * std::fmax(1.0, std::fabs(expected))) << "step " << step;
    for (int i = 0; i < 13; ++i) ASSERT_EQ(obs[i], static_cast<float>(d->qpos[i + 2]));
    for (int i = 0; i < 14; ++i) ASSERT_EQ(obs[13 + i], static_cast<float>(d->qvel[i]));
    const double z = d->qpos[2];
    ASSERT_EQ(result->terminated, !(0.2 <= z && z <= 1.0)) << "step " << step;
    if (result->terminated) break;
  }
  EXPECT_NE(d->qpos[0], qpos[0]);
}

// Below 0.2 the torso sphere (radius 0.25) would be inside the floor, so
// only the upper bound can be set up directly; the rollout test checks the
// rule on every step.
TEST(AntTest, TerminatesWhenTheTorsoRisesAboveOne) {
  for (double z : {1.2}) {
    auto env = Make(0, 1);
    std::vector<float> obs(27);
    env->Reset(obs.data());
    const mjModel* m = env->model();
    std::vector<double> qpos(m->qpos0, m->qpos0 + m->nq), qvel(m->nv, 0.0);
    qpos[2] = z;
    env->SetState(qpos.data(), qvel.data());
    const std::vector<float> zero(8, 0.0f);
    absl::StatusOr<StepResult> result = env->Step(zero.data(), obs.data());
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_TRUE(result->terminated) << "z = " << z;
  }
}

TEST(AntTest, ContactForcesAreComputedAfterEachStep) {
  // v4 leaves them out of the default observation, but the base computes
  // them (mj_rnePostConstraint) as Gymnasium does; an ant standing on the
  // floor feels the floor.
  auto env = Make(0, 1);
  std::vector<float> obs(27);
  env->Reset(obs.data());
  const std::vector<float> zero(8, 0.0f);
  double force = 0;
  for (int step = 0; step < 20; ++step) {
    ASSERT_TRUE(env->Step(zero.data(), obs.data()).ok());
  }
  for (int i = 0; i < 6 * env->model()->nbody; ++i) force += std::fabs(env->data()->cfrc_ext[i]);
  EXPECT_GT(force, 0.0);
}

TEST(AntTest, NonFiniteActionsAreRefusedAndChangeNothing) { ExpectNonFiniteActionsRefused(Make); }

TEST(AntTest, EqualSeedsGiveEqualEpisodes) { ExpectEqualSeedsGiveEqualEpisodes(Make); }

TEST(AntTest, ResetNoiseIsUniformOnQposAndNormalOnQvel) { ExpectResetNoise(Make, 0.1, /*normal_velocity=*/true); }

}  // namespace
}  // namespace rill::envs
