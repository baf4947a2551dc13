#include "common/json_string.h"

#include "gtest/gtest.h"

namespace rill {
namespace {

TEST(JsonStringTest, QuotesAndEscapes) {
  EXPECT_EQ(JsonString(""), "\"\"");
  EXPECT_EQ(JsonString("Pendulum-v1"), "\"Pendulum-v1\"");
  EXPECT_EQ(JsonString("a \"b\" c\\d"), "\"a \\\"b\\\" c\\\\d\"");
  EXPECT_EQ(JsonString("line\nnext\t"), "\"line\\u000anext\\u0009\"");
  EXPECT_EQ(JsonString("é"), "\"é\"");  // UTF-8 passes through
}

}  // namespace
}  // namespace rill
