#include "common/region_server.h"

#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/shared_region.h"
#include "gtest/gtest.h"

namespace rill {
namespace {

// What a region's handlers saw, and the region to answer through.
struct Seen {
  absl::Mutex mu;
  std::vector<std::string> messages ABSL_GUARDED_BY(mu);
  absl::Status closed ABSL_GUARDED_BY(mu);
  absl::Notification closed_once;
};

HostedRegion::Handlers Record(Seen* seen, std::shared_ptr<HostedRegion>* region = nullptr) {
  HostedRegion::Handlers handlers;
  handlers.on_message = [seen, region](std::string_view message) {
    {
      absl::MutexLock lock(&seen->mu);
      seen->messages.emplace_back(message);
    }
    if (region != nullptr) {
      // Echoes the region's first bytes, doubled, in its bytes 8..15 and
      // answers with the message reversed.
      uint8_t* bytes = (*region)->at(0);
      for (int k = 0; k < 8; ++k) bytes[8 + k] = static_cast<uint8_t>(bytes[k] * 2);
      std::string answer(message.rbegin(), message.rend());
      EXPECT_TRUE((*region)->Answer(answer).ok());
    }
  };
  handlers.on_closed = [seen](const absl::Status& why) {
    {
      absl::MutexLock lock(&seen->mu);
      seen->closed = why;
    }
    seen->closed_once.Notify();
  };
  return handlers;
}

std::vector<RegionArray> Arrays() { return {{"in", 0, 8}, {"out", 8, 8}}; }

TEST(RegionServerTest, AClientHoldsTheRegionAndExchangesFramesWithTheServer) {
  auto server = RegionServer::Create("rill-test");
  ASSERT_TRUE(server.ok()) << server.status();
  Seen seen;
  std::shared_ptr<HostedRegion> region;
  auto offered = (*server)->Offer(64, Record(&seen, &region), absl::Seconds(5));
  ASSERT_TRUE(offered.ok()) << offered.status();
  region = *offered;
  EXPECT_FALSE(region->connected());
  auto client = SharedRegion::Connect(region->address(), Arrays(), absl::Seconds(5));
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_TRUE(region->connected());
  EXPECT_EQ((*server)->connected_regions(), 1);
  for (int round = 1; round <= 3; ++round) {
    for (int k = 0; k < 8; ++k) (*client)->at(0)[k] = static_cast<uint8_t>(round + k);
    std::string answer;
    ASSERT_TRUE((*client)->Exchange("abc" + std::to_string(round), &answer, absl::Seconds(5)).ok());
    EXPECT_EQ(answer, std::to_string(round) + "cba");
    for (int k = 0; k < 8; ++k) EXPECT_EQ((*client)->at(8)[k], 2 * (round + k));
  }
  std::string answer;  // an empty frame is a frame
  ASSERT_TRUE((*client)->Exchange("", &answer, absl::Seconds(5)).ok());
  EXPECT_EQ(answer, "");
  {
    absl::MutexLock lock(&seen.mu);
    EXPECT_EQ(seen.messages, (std::vector<std::string>{"abc1", "abc2", "abc3", ""}));
  }
  client->reset();  // the client leaves: the region closes, saying so
  ASSERT_TRUE(seen.closed_once.WaitForNotificationWithTimeout(absl::Seconds(10)));
  absl::MutexLock lock(&seen.mu);
  EXPECT_TRUE(absl::IsUnavailable(seen.closed)) << seen.closed;
  EXPECT_FALSE(region->Answer("late").ok());
}

TEST(RegionServerTest, AnotherTokenIsTurnedAwayAndTheRegionWaitsForItsOwnClient) {
  auto server = RegionServer::Create("rill-test");
  ASSERT_TRUE(server.ok());
  Seen seen;
  auto region = (*server)->Offer(64, Record(&seen), absl::Seconds(5));
  ASSERT_TRUE(region.ok());
  RegionAddress stranger = (*region)->address();
  stranger.token = std::string(SharedRegion::kTokenBytes, 'x');
  auto refused = SharedRegion::Connect(stranger, Arrays(), absl::Seconds(5));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("closed before handing over the region"), std::string::npos)
      << refused.status();
  auto client = SharedRegion::Connect((*region)->address(), Arrays(), absl::Seconds(5));
  EXPECT_TRUE(client.ok()) << client.status();
}

TEST(RegionServerTest, AClientThatNeverComesClosesTheRegionAtItsDeadline) {
  auto server = RegionServer::Create("rill-test");
  ASSERT_TRUE(server.ok());
  Seen seen;
  auto region = (*server)->Offer(64, Record(&seen), absl::Milliseconds(100));
  ASSERT_TRUE(region.ok());
  ASSERT_TRUE(seen.closed_once.WaitForNotificationWithTimeout(absl::Seconds(10)));
  {
    absl::MutexLock lock(&seen.mu);
    EXPECT_TRUE(absl::IsDeadlineExceeded(seen.closed)) << seen.closed;
  }
  auto late = SharedRegion::Connect((*region)->address(), Arrays(), absl::Seconds(1));
  EXPECT_FALSE(late.ok());
}

TEST(RegionServerTest, CloseEndsTheClientsExchangeAndNoHandlerRunsAfterIt) {
  auto server = RegionServer::Create("rill-test");
  ASSERT_TRUE(server.ok());
  Seen seen;
  auto region = (*server)->Offer(64, Record(&seen), absl::Seconds(5));
  ASSERT_TRUE(region.ok());
  auto client = SharedRegion::Connect((*region)->address(), Arrays(), absl::Seconds(5));
  ASSERT_TRUE(client.ok());
  (*server)->Close(region->get());
  (*server)->Close(region->get());  // idempotent
  std::string answer;
  const absl::Status exchanged = (*client)->Exchange("after", &answer, absl::Seconds(5));
  EXPECT_TRUE(absl::IsUnavailable(exchanged)) << exchanged;
  absl::MutexLock lock(&seen.mu);
  EXPECT_TRUE(seen.messages.empty());
  EXPECT_FALSE(seen.closed_once.HasBeenNotified());  // Close tells no on_closed
}

// A raw client: proves the token and takes the descriptor, then writes
// whatever bytes the test asks.
int RawClient(const RegionAddress& address) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un un = {};
  un.sun_family = AF_UNIX;
  std::memcpy(un.sun_path + 1, address.socket.data(), address.socket.size());
  const socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + address.socket.size());
  EXPECT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&un), length), 0);
  EXPECT_EQ(::send(fd, address.token.data(), address.token.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(address.token.size()));
  char byte;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  iovec io = {&byte, 1};
  msghdr message = {};
  message.msg_iov = &io;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  EXPECT_EQ(::recvmsg(fd, &message, MSG_CMSG_CLOEXEC), 1);
  int memfd = -1;
  std::memcpy(&memfd, CMSG_DATA(CMSG_FIRSTHDR(&message)), sizeof(int));
  ::close(memfd);
  return fd;
}

