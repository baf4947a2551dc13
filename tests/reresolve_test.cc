// A rescheduled pod keeps its DNS name and gets a new IP. This test gives a
// replay shard a name in a private /etc/hosts, kills it, points the name at a
// different loopback address and starts the shard there: the actor's writer
// and the learner's sampler, which only know the name, must find the new
// address on their own, promptly.
//
// The private /etc/hosts needs a mount namespace: main() re-executes the test
// under `unshare --user --map-root-user --mount` and bind-mounts a file of
// the test's over /etc/hosts inside it. The roles are children of the test,
// so they resolve through the same file.
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/harness.h"

namespace rill::testing {
namespace {

constexpr char kConfig[] = "--config=tests/configs/tiny_pendulum.textpb";
constexpr char kName[] = "replay-0.rill.test";
constexpr char kNamespaceEnv[] = "RILL_TEST_IN_NAMESPACE";

std::string HostsPath() {
  const char* root = std::getenv("TEST_TMPDIR");
  return std::string(root ? root : "/tmp") + "/hosts";
}

// Rewrites the file in place: the bind mount holds its inode, so a rename
// would leave /etc/hosts showing the old contents.
void PointNameAt(const std::string& ip) {
  std::ofstream hosts(HostsPath(), std::ios::trunc);
  hosts << "127.0.0.1 localhost\n" << ip << " " << kName << "\n";
  ASSERT_TRUE(hosts.good()) << "cannot write " << HostsPath();
}

TEST(ReresolveTest, ActorAndLearnerFollowAShardToItsNewAddress) {
  PointNameAt("127.0.0.2");
  absl::StatusOr<RoleProcess> replay = StartRole("replay", {"replay", kConfig, "--host=127.0.0.2"});
  ASSERT_TRUE(replay.ok()) << replay.status();
  const int port = replay->grpc_port;
  const std::string by_name = absl::StrCat("--replay_address=", kName, ":", port);
  absl::StatusOr<RoleProcess> learner = StartRole("learner", {"learner", kConfig, by_name});
  ASSERT_TRUE(learner.ok()) << learner.status();
  absl::StatusOr<RoleProcess> actor = StartRole(
      "actor", {"actor", kConfig, "--actor_id=0", by_name, "--learner_address=" + learner->address()});
  ASSERT_TRUE(actor.ok()) << actor.status();
  ASSERT_TRUE(WaitUntil([&] { return SumMetric(learner->Metrics(), "rill_learner_updates_total") >= 50; },
                        absl::Seconds(90)))
      << learner->process->LogTail(20);

  // The pod is rescheduled: gone without a goodbye, back on another address.
  replay->process->Signal(SIGKILL);
  ASSERT_TRUE(replay->process->WaitExit(absl::Seconds(10)).has_value());
  PointNameAt("127.0.0.3");
  const double updates_before = SumMetric(learner->Metrics(), "rill_learner_updates_total");
  const absl::Time restarted = absl::Now();
  absl::StatusOr<RoleProcess> moved = StartRole("replay", {"replay", kConfig, "--host=127.0.0.3"}, "", port);
  ASSERT_TRUE(moved.ok()) << moved.status();

  // gRPC's own default spaces DNS resolutions 30 s apart; Rill's channels
  // ask again after 1 s, so both clients are back within a few seconds.
  EXPECT_TRUE(WaitUntil([&] { return SumMetric(moved->Metrics(), "rill_replay_items_inserted_total") >= 300; },
                        absl::Seconds(15)))
      << "the actor did not find the shard at its new address; actor log:\n"
      << actor->process->LogTail(20);
  EXPECT_TRUE(WaitUntil([&] { return SumMetric(learner->Metrics(), "rill_learner_updates_total") > updates_before + 20; },
                        absl::Seconds(15)))
      << "the learner did not sample from the shard at its new address; learner log:\n"
      << learner->process->LogTail(20);
  EXPECT_GT(SumMetric(moved->Metrics(), "rill_replay_items_sampled_total"), 0);
  std::cerr << "both clients back " << absl::FormatDuration(absl::Now() - restarted) << " after the shard moved\n";
}

}  // namespace
}  // namespace rill::testing

// Outside the namespace: re-execute this binary inside a fresh user and
// mount namespace. Inside: bind-mount the test's hosts file over /etc/hosts,
// then run the tests.
int main(int argc, char** argv) {
  if (std::getenv(rill::testing::kNamespaceEnv) == nullptr) {
    char self[4096];
    const ssize_t length = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (length <= 0) {
      std::cerr << "cannot read /proc/self/exe: " << std::strerror(errno) << "\n";
      return 1;
    }
    self[length] = '\0';
    setenv(rill::testing::kNamespaceEnv, "1", 1);
    std::vector<char*> args = {const_cast<char*>("/usr/bin/unshare"), const_cast<char*>("--user"),
                               const_cast<char*>("--map-root-user"), const_cast<char*>("--mount"), self};
    for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
    args.push_back(nullptr);
    execv(args[0], args.data());
    std::cerr << "cannot run /usr/bin/unshare (util-linux): " << std::strerror(errno) << "\n";
    return 1;
  }
  const std::string hosts = rill::testing::HostsPath();
  std::ofstream(hosts) << "127.0.0.1 localhost\n";
  if (mount(hosts.c_str(), "/etc/hosts", nullptr, MS_BIND, nullptr) != 0) {
    std::cerr << "cannot bind-mount " << hosts << " over /etc/hosts: " << std::strerror(errno) << "\n";
    return 1;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
