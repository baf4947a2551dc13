#include "common/malloc_tuning.h"

#include <malloc.h>

namespace rill {

bool TuneMallocForLargeMessages() {
  // mallopt returns 1 on success. Setting either threshold turns glibc's
  // adaptive adjustment of both off.
  const bool mmap_set = mallopt(M_MMAP_THRESHOLD, kMallocMmapThreshold) == 1;
  const bool trim_set = mallopt(M_TRIM_THRESHOLD, kMallocTrimThreshold) == 1;
  return mmap_set && trim_set;
}

}  // namespace rill
