#include "common/tensor_codec.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill {
namespace {

using ::testing::HasSubstr;

v1::ColumnSpec ObsSpec() {
  v1::ColumnSpec spec;
  spec.set_name("obs");
  spec.set_dtype(v1::DTYPE_FLOAT32);
  spec.add_shape(3);
  return spec;
}

TEST(TensorCodecTest, ItemBytesMultipliesShapeByElementSize) {
  EXPECT_EQ(*ItemBytes(ObsSpec()), 12);
  v1::ColumnSpec frames;
  frames.set_dtype(v1::DTYPE_UINT8);
  for (int d : {84, 84, 4}) frames.add_shape(d);
  EXPECT_EQ(*ItemBytes(frames), 28224);
}

TEST(TensorCodecTest, AcceptsAMatchingBatchedColumn) {
  float data[6] = {1, 2, 3, 4, 5, 6};
  v1::Tensor tensor = MakeTensor(v1::DTYPE_FLOAT32, {2, 3}, data, sizeof(data));
  EXPECT_TRUE(CheckBatchedColumn(tensor, ObsSpec(), 2).ok());
}

TEST(TensorCodecTest, RejectsAWrongDtypeNamingTheColumn) {
  double data[6] = {};
  v1::Tensor tensor = MakeTensor(v1::DTYPE_FLOAT64, {2, 3}, data, sizeof(data));
  absl::Status status = CheckBatchedColumn(tensor, ObsSpec(), 2);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("'obs'"));
  EXPECT_THAT(status.message(), HasSubstr("DTYPE_FLOAT64"));
}

TEST(TensorCodecTest, RejectsAWrongShapeNamingBothShapes) {
  float data[8] = {};
  v1::Tensor tensor = MakeTensor(v1::DTYPE_FLOAT32, {2, 4}, data, sizeof(data));
  absl::Status status = CheckBatchedColumn(tensor, ObsSpec(), 2);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("[2, 4]"));
  EXPECT_THAT(status.message(), HasSubstr("[3]"));
}

TEST(TensorCodecTest, RejectsDataShorterThanTheShape) {
  float data[5] = {};
  v1::Tensor tensor = MakeTensor(v1::DTYPE_FLOAT32, {2, 3}, data, sizeof(data));
  absl::Status status = CheckBatchedColumn(tensor, ObsSpec(), 2);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("20 data bytes"));
}

TEST(TensorCodecTest, RejectsABatchOfTheWrongLength) {
  float data[6] = {};
  v1::Tensor tensor = MakeTensor(v1::DTYPE_FLOAT32, {2, 3}, data, sizeof(data));
  EXPECT_EQ(CheckBatchedColumn(tensor, ObsSpec(), 3).code(), absl::StatusCode::kInvalidArgument);
}

TEST(TensorCodecTest, SignatureWithDuplicateColumnNamesIsRejected) {
  v1::Signature signature;
  *signature.add_columns() = ObsSpec();
  *signature.add_columns() = ObsSpec();
  absl::Status status = CheckSignature(signature);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("'obs' twice"));
}

TEST(TensorCodecTest, UnspecifiedDtypeIsRejected) {
  v1::ColumnSpec spec = ObsSpec();
  spec.set_dtype(v1::DTYPE_UNSPECIFIED);
  EXPECT_EQ(ItemBytes(spec).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TensorCodecTest, TensorSurvivesAProtoRoundTrip) {
  int64_t data[3] = {7, -1, 1 << 30};
  v1::Tensor tensor = MakeTensor(v1::DTYPE_INT64, {3}, data, sizeof(data));
  v1::Tensor parsed;
  ASSERT_TRUE(parsed.ParseFromString(tensor.SerializeAsString()));
  EXPECT_EQ(parsed.dtype(), v1::DTYPE_INT64);
  ASSERT_EQ(parsed.shape_size(), 1);
  EXPECT_EQ(parsed.shape(0), 3);
  ASSERT_EQ(parsed.data().size(), sizeof(data));
  const int64_t* back = reinterpret_cast<const int64_t*>(parsed.data().data());
  EXPECT_EQ(back[0], 7);
  EXPECT_EQ(back[1], -1);
  EXPECT_EQ(back[2], 1 << 30);
}

}  // namespace
}  // namespace rill
