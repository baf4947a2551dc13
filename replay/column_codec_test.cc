#include "replay/column_codec.h"

#include <cstdint>
#include <random>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::replay {
namespace {

using ::testing::HasSubstr;
using Compression = v1::TableConfig::ColumnCompression;

// A MinAtar-like frame: `channels` sparse binary 10x10 planes.
std::string SparseFrame(int channels, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string frame(static_cast<size_t>(channels * 100), '\0');
  for (char& cell : frame) cell = rng() % 11 == 0 ? 1 : 0;
  return frame;
}

std::string RandomBytes(size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string bytes(size, '\0');
  for (char& byte : bytes) byte = static_cast<char>(rng());
  return bytes;
}

TEST(ColumnCodecTest, ZstdRoundTripIsBitExactAtEveryLevel) {
  const std::string frame = SparseFrame(4, 1);
  for (int level : {-5, -1, 0, 1, 3, 9, 19, MaxZstdLevel()}) {
    const ColumnCodec codec(Compression::ZSTD, level);
    std::string stored;
    ASSERT_TRUE(codec.Compress(frame, &stored).ok()) << level;
    EXPECT_LT(stored.size(), frame.size()) << level;
    std::string back(frame.size(), 'x');
    ASSERT_TRUE(codec.Decompress(stored, back.data(), static_cast<int64_t>(back.size())).ok()) << level;
    EXPECT_EQ(back, frame) << level;
  }
}

TEST(ColumnCodecTest, IncompressibleBytesRoundTrip) {
  const std::string noise = RandomBytes(28224, 2);
  const ColumnCodec codec(Compression::ZSTD, 3);
  std::string stored;
  ASSERT_TRUE(codec.Compress(noise, &stored).ok());
  std::string back(noise.size(), '\0');
  ASSERT_TRUE(codec.Decompress(stored, back.data(), static_cast<int64_t>(back.size())).ok());
  EXPECT_EQ(back, noise);
}

TEST(ColumnCodecTest, CompressAppendsAfterWhatTheBufferHolds) {
  const ColumnCodec codec(Compression::ZSTD, 1);
  std::string stored = "head";
  ASSERT_TRUE(codec.Compress(SparseFrame(2, 3), &stored).ok());
  EXPECT_EQ(stored.substr(0, 4), "head");
  std::string back(200, '\0');
  ASSERT_TRUE(codec.Decompress(std::string_view(stored).substr(4), back.data(), 200).ok());
  EXPECT_EQ(back, SparseFrame(2, 3));
}

TEST(ColumnCodecTest, LevelZeroTakesTheDefault) {
  EXPECT_EQ(ColumnCodec(Compression::ZSTD, 0).level(), kDefaultZstdLevel);
  EXPECT_EQ(ColumnCodec(Compression::ZSTD, 7).level(), 7);
  EXPECT_EQ(ColumnCodec(Compression::ZSTD, 7).name(), "zstd level 7");
  EXPECT_EQ(ColumnCodec().name(), "none");
}

TEST(ColumnCodecTest, NoneStoresTheBytesAsTheyAre) {
  const ColumnCodec codec;
  EXPECT_FALSE(codec.compresses());
  std::string stored;
  ASSERT_TRUE(codec.Compress("abc", &stored).ok());
  EXPECT_EQ(stored, "abc");
  char back[3];
  ASSERT_TRUE(codec.Decompress(stored, back, 3).ok());
  EXPECT_EQ(std::string(back, 3), "abc");
  EXPECT_THAT(codec.Decompress(stored, back, 2).message(), HasSubstr("3 bytes where 2 are expected"));
}

TEST(ColumnCodecTest, CorruptFrameIsDataLossNotACrash) {
  const ColumnCodec codec(Compression::ZSTD, 3);
  const std::string frame = SparseFrame(4, 4);
  std::string stored;
  ASSERT_TRUE(codec.Compress(frame, &stored).ok());
  std::string back(frame.size(), '\0');
  const int64_t size = static_cast<int64_t>(frame.size());

  // A flipped byte anywhere: refused as DataLoss, or (zstd frames carry no
  // content checksum; checkpoints and the log have their own) decoded to
  // other bytes of the right size, never a crash or an overrun.
  int refused = 0;
  for (size_t i = 0; i < stored.size(); ++i) {
    std::string damaged = stored;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x5a);
    absl::Status st = codec.Decompress(damaged, back.data(), size);
    if (!st.ok()) {
      EXPECT_TRUE(absl::IsDataLoss(st)) << st;
      ++refused;
    }
  }
  EXPECT_GT(refused, 0);

  absl::Status garbage = codec.Decompress("not a zstd frame at all", back.data(), size);
  EXPECT_TRUE(absl::IsDataLoss(garbage));
  EXPECT_THAT(garbage.message(), HasSubstr("does not begin with a valid zstd frame header"));

  absl::Status cut = codec.Decompress(std::string_view(stored).substr(0, stored.size() - 3), back.data(), size);
  EXPECT_TRUE(absl::IsDataLoss(cut)) << cut;

  absl::Status trailing = codec.Decompress(stored + "xy", back.data(), size);
  EXPECT_TRUE(absl::IsDataLoss(trailing));
  EXPECT_THAT(trailing.message(), HasSubstr("followed by other bytes"));

  absl::Status empty = codec.Decompress("", back.data(), size);
  EXPECT_TRUE(absl::IsDataLoss(empty));
}

TEST(ColumnCodecTest, FrameOfAnotherSizeIsRefused) {
  const ColumnCodec codec(Compression::ZSTD, 3);
  std::string stored;
  ASSERT_TRUE(codec.Compress(SparseFrame(4, 5), &stored).ok());
  std::string back(800, '\0');
  absl::Status st = codec.Decompress(stored, back.data(), 800);
  EXPECT_TRUE(absl::IsDataLoss(st));
  EXPECT_THAT(st.message(), HasSubstr("holds 400 bytes where 800 are expected"));
}

TEST(ColumnCodecTest, ForColumnReadsTheTablesCompression) {
  v1::TableConfig config;
  Compression* entry = config.add_compression();
  entry->set_column("obs");
  entry->set_codec(Compression::ZSTD);
  entry->set_level(5);
  EXPECT_EQ(ColumnCodec::ForColumn(config, "obs").level(), 5);
  EXPECT_TRUE(ColumnCodec::ForColumn(config, "obs").compresses());
  EXPECT_FALSE(ColumnCodec::ForColumn(config, "action").compresses());
}

TEST(ColumnCodecTest, LevelRangeIsTheLibrarys) {
  EXPECT_EQ(MaxZstdLevel(), 22);
  EXPECT_EQ(MinZstdLevel(), -100);
  EXPECT_EQ(CodecName(static_cast<Codec>(9)), "codec 9");
}

}  // namespace
}  // namespace rill::replay
