#include "learner/device.h"

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "torch/torch.h"

namespace rill::learner {
namespace {

using ::testing::HasSubstr;

TEST(PickDeviceTest, CpuIsAlwaysTheCpu) {
  absl::StatusOr<torch::Device> device = PickDevice("cpu", "device");
  ASSERT_TRUE(device.ok()) << device.status();
  EXPECT_TRUE(device->is_cpu());
}

TEST(PickDeviceTest, AutoTakesTheGpuOnlyWhenLibTorchSeesOne) {
  absl::StatusOr<torch::Device> device = PickDevice("auto", "device");
  ASSERT_TRUE(device.ok()) << device.status();
  EXPECT_EQ(device->is_cuda(), torch::cuda::is_available());
  if (device->is_cuda()) {
    EXPECT_EQ(device->index(), 0);
  }
}

TEST(PickDeviceTest, CudaWithoutAGpuNamesTheLibTorchAndTheWayOut) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "this machine has a GPU";
  absl::StatusOr<torch::Device> device = PickDevice("cuda", "learner.device");
  ASSERT_EQ(device.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StartsWith(device.status().message(), "learner.device cuda: ")) << device.status();
  EXPECT_THAT(device.status().message(), HasSubstr(LibTorchDescription()));
#ifndef RILL_TORCH_CUDA
  EXPECT_THAT(device.status().message(), HasSubstr("RILL_LIBTORCH"));
#endif
}

TEST(PickDeviceTest, CudaWithAGpuIsTheFirstDevice) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no GPU here";
  absl::StatusOr<torch::Device> device = PickDevice("cuda", "learner.device");
  ASSERT_TRUE(device.ok()) << device.status();
  EXPECT_TRUE(device->is_cuda());
  EXPECT_EQ(device->index(), 0);
}

TEST(PickDeviceTest, UnknownNameIsRejectedWithTheKnownOnes) {
  absl::StatusOr<torch::Device> device = PickDevice("tpu", "--device");
  ASSERT_EQ(device.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(device.status().message(), HasSubstr("--device 'tpu'"));
  EXPECT_THAT(device.status().message(), HasSubstr("auto, cpu, cuda"));
}

TEST(LibTorchDescriptionTest, StartsWithTheCompiledVersion) {
  EXPECT_THAT(LibTorchDescription(), ::testing::StartsWith(TORCH_VERSION));
}

}  // namespace
}  // namespace rill::learner
