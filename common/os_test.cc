#include "common/os.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace rill {
namespace {

std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(SelfBinaryTest, NamesThisTestsExecutable) {
  absl::StatusOr<std::string> self = SelfBinary();
  ASSERT_TRUE(self.ok()) << self.status();
  EXPECT_TRUE(std::filesystem::path(*self).is_absolute()) << *self;
  EXPECT_EQ(std::filesystem::path(*self).filename(), "os_test");
}

TEST(PickFreePortTest, ReturnsAPortThatCanBeBound) {
  absl::StatusOr<int> port = PickFreePort();
  ASSERT_TRUE(port.ok()) << port.status();
  ASSERT_GT(*port, 0);
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(*port));
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  close(fd);
}

TEST(WriteFileAtomicallyTest, ReplacesTheFileWholeAndLeavesNoTemporary) {
  const std::string path = TempDir() + "/atomic.txt";
  ASSERT_TRUE(WriteFileAtomically(path, "first").ok());
  ASSERT_TRUE(WriteFileAtomically(path, "second, longer").ok());
  EXPECT_EQ(Read(path), "second, longer");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(WriteFileAtomicallyTest, RefusesAMissingFolderNamingThePath) {
  absl::Status status = WriteFileAtomically(TempDir() + "/no/such/folder/file.txt", "x");
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(status.message().find("no/such/folder/file.txt.tmp"), std::string::npos) << status;
}

TEST(PhysicalMemoryBytesTest, IsWhatProcMeminfoCallsMemTotal) {
  std::istringstream meminfo(Read("/proc/meminfo"));
  std::string key, unit;
  int64_t kib = 0;
  while (meminfo >> key >> kib >> unit && key != "MemTotal:") {
  }
  ASSERT_EQ(key, "MemTotal:");
  // The kernel reserves some pages before it counts MemTotal; sysconf
  // counts the same pages.
  EXPECT_NEAR(static_cast<double>(PhysicalMemoryBytes()), static_cast<double>(kib) * 1024, 64.0 * 1024 * 1024);
}

TEST(MachineLimitsTest, AreWhatTheKernelSays) {
  EXPECT_EQ(OnlineCores(), sysconf(_SC_NPROCESSORS_ONLN));
  EXPECT_GE(ProcessLimit(), 1);
  std::istringstream range(Read("/proc/sys/net/ipv4/ip_local_port_range"));
  int64_t low = 0, high = 0;
  ASSERT_TRUE(range >> low >> high);
  EXPECT_EQ(EphemeralPortCount(), high - low + 1);
}

}  // namespace
}  // namespace rill
