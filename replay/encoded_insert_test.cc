#include "replay/encoded_insert.h"

#include <cstring>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "replay/testing/test_items.h"

namespace rill::replay {
namespace {

using ::testing::HasSubstr;
using Compression = v1::TableConfig::ColumnCompression;

const std::vector<int64_t> kItemBytes = {kTestFrameBytes, 8};

std::vector<ColumnCodec> Zstd() { return {ColumnCodec(Compression::ZSTD, 3), ColumnCodec()}; }
std::vector<ColumnCodec> Plain() { return {ColumnCodec(), ColumnCodec()}; }

v1::Signature FrameSignature() { return FrameTableConfig(10, false).signature(); }

// The frame table's request for `keys`, compressed as a table would.
void Compressed(const std::vector<uint64_t>& keys, EncodedInsert* out) {
  v1::InsertRequest request = FrameInsertRequest(keys);
  EncodedInsert::TakePlain(&request, out);
  ASSERT_TRUE(out->Recode(FrameSignature(), Zstd(), kItemBytes, /*verify=*/false).ok());
}

TEST(EncodedInsertTest, CompressedColumnHoldsOneFramePerItemBehindItsSizes) {
  EncodedInsert encoded;
  Compressed({1, 2, 3}, &encoded);
  EXPECT_EQ(encoded.codec(0), Compression::ZSTD);
  EXPECT_EQ(encoded.codec(1), Compression::NONE);
  ASSERT_TRUE(encoded.CheckColumns(FrameSignature()).ok());
  const std::string& data = encoded.request().columns(0).data();
  EXPECT_LT(data.size(), 3 * kTestFrameBytes);
  for (int i = 0; i < 3; ++i) {
    uint32_t size;
    std::memcpy(&size, data.data() + 4 * i, 4);
    EXPECT_EQ(encoded.item(0, i).size(), size);
    std::string back(kTestFrameBytes, '\0');
    ASSERT_TRUE(ColumnCodec(Compression::ZSTD, 3).Decompress(encoded.item(0, i), back.data(), kTestFrameBytes).ok());
    EXPECT_EQ(back, TestFrame(static_cast<uint64_t>(i + 1)));
  }
  // The uncompressed column is untouched: 8 bytes per item.
  EXPECT_EQ(encoded.item(1, 2).size(), 8u);
}

TEST(EncodedInsertTest, RecodeBackToPlainGivesTheOriginalRequest) {
  EncodedInsert encoded;
  Compressed({7, 8}, &encoded);
  ASSERT_TRUE(encoded.Recode(FrameSignature(), Plain(), kItemBytes, /*verify=*/true).ok());
  EXPECT_EQ(encoded.request().SerializeAsString(), FrameInsertRequest({7, 8}).SerializeAsString());
}

TEST(EncodedInsertTest, PlainLogRecordIsTheRequestOfTheReleasesBefore) {
  const v1::InsertRequest request = FrameInsertRequest({4, 5});
  EncodedInsert encoded;
  EncodedInsert::BorrowPlain(request, &encoded);
  std::string record;
  encoded.AppendLogRecord(&record);
  EXPECT_EQ(record, request.SerializeAsString());

  EncodedInsert parsed;
  ASSERT_TRUE(EncodedInsert::ParseLogRecord(record, &parsed).ok());
  EXPECT_EQ(parsed.codec(0), Compression::NONE);
  EXPECT_EQ(parsed.request().SerializeAsString(), record);
}

TEST(EncodedInsertTest, CompressedLogRecordReadsBackWithItsCodecs) {
  EncodedInsert encoded;
  Compressed({10, 11, 12}, &encoded);
  std::string record;
  encoded.AppendLogRecord(&record);
  EXPECT_EQ(record.substr(0, 8), std::string("\0RILLZC1", 8));

  EncodedInsert parsed;
  ASSERT_TRUE(EncodedInsert::ParseLogRecord(record, &parsed).ok());
  EXPECT_EQ(parsed.codec(0), Compression::ZSTD);
  ASSERT_TRUE(parsed.CheckColumns(FrameSignature()).ok());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(parsed.item(0, i), encoded.item(0, i));
  ASSERT_TRUE(parsed.Recode(FrameSignature(), Plain(), kItemBytes, /*verify=*/true).ok());
  EXPECT_EQ(parsed.request().SerializeAsString(), FrameInsertRequest({10, 11, 12}).SerializeAsString());
}

TEST(EncodedInsertTest, RecordWithAnUnknownCodecIsDataLoss) {
  EncodedInsert encoded;
  Compressed({1}, &encoded);
  std::string record;
  encoded.AppendLogRecord(&record);
  record[12] = 9;  // columns[0]'s codec
  EncodedInsert parsed;
  absl::Status st = EncodedInsert::ParseLogRecord(record, &parsed);
  EXPECT_TRUE(absl::IsDataLoss(st));
  EXPECT_THAT(st.message(), HasSubstr("columns[0] the unknown codec 9"));
}

TEST(EncodedInsertTest, RecordWhoseSizeTableDoesNotAddUpIsDataLossNamingTheColumn) {
  EncodedInsert encoded;
  Compressed({1, 2}, &encoded);
  v1::InsertRequest damaged = encoded.request();
  uint32_t size;
  std::memcpy(&size, damaged.columns(0).data().data(), 4);
  size += 5;
  std::memcpy(damaged.mutable_columns(0)->mutable_data()->data(), &size, 4);
  std::string record(std::string("\0RILLZC1", 8));
  const uint32_t columns = 2;
  record.append(reinterpret_cast<const char*>(&columns), 4);
  record.push_back(static_cast<char>(Compression::ZSTD));
  record.push_back(static_cast<char>(Compression::NONE));
  damaged.AppendToString(&record);
  EncodedInsert parsed;
  absl::Status st = EncodedInsert::ParseLogRecord(record, &parsed);
  EXPECT_TRUE(absl::IsDataLoss(st));
  EXPECT_THAT(st.message(), HasSubstr("compressed columns[0]: its size table adds up to"));
}

TEST(EncodedInsertTest, CorruptFrameIsFoundByVerifyNamingColumnAndKey) {
  EncodedInsert encoded;
  Compressed({21, 22}, &encoded);
  std::string record;
  encoded.AppendLogRecord(&record);
  // Break the second frame's magic number; its size table still adds up.
  const size_t at = record.find(std::string(encoded.item(0, 1)));
  ASSERT_NE(at, std::string::npos);
  record[at] = static_cast<char>(record[at] ^ 0xff);
  EncodedInsert parsed;
  ASSERT_TRUE(EncodedInsert::ParseLogRecord(record, &parsed).ok());
  absl::Status st = parsed.Recode(FrameSignature(), Zstd(), kItemBytes, /*verify=*/true);
  EXPECT_TRUE(absl::IsDataLoss(st));
  EXPECT_THAT(st.message(), HasSubstr("columns[0] ('frame') item 1 (key 22)"));
  // Without verify the same codec keeps the bytes as they are.
  EXPECT_TRUE(parsed.Recode(FrameSignature(), Zstd(), kItemBytes, /*verify=*/false).ok());
  // Converting to another codec decompresses, and so finds it too.
  EXPECT_TRUE(absl::IsDataLoss(parsed.Recode(FrameSignature(), Plain(), kItemBytes, /*verify=*/false)));
}

TEST(EncodedInsertTest, CheckColumnsRefusesACompressedColumnOfAnotherShape) {
  EncodedInsert encoded;
  Compressed({1, 2}, &encoded);
  v1::Signature other = FrameSignature();
  other.mutable_columns(0)->set_shape(0, 5);
  absl::Status st = encoded.CheckColumns(other);
  EXPECT_TRUE(absl::IsInvalidArgument(st));
  EXPECT_THAT(st.message(), HasSubstr("columns[0] ('frame'): compressed DTYPE_UINT8 column of shape [2, 4, 10, 10] "
                                      "for 2 items of DTYPE_UINT8 [5, 10, 10]"));
}

TEST(EncodedInsertTest, GarbageRecordIsDataLoss) {
  EncodedInsert parsed;
  EXPECT_TRUE(absl::IsDataLoss(EncodedInsert::ParseLogRecord(std::string("\0RIL", 4), &parsed)));
  EXPECT_TRUE(absl::IsDataLoss(EncodedInsert::ParseLogRecord(std::string("\0RILLZC1\xff\xff\xff\x0f", 12), &parsed)));
  EXPECT_TRUE(absl::IsDataLoss(EncodedInsert::ParseLogRecord("\xff\xff\xff", &parsed)));
}

}  // namespace
}  // namespace rill::replay
