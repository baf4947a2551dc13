#include "replay/server/info_format.h"

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::replay {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

v1::InfoResponse BlockedShard() {
  v1::InfoResponse info;
  info.set_shard(2);
  info.set_durability_mode("none");
  v1::TableInfo* table = info.add_tables();
  table->set_name("transitions");
  table->set_selector("prioritized");
  table->set_size(250);
  table->set_max_size(1000);
  table->set_bytes(42000);
  table->set_items_inserted(300);
  table->set_items_sampled(9600);
  table->set_items_evicted(50);
  v1::RateLimiterInfo* limiter = table->mutable_rate_limiter();
  limiter->set_min_size_to_sample(200);
  limiter->set_samples_per_insert(32);
  limiter->set_error_buffer(3200);
  limiter->set_insert_blocked(true);
  limiter->set_insert_blocked_seconds(12.25);
  limiter->set_blocked_reason("insert blocked: ... waiting for samples (inserts=300, samples=9600)");
  return info;
}

TEST(InfoFormatTest, ShowsEachTablesFillCountersAndWhatBlocksIt) {
  const std::string text = FormatReplayInfo(BlockedShard(), "10.0.0.1:7000", absl::Now());
  EXPECT_THAT(text, HasSubstr("replay shard 2 at 10.0.0.1:7000: 1 table, durability none"));
  EXPECT_THAT(text, HasSubstr("table 'transitions' (prioritized): 250 of 1000 items (25.0%), 42.0 KB; "
                              "300 inserted, 9600 sampled, 50 evicted"));
  EXPECT_THAT(text, HasSubstr("min_size_to_sample 200, samples_per_insert 32, error_buffer 3200"));
  EXPECT_THAT(text, HasSubstr("inserts: BLOCKED (waited 12.2 s in total); samples: free (waited 0.0 s in total)"));
  EXPECT_THAT(text, HasSubstr("why: insert blocked: ... waiting for samples (inserts=300, samples=9600)"));
  EXPECT_THAT(text, Not(HasSubstr("last checkpoint")));
}

TEST(InfoFormatTest, ShowsTheLastCheckpointOfADurableShard) {
  v1::InfoResponse info = BlockedShard();
  info.set_durability_mode("wal");
  v1::CheckpointInfo* checkpoint = info.mutable_last_checkpoint();
  checkpoint->set_path("/data/replay/ckpt-000003");
  const absl::Time completed = absl::FromUnixSeconds(1700000000);
  checkpoint->set_completed_unix_seconds(absl::ToUnixSeconds(completed));
  checkpoint->set_items(250);
  checkpoint->set_bytes(42000);
  checkpoint->set_duration_seconds(0.5);
  checkpoint->set_pause_seconds(0.004);
  checkpoint->set_checkpoints_written(3);
  checkpoint->set_wal_bytes(1500000);
  checkpoint->set_restored(true);
  const std::string text = FormatReplayInfo(info, "h:1", completed + absl::Seconds(12));
  EXPECT_THAT(text, HasSubstr("durability wal"));
  EXPECT_THAT(text, HasSubstr("last checkpoint: /data/replay/ckpt-000003"));
  EXPECT_THAT(text, HasSubstr("completed 2023-11-14 22:13:20 UTC (12 s ago), restored at start-up, 250 items, "
                              "42.0 KB, took 0.50 s, longest table pause 0.004 s"));
  EXPECT_THAT(text, HasSubstr("write-ahead log 1.5 MB since"));
}

TEST(InfoFormatTest, ShowsWhatRecoveryLostToDamagedFiles) {
  v1::InfoResponse info = BlockedShard();
  info.set_durability_mode("wal");
  info.mutable_last_checkpoint()->set_path("/data/replay/ckpt-000004");
  info.mutable_last_checkpoint()->set_recovery_lost_items(350);
  info.mutable_last_checkpoint()->set_recovery_losses("'/data/replay/wal-1.log' at offset 1981: checksum mismatch");
  EXPECT_THAT(FormatReplayInfo(info, "h:1", absl::Now()),
              HasSubstr("recovery at start-up LOST 350 acknowledged items to damaged files (accepted by "
                        "durability.on_corruption): '/data/replay/wal-1.log' at offset 1981: checksum mismatch\n"));
  EXPECT_THAT(FormatReplayInfo(BlockedShard(), "h:1", absl::Now()), Not(HasSubstr("LOST")));
}

TEST(InfoFormatTest, SaysWhenADurableShardHasNoCheckpointYet) {
  v1::InfoResponse info = BlockedShard();
  info.set_durability_mode("checkpoint");
  EXPECT_THAT(FormatReplayInfo(info, "h:1", absl::Now()), HasSubstr("last checkpoint: none (0 written since start)"));
}

TEST(InfoFormatTest, BytesUseDecimalUnits) {
  EXPECT_EQ(FormatBytes(999), "999 B");
  EXPECT_EQ(FormatBytes(1500), "1.5 KB");
  EXPECT_EQ(FormatBytes(40000000), "40.0 MB");
  EXPECT_EQ(FormatBytes(1200000000), "1.20 GB");
}

}  // namespace
}  // namespace rill::replay
