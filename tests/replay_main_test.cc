// Runs rill-replay (what `rill replay` execs) as a child process: the launcher's view of a shard.
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "common/grpc_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/replay.grpc.pb.h"

namespace rill::roles {
namespace {

using ::testing::HasSubstr;

constexpr absl::Duration kTimeout = absl::Seconds(30);

std::string BinaryPath() { return absl::StrCat(std::getenv("TEST_SRCDIR"), "/rill/rill-replay"); }

std::string WriteFile(const std::string& name, const std::string& text) {
  const std::string path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
  std::ofstream(path) << text;
  return path;
}

// Reads `fd` until EOF or `timeout`.
std::string ReadAll(int fd, absl::Duration timeout) {
  std::string text;
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()))) <= 0) break;
    char buffer[4096];
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n <= 0) break;
    text.append(buffer, n);
  }
  return text;
}

// A child process running rill-replay with `args`; stderr and the ready
// line come back through pipes.
class Child {
 public:
  explicit Child(const std::vector<std::string>& args) {
    int err[2], ready[2];
    EXPECT_EQ(pipe(err), 0);
    EXPECT_EQ(pipe(ready), 0);
    std::vector<std::string> argv = {BinaryPath(), absl::StrCat("--ready_fd=", ready[1])};
    argv.insert(argv.end(), args.begin(), args.end());
    pid_ = fork();
    if (pid_ == 0) {
      dup2(err[1], STDERR_FILENO);
      close(err[0]);
      close(ready[0]);
      std::vector<char*> cargv;
      for (std::string& a : argv) cargv.push_back(a.data());
      cargv.push_back(nullptr);
      execv(cargv[0], cargv.data());
      _exit(127);
    }
    close(err[1]);
    close(ready[1]);
    stderr_fd_ = err[0];
    ready_fd_ = ready[0];
    waiter_ = std::thread([this] {
      int status = 0;
      waitpid(pid_, &status, 0);
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      exited_.Notify();
    });
  }

  ~Child() {
    if (!exited_.HasBeenNotified()) kill(pid_, SIGKILL);
    waiter_.join();
    close(stderr_fd_);
    close(ready_fd_);
  }

  // The exit code, or -1 if the child still runs after `timeout`.
  int WaitForExit(absl::Duration timeout) {
    return exited_.WaitForNotificationWithTimeout(timeout) ? exit_code_ : -1;
  }

  std::string ReadyLine() { return ReadAll(ready_fd_, kTimeout); }
  std::string Stderr() { return ReadAll(stderr_fd_, kTimeout); }
  void Signal(int signal) { kill(pid_, signal); }

 private:
  pid_t pid_ = -1;
  int stderr_fd_ = -1;
  int ready_fd_ = -1;
  int exit_code_ = -1;
  absl::Notification exited_;
  std::thread waiter_;
};

// "ready grpc_port=1 metrics_port=2\n" -> the value of `key`.
int PortFrom(const std::string& line, const std::string& key) {
  for (absl::string_view field : absl::StrSplit(absl::StripAsciiWhitespace(line), ' ')) {
    std::vector<std::string> kv = absl::StrSplit(field, '=');
    int port = 0;
    if (kv.size() == 2 && kv[0] == key && absl::SimpleAtoi(kv[1], &port)) return port;
  }
  return -1;
}

std::string HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  const std::string request = absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
  if (write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    close(fd);
    return "";
  }
  std::string response = ReadAll(fd, kTimeout);
  close(fd);
  return response;
}

constexpr char kConfig[] = R"pb(
  name: "replay_main_test"
  env { name: "Pendulum-v1" }
  replay {
    tables {
      name: "transitions"
      max_size: 1000
      rate_limiter { min_size_to_sample: 10 }
    }
  }
)pb";

TEST(ReplayMainTest, BadConfigExitsWithCode2AndSaysWhy) {
  const std::string path = WriteFile("bad.textpb", "replay { tables { name: \"t\" max_size: -1 } }\nenv { name: \"Pendulum-v1\" }\n");
  Child child({absl::StrCat("--config=", path), "--port=0", "--metrics_port=-1"});
  EXPECT_EQ(child.WaitForExit(kTimeout), 2);
  const std::string err = child.Stderr();
  EXPECT_THAT(err, HasSubstr("bad experiment config"));
  EXPECT_THAT(err, HasSubstr("max_size"));
}

TEST(ReplayMainTest, MissingConfigExitsWithCode2) {
  Child child({"--config=/nonexistent/config.textpb", "--metrics_port=-1"});
  EXPECT_EQ(child.WaitForExit(kTimeout), 2);
  EXPECT_THAT(child.Stderr(), HasSubstr("/nonexistent/config.textpb"));
}

TEST(ReplayMainTest, AnnouncesPortsServesTablesAndMetricsAndStopsOnSigterm) {
  const std::string path = WriteFile("good.textpb", kConfig);
  Child child({absl::StrCat("--config=", path), "--host=127.0.0.1", "--port=0", "--metrics_port=0",
               "--shard_index=2"});
  const std::string ready = child.ReadyLine();
  ASSERT_THAT(ready, HasSubstr("ready grpc_port="));
  const int grpc_port = PortFrom(ready, "grpc_port");
  const int metrics_port = PortFrom(ready, "metrics_port");
  ASSERT_GT(grpc_port, 0) << ready;
  ASSERT_GT(metrics_port, 0) << ready;

  auto channel = MakeChannel(absl::StrCat("127.0.0.1:", grpc_port), 64 << 20);
  EXPECT_TRUE(CheckHealth(*channel, kTimeout).ok());
  auto stub = v1::ReplayService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(kTimeout));
  v1::InfoResponse info;
  ASSERT_TRUE(stub->Info(&context, v1::InfoRequest(), &info).ok());
  EXPECT_EQ(info.shard(), 2);
  ASSERT_EQ(info.tables_size(), 1);
  EXPECT_EQ(info.tables(0).name(), "transitions");
  EXPECT_EQ(info.tables(0).max_size(), 1000);
  EXPECT_EQ(info.tables(0).signature().columns_size(), 5) << "derived from the environment";

  EXPECT_THAT(HttpGet(metrics_port, "/metrics"), HasSubstr("rill_replay_table_size{table=\"transitions\"} 0"));

  child.Signal(SIGTERM);
  EXPECT_EQ(child.WaitForExit(kTimeout), 0);
  const std::string err = child.Stderr();
  EXPECT_THAT(err, HasSubstr("stopped"));
}

}  // namespace
}  // namespace rill::roles
