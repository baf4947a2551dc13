// Every case of RemoverConfig.kind has one row, named as its remover is.
#include "replay/removers/registry.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace rill::replay {
namespace {

TEST(RemoverRegistryTest, EveryCaseOfTheOneofHasOneRowNamedAsItsField) {
  const google::protobuf::OneofDescriptor* oneof = v1::RemoverConfig::descriptor()->FindOneofByName("kind");
  ASSERT_NE(oneof, nullptr);
  std::set<int> cases;
  for (const RemoverRow& row : RemoverRows()) {
    EXPECT_TRUE(cases.insert(row.kind).second) << "two rows for case " << row.kind;
    const google::protobuf::FieldDescriptor* field = v1::RemoverConfig::descriptor()->FindFieldByNumber(row.kind);
    ASSERT_NE(field, nullptr) << row.name;
    EXPECT_EQ(field->name(), row.name);
    // Sampled without limit or not, the remover is the one the row names.
    EXPECT_EQ(row.make(8, 0)->name(), row.name);
    EXPECT_EQ(row.make(8, 1)->name(), row.name);
  }
  EXPECT_EQ(cases.size(), static_cast<size_t>(oneof->field_count()));
}

TEST(RemoverRegistryTest, AConfigWithoutARemoverEvictsTheOldest) {
  EXPECT_EQ(std::string(RemoverRowOf(v1::TableConfig()).name), "fifo");
}

}  // namespace
}  // namespace rill::replay
