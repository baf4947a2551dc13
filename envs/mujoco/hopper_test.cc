#include "envs/mujoco/hopper.h"

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
  auto env = Hopper::Create(max_episode_steps, seed);
  EXPECT_TRUE(env.ok()) << env.status();
  return std::move(env).value();
}

// Standard values: Gymnasium's hopper.xml as Hopper-v4 used it (global
// coordinates, before Gymnasium rewrote it for v5), compiled by MuJoCo 2.2.2:
// total 15.8200134 kg; torso, thigh, leg, foot 3.6651914, 4.0578905,
// 2.7813567, 5.3155748 kg (capsules at density 1000).
TEST(HopperTest, ModelHasTheStandardBody) {
  auto env = Make(0, 0);
  const mjModel* m = env->model();
  EXPECT_EQ(m->nq, 6);
  EXPECT_EQ(m->nv, 6);
  EXPECT_EQ(m->njnt, 6);
  EXPECT_EQ(m->nu, 3);
  EXPECT_NEAR(TotalMass(m), 15.8200134059, 1e-8);
  EXPECT_NEAR(m->body_mass[1], 3.665191429, 1e-8);
  EXPECT_NEAR(m->body_mass[4], 5.31557477, 1e-8);
  EXPECT_THAT(Gears(m), ElementsAre(200, 200, 200));
  EXPECT_DOUBLE_EQ(m->opt.timestep, 0.002);
  EXPECT_EQ(m->opt.integrator, mjINT_RK4);
  EXPECT_EQ(env->frame_skip(), 4);
  EXPECT_DOUBLE_EQ(env->dt(), 0.008);
  // The torso starts 1.25 m up and qpos[1] reads that height.
  EXPECT_DOUBLE_EQ(m->qpos0[1], 1.25);
  // Leg joints: range (-150, 0) degrees, armature 1, damping 1.
  const int thigh = mj_name2id(m, mjOBJ_JOINT, "thigh_joint");
  ASSERT_GE(thigh, 0);
  EXPECT_NEAR(m->jnt_range[2 * thigh], -150 * M_PI / 180, 1e-12);
  EXPECT_EQ(m->jnt_range[2 * thigh + 1], 0.0);
  EXPECT_EQ(m->dof_armature[m->jnt_dofadr[thigh]], 1.0);
  EXPECT_EQ(m->dof_damping[m->jnt_dofadr[thigh]], 1.0);
  for (int i = 0; i < m->nu; ++i) EXPECT_EQ(m->actuator_ctrlrange[2 * i + 1], 1.0);
}

TEST(HopperTest, SpecMatchesTheModel) {
  const EnvSpec spec = Hopper::Spec();
  EXPECT_EQ(spec.name, "Hopper-v4");
  EXPECT_THAT(spec.observation_shape, ElementsAre(11));
  EXPECT_THAT(spec.action_low, ElementsAre(-1, -1, -1));
  EXPECT_THAT(spec.action_high, ElementsAre(1, 1, 1));
  EXPECT_EQ(spec.max_episode_steps, 1000);
}

// Hopper-v4's health test, written out from its definition.
bool Healthy(const mjData* d) {
  for (int i = 2; i < 6; ++i) {
    if (!(std::fabs(d->qpos[i]) < 100)) return false;
  }
  for (int i = 0; i < 6; ++i) {
    if (!(std::fabs(d->qvel[i]) < 100)) return false;
  }
  return d->qpos[1] > 0.7 && std::fabs(d->qpos[2]) < 0.2;
}

