#include "common/declared_defaults.h"

#include "gtest/gtest.h"
#include "proto/config.pb.h"

namespace rill {
namespace {

TEST(DeclaredDefaultsTest, FillsAFieldLeftZero) {
  v1::ActorConfig actor;
  FillDeclaredDefaults(actor);
  EXPECT_EQ(actor.num_envs(), 1);
  EXPECT_EQ(actor.insert_batch_items(), 64);
}

TEST(DeclaredDefaultsTest, KeepsAValueTheConfigGives) {
  v1::ActorConfig actor;
  actor.set_num_envs(16);
  FillDeclaredDefaults(actor);
  EXPECT_EQ(actor.num_envs(), 16);
}

TEST(DeclaredDefaultsTest, FillsAnOptionalFieldLeftUnset) {
  v1::LearnerConfig learner;
  FillDeclaredDefaults(learner);
  EXPECT_EQ(learner.gamma(), 0.99);
  EXPECT_EQ(learner.checkpoint_every(), 5000);
}

TEST(DeclaredDefaultsTest, KeepsTheZeroOfAnOptionalField) {
  v1::LearnerConfig learner;
  learner.set_gamma(0);
  learner.set_checkpoint_every(0);
  FillDeclaredDefaults(learner);
  EXPECT_EQ(learner.gamma(), 0);
  EXPECT_EQ(learner.checkpoint_every(), 0);
}

TEST(DeclaredDefaultsTest, LeavesFieldsWithoutADeclaredDefault) {
  v1::LearnerConfig learner;
  FillDeclaredDefaults(learner);
  EXPECT_EQ(learner.batch_size(), 0);
  EXPECT_FALSE(learner.has_tau());
  EXPECT_EQ(learner.algorithm_case(), v1::LearnerConfig::ALGORITHM_NOT_SET);
}

TEST(DeclaredDefaultsTest, FillsNoMessageInside) {
  v1::ReplayConfig replay;
  FillDeclaredDefaults(replay);
  EXPECT_EQ(replay.max_message_bytes(), int64_t{64} << 20);
  EXPECT_FALSE(replay.has_durability());
}

TEST(DeclaredDefaultsTest, ReadsTheDeclaredText) {
  const google::protobuf::FieldDescriptor* field = v1::ReplayConfig::descriptor()->FindFieldByName("max_message_bytes");
  ASSERT_NE(field, nullptr);
  EXPECT_EQ(DeclaredDefault(*field), "67108864");
  EXPECT_EQ(DeclaredDefault(*v1::LearnerConfig::descriptor()->FindFieldByName("batch_size")), std::nullopt);
}

}  // namespace
}  // namespace rill
