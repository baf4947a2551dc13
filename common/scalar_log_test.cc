#include "common/scalar_log.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>

#include "gtest/gtest.h"

namespace rill {
namespace {

std::string TempPath(const std::string& name) { return std::string(std::getenv("TEST_TMPDIR")) + "/" + name; }

TEST(ScalarLogTest, AppendsLinesThatReadBackAndFollowsAGrowingFile) {
  const std::string path = TempPath("metrics/learner.jsonl");  // the folder is made
  absl::StatusOr<std::unique_ptr<ScalarLog>> log = ScalarLog::Open(path);
  ASSERT_TRUE(log.ok()) << log.status();
  (*log)->Append({{"updates", 100}, {"loss/critic", 0.25}}, absl::FromUnixSeconds(1700000000));
  (*log)->Append({{"updates", 200}, {"loss/critic", std::numeric_limits<double>::quiet_NaN()}},
                 absl::FromUnixSeconds(1700000002));
  int64_t offset = 0;
  std::vector<std::map<std::string, double>> lines = ReadScalarLog(path, 0, &offset);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].at("time"), 1700000000);
  EXPECT_EQ(lines[0].at("updates"), 100);
  EXPECT_EQ(lines[0].at("loss/critic"), 0.25);
  EXPECT_EQ(lines[1].count("loss/critic"), 0u);  // null: not a number
  // From the offset on: only what came after.
  (*log)->Append({{"updates", 300}});
  std::vector<std::map<std::string, double>> more = ReadScalarLog(path, offset, &offset);
  ASSERT_EQ(more.size(), 1u);
  EXPECT_EQ(more[0].at("updates"), 300);
  EXPECT_TRUE(ReadScalarLog(path, offset, &offset).empty());
}

TEST(ScalarLogTest, ATornLineIsSkippedOrLeftForLaterAndAMissingFileIsEmpty) {
  const std::string path = TempPath("torn.jsonl");
  std::ofstream(path) << "{\"time\": 1, \"a\": 2}\n{\"time\": 2, \"a\"\n{\"time\": 3, \"a\": 4}\n{\"time\": 4, \"a\": 5";
  int64_t offset = 0;
  std::vector<std::map<std::string, double>> lines = ReadScalarLog(path, 0, &offset);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1].at("a"), 4);
  // The unfinished last line is read once it ends.
  std::ofstream(path, std::ios::app) << "}\n";
  lines = ReadScalarLog(path, offset, &offset);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].at("a"), 5);
  EXPECT_TRUE(ReadScalarLog(TempPath("none.jsonl")).empty());
}

TEST(ScalarLogTest, AFolderThatCannotBeWrittenIsPermissionDenied) {
  EXPECT_FALSE(ScalarLog::Open("/proc/no/such/log.jsonl").ok());
}

}  // namespace
}  // namespace rill
