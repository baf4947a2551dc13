#include "common/malloc_tuning.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>

#include "gtest/gtest.h"

namespace rill {
namespace {

// Blocks glibc currently serves with their own mmap.
size_t MappedBlocks() { return mallinfo2().hblks; }

// Allocates and writes `bytes`; whether glibc mapped it on its own.
bool MappedOnItsOwn(size_t bytes) {
  const size_t before = MappedBlocks();
  char* block = static_cast<char*>(std::malloc(bytes));
  std::memset(block, 1, bytes);
  asm volatile("" : : "r"(block) : "memory");  // the block and its writes escape
  const bool mapped = MappedBlocks() > before;
  std::free(block);
  return mapped;
}

TEST(MallocTuningTest, MessagesUpToTheThresholdComeFromTheHeap) {
  // Untuned, a 16 MiB message is a fresh mmap (glibc starts at 128 KiB),
  // zero-filled page by page again each time one is allocated after a free.
  EXPECT_TRUE(MappedOnItsOwn(size_t{16} << 20));

  ASSERT_TRUE(TuneMallocForLargeMessages());
  // Now the heap serves it, and its pages are reused message after message.
  EXPECT_FALSE(MappedOnItsOwn(size_t{16} << 20));
  EXPECT_FALSE(MappedOnItsOwn(size_t{24} << 20));
  // Past the threshold blocks are still mapped (and unmapped when freed).
  EXPECT_TRUE(MappedOnItsOwn(size_t{48} << 20));
}

}  // namespace
}  // namespace rill
