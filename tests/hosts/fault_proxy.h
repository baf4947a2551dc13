// FaultProxy: a TCP proxy of our own that puts the faults of a wide-area
// link between two Rill processes: one-way latency with jitter, "loss", a
// bandwidth cap and a link that flaps up and down. The hosts tests put one
// between actors (or the learner) and a replay shard; it runs as threads of
// the test process, optionally inside a network namespace (its sockets are
// made by a thread that first joins the namespace with setns).
//
// TCP cannot lose bytes, so loss is modelled as what it costs TCP: a chunk
// that would have lost a segment is held back one retransmission timeout
// (`loss_stall`), and every later chunk of that direction waits behind it
// (head-of-line blocking). Bytes always arrive intact and in order. While
// the link is down (flapping) nothing moves in either direction; buffers
// fill up to `max_buffered_bytes` per direction and then the proxy stops
// reading, so the sender's TCP window closes (backpressure, bounded memory).
//
// Local only: Create refuses a listen or target address that is neither
// loopback (127.0.0.0/8) nor inside one of `allowed_subnets`, so a
// misconfigured test cannot send traffic off the machine.
//
// Thread-safety: the public methods are thread-safe. Internal threads (one
// acceptor, two per direction of each connection) run until destruction;
// the destructor shuts every socket down and joins them.
#ifndef RILL_TESTS_HOSTS_FAULT_PROXY_H_
#define RILL_TESTS_HOSTS_FAULT_PROXY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace rill::testing::hosts {

struct LinkFaults {
  // Added to every chunk in each direction (a round trip pays it twice).
  absl::Duration latency = absl::ZeroDuration();
  // Each chunk's latency is latency +- uniform(jitter), never below zero;
  // chunks still leave in order.
  absl::Duration jitter = absl::ZeroDuration();
  // Probability per chunk (<= 16 KiB read at once) of a lost segment.
  double loss = 0;
  // What a lost segment costs: one retransmission timeout.
  absl::Duration loss_stall = absl::Milliseconds(200);
  // Bytes per second per direction; unset: no cap.
  std::optional<int64_t> max_bytes_per_second;
  // Flapping: up for flap_up, then down for flap_down, repeated from the
  // proxy's start; unset: always up.
  std::optional<absl::Duration> flap_up;
  absl::Duration flap_down = absl::Seconds(1);
};

struct FaultProxyOptions {
  // Where it listens (IPv4, numeric); port 0 picks a free one.
  std::string listen_host = "127.0.0.1";
  int listen_port = 0;
  // Where it forwards every accepted connection (IPv4, numeric).
  std::string target_host;
  int target_port = 0;
  // /run/netns/NAME: listen and connect inside that network namespace;
  // empty: the test process's own.
  std::string netns_path;
  // CIDRs ("10.213.4.0/24") besides loopback that it may listen on and
  // forward to.
  std::vector<std::string> allowed_subnets;
  LinkFaults faults;
  // Bytes read but not yet written, per direction of a connection.
  int64_t max_buffered_bytes = 1 << 20;
  uint64_t seed = 1;
};

class FaultProxy {
 public:
  // InvalidArgument for an address that is not numeric IPv4, outside
  // loopback and allowed_subnets, or bad faults (loss outside [0, 1], a
  // negative duration, a cap <= 0); Internal if the namespace cannot be
  // joined or the port bound. Listening when it returns.
  static absl::StatusOr<std::unique_ptr<FaultProxy>> Create(const FaultProxyOptions& options);
  ~FaultProxy();

  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  int port() const { return port_; }
  // listen_host:port, what a client dials.
  std::string address() const;

  // Replaces the faults from now on (bytes already queued keep their times).
  void SetFaults(const LinkFaults& faults) ABSL_LOCKS_EXCLUDED(mu_);

  int64_t connections() const ABSL_LOCKS_EXCLUDED(mu_);
  int64_t bytes_forwarded() const ABSL_LOCKS_EXCLUDED(mu_);
  // Chunks held back as lost segments.
  int64_t stalls() const ABSL_LOCKS_EXCLUDED(mu_);
  // The most bytes any direction of any connection held at once.
  int64_t peak_buffered_bytes() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  class Pipe;
  explicit FaultProxy(const FaultProxyOptions& options);
  // The acceptor thread: joins the namespace, listens, then accepts and
  // connects to the target until the destructor shuts the socket down.
  void Accept();
  absl::Status Listen() ABSL_LOCKS_EXCLUDED(mu_);
  // For the pipes: the faults now; the delay of one chunk (latency, jitter,
  // and a loss stall drawn from the proxy's seeded generator); the first
  // instant at or after `now` that the flapping link is up.
  LinkFaults Faults() const ABSL_LOCKS_EXCLUDED(mu_);
  absl::Duration ChunkDelay() ABSL_LOCKS_EXCLUDED(mu_);
  absl::Time NextUpAfter(absl::Time now) const ABSL_LOCKS_EXCLUDED(mu_);
  void NoteBuffered(int64_t bytes) ABSL_LOCKS_EXCLUDED(mu_);
  void NoteForwarded(int64_t bytes) ABSL_LOCKS_EXCLUDED(mu_);
  // A write failed: both sockets of the connection are shut down, which
  // ends both directions.
  static void Break(int a, int b);

  const FaultProxyOptions options_;
  const absl::Time start_;
  int listen_fd_ = -1;  // set by the acceptor before Create returns
  int port_ = 0;
  std::thread acceptor_;

  mutable absl::Mutex mu_;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  LinkFaults faults_ ABSL_GUARDED_BY(mu_);
  uint64_t random_state_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Pipe>> pipes_ ABSL_GUARDED_BY(mu_);
  std::vector<int> fds_ ABSL_GUARDED_BY(mu_);
  int64_t connections_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t bytes_forwarded_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t stalls_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t peak_buffered_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status setup_status_ ABSL_GUARDED_BY(mu_);  // set with ready_
  bool ready_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace rill::testing::hosts

#endif  // RILL_TESTS_HOSTS_FAULT_PROXY_H_