TEST(RegionServerTest, AFrameInPiecesIsOneMessageAndAnOversizeFrameClosesTheRegion) {
  auto server = RegionServer::Create("rill-test");
  ASSERT_TRUE(server.ok());
  Seen seen;
  auto region = (*server)->Offer(64, Record(&seen), absl::Seconds(5));
  ASSERT_TRUE(region.ok());
  const int fd = RawClient((*region)->address());
  const std::string frame = std::string("\x05\x00\x00\x00", 4) + "hello";
  for (char c : frame) {  // a byte at a time
    ASSERT_EQ(::send(fd, &c, 1, MSG_NOSIGNAL), 1);
    absl::SleepFor(absl::Milliseconds(2));
  }
  const std::string oversize = "\xff\xff\xff\x7f";
  ASSERT_EQ(::send(fd, oversize.data(), oversize.size(), MSG_NOSIGNAL), 4);
  ASSERT_TRUE(seen.closed_once.WaitForNotificationWithTimeout(absl::Seconds(10)));
  absl::MutexLock lock(&seen.mu);
  EXPECT_EQ(seen.messages, std::vector<std::string>{"hello"});
  EXPECT_TRUE(absl::IsInvalidArgument(seen.closed)) << seen.closed;
  EXPECT_NE(seen.closed.message().find("a frame of"), std::string::npos);
  ::close(fd);
}

}  // namespace
}  // namespace rill
