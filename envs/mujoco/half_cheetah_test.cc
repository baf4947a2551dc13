#include "envs/mujoco/half_cheetah.h"

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
  auto env = HalfCheetah::Create(max_episode_steps, seed);
  EXPECT_TRUE(env.ok()) << env.status();
  return std::move(env).value();
}

// Standard values: Gymnasium's half_cheetah.xml (the HalfCheetah-v4 model),
// compiled by MuJoCo 2.2.2. settotalmass="14" fixes the mass; per body
// (torso, bthigh, bshin, bfoot, fthigh, fshin, ffoot) 6.2502092, 1.5435146,
// 1.5874477, 1.0953975, 1.4380753, 1.2008368, 0.8845188 kg.
TEST(HalfCheetahTest, ModelHasTheStandardBody) {
  auto env = Make(0, 0);
  const mjModel* m = env->model();
  EXPECT_EQ(m->nq, 9);
  EXPECT_EQ(m->nv, 9);
  EXPECT_EQ(m->njnt, 9);
  EXPECT_EQ(m->nu, 6);
  EXPECT_EQ(m->nbody, 8);
  EXPECT_NEAR(TotalMass(m), 14.0, 1e-9);
  EXPECT_NEAR(m->body_mass[1], 6.250209205, 1e-8);
  EXPECT_NEAR(m->body_mass[7], 0.8845188285, 1e-8);
  EXPECT_THAT(Gears(m), ElementsAre(120, 90, 60, 120, 60, 30));
  EXPECT_DOUBLE_EQ(m->opt.timestep, 0.01);
  EXPECT_EQ(m->opt.integrator, mjINT_EULER);
  EXPECT_EQ(env->frame_skip(), 5);
  EXPECT_DOUBLE_EQ(env->dt(), 0.05);
  // bthigh: range (-0.52, 1.05) rad, stiffness 240, damping 6, armature 0.1.
  const int bthigh = mj_name2id(m, mjOBJ_JOINT, "bthigh");
  ASSERT_GE(bthigh, 0);
  EXPECT_DOUBLE_EQ(m->jnt_range[2 * bthigh], -0.52);
  EXPECT_DOUBLE_EQ(m->jnt_range[2 * bthigh + 1], 1.05);
  EXPECT_DOUBLE_EQ(m->jnt_stiffness[bthigh], 240);
  EXPECT_DOUBLE_EQ(m->dof_damping[m->jnt_dofadr[bthigh]], 6);
  EXPECT_DOUBLE_EQ(m->dof_armature[m->jnt_dofadr[bthigh]], 0.1);
  for (int i = 0; i < m->nu; ++i) {
    EXPECT_EQ(m->actuator_ctrlrange[2 * i], -1.0);
    EXPECT_EQ(m->actuator_ctrlrange[2 * i + 1], 1.0);
  }
}

TEST(HalfCheetahTest, SpecMatchesTheModel) {
  const EnvSpec spec = HalfCheetah::Spec();
  EXPECT_EQ(spec.name, "HalfCheetah-v4");
  EXPECT_THAT(spec.observation_shape, ElementsAre(17));
  EXPECT_FALSE(spec.discrete);
  EXPECT_EQ(spec.max_episode_steps, 1000);
  auto env = Make(0, 0);
  ASSERT_EQ(spec.action_dim(), env->model()->nu);
  for (int i = 0; i < spec.action_dim(); ++i) {
    EXPECT_EQ(spec.action_low[i], static_cast<float>(env->model()->actuator_ctrlrange[2 * i]));
    EXPECT_EQ(spec.action_high[i], static_cast<float>(env->model()->actuator_ctrlrange[2 * i + 1]));
  }
}