TEST(HopperTest, RolloutRewardObservationAndTerminationMatchMjData) {
  auto env = Make(0, 1);
  std::vector<float> obs(11);
  env->Reset(obs.data());
  const mjModel* m = env->model();
  std::vector<double> qpos(m->qpos0, m->qpos0 + m->nq), qvel(m->nv, 0.0);
  qpos[3] = -0.3;
  qvel[0] = 0.5;
  env->SetState(qpos.data(), qvel.data());
  const mjData* d = env->data();
  bool terminated = false;
  for (int step = 0; step < 300 && !terminated; ++step) {
    const std::vector<float> action = WavyAction(3, step, 1.0);
    const double x_before = d->qpos[0];
    absl::StatusOr<StepResult> result = env->Step(action.data(), obs.data());
    ASSERT_TRUE(result.ok()) << result.status();
    double ctrl_cost = 0;
    for (float a : action) ctrl_cost += 1e-3 * a * a;
    // The healthy reward is paid on the terminating step too.
    const double expected = (d->qpos[0] - x_before) / 0.008 + 1.0 - ctrl_cost;
    EXPECT_NEAR(result->reward, expected, 1e-4 * std::fmax(1.0, std::fabs(expected))) << "step " << step;
    for (int i = 0; i < 5; ++i) ASSERT_EQ(obs[i], static_cast<float>(d->qpos[i + 1]));
    for (int i = 0; i < 6; ++i) ASSERT_EQ(obs[5 + i], static_cast<float>(std::clamp(d->qvel[i], -10.0, 10.0)));
    terminated = result->terminated;
    ASSERT_EQ(terminated, !Healthy(d)) << "step " << step;
  }
  // Flailing like this topples the hopper well within 300 steps.
  EXPECT_TRUE(terminated);
}

TEST(HopperTest, ObservedVelocitiesAreClippedToTen) {
  auto env = Make(0, 1);
  std::vector<float> obs(11);
  env->Reset(obs.data());
  const mjModel* m = env->model();
  std::vector<double> qpos(m->qpos0, m->qpos0 + m->nq), qvel(m->nv, 0.0);
  qvel[0] = 50;
  qvel[3] = -30;
  env->SetState(qpos.data(), qvel.data());
  obs = Observation(*env);
  EXPECT_EQ(obs[5], 10.0f);
  EXPECT_EQ(obs[8], -10.0f);
}

TEST(HopperTest, TerminatesWhenTheTorsoTiltsPastPointTwoRadians) {
  auto env = Make(0, 1);
  std::vector<float> obs(11);
  env->Reset(obs.data());
  const mjModel* m = env->model();
  std::vector<double> qpos(m->qpos0, m->qpos0 + m->nq), qvel(m->nv, 0.0);
  qpos[2] = 0.25;
  env->SetState(qpos.data(), qvel.data());
  const std::vector<float> zero(3, 0.0f);
  absl::StatusOr<StepResult> result = env->Step(zero.data(), obs.data());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->terminated);
  EXPECT_FALSE(result->truncated);
  EXPECT_EQ(env->Step(zero.data(), obs.data()).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(HopperTest, TerminatesWhenAStateEntryLeavesMinusOneHundredToOneHundred) {
  auto env = Make(0, 1);
  std::vector<float> obs(11);
  env->Reset(obs.data());
  const mjModel* m = env->model();
  std::vector<double> qpos(m->qpos0, m->qpos0 + m->nq), qvel(m->nv, 0.0);
  // qvel[0] (forward speed, in the air: no friction to slow it) is part of
  // the checked state_vector()[2:].
  qvel[0] = 150;
  env->SetState(qpos.data(), qvel.data());
  const std::vector<float> zero(3, 0.0f);
  absl::StatusOr<StepResult> result = env->Step(zero.data(), obs.data());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->terminated);
}

TEST(HopperTest, TruncatesAtTheConfiguredLimitWhileHealthy) {
  auto env = Make(/*max_episode_steps=*/5, 1);
  std::vector<float> obs(11);
  env->Reset(obs.data());
  const std::vector<float> zero(3, 0.0f);
  for (int step = 1; step <= 5; ++step) {
    absl::StatusOr<StepResult> result = env->Step(zero.data(), obs.data());
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_FALSE(result->terminated);
    EXPECT_EQ(result->truncated, step == 5);
  }
}

TEST(HopperTest, NonFiniteActionsAreRefusedAndChangeNothing) { ExpectNonFiniteActionsRefused(Make); }

TEST(HopperTest, EqualSeedsGiveEqualEpisodes) { ExpectEqualSeedsGiveEqualEpisodes(Make); }

TEST(HopperTest, ResetNoiseIsUniformOnQposAndQvel) { ExpectResetNoise(Make, 5e-3, /*normal_velocity=*/false); }

}  // namespace
}  // namespace rill::envs
