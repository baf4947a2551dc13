// FaultProxy against a real echo server on loopback: each fault is what a
// client of the proxy measures (round trips, transfer times), and the bytes
// come back intact and in order whatever the faults.
#include "tests/hosts/fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace rill::testing::hosts {
namespace {

// Echoes every connection on 127.0.0.1 (a free port) until destroyed.
class EchoServer {
 public:
  EchoServer() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    listen(listen_fd_, 16);
    socklen_t length = sizeof(address);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] {
      while (true) {
        const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) return;
        fds_.push_back(fd);
        echoes_.emplace_back([fd] {
          char buffer[65536];
          while (true) {
            const ssize_t n = read(fd, buffer, sizeof(buffer));
            if (n <= 0) break;
            for (ssize_t sent = 0; sent < n;) {
              const ssize_t m = send(fd, buffer + sent, static_cast<size_t>(n - sent), MSG_NOSIGNAL);
              if (m <= 0) return;
              sent += m;
            }
          }
          shutdown(fd, SHUT_WR);
        });
      }
    });
  }
  ~EchoServer() {
    shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    for (int fd : fds_) shutdown(fd, SHUT_RDWR);
    for (std::thread& echo : echoes_) echo.join();
    for (int fd : fds_) close(fd);
    close(listen_fd_);
  }
  int port() const { return port_; }

 private:
  int listen_fd_ = -1;
  int port_ = 0;
  std::vector<int> fds_;  // acceptor thread only, until joined
  std::vector<std::thread> echoes_;
  std::thread acceptor_;
};

