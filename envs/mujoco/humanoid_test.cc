#include "envs/mujoco/humanoid.h"

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
  auto env = Humanoid::Create(max_episode_steps, seed);
  EXPECT_TRUE(env.ok()) << env.status();
  return std::move(env).value();
}

// Standard values: Gymnasium's humanoid.xml (the Humanoid-v4 model),
// compiled by MuJoCo 2.2.2: total 42.1160305 kg; torso 8.9074624 kg,
// pelvis 6.6161941 kg, each thigh 4.7517509 kg.
TEST(HumanoidTest, ModelHasTheStandardBody) {
  auto env = Make(0, 0);
  const mjModel* m = env->model();
  EXPECT_EQ(m->nq, 24);
  EXPECT_EQ(m->nv, 23);
  EXPECT_EQ(m->njnt, 18);
  EXPECT_EQ(m->nu, 17);
  EXPECT_EQ(m->nbody, 14);
  EXPECT_EQ(m->ntendon, 2);
  EXPECT_NEAR(TotalMass(m), 42.1160304921, 1e-8);
  EXPECT_NEAR(m->body_mass[1], 8.90746237, 1e-7);
  EXPECT_NEAR(m->body_mass[3], 6.616194128, 1e-8);
  EXPECT_THAT(Gears(m), ElementsAre(100, 100, 100, 100, 100, 300, 200, 100, 100, 300, 200, 25, 25, 25, 25, 25, 25));
  EXPECT_DOUBLE_EQ(m->opt.timestep, 0.003);
  EXPECT_EQ(m->opt.integrator, mjINT_RK4);
  EXPECT_EQ(m->opt.solver, mjSOL_PGS);
  EXPECT_EQ(m->opt.iterations, 50);
  EXPECT_EQ(env->frame_skip(), 5);
  EXPECT_DOUBLE_EQ(env->dt(), 0.015);
  EXPECT_DOUBLE_EQ(m->qpos0[2], 1.4);
  for (int i = 0; i < m->nu; ++i) {
    EXPECT_DOUBLE_EQ(m->actuator_ctrlrange[2 * i], -0.4);
    EXPECT_DOUBLE_EQ(m->actuator_ctrlrange[2 * i + 1], 0.4);
  }
  const int hip_y = mj_name2id(m, mjOBJ_JOINT, "right_hip_y");
  EXPECT_EQ(m->jnt_stiffness[hip_y], 20);
  EXPECT_EQ(m->dof_damping[m->jnt_dofadr[hip_y]], 5);
  EXPECT_EQ(m->dof_armature[m->jnt_dofadr[hip_y]], 0.008);
}

TEST(HumanoidTest, SpecMatchesTheModel) {
  const EnvSpec spec = Humanoid::Spec();
  EXPECT_EQ(spec.name, "Humanoid-v4");
  EXPECT_THAT(spec.observation_shape, ElementsAre(376));
  EXPECT_EQ(spec.action_dim(), 17);
  EXPECT_EQ(spec.action_low[0], -0.4f);
  EXPECT_EQ(spec.action_high[16], 0.4f);
  EXPECT_EQ(spec.max_episode_steps, 1000);
}

// The centre of mass's x: body masses weighting the bodies' xipos.
double CenterOfMassX(const mjModel* m, const mjData* d) {
  double weighted = 0, mass = 0;
  for (int b = 0; b < m->nbody; ++b) {
    weighted += m->body_mass[b] * d->xipos[3 * b];
    mass += m->body_mass[b];
  }
  return weighted / mass;
}

TEST(HumanoidTest, RolloutRewardObservationAndTerminationMatchMjData) {
  auto env = Make(0, 1);
  std::vector<float> obs(376);
  env->Reset(obs.data());
  const mjModel* m = env->model();
  const mjData* d = env->data();
  bool terminated = false;
  bool saw_contact_force = false;
  for (int step = 0; step < 200 && !terminated; ++step) {
    const std::vector<float> action = WavyAction(17, step, 0.4);
    const double x_before = CenterOfMassX(m, d);
    absl::StatusOr<StepResult> result = env->Step(action.data(), obs.data());
    ASSERT_TRUE(result.ok()) << result.status();
    double ctrl_cost = 0;
    for (int i = 0; i < 17; ++i) ctrl_cost += 0.1 * d->ctrl[i] * d->ctrl[i];
    const double expected = 1.25 * (CenterOfMassX(m, d) - x_before) / 0.015 + 5.0 - ctrl_cost;
    EXPECT_NEAR(result->reward, expected, 1e-4 * std::fmax(1.0, std::fabs(expected))) << "step " << step;
    // qpos[2:] 22, qvel 23, cinert 140, cvel 84, qfrc_actuator 23, cfrc_ext 84.
    int k = 0;
    for (int i = 2; i < 24; ++i) ASSERT_EQ(obs[k++], static_cast<float>(d->qpos[i]));
    for (int i = 0; i < 23; ++i) ASSERT_EQ(obs[k++], static_cast<float>(d->qvel[i]));
    for (int i = 0; i < 140; ++i) ASSERT_EQ(obs[k++], static_cast<float>(d->cinert[i]));
    for (int i = 0; i < 84; ++i) ASSERT_EQ(obs[k++], static_cast<float>(d->cvel[i]));
    for (int i = 0; i < 23; ++i) ASSERT_EQ(obs[k++], static_cast<float>(d->qfrc_actuator[i]));
    for (int i = 0; i < 84; ++i) {
      ASSERT_EQ(obs[k], static_cast<float>(d->cfrc_ext[i]));
      saw_contact_force |= obs[k++] != 0.0f;
    }
    ASSERT_EQ(k, 376);
    terminated = result->terminated;
    const double z = d->qpos[2];
    ASSERT_EQ(terminated, !(1.0 < z && z < 2.0)) << "step " << step;
  }
  // The feet touch the floor: cfrc_ext carries forces (mj_rnePostConstraint
  // ran), and the flailing humanoid falls.
  EXPECT_TRUE(saw_contact_force);
  EXPECT_TRUE(terminated);
}

TEST(HumanoidTest, NonFiniteActionsAreRefusedAndChangeNothing) { ExpectNonFiniteActionsRefused(Make); }

TEST(HumanoidTest, EqualSeedsGiveEqualEpisodes) { ExpectEqualSeedsGiveEqualEpisodes(Make); }

TEST(HumanoidTest, ResetNoiseIsUniformOnQposAndQvel) { ExpectResetNoise(Make, 1e-2, /*normal_velocity=*/false); }

}  // namespace
}  // namespace rill::envs
