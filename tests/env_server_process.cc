#include "tests/env_server_process.h"

#include <stdio.h>
#include <stdlib.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/harness.h"

namespace rill::testing {
namespace {

// The runfiles root: python/, examples/ and proto/ are under it.
std::string Root() { return absl::StrCat(getenv("TEST_SRCDIR"), "/rill"); }

}  // namespace

EnvServerProcess::EnvServerProcess(const std::string& factory, int port, std::vector<std::string> flags) {
  const std::string dir = TempDir("env-server");
  log_ = dir + "/server.log";
  const std::string root = Root();
  std::vector<std::string> args = {
      absl::StrCat("PYTHONPATH=", root, "/python:", root, "/examples/python:", root, "/tests/python"),
      absl::StrCat("RILL_PROTO_CACHE=", TempDir("protos")), "/usr/bin/python3", "-m", "rill.env_server",
      "--factory=" + factory, absl::StrCat("--address=127.0.0.1:", port)};
  args.insert(args.end(), flags.begin(), flags.end());
  absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::StartProgram("env_server", "/usr/bin/env", args, log_);
  EXPECT_TRUE(child.ok()) << child.status();
  if (!child.ok()) return;
  child_ = *std::move(child);
  EXPECT_TRUE(WaitUntil([&] { return absl::StrContains(log(), "listening on ") || !child_->running(); },
                        absl::Seconds(60)))
      << log();
  const std::string text = log();
  const size_t at = text.find("listening on ");
  EXPECT_NE(at, std::string::npos) << text;
  if (at == std::string::npos) return;
  const size_t start = at + std::string("listening on ").size();
  address_ = text.substr(start, text.find('\n', start) - start);
}

EnvServerProcess::~EnvServerProcess() {
  if (child_ != nullptr) child_->Stop(absl::Seconds(5));
}

int EnvServerProcess::port() const {
  int port = 0;
  const size_t colon = address_.rfind(':');
  if (colon == std::string::npos || !absl::SimpleAtoi(address_.substr(colon + 1), &port)) return 0;
  return port;
}

std::string EnvServerProcess::log() const { return ReadFile(log_); }

std::string EnvServerProcess::EnvSection() const {
  const std::string command = absl::StrCat(RillBinary(), " envs --remote=", address_);
  FILE* pipe = popen(command.c_str(), "r");
  EXPECT_NE(pipe, nullptr) << command;
  if (pipe == nullptr) return "";
  std::string out;
  char buffer[4096];
  size_t read;
  while ((read = fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, read);
  EXPECT_EQ(pclose(pipe), 0) << command << ": " << out;
  // Without the comment line.
  const size_t body = out.find("env {");
  EXPECT_NE(body, std::string::npos) << out;
  return body == std::string::npos ? "" : out.substr(body);
}

}  // namespace rill::testing
