// `rill replay info` against a real shard process: it shows the tables'
// fill and why sampling waits, and names the address of a shard it cannot reach.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/grpc_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/replay.grpc.pb.h"
#include "tests/harness.h"

namespace rill::testing {
namespace {

using ::testing::HasSubstr;

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

// Runs `rill args...` to completion (60 s at most), stdout and stderr together.
CommandResult RunRill(const std::string& name, const std::vector<std::string>& args) {
  const std::string log = TempDir("cmd-" + name) + "/out.log";
  absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Start(name, RillBinary(), args, log);
  EXPECT_TRUE(child.ok()) << child.status();
  CommandResult result;
  if (!child.ok()) return result;
  std::optional<int> status = (*child)->WaitExit(absl::Seconds(60));
  EXPECT_TRUE(status.has_value()) << name << " did not finish";
  if (status.has_value() && WIFEXITED(*status)) result.exit_code = WEXITSTATUS(*status);
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  result.output = text.str();
  return result;
}

TEST(ReplayInfoTest, ShowsFillAndWhySamplingWaits) {
  absl::StatusOr<RoleProcess> shard = StartRole("replay", {"replay", "--config=tests/configs/tiny_pendulum.textpb"});
  ASSERT_TRUE(shard.ok()) << shard.status();
  {
    auto stub = v1::ReplayService::NewStub(MakeChannel(shard->address(), 1 << 20));
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(30)));
    auto stream = stub->Insert(&context);
    ASSERT_TRUE(stream->Write(FiveTransitions()));
    v1::InsertResponse response;
    ASSERT_TRUE(stream->Read(&response));
    EXPECT_EQ(response.keys_size(), 5);
    stream->WritesDone();
    ASSERT_TRUE(stream->Finish().ok());
  }
  CommandResult info = RunRill("info", {"replay", "info", "--address=" + shard->address()});
  EXPECT_EQ(info.exit_code, 0) << info.output;
  EXPECT_THAT(info.output, HasSubstr(absl::StrCat("replay shard 0 at ", shard->address(), ": 1 table")));
  EXPECT_THAT(info.output, HasSubstr("table 'transitions' (uniform): 5 of 100000 items"));
  EXPECT_THAT(info.output, HasSubstr("5 inserted, 0 sampled, 0 evicted"));
  EXPECT_THAT(info.output, HasSubstr("min_size_to_sample 200, samples_per_insert 32, error_buffer 3200"));
  EXPECT_THAT(info.output, HasSubstr("inserts: free"));
  EXPECT_THAT(info.output, HasSubstr("samples: BLOCKED"));
  EXPECT_THAT(info.output, HasSubstr("why: sample blocked: the table holds 5 items, fewer than min_size_to_sample 200"));
}

// A loopback port with nothing listening: bound, read back, closed.
int ClosedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  close(fd);
  return ntohs(address.sin_port);
}

TEST(ReplayInfoTest, AnUnreachableShardIsNamedWithExitCode1) {
  const std::string address = absl::StrCat("127.0.0.1:", ClosedPort());
  CommandResult info = RunRill("unreachable", {"replay", "info", "--address=" + address, "--info_timeout=1s"});
  EXPECT_EQ(info.exit_code, 1) << info.output;
  EXPECT_THAT(info.output, HasSubstr(absl::StrCat("cannot get Info from the replay shard at ", address)));
}

TEST(ReplayInfoTest, MissingAddressIsABadFlag) {
  CommandResult info = RunRill("no-address", {"replay", "info"});
  EXPECT_EQ(info.exit_code, 2) << info.output;
  EXPECT_THAT(info.output, HasSubstr("--address=HOST:PORT"));
}

}  // namespace
}  // namespace rill::testing
