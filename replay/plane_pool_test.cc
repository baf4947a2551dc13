#include "replay/plane_pool.h"

#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace rill::replay {
namespace {

std::string PlaneOf(char fill, int64_t bytes) { return std::string(static_cast<size_t>(bytes), fill); }

TEST(PlanePoolTest, EqualPlanesShareOneCopyAndLeaveWithTheirLastReference) {
  PlanePool pool(64);
  const std::string a = PlaneOf('a', 64), b = PlaneOf('b', 64);
  const uint32_t ia = pool.Acquire(a.data(), pool.Hash(a.data()));
  const std::string a_again = a;  // another buffer, the same bytes
  EXPECT_EQ(pool.Acquire(a_again.data(), pool.Hash(a_again.data())), ia);
  const uint32_t ib = pool.Acquire(b.data(), pool.Hash(b.data()));
  EXPECT_NE(ib, ia);
  EXPECT_EQ(pool.size(), 2);
  EXPECT_EQ(pool.bytes(), 128);
  EXPECT_EQ(std::string(pool.plane(ia), 64), a);
  EXPECT_EQ(std::string(pool.plane(ib), 64), b);

  pool.Release(ia);  // one of a's two references
  EXPECT_EQ(pool.size(), 2);
  pool.Release(ia);
  EXPECT_EQ(pool.size(), 1);
  // a is gone: acquiring it again stores it anew, in the freed id.
  EXPECT_EQ(pool.Acquire(a.data(), pool.Hash(a.data())), ia);
  pool.AddRef(ib);
  pool.Release(ib);
  EXPECT_EQ(pool.size(), 2);
  std::vector<uint32_t> ids;
  pool.AppendIds(&ids);
  EXPECT_EQ(ids, (std::vector<uint32_t>{std::min(ia, ib), std::max(ia, ib)}));
}

TEST(PlanePoolTest, PlanesThatOnlyHashAlikeAreNeverMerged) {
  PlanePool pool(16);
  const std::string a = PlaneOf('a', 16), b = PlaneOf('b', 16);
  // The same hash for different bytes: the index must compare the bytes.
  const uint32_t ia = pool.Acquire(a.data(), 42);
  const uint32_t ib = pool.Acquire(b.data(), 42);
  EXPECT_NE(ia, ib);
  EXPECT_EQ(std::string(pool.plane(ib), 16), b);
  EXPECT_EQ(pool.Acquire(b.data(), 42), ib);
  EXPECT_EQ(pool.size(), 2);
}

TEST(PlanePoolTest, GrowsByBlocksAndKeepsEveryPlaneIntact) {
  // 100 KiB planes: 10 to a block, so 1,000 planes take 100 blocks.
  constexpr int64_t kBytes = 100 << 10;
  PlanePool pool(kBytes);
  std::vector<uint32_t> ids;
  std::string plane(kBytes, 0);
  for (int i = 0; i < 1000; ++i) {
    std::memcpy(plane.data(), &i, sizeof(i));
    ids.push_back(pool.Acquire(plane.data(), pool.Hash(plane.data())));
  }
  EXPECT_EQ(pool.size(), 1000);
  EXPECT_GE(pool.allocated_bytes(), 1000 * kBytes);
  EXPECT_LT(pool.allocated_bytes(), 1000 * kBytes + (2 << 20));
  for (int i = 0; i < 1000; ++i) {
    int read;
    std::memcpy(&read, pool.plane(ids[static_cast<size_t>(i)]), sizeof(read));
    ASSERT_EQ(read, i);
  }
  // Freed ids are reused before the pool grows.
  const int64_t allocated = pool.allocated_bytes();
  for (int i = 0; i < 500; ++i) pool.Release(ids[static_cast<size_t>(i)]);
  for (int i = 1000; i < 1500; ++i) {
    std::memcpy(plane.data(), &i, sizeof(i));
    pool.Acquire(plane.data(), pool.Hash(plane.data()));
  }
  EXPECT_EQ(pool.size(), 1000);
  EXPECT_EQ(pool.allocated_bytes(), allocated);
}

}  // namespace
}  // namespace rill::replay
