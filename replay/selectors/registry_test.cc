// Every case of SelectorConfig.kind has one row, named as its selector is.
#include "replay/selectors/registry.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace rill::replay {
namespace {

TEST(SelectorRegistryTest, EveryCaseOfTheOneofHasOneRowNamedAsItsField) {
  const google::protobuf::OneofDescriptor* oneof = v1::SelectorConfig::descriptor()->FindOneofByName("kind");
  ASSERT_NE(oneof, nullptr);
  std::set<int> cases;
  for (const SelectorRow& row : SelectorRows()) {
    EXPECT_TRUE(cases.insert(row.kind).second) << "two rows for case " << row.kind;
    const google::protobuf::FieldDescriptor* field = v1::SelectorConfig::descriptor()->FindFieldByNumber(row.kind);
    ASSERT_NE(field, nullptr) << row.name;
    EXPECT_EQ(field->name(), row.name);
  }
  EXPECT_EQ(cases.size(), static_cast<size_t>(oneof->field_count()));
}

TEST(SelectorRegistryTest, EachRowMakesTheSelectorItNames) {
  for (const SelectorRow& row : SelectorRows()) {
    v1::TableConfig config;
    const google::protobuf::FieldDescriptor* field = v1::SelectorConfig::descriptor()->FindFieldByNumber(row.kind);
    config.mutable_selector()->GetReflection()->MutableMessage(config.mutable_selector(), field);
    EXPECT_EQ(SelectorRowOf(config).name, std::string(row.name));
    EXPECT_EQ(row.make(config, 8)->name(), row.name);
  }
}

TEST(SelectorRegistryTest, AConfigWithoutASelectorSamplesUniformly) {
  EXPECT_EQ(std::string(SelectorRowOf(v1::TableConfig()).name), "uniform");
}

}  // namespace
}  // namespace rill::replay
