#include "common/lock_order.h"

#include <cstdlib>
#include <cstring>

#include "absl/synchronization/mutex.h"

namespace rill {

bool ConfigureLockOrderChecking() {
  const char* wanted = std::getenv("RILL_CHECK_LOCK_ORDER");
  const bool on = wanted != nullptr && std::strcmp(wanted, "1") == 0;
  absl::SetMutexDeadlockDetectionMode(on ? absl::OnDeadlockCycle::kAbort : absl::OnDeadlockCycle::kIgnore);
  return on;
}

}  // namespace rill
