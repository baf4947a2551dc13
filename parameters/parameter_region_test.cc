#include "parameters/parameter_region.h"

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace rill::parameters {
namespace {

// Version `version` with a blob of `bytes` bytes, each the version's low
// byte: a reader that mixed two versions' bytes would see it.
std::shared_ptr<const v1::ParameterUpdate> Version(int64_t version, size_t bytes) {
  auto update = std::make_shared<v1::ParameterUpdate>();
  update->set_version(version);
  update->set_learner_updates(10 * version);
  update->set_blob(std::string(bytes, static_cast<char>(version & 0xff)));
  update->add_pool_versions(version);
  return update;
}

// A subscriber's reader, through the offer's socket and token as a client
// on this host takes it.
absl::StatusOr<std::unique_ptr<ParameterRegionReader>> Subscribe(ParameterRegionWriter& writer) {
  absl::StatusOr<std::shared_ptr<HostedRegion>> hosted = writer.Offer(absl::Seconds(10));
  if (!hosted.ok()) return hosted.status();
  absl::StatusOr<std::unique_ptr<SharedRegion>> mapped =
      SharedRegion::Connect((*hosted)->address(), {{"parameters", 0, (*hosted)->size()}}, absl::Seconds(10));
  if (!mapped.ok()) return mapped.status();
  return ParameterRegionReader::Open(*std::move(mapped), (*hosted)->size());
}

class ParameterRegionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<RegionServer>> regions = RegionServer::Create("rill-parameters-test");
    ASSERT_TRUE(regions.ok()) << regions.status();
    regions_ = *std::move(regions);
    writer_ = std::make_unique<ParameterRegionWriter>(regions_.get());
  }

  std::unique_ptr<RegionServer> regions_;
  std::unique_ptr<ParameterRegionWriter> writer_;
};

TEST_F(ParameterRegionTest, NoOfferBeforeTheFirstVersion) {
  EXPECT_EQ(writer_->Offer(absl::Seconds(1)).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ParameterRegionTest, EverySubscriberReadsTheNewestVersionOfOneFile) {
  ASSERT_TRUE(writer_->Write(Version(1, 1000)).ok());
  auto first = Subscribe(*writer_);
  auto second = Subscribe(*writer_);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ((*first)->latest_version(), 1);

  auto read = (*first)->ReadNewer(0);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->version(), 1);
  EXPECT_EQ((*read)->learner_updates(), 10);
  EXPECT_EQ((*read)->blob(), std::string(1000, '\x01'));
  auto again = (*first)->ReadNewer(1);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value()) << "nothing newer than 1";

  // Written once, read by both; four versions go round the three slots.
  for (int64_t version = 2; version <= 5; ++version) ASSERT_TRUE(writer_->Write(Version(version, 1000)).ok());
  for (auto* reader : {first->get(), second->get()}) {
    auto newest = reader->ReadNewer(1);
    ASSERT_TRUE(newest.ok() && newest->has_value());
    EXPECT_EQ((*newest)->version(), 5);
    EXPECT_EQ((*newest)->blob(), std::string(1000, '\x05'));
    EXPECT_EQ((*newest)->pool_versions(0), 5);
  }
}