TEST(HalfCheetahTest, RolloutRewardAndObservationMatchMjData) {
  auto env = Make(0, 1);
  std::vector<float> obs(17);
  env->Reset(obs.data());
  const mjModel* m = env->model();
  std::vector<double> qpos(m->qpos0, m->qpos0 + m->nq), qvel(m->nv, 0.0);
  qpos[3] = 0.2;   // bthigh
  qpos[6] = -0.3;  // fthigh
  qvel[0] = 1.0;   // running forward
  env->SetState(qpos.data(), qvel.data());
  const mjData* d = env->data();
  for (int step = 0; step < 40; ++step) {
    const std::vector<float> action = WavyAction(6, step, 1.0);
    const double x_before = d->qpos[0];
    const double time_before = d->time;
    absl::StatusOr<StepResult> result = env->Step(action.data(), obs.data());
    ASSERT_TRUE(result.ok()) << result.status();
    // Five physics steps of 0.01 s each.
    EXPECT_NEAR(d->time - time_before, 0.05, 1e-12);
    double ctrl_cost = 0;
    for (float a : action) ctrl_cost += 0.1 * a * a;
    const double expected = (d->qpos[0] - x_before) / 0.05 - ctrl_cost;
    EXPECT_NEAR(result->reward, expected, 1e-4 * std::fmax(1.0, std::fabs(expected))) << "step " << step;
    for (int i = 0; i < 8; ++i) ASSERT_EQ(obs[i], static_cast<float>(d->qpos[i + 1])) << "step " << step;
    for (int i = 0; i < 9; ++i) ASSERT_EQ(obs[8 + i], static_cast<float>(d->qvel[i])) << "step " << step;
    for (int i = 0; i < 6; ++i) ASSERT_EQ(d->ctrl[i], static_cast<double>(action[i]));
    EXPECT_FALSE(result->terminated);
    EXPECT_FALSE(result->truncated);
  }
  // The wavy gait moved the cheetah: a rollout that did nothing cannot pass.
  EXPECT_NE(d->qpos[0], qpos[0]);
}

TEST(HalfCheetahTest, ControlCostUsesTheActionAsGivenWhilePhysicsClampsIt) {
  auto clamped = Make(0, 1);
  auto plain = Make(0, 1);
  std::vector<float> obs_clamped(17), obs_plain(17);
  clamped->Reset(obs_clamped.data());
  plain->Reset(obs_plain.data());
  const std::vector<float> big(6, 3.0f), one(6, 1.0f);
  absl::StatusOr<StepResult> r_big = clamped->Step(big.data(), obs_clamped.data());
  absl::StatusOr<StepResult> r_one = plain->Step(one.data(), obs_plain.data());
  ASSERT_TRUE(r_big.ok() && r_one.ok());
  // Same motion (ctrlrange clamps 3 to 1) ...
  EXPECT_EQ(obs_clamped, obs_plain);
  // ... but the cost is 0.1 * 6 * 9 = 5.4 against 0.1 * 6 * 1 = 0.6.
  EXPECT_NEAR(r_one->reward - r_big->reward, 5.4 - 0.6, 1e-5);
}

TEST(HalfCheetahTest, NeverTerminatesAndTruncatesAtTheTimeLimit) {
  auto env = Make(0, 2);
  std::vector<float> obs(17);
  env->Reset(obs.data());
  for (int step = 1; step <= 1000; ++step) {
    const std::vector<float> action = WavyAction(6, step, 1.0);
    absl::StatusOr<StepResult> result = env->Step(action.data(), obs.data());
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_FALSE(result->terminated) << "step " << step;
    ASSERT_EQ(result->truncated, step == 1000) << "step " << step;
  }
}

TEST(HalfCheetahTest, NonFiniteActionsAreRefusedAndChangeNothing) { ExpectNonFiniteActionsRefused(Make); }

TEST(HalfCheetahTest, EqualSeedsGiveEqualEpisodes) { ExpectEqualSeedsGiveEqualEpisodes(Make); }

TEST(HalfCheetahTest, ResetNoiseIsUniformOnQposAndNormalOnQvel) {
  ExpectResetNoise(Make, 0.1, /*normal_velocity=*/true);
}

TEST(HalfCheetahTest, EnvsShareOneCompiledModel) {
  auto a = Make(0, 1);
  auto b = Make(0, 2);
  EXPECT_EQ(a->model(), b->model());
  EXPECT_NE(a->data(), b->data());
}

}  // namespace
}  // namespace rill::envs
