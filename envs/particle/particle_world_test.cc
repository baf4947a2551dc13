#include "envs/particle/particle_world.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "envs/render/canvas.h"
#include "gtest/gtest.h"

namespace rill::envs::particle {
namespace {

constexpr double kTol = 1e-9;

Entity Agent(Vec2 position, Vec2 velocity = {0, 0}) {
  Entity agent;
  agent.position = position;
  agent.velocity = velocity;
  agent.size = 0.15;
  agent.movable = true;
  agent.collide = true;
  return agent;
}

Entity Landmark(Vec2 position, bool collide) {
  Entity landmark;
  landmark.position = position;
  landmark.size = 0.05;
  landmark.collide = collide;
  landmark.movable = false;
  return landmark;
}

TEST(ParticleWorldTest, ControlForceAcceleratesAFreeAgentByHand) {
  Entity agent = Agent({0.1, 0.3}, {0.2, -0.4});
  agent.mass = 2.0;
  ParticleWorld world({agent}, {});
  ASSERT_TRUE(world.Step({{1.0, 0.5}}).ok());

  // F = u * 5 = (5, 2.5)
  // v = (0.2, -0.4) * 0.75 + F / 2 * 0.1 = (0.15, -0.3) + (0.25, 0.125) = (0.4, -0.175)
  // p = (0.1, 0.3) + v * 0.1 = (0.14, 0.2825)
  EXPECT_NEAR(world.agent(0).velocity[0], 0.4, kTol);
  EXPECT_NEAR(world.agent(0).velocity[1], -0.175, kTol);
  EXPECT_NEAR(world.agent(0).position[0], 0.14, kTol);
  EXPECT_NEAR(world.agent(0).position[1], 0.2825, kTol);
}

TEST(ParticleWorldTest, DampingAloneSlowsAnAgentByAQuarterEachStep) {
  ParticleWorld world({Agent({0, 0}, {1.0, -2.0})}, {});
  ASSERT_TRUE(world.Step({{0, 0}}).ok());
  // v = (1, -2) * 0.75 = (0.75, -1.5); p = v * 0.1 = (0.075, -0.15)
  EXPECT_NEAR(world.agent(0).velocity[0], 0.75, kTol);
  EXPECT_NEAR(world.agent(0).velocity[1], -1.5, kTol);
  EXPECT_NEAR(world.agent(0).position[0], 0.075, kTol);
  EXPECT_NEAR(world.agent(0).position[1], -0.15, kTol);

  ASSERT_TRUE(world.Step({{0, 0}}).ok());
  // v = (0.5625, -1.125); p = (0.075 + 0.05625, -0.15 - 0.1125)
  EXPECT_NEAR(world.agent(0).velocity[0], 0.5625, kTol);
  EXPECT_NEAR(world.agent(0).position[0], 0.13125, kTol);
  EXPECT_NEAR(world.agent(0).position[1], -0.2625, kTol);
}

TEST(ParticleWorldTest, OverlappingAgentsArePushedApartSymmetrically) {
  ParticleWorld world({Agent({-0.1, 0}), Agent({0.1, 0})}, {});
  ASSERT_TRUE(world.Step({{0, 0}, {0, 0}}).ok());

  // dist = 0.2, dist_min = 0.3: penetration = 0.001 * softplus(100) = 0.1
  // (softplus(100) = 100 + log1p(e^-100) = 100 to double precision).
  // f on agent 0 = 100 * (-1, 0) * 0.1 = (-10, 0); on agent 1 (+10, 0).
  // v = f * 0.1 = (-+1, 0); p = (-0.1 -+ 0.1, 0).
  EXPECT_NEAR(world.agent(0).velocity[0], -1.0, kTol);
  EXPECT_NEAR(world.agent(1).velocity[0], 1.0, kTol);
  EXPECT_NEAR(world.agent(0).velocity[1], 0.0, kTol);
  EXPECT_NEAR(world.agent(1).velocity[1], 0.0, kTol);
  EXPECT_NEAR(world.agent(0).position[0], -0.2, kTol);
  EXPECT_NEAR(world.agent(1).position[0], 0.2, kTol);
}

TEST(ParticleWorldTest, TouchingAgentsFeelTheSoftplusForceLogTwoTimesTheMargin) {
  // Along a diagonal, so both components count: dist = 0.3 = dist_min.
  const double s = 0.3 / std::sqrt(2.0);
  ParticleWorld world({Agent({0, 0}), Agent({s, s})}, {});
  ASSERT_TRUE(world.Step({{0, 0}, {0, 0}}).ok());

  // penetration = 0.001 * log(2) = 6.931471806e-4; |f| = 100 * that = 0.0693147181
  // v of agent 0 = -|f| * 0.1 * (1, 1) / sqrt(2) = -0.0049012907 each.
  EXPECT_NEAR(world.agent(0).velocity[0], -0.0049012907, 1e-9);
  EXPECT_NEAR(world.agent(0).velocity[1], -0.0049012907, 1e-9);
  EXPECT_NEAR(world.agent(1).velocity[0], 0.0049012907, 1e-9);
  EXPECT_NEAR(world.agent(1).velocity[1], 0.0049012907, 1e-9);
}

TEST(ParticleWorldTest, DeepOverlapGivesAFiniteForceLinearInTheOverlap) {
  // exp(1900) overflows a double: the softplus must not.
  Entity a = Agent({0, 0});
  Entity b = Agent({0.1, 0});
  a.size = b.size = 1.0;
  ParticleWorld world({a, b}, {});
  ASSERT_TRUE(world.Step({{0, 0}, {0, 0}}).ok());

  // penetration = 0.001 * softplus(1900) = 1.9; |f| = 190; v = 19.
  EXPECT_NEAR(world.agent(0).velocity[0], -19.0, 1e-9);
  EXPECT_NEAR(world.agent(1).velocity[0], 19.0, 1e-9);
}

TEST(ParticleWorldTest, AgentsAtTheSamePointExertNoForce) {
  ParticleWorld world({Agent({0.2, 0.2}), Agent({0.2, 0.2})}, {});
  ASSERT_TRUE(world.Step({{0, 0}, {0, 0}}).ok());
  for (int k = 0; k < 2; ++k) {
    EXPECT_EQ(world.agent(k).velocity[0], 0.0);
    EXPECT_EQ(world.agent(k).velocity[1], 0.0);
    EXPECT_EQ(world.agent(k).position[0], 0.2);
  }
}

TEST(ParticleWorldTest, NonCollidingLandmarkExertsNothingOnAnAgentOverIt) {
  ParticleWorld world({Agent({0.0, 0.0})}, {Landmark({0.05, 0.0}, /*collide=*/false)});
  ASSERT_TRUE(world.Step({{0, 0}}).ok());
  EXPECT_EQ(world.agent(0).velocity[0], 0.0);
  EXPECT_EQ(world.agent(0).position[0], 0.0);
  EXPECT_EQ(world.landmark(0).position[0], 0.05);
}

TEST(ParticleWorldTest, CollidingLandmarkPushesTheAgentButDoesNotMove) {
  // dist = 0.1, dist_min = 0.2: penetration = 0.1, f on agent = (-10, 0).
  ParticleWorld world({Agent({0.0, 0.0})}, {Landmark({0.1, 0.0}, /*collide=*/true)});
  ASSERT_TRUE(world.Step({{0, 0}}).ok());
  EXPECT_NEAR(world.agent(0).velocity[0], -1.0, kTol);
  EXPECT_NEAR(world.agent(0).position[0], -0.1, kTol);
  EXPECT_EQ(world.landmark(0).position[0], 0.1);
  EXPECT_EQ(world.landmark(0).velocity[0], 0.0);
}

TEST(ParticleWorldTest, ImmovableAgentIgnoresItsControl) {
  Entity agent = Agent({0.3, 0.4});
  agent.movable = false;
  ParticleWorld world({agent}, {});
  ASSERT_TRUE(world.Step({{1, 1}}).ok());
  EXPECT_EQ(world.agent(0).position[0], 0.3);
  EXPECT_EQ(world.agent(0).position[1], 0.4);
}

TEST(ParticleWorldTest, SpeedAboveMaxSpeedIsScaledBackAlongItsDirection) {
  Entity agent = Agent({0, 0});
  agent.max_speed = 0.3;
  ParticleWorld world({agent}, {});
  ASSERT_TRUE(world.Step({{1, 1}}).ok());
  // v would be (0.5, 0.5), speed 0.7071 > 0.3: v = 0.3 * (1, 1) / sqrt(2) = (0.2121320344, 0.2121320344)
  // p = v * 0.1
  EXPECT_NEAR(world.agent(0).velocity[0], 0.2121320344, 1e-9);
  EXPECT_NEAR(world.agent(0).velocity[1], 0.2121320344, 1e-9);
  EXPECT_NEAR(world.agent(0).position[0], 0.02121320344, 1e-9);
}

TEST(ParticleWorldTest, SpeedBelowMaxSpeedIsLeftAlone) {
  Entity agent = Agent({0, 0});
  agent.max_speed = 1.0;
  ParticleWorld world({agent}, {});
  ASSERT_TRUE(world.Step({{1, 0}}).ok());
  EXPECT_NEAR(world.agent(0).velocity[0], 0.5, kTol);
}

TEST(ParticleWorldTest, WrongNumberOfControlsIsInvalidArgumentAndChangesNothing) {
  ParticleWorld world({Agent({0, 0}, {1, 0}), Agent({1, 1})}, {});
  EXPECT_EQ(world.Step({{1, 0}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(world.agent(0).velocity[0], 1.0);
  EXPECT_EQ(world.agent(0).position[0], 0.0);
}

TEST(ParticleWorldTest, CollidingMeansCentresNearerThanTheSumOfRadii) {
  const Entity a = Agent({0, 0});
  EXPECT_TRUE(Colliding(a, Agent({0.29, 0})));
  EXPECT_FALSE(Colliding(a, Agent({0.3, 0})));
  EXPECT_FALSE(Colliding(a, Agent({0.2, 0.3})));
  EXPECT_TRUE(Colliding(a, Landmark({0.19, 0}, /*collide=*/false)));
  EXPECT_NEAR(Distance(a, Agent({0.3, 0.4})), 0.5, kTol);
}

TEST(ParticleWorldTest, DrawPaintsEachEntityInItsColourOnWhite) {
  // 30x30 pixels over [-1.5, 1.5]^2: 10 pixels a unit; pixel (col, row) has
  // its centre at world (-1.45 + 0.1 col, 1.45 - 0.1 row).
  Entity agent = Agent({0.5, -0.5});
  agent.colour = {10, 20, 200};
  Entity landmark = Landmark({-0.95, 0.95}, /*collide=*/false);
  landmark.colour = {60, 60, 60};
  ParticleWorld world({agent}, {landmark});
  std::vector<uint8_t> rgb(30 * 30 * 3, 0);
  render::Canvas canvas(30, 30, rgb.data());
  world.Draw(canvas);

  auto pixel = [&](int col, int row) {
    const uint8_t* p = &rgb[(row * 30 + col) * 3];
    return std::vector<int>{p[0], p[1], p[2]};
  };
  // The agent's centre (0.5, -0.5) lies in pixel (20, 20)'s square; its
  // centre (0.55, -0.55) is 0.07 from the agent's, inside radius 0.15.
  EXPECT_EQ(pixel(20, 20), (std::vector<int>{10, 20, 200}));
  // The landmark sits on pixel (5, 5)'s centre (-0.95, 0.95).
  EXPECT_EQ(pixel(5, 5), (std::vector<int>{60, 60, 60}));
  EXPECT_EQ(pixel(0, 29), (std::vector<int>{255, 255, 255}));
  EXPECT_EQ(pixel(29, 0), (std::vector<int>{255, 255, 255}));
}

}  // namespace
}  // namespace rill::envs::particle