// Nobody reading, nothing written: with no way in open (withdrawn, or an
// offer nobody took) a version is only kept, and the next offer writes the
// newest kept one before its client maps the region.
TEST_F(ParameterRegionTest, NothingIsWrittenWhileNoWayInIsOpen) {
  ASSERT_TRUE(writer_->Write(Version(1, 1000)).ok()) << "the first sizes the region";
  EXPECT_EQ(writer_->open_ways(), 0);
  // A spy: a reader whose way in is withdrawn still maps the file.
  absl::StatusOr<std::shared_ptr<HostedRegion>> hosted = writer_->Offer(absl::Seconds(10));
  ASSERT_TRUE(hosted.ok()) << hosted.status();
  auto mapped = SharedRegion::Connect((*hosted)->address(), {{"parameters", 0, (*hosted)->size()}}, absl::Seconds(10));
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  auto spy = ParameterRegionReader::Open(*std::move(mapped), (*hosted)->size());
  ASSERT_TRUE(spy.ok()) << spy.status();
  EXPECT_EQ(writer_->open_ways(), 1);
  ASSERT_TRUE(writer_->Write(Version(2, 1000)).ok());
  EXPECT_EQ((*spy)->latest_version(), 2) << "written while a client holds the region";
  writer_->Withdraw(hosted->get());
  EXPECT_EQ(writer_->open_ways(), 0);
  for (int64_t version = 3; version <= 5; ++version) ASSERT_TRUE(writer_->Write(Version(version, 1000)).ok());
  EXPECT_EQ((*spy)->latest_version(), 2) << "kept, not written";

  // An offer writes the newest kept version; one nobody takes lapses, and
  // the writes stop again.
  auto lapsing = writer_->Offer(absl::Milliseconds(100));
  ASSERT_TRUE(lapsing.ok()) << lapsing.status();
  EXPECT_EQ((*spy)->latest_version(), 5);
  ASSERT_TRUE(writer_->Write(Version(6, 1000)).ok());
  EXPECT_EQ((*spy)->latest_version(), 6) << "written while an offer is open";
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (writer_->open_ways() > 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  ASSERT_EQ(writer_->open_ways(), 0) << "the offer nobody took lapsed";
  ASSERT_TRUE(writer_->Write(Version(7, 1000)).ok());
  EXPECT_EQ((*spy)->latest_version(), 6);

  // A client that comes reads the newest, whole.
  auto reader = Subscribe(*writer_);
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto newest = (*reader)->ReadNewer(0);
  ASSERT_TRUE(newest.ok() && newest->has_value());
  EXPECT_EQ((*newest)->version(), 7);
  EXPECT_EQ((*newest)->blob(), std::string(1000, '\x07'));
  EXPECT_EQ(writer_->open_ways(), 1);
  reader->reset();
  const absl::Time left_by = absl::Now() + absl::Seconds(30);
  while (writer_->open_ways() > 0 && absl::Now() < left_by) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(writer_->open_ways(), 0) << "a client that left closes its way in";
}

TEST_F(ParameterRegionTest, AVersionTooBigRetiresTheRegion) {
  ASSERT_TRUE(writer_->Write(Version(1, 100)).ok());
  auto reader = Subscribe(*writer_);
  ASSERT_TRUE(reader.ok()) << reader.status();
  // Slots hold twice the first version and 64 KiB more, in pages: 69,632.
  ASSERT_TRUE(writer_->Write(Version(2, 60'000)).ok()) << "room to grow";
  const absl::Status too_big = writer_->Write(Version(3, 200'000));
  EXPECT_EQ(too_big.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(too_big.message().find("parameter version 3 has 2000"), std::string::npos) << too_big.message();
  EXPECT_TRUE(writer_->retired());
  EXPECT_TRUE((*reader)->retired());
  EXPECT_FALSE((*reader)->WaitNewer(2, absl::Seconds(10))) << "a waiter is told at once";
  auto newest = (*reader)->ReadNewer(1);
  ASSERT_TRUE(newest.ok() && newest->has_value());
  EXPECT_EQ((*newest)->version(), 2) << "the last version that fit";
  EXPECT_EQ(writer_->Write(Version(4, 100)).code(), absl::StatusCode::kFailedPrecondition) << "retired for good";
  EXPECT_EQ(writer_->Offer(absl::Seconds(1)).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ParameterRegionTest, AWaiterSleepsUntilTheNextWrite) {
  ASSERT_TRUE(writer_->Write(Version(1, 10)).ok());
  auto reader = Subscribe(*writer_);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_TRUE((*reader)->WaitNewer(0, absl::Seconds(10))) << "version 1 is there";
  EXPECT_FALSE((*reader)->WaitNewer(1, absl::Milliseconds(20))) << "nothing newer: the timeout";

  absl::Notification waiting;
  absl::Notification woke;
  bool newer = false;
  std::thread waiter([&] {
    waiting.Notify();
    newer = (*reader)->WaitNewer(1, absl::Seconds(30));
    woke.Notify();
  });
  waiting.WaitForNotification();
  ASSERT_TRUE(writer_->Write(Version(2, 10)).ok());
  EXPECT_TRUE(woke.WaitForNotificationWithTimeout(absl::Seconds(30)));
  waiter.join();
  EXPECT_TRUE(newer);
}

// A writer going as fast as it can, a reader checking that every version
// it is handed is whole: the seqlock never returns a torn slot.
TEST_F(ParameterRegionTest, AReaderNeverGetsATornVersion) {
  ASSERT_TRUE(writer_->Write(Version(1, 1'000'000)).ok());
  auto reader = Subscribe(*writer_);
  ASSERT_TRUE(reader.ok()) << reader.status();
  std::atomic<bool> stop{false};
  std::thread writing([&] {
    for (int64_t version = 2; !stop.load(); ++version) ASSERT_TRUE(writer_->Write(Version(version, 1'000'000)).ok());
  });
  int64_t seen = 0;
  int reads = 0;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (reads < 300 && absl::Now() < deadline) {
    auto read = (*reader)->ReadNewer(seen);
    ASSERT_TRUE(read.ok()) << read.status();
    if (!read->has_value()) continue;
    const v1::ParameterUpdate& update = **read;
    ASSERT_GT(update.version(), seen);
    ASSERT_EQ(update.learner_updates(), 10 * update.version());
    ASSERT_EQ(update.blob().size(), 1'000'000u);
    ASSERT_EQ(update.blob().find_first_not_of(static_cast<char>(update.version() & 0xff)), std::string::npos)
        << "version " << update.version() << " holds another version's bytes";
    seen = update.version();
    ++reads;
  }
  stop.store(true);
  writing.join();
  EXPECT_EQ(reads, 300) << "the reader took versions while they were written";
}

TEST_F(ParameterRegionTest, OpenRefusesARegionThatIsNotAParameterRegion) {
  HostedRegion::Handlers handlers;
  handlers.on_message = [](std::string_view) {};
  handlers.on_closed = [](const absl::Status&) {};
  absl::StatusOr<std::shared_ptr<HostedRegion>> plain = regions_->Offer(4096, handlers, absl::Seconds(10));
  ASSERT_TRUE(plain.ok()) << plain.status();
  auto mapped = SharedRegion::Connect((*plain)->address(), {{"parameters", 0, 4096}}, absl::Seconds(10));
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  auto opened = ParameterRegionReader::Open(*std::move(mapped), 4096);
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(opened.status().message().find("not a parameter region"), std::string::npos) << opened.status();
}

TEST_F(ParameterRegionTest, OfferFileRefusesAFileShorterThanTheRegion) {
  ASSERT_TRUE(writer_->Write(Version(1, 10)).ok());
  HostedRegion::Handlers handlers;
  handlers.on_message = [](std::string_view) {};
  handlers.on_closed = [](const absl::Status&) {};
  const int memfd = ::memfd_create("short", MFD_CLOEXEC);
  ASSERT_GE(memfd, 0);
  ASSERT_EQ(::ftruncate(memfd, 100), 0);
  auto offered = regions_->OfferFile(memfd, 4096, handlers, absl::Seconds(1));
  ::close(memfd);
  EXPECT_EQ(offered.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(offered.status().message().find("a region of 4096 bytes in a file of 100 bytes"), std::string::npos)
      << offered.status();
}

}  // namespace
}  // namespace rill::parameters
