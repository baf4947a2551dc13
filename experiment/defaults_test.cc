// Each default of the experiment config is written once, and its field's
// comment in proto/config.proto says it: a fixed default as the field's
// option (proto/options.proto), whose comment says "Default <value>"; an
// algorithm's default in learner/algorithms/spec.cc, whose comment lists it
// ("Default per algorithm (...): 256; impala 32; ppo 8." on a learner
// field, the value after a field of an algorithm's section). These tests
// read the .proto's source and fail naming each field whose comment and
// default disagree.
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/declared_defaults.h"
#include "common/grpc_util.h"
#include "envs/catalog.h"
#include "envs/multi_agent/joint.h"
#include "experiment/config.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "learner/algorithms/spec.h"

namespace rill::experiment {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A field's comments in the .proto: the `//` lines right above it, and the
// one after it on its line.
struct FieldComments {
  std::string leading;
  std::string trailing;
};

std::string ReadConfigProto() {
  std::ifstream in("proto/config.proto");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The comments of every field of `proto` (the source of one .proto of
// package rill.v1), by the field's full name ("rill.v1.ActorConfig.num_envs").
std::map<std::string, FieldComments> CommentsByField(const std::string& proto) {
  static const std::regex kOpen(R"(^\s*(message|enum|oneof)\s+(\w+)\s*\{)");
  static const std::regex kField(
      R"(^\s*(?:optional\s+|repeated\s+)?[\w.]+\s+(\w+)\s*=\s*\d+\s*(?:\[[^\]]*\])?\s*;\s*(?://\s*(.*))?$)");
  std::map<std::string, FieldComments> comments;
  // The blocks the line is in: a message's name, kEnum or kOneof.
  static const std::string kEnum = "(enum)", kOneof = "(oneof)";
  std::vector<std::string> scopes;
  std::vector<std::string> leading;
  for (const absl::string_view raw : absl::StrSplit(proto, '\n')) {
    const std::string line(raw);
    absl::string_view stripped = absl::StripAsciiWhitespace(line);
    std::smatch match;
    if (absl::ConsumePrefix(&stripped, "//")) {
      leading.push_back(std::string(absl::StripAsciiWhitespace(stripped)));
      continue;
    }
    if (std::regex_search(line, match, kOpen)) {
      // `message Fifo {}` opens and closes on one line.
      if (!absl::StrContains(line, '}')) {
        scopes.push_back(match[1] == "message" ? match[2].str() : match[1] == "enum" ? kEnum : kOneof);
      }
    } else if (stripped == "}") {
      if (!scopes.empty()) scopes.pop_back();
    } else if (std::regex_match(line, match, kField) && !scopes.empty() && scopes.back() != kEnum) {
      std::vector<std::string> names;
      for (const std::string& scope : scopes) {
        if (scope != kEnum && scope != kOneof) names.push_back(scope);
      }
      comments[absl::StrCat("rill.v1.", absl::StrJoin(names, "."), ".", match[1].str())] =
          FieldComments{absl::StrJoin(leading, " "), match[2].str()};
    }
    leading.clear();
  }
  return comments;
}

// The messages of the experiment config, ExperimentConfig and every
// message inside it.
std::vector<const Descriptor*> ConfigMessages() {
  std::vector<const Descriptor*> messages = {v1::ExperimentConfig::descriptor()};
  std::set<const Descriptor*> seen(messages.begin(), messages.end());
  for (size_t i = 0; i < messages.size(); ++i) {
    for (int f = 0; f < messages[i]->field_count(); ++f) {
      const Descriptor* inner = messages[i]->field(f)->message_type();
      if (inner != nullptr && seen.insert(inner).second) messages.push_back(inner);
    }
  }
  return messages;
}

// Whether `comment` says "Default <value>", the value whole (not the
// start of a longer number).
bool SaysDefault(const std::string& comment, const std::string& value) {
  const std::regex says(absl::StrCat("Default ", absl::StrReplaceAll(value, {{".", "\\."}, {"-", "\\-"}}),
                                     R"(([^0-9.e]|\.(?![0-9])|$))"));
  return std::regex_search(comment, says);
}

// The fields whose declared default their comment does not state, and the
// fields whose comment states a fixed default they do not declare, each
// with why.
std::vector<std::string> DeclaredDefaultDisagreements(const std::string& proto) {
  const std::map<std::string, FieldComments> comments = CommentsByField(proto);
  static const std::regex kStatesOne(R"(Default -?[1-9])");
  std::vector<std::string> disagreements;
  for (const Descriptor* message : ConfigMessages()) {
    for (int f = 0; f < message->field_count(); ++f) {
      const FieldDescriptor& field = *message->field(f);
      const auto comment = comments.find(field.full_name());
      const std::string leading = comment == comments.end() ? "" : comment->second.leading;
      const std::optional<std::string> declared = DeclaredDefault(field);
      if (declared.has_value() && !SaysDefault(leading, *declared)) {
        disagreements.push_back(absl::StrCat(field.full_name(), " declares default ", *declared,
                                             " but its comment does not say \"Default ", *declared, "\""));
      }
      if (!declared.has_value() && std::regex_search(leading, kStatesOne)) {
        disagreements.push_back(absl::StrCat(field.full_name(), ": its comment states a default the field does not "
                                             "declare ([(default_value) = \"...\"])"));
      }
    }
  }
  return disagreements;
}

TEST(DefaultsTest, EveryDeclaredDefaultIsWhatItsCommentSays) {
  const std::string proto = ReadConfigProto();
  ASSERT_FALSE(proto.empty()) << "proto/config.proto is not among the test's data";
  EXPECT_THAT(DeclaredDefaultDisagreements(proto), IsEmpty());
}

TEST(DefaultsTest, ACommentThatDriftedFromItsDeclaredDefaultIsNamed) {
  std::string proto = ReadConfigProto();
  const std::string said = "past it (see below). Default 8.\n  int32 prefetch_batches";
  ASSERT_THAT(proto, HasSubstr(said));
  absl::StrReplaceAll({{said, "past it (see below). Default 80.\n  int32 prefetch_batches"}}, &proto);
  EXPECT_THAT(DeclaredDefaultDisagreements(proto),
              ElementsAre(HasSubstr("rill.v1.LearnerConfig.prefetch_batches declares default 8")));
}

TEST(DefaultsTest, ACommentStatingAnUndeclaredDefaultIsNamed) {
  std::string proto = ReadConfigProto();
  const std::string field = "  int32 max_episode_steps = 2;";
  ASSERT_THAT(proto, HasSubstr(field));
  absl::StrReplaceAll({{field, "  // Default 100.\n" + field}}, &proto);
  EXPECT_THAT(DeclaredDefaultDisagreements(proto), ElementsAre(HasSubstr("rill.v1.EnvConfig.max_episode_steps")));
}

// The env each algorithm is finalized for: its action space, and images
// for an algorithm that learns from them.
envs::EnvSpec EnvFor(const learner::AlgorithmSpec& spec) {
  if (spec.joint_agents) return *envs::JointSpec(*envs::LookupMultiAgentSpec("CooperativeNavigation-v0"));
  envs::EnvSpec env = *envs::LookupEnvSpec(
      spec.action_spaces == learner::ActionSpaces::kDiscrete ? "CartPole-v1" : "Pendulum-v1");
  if (spec.needs_torso) {
    env.observation_shape = {3, 84, 84};
    env.observation_type = envs::ObservationType::kUint8;
  }
  return env;
}

// The value `field` of `message` holds, spelled as a comment spells it
// ("0.0003", "true", "RMSPROP").
std::string Spelled(const google::protobuf::Message& message, const FieldDescriptor& field) {
  const google::protobuf::Reflection& reflection = *message.GetReflection();
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(reflection.GetInt32(message, &field));
    case FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(reflection.GetInt64(message, &field));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return absl::StrCat(reflection.GetDouble(message, &field));
    case FieldDescriptor::CPPTYPE_BOOL:
      return reflection.GetBool(message, &field) ? "true" : "false";
    case FieldDescriptor::CPPTYPE_ENUM:
      return reflection.GetEnum(message, &field)->name();
    default:
      return "";
  }
}

// `text` ("3e-4", "1.0", "250000 (the paper's ...)") in Spelled's spelling,
// or "" when it starts with no value.
std::string Normalized(absl::string_view text) {
  const absl::string_view stripped = absl::StripAsciiWhitespace(text);
  const std::string token(stripped.substr(0, stripped.find_first_of(" (:")));
  double number = 0;
  if (absl::SimpleAtod(token, &number)) return absl::StrCat(number);
  if (token == "true" || token == "false") return token;
  if (!token.empty() && absl::ascii_isupper(token[0])) return token;
  return "";
}

// `text`'s value as an integer field spells it ("1000000", which
// Normalized's double spelling writes "1e+06"), or "" when it starts with
// no integer.
std::string IntegerSpelled(absl::string_view text) {
  const absl::string_view stripped = absl::StripAsciiWhitespace(text);
  int64_t number = 0;
  if (absl::SimpleAtoi(stripped.substr(0, stripped.find_first_of(" (:;")), &number)) return absl::StrCat(number);
  return "";
}

// What the comments of the learner section say `spec`'s algorithm gets by
// default, by field, against what its finalizer gives, for every field
// whose comment disagrees.
std::vector<std::string> AlgorithmDefaultDisagreements(const learner::AlgorithmSpec& spec,
                                                       const std::map<std::string, FieldComments>& comments) {
  v1::LearnerConfig learner;
  const FieldDescriptor* section_field = v1::LearnerConfig::descriptor()->FindFieldByName(spec.name);
  learner.GetReflection()->MutableMessage(&learner, section_field);
  const absl::Status finalized = learner::FinalizeLearnerConfig(learner, EnvFor(spec));
  if (!finalized.ok()) return {absl::StrCat(spec.name, ": ", finalized.ToString())};
  // Which of the oneof's fields of this section's type it is (td3 0, ddpg 1):
  // the comment's values for them are separated by " / ", in that order.
  int alternative = 0;
  for (int i = 0; i < section_field->index_in_oneof(); ++i) {
    if (section_field->containing_oneof()->field(i)->message_type() == section_field->message_type()) ++alternative;
  }
  std::vector<std::string> disagreements;
  auto check = [&](const google::protobuf::Message& message, const FieldDescriptor& field, absl::string_view said) {
    const std::string expected = Normalized(said), got = Spelled(message, field);
    const std::string integer = IntegerSpelled(said);
    if (!expected.empty() && expected != got && (integer.empty() || integer != got)) {
      disagreements.push_back(absl::StrCat(spec.name, ": ", field.full_name(), " is ", got,
                                           " by default; its comment says ", said));
    }
  };
  const google::protobuf::Message& section = learner.GetReflection()->GetMessage(learner, section_field);
  for (int f = 0; f < section.GetDescriptor()->field_count(); ++f) {
    const FieldDescriptor& field = *section.GetDescriptor()->field(f);
    const auto comment = comments.find(field.full_name());
    if (comment == comments.end() || comment->second.trailing.empty()) continue;
    // "2 / 1; 1..8": the values, then the field's rule.
    const absl::string_view trailing = comment->second.trailing;
    const std::vector<std::string> values = absl::StrSplit(trailing.substr(0, trailing.find(';')), " / ");
    check(section, field, values[std::min<size_t>(alternative, values.size() - 1)]);
  }
  // "Default per algorithm (learner/algorithms/spec.cc): 256; impala 32."
  static const std::regex kPerAlgorithm(R"(Default per algorithm \([^)]*\): ([^.]*(\.[0-9][^.]*)*)\.)");
  for (int f = 0; f < v1::LearnerConfig::descriptor()->field_count(); ++f) {
    const FieldDescriptor& field = *v1::LearnerConfig::descriptor()->field(f);
    const auto comment = comments.find(field.full_name());
    std::smatch match;
    if (comment == comments.end() || !std::regex_search(comment->second.leading, match, kPerAlgorithm)) continue;
    std::string said;
    for (const absl::string_view entry : absl::StrSplit(match[1].str(), "; ")) {
      const std::vector<absl::string_view> words = absl::StrSplit(entry, ' ');
      if (words.size() == 1 && said.empty()) said = std::string(words[0]);
      if (words.size() == 2 && words[0] == spec.name) said = std::string(words[1]);
    }
    check(learner, field, said);
  }
  return disagreements;
}

TEST(DefaultsTest, EveryAlgorithmsDefaultsAreWhatTheCommentsSay) {
  const std::map<std::string, FieldComments> comments = CommentsByField(ReadConfigProto());
  ASSERT_FALSE(comments.empty());
  for (const learner::AlgorithmSpec& spec : learner::AlgorithmSpecs()) {
    EXPECT_THAT(AlgorithmDefaultDisagreements(spec, comments), IsEmpty());
  }
}

TEST(DefaultsTest, AnAlgorithmsDefaultMissingFromTheCommentIsNamed) {
  std::string proto = ReadConfigProto();
  const std::string said = "256; impala 32; ppo 8; maddpg 1024.";
  ASSERT_THAT(proto, HasSubstr(said));
  absl::StrReplaceAll({{said, "256; impala 32; maddpg 1024."}}, &proto);
  const learner::AlgorithmSpec& ppo = **learner::FindAlgorithmSpec("ppo");
  EXPECT_THAT(AlgorithmDefaultDisagreements(ppo, CommentsByField(proto)),
              ElementsAre(HasSubstr("rill.v1.LearnerConfig.batch_size is 8 by default")));
}

// The gRPC layer's default message limit (common/grpc_util.h) is the one
// the config declares, not a second 64 MiB.
TEST(DefaultsTest, TheGrpcMessageLimitIsTheConfigsDeclaredDefault) {
  const FieldDescriptor* field = v1::ReplayConfig::descriptor()->FindFieldByName("max_message_bytes");
  ASSERT_NE(field, nullptr);
  EXPECT_EQ(DeclaredDefault(*field), absl::StrCat(kDefaultMaxMessageBytes));
}

TEST(DefaultsTest, AMeaningfulZeroStaysZero) {
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(
      "env { name: \"Pendulum-v1\" } actor { learning_starts: 0 } learner { gamma: 0 tau: 0 checkpoint_every: 0 } "
      "topology { inference: CENTRAL } inference { max_wait_micros: 0 }");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->actor().learning_starts(), 0);
  EXPECT_EQ(config->learner().gamma(), 0);
  EXPECT_EQ(config->learner().tau(), 0);
  EXPECT_EQ(config->learner().checkpoint_every(), 0);
  EXPECT_EQ(config->inference().max_wait_micros(), 0);
}

TEST(DefaultsTest, AZeroMeaningTheDefaultStillDoes) {
  absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(
      "env { name: \"Pendulum-v1\" } actor { num_envs: 0 } learner { batch_size: 0 prefetch_batches: 0 } "
      "replay { max_message_bytes: 0 } topology { num_actors: 0 }");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->actor().num_envs(), 1);
  EXPECT_EQ(config->learner().batch_size(), 256);
  EXPECT_EQ(config->learner().prefetch_batches(), 8);
  EXPECT_EQ(config->replay().max_message_bytes(), int64_t{64} << 20);
  EXPECT_EQ(config->topology().num_actors(), 2);
}

}  // namespace
}  // namespace rill::experiment
