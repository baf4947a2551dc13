// The Python env server (python/rill/env_server.py) as a real process for
// tests: `python3 -m rill.env_server --factory=<factory>` on 127.0.0.1 (port
// 0, or a given port for a restart), its message classes generated into the
// test's temp folder, stopped when the object goes.
#ifndef RILL_TESTS_ENV_SERVER_PROCESS_H_
#define RILL_TESTS_ENV_SERVER_PROCESS_H_

#include <memory>
#include <string>
#include <vector>

#include "common/child_process.h"

namespace rill::testing {

class EnvServerProcess {
 public:
  // Starts it and waits for "listening on HOST:PORT" (a test failure, and an
  // empty address(), when it does not come within a minute).
  explicit EnvServerProcess(const std::string& factory, int port = 0, std::vector<std::string> flags = {});
  ~EnvServerProcess();

  const std::string& address() const { return address_; }
  int port() const;
  ChildProcess& child() { return *child_; }
  std::string log() const;

  // The config's env section for this server's envs (`rill envs --remote`
  // output without its comment line).
  std::string EnvSection() const;

 private:
  std::string log_;
  std::string address_;
  std::unique_ptr<ChildProcess> child_;
};

}  // namespace rill::testing

#endif  // RILL_TESTS_ENV_SERVER_PROCESS_H_
