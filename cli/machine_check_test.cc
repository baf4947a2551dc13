// CheckMachineHoldsTheRun against machines of given figures.
#include "cli/machine_check.h"

#include <string>

#include "experiment/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::cli {
namespace {

using ::testing::HasSubstr;

v1::ExperimentConfig Config(const std::string& topology) {
  absl::StatusOr<v1::ExperimentConfig> config = experiment::ParseExperimentConfig(R"(
    env { name: "Pendulum-v1" }
    replay { tables { name: "transitions" max_size: 1000 } }
    learner { sac { } }
  )" + topology);
  EXPECT_TRUE(config.ok()) << config.status();
  return *config;
}

MachineFigures Roomy() { return {int64_t{64} << 30, 100000, 28000}; }

TEST(MachineCheckTest, ASmallRunFits) {
  EXPECT_TRUE(CheckMachineHoldsTheRun(Config("topology { num_actors: 4 }"), Roomy()).ok());
}

TEST(MachineCheckTest, TooManyActorsForTheMemoryNameTheActors) {
  MachineFigures small = Roomy();
  small.memory_bytes = int64_t{1} << 30;  // 1 GiB: 40 actors of 32 MiB do not fit
  const absl::Status status = CheckMachineHoldsTheRun(Config("topology { num_actors: 40 }"), small);
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("topology.num_actors"));
  EXPECT_THAT(status.message(), HasSubstr("this machine has 1.0 GiB"));
}

TEST(MachineCheckTest, ThreadsBeyondHalfTheProcessLimitAreRefused) {
  MachineFigures few = Roomy();
  few.process_limit = 200;  // half of it, 100, holds 6 children of 16 threads
  const absl::Status status = CheckMachineHoldsTheRun(Config("topology { num_actors: 8 }"), few);
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("ulimit -u"));
}

TEST(MachineCheckTest, PortsBeyondHalfTheEphemeralRangeAreRefused) {
  MachineFigures ports = Roomy();
  ports.ephemeral_ports = 20;  // half of it binds 5 children's two ports
  const absl::Status status = CheckMachineHoldsTheRun(Config("topology { num_actors: 4 }"), ports);
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("ip_local_port_range"));
}

}  // namespace
}  // namespace rill::cli