// A blocking client connection to the proxy.
class Client {
 public:
  explicit Client(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  ~Client() { close(fd_); }
  bool connected() const { return connected_; }

  bool Send(const std::string& data) {
    for (size_t sent = 0; sent < data.size();) {
      const ssize_t n = send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }
  // Exactly `bytes` bytes, or fewer if the connection ends.
  std::string Receive(size_t bytes) {
    std::string data(bytes, '\0');
    size_t got = 0;
    while (got < bytes) {
      const ssize_t n = read(fd_, data.data() + got, bytes - got);
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    data.resize(got);
    return data;
  }
  // Sends `data` from a second thread while reading its echo: a transfer
  // larger than the socket buffers cannot be sent first and read after.
  std::string Echo(const std::string& data) {
    std::thread sender([&] { Send(data); });
    std::string echoed = Receive(data.size());
    sender.join();
    return echoed;
  }
  // One small message there and back.
  absl::Duration RoundTrip() {
    const absl::Time start = absl::Now();
    Send("x");
    Receive(1);
    return absl::Now() - start;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

std::string RandomBytes(size_t size) {
  std::mt19937 generator(42);
  std::string data(size, '\0');
  for (char& c : data) c = static_cast<char>(generator());
  return data;
}

std::unique_ptr<FaultProxy> Proxy(const EchoServer& echo, const LinkFaults& faults, int64_t max_buffered_bytes = 1 << 20) {
  FaultProxyOptions options;
  options.target_host = "127.0.0.1";
  options.target_port = echo.port();
  options.faults = faults;
  options.max_buffered_bytes = max_buffered_bytes;
  absl::StatusOr<std::unique_ptr<FaultProxy>> proxy = FaultProxy::Create(options);
  EXPECT_TRUE(proxy.ok()) << proxy.status();
  return proxy.ok() ? *std::move(proxy) : nullptr;
}

TEST(FaultProxyTest, ForwardsBytesUnchangedWithoutFaults) {
  EchoServer echo;
  std::unique_ptr<FaultProxy> proxy = Proxy(echo, LinkFaults());
  ASSERT_NE(proxy, nullptr);
  Client client(proxy->port());
  ASSERT_TRUE(client.connected());
  const std::string data = RandomBytes(1 << 20);
  EXPECT_TRUE(client.Echo(data) == data);
  EXPECT_EQ(proxy->connections(), 1);
  // The echo reaches the client as the proxy's last send returns, a moment
  // before the proxy counts it.
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (proxy->bytes_forwarded() < (2 << 20) && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(1));
  EXPECT_EQ(proxy->bytes_forwarded(), 2 << 20);
  EXPECT_LT(client.RoundTrip(), absl::Milliseconds(50));
}

TEST(FaultProxyTest, RoundTripPaysTheLatencyInEachDirection) {
  EchoServer echo;
  LinkFaults faults;
  faults.latency = absl::Milliseconds(40);
  std::unique_ptr<FaultProxy> proxy = Proxy(echo, faults);
  ASSERT_NE(proxy, nullptr);
  Client client(proxy->port());
  ASSERT_TRUE(client.connected());
  for (int i = 0; i < 5; ++i) {
    const absl::Duration round_trip = client.RoundTrip();
    EXPECT_GE(round_trip, absl::Milliseconds(80));
    EXPECT_LT(round_trip, absl::Milliseconds(230));  // slack for a loaded machine
  }
}

TEST(FaultProxyTest, JitterAndLossKeepBytesIntactAndInOrder) {
  EchoServer echo;
  LinkFaults faults;
  faults.latency = absl::Milliseconds(5);
  faults.jitter = absl::Milliseconds(5);
  faults.loss = 0.05;
  faults.loss_stall = absl::Milliseconds(20);
  std::unique_ptr<FaultProxy> proxy = Proxy(echo, faults);
  ASSERT_NE(proxy, nullptr);
  Client client(proxy->port());
  ASSERT_TRUE(client.connected());
  const std::string data = RandomBytes(2 << 20);
  const std::string echoed = client.Echo(data);
  ASSERT_EQ(echoed.size(), data.size());
  EXPECT_TRUE(echoed == data) << "bytes changed or reordered";
  EXPECT_GT(proxy->stalls(), 0) << "no chunk was held as a lost segment";
}

TEST(FaultProxyTest, LostSegmentStallsTheRoundTripOneRetransmissionTimeout) {
  EchoServer echo;
  LinkFaults faults;
  faults.loss = 1;  // every chunk, each way
  faults.loss_stall = absl::Milliseconds(100);
  std::unique_ptr<FaultProxy> proxy = Proxy(echo, faults);
  ASSERT_NE(proxy, nullptr);
  Client client(proxy->port());
  ASSERT_TRUE(client.connected());
  const absl::Duration round_trip = client.RoundTrip();
  EXPECT_GE(round_trip, absl::Milliseconds(200));
  EXPECT_LT(round_trip, absl::Milliseconds(350));
  EXPECT_EQ(proxy->stalls(), 2);
}

TEST(FaultProxyTest, BandwidthCapBoundsTheTransferTimeWithinBoundedBuffers) {
  EchoServer echo;
  LinkFaults faults;
  faults.max_bytes_per_second = 4 << 20;  // 4 MiB/s each way
  const int64_t max_buffered = 128 << 10;
  std::unique_ptr<FaultProxy> proxy = Proxy(echo, faults, max_buffered);
  ASSERT_NE(proxy, nullptr);
  Client client(proxy->port());
  ASSERT_TRUE(client.connected());
  const std::string data = RandomBytes(2 << 20);
  const absl::Time start = absl::Now();
  const std::string echoed = client.Echo(data);
  const absl::Duration took = absl::Now() - start;
  EXPECT_TRUE(echoed == data);
  // 2 MiB at 4 MiB/s: 0.5 s (the two directions overlap).
  EXPECT_GE(took, absl::Milliseconds(450));
  EXPECT_LT(took, absl::Seconds(3));
  EXPECT_LE(proxy->peak_buffered_bytes(), max_buffered);
  std::printf("bandwidth cap 4 MiB/s: 2 MiB echoed in %.3f s (%.2f MiB/s), peak buffered %lld bytes\n",
              absl::ToDoubleSeconds(took), 2 / absl::ToDoubleSeconds(took),
              static_cast<long long>(proxy->peak_buffered_bytes()));
}

TEST(FaultProxyTest, FlappingLinkHoldsTrafficWhileDownAndKeepsTheConnection) {
  EchoServer echo;
  LinkFaults faults;
  faults.flap_up = absl::Milliseconds(150);
  faults.flap_down = absl::Milliseconds(250);
  std::unique_ptr<FaultProxy> proxy = Proxy(echo, faults);
  ASSERT_NE(proxy, nullptr);
  Client client(proxy->port());
  ASSERT_TRUE(client.connected());
  absl::Duration longest = absl::ZeroDuration();
  const absl::Time start = absl::Now();
  int round_trips = 0;
  while (absl::Now() - start < absl::Milliseconds(1200)) {
    longest = std::max(longest, client.RoundTrip());
    ++round_trips;
  }
  // Some round trip fell into a down phase and waited for the link.
  EXPECT_GE(longest, absl::Milliseconds(100));
  EXPECT_LE(longest, absl::Milliseconds(450));
  EXPECT_GT(round_trips, 10);
  EXPECT_EQ(proxy->connections(), 1);
}

TEST(FaultProxyTest, RefusesToForwardOutsideLoopbackAndTheAllowedSubnets) {
  FaultProxyOptions options;
  options.target_host = "192.0.2.1";
  options.target_port = 80;
  options.allowed_subnets = {"10.213.7.0/24"};
  absl::StatusOr<std::unique_ptr<FaultProxy>> proxy = FaultProxy::Create(options);
  ASSERT_FALSE(proxy.ok());
  EXPECT_EQ(proxy.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(proxy.status().message().find("forwards locally only"), std::string::npos) << proxy.status();
  options.target_host = "10.213.7.20";
  options.listen_host = "8.8.8.8";
  EXPECT_EQ(FaultProxy::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.listen_host = "localhost";  // not numeric
  EXPECT_EQ(FaultProxy::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rill::testing::hosts
