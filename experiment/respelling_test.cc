#include "experiment/respelling.h"

#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/config.pb.h"

namespace rill::experiment {
namespace {

using ::testing::HasSubstr;
using ::testing::Optional;

const google::protobuf::Descriptor& Root() { return *v1::ExperimentConfig::descriptor(); }

// The hint for the string `value` on `line`, refused by the parser at its
// opening quote.
std::optional<std::string> HintAt(const std::string& line, const std::string& value) {
  return RespellingHint(Root(), line, static_cast<int>(line.find("\"" + value + "\"")), "Expected \"{\".");
}

TEST(RespellingTest, AStringSelectorBecomesTheOneofCaseItNames) {
  EXPECT_THAT(HintAt("    selector: \"prioritized\"", "prioritized"),
              Optional(HasSubstr("write selector { prioritized {} }")));
  EXPECT_THAT(HintAt("tables { name: \"t\" remover: \"lowest_priority\" }", "lowest_priority"),
              Optional(HasSubstr("write remover { lowest_priority {} }")));
}

TEST(RespellingTest, AStringModeBecomesTheEnumValueInCapitals) {
  EXPECT_THAT(HintAt("  durability { mode: \"wal\" dir: \"/d\" }", "wal"), Optional(HasSubstr("write mode: WAL")));
  EXPECT_THAT(HintAt("topology { num_actors: 4 inference: \"central\" }", "central"),
              Optional(HasSubstr("write inference: CENTRAL")));
  EXPECT_THAT(HintAt("  device: \"cpu\"", "cpu"), Optional(HasSubstr("write device: CPU")));
  EXPECT_THAT(HintAt("    optimizer: \"adam\"", "adam"), Optional(HasSubstr("write optimizer: ADAM")));
}

TEST(RespellingTest, AnUnknownOldValueListsTheChoices) {
  std::optional<std::string> hint = HintAt("selector: \"heap\"", "heap");
  ASSERT_TRUE(hint.has_value());
  EXPECT_THAT(*hint, HasSubstr("selector { uniform {} }, selector { prioritized {} }, selector { fifo {} }"));
  EXPECT_THAT(*hint, HasSubstr("'heap' is none of them"));
  EXPECT_THAT(HintAt("mode: \"fast\"", "fast"), Optional(HasSubstr("mode: NONE, mode: CHECKPOINT, mode: WAL")));
}

TEST(RespellingTest, AFieldThatMovedDownIsShownInItsNewPlace) {
  EXPECT_THAT(RespellingHint(Root(), "  priority_exponent: 0.6", 2,
                             "Message type \"rill.v1.TableConfig\" has no field named \"priority_exponent\"."),
              Optional(HasSubstr("write selector { prioritized { priority_exponent: ... } }")));
}

TEST(RespellingTest, OtherErrorsGetNoHint) {
  // A string where a string belongs, a field that exists nowhere, a number.
  EXPECT_EQ(HintAt("env { name: \"Pendulum-v1\" }", "Pendulum-v1"), std::nullopt);
  EXPECT_EQ(RespellingHint(Root(), "  colour: 3", 2, "Message type \"rill.v1.TableConfig\" has no field named \"colour\"."),
            std::nullopt);
  EXPECT_EQ(RespellingHint(Root(), "  max_size: x", 12, "Expected integer, got: x"), std::nullopt);
}

}  // namespace
}  // namespace rill::experiment
