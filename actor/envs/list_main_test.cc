#include "actor/envs/list_main.h"

#include "actor/envs/registry.h"
#include "gtest/gtest.h"

namespace rill::actor {
namespace {

TEST(DescribeActionSpaceTest, NamesDiscreteAndBoxSpacesAsGymnasiumPrintsThem) {
  EXPECT_EQ(DescribeActionSpace(LookupEnvSpec("Acrobot-v1").value()), "Discrete(3)");
  EXPECT_EQ(DescribeActionSpace(LookupEnvSpec("HalfCheetah-v4").value()), "Box(-1, 1, (6,))");
  EXPECT_EQ(DescribeActionSpace(LookupEnvSpec("Humanoid-v4").value()), "Box(-0.4, 0.4, (17,))");
  EnvSpec mixed;
  mixed.action_low = {-1, 0};
  mixed.action_high = {1, 2};
  EXPECT_EQ(DescribeActionSpace(mixed), "Box([-1, 0], [1, 2])");
}

}  // namespace
}  // namespace rill::actor
