// Every shipped config (deploy/configs/*.textpb) with one numeric field
// mutated, or one set field deleted, read as every process reads it
// (ParseExperimentConfig): each is accepted, or refused with a message that
// names a config field; none crashes the process or hangs it (the test's
// timeout covers hangs). The numeric fields are found by reflection: every
// int32, int64, uint32, uint64, double and float field of every message
// reachable from ExperimentConfig, whether the config sets it or not (a
// message the config leaves out is created; a repeated message it leaves
// out, like replay.tables, is filled with the element the config's
// finalization derives). Each takes 0, 1, -1, its type's maximum and
// minimum, and for floating fields NaN and +-infinity; each mutation is
// made to the config as written and to its finalized form (every default
// spelled out). A crash prints the mutation it died on.
//
// The fields whose value sizes an allocation, a thread or process count or a
// wait must be refused at their type's maximum: accepting one there is what
// used to abort a role with std::bad_alloc or hang a run.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "experiment/config.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace rill::experiment {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// The case under test, for the crash handler: a crash names it.
char g_current_case[1024] = "";

void ReportCrash(int signal_number) {
  const char prefix[] = "\nconfig_fuzz_test: crashed (signal) on: ";
  ssize_t ignored = write(STDERR_FILENO, prefix, sizeof(prefix) - 1);
  ignored = write(STDERR_FILENO, g_current_case, strnlen(g_current_case, sizeof(g_current_case)));
  ignored = write(STDERR_FILENO, "\n", 1);
  (void)ignored;
  signal(signal_number, SIG_DFL);
  raise(signal_number);
}

void InstallCrashReport() {
  for (int signal_number : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) signal(signal_number, ReportCrash);
}

// One step from a message to one of its fields: `index` is -1 for a
// singular field, else the element (== the field's size: a new element).
struct Step {
  const FieldDescriptor* field;
  int index;
};
using Path = std::vector<Step>;

// "replay.tables[0].rate_limiter.error_buffer", as refusals spell it.
std::string PathName(const Path& path, bool with_indices = true) {
  std::string name;
  for (const Step& step : path) {
    if (!name.empty()) name += ".";
    name += step.field->name();
    if (with_indices && step.index >= 0 && step.field->is_repeated() &&
        step.field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      absl::StrAppend(&name, "[", step.index, "]");
    }
  }
  return name;
}

bool IsNumeric(const FieldDescriptor* field) {
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64:
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT:
      return true;
    default:
      return false;
  }
}

// Every numeric field below `type`: `actual` is the config's message there
// (null where it has none), `filler` the finalized config's (where a
// repeated message the config leaves empty takes its elements from).
void CollectNumericPaths(const Descriptor* type, const Message* actual, const Message* filler, Path& prefix,
                         std::vector<Path>& out) {
  if (prefix.size() > 8) return;  // no recursive messages in the config; a guard all the same
  for (int i = 0; i < type->field_count(); ++i) {
    const FieldDescriptor* field = type->field(i);
    const int size = actual != nullptr && field->is_repeated() ? actual->GetReflection()->FieldSize(*actual, field) : 0;
    if (IsNumeric(field)) {
      if (!field->is_repeated()) {
        prefix.push_back({field, -1});
        out.push_back(prefix);
        prefix.pop_back();
        continue;
      }
      // Each element, or a first one where there is none.
      for (int j = 0; j < std::max(size, 1); ++j) {
        prefix.push_back({field, j});
        out.push_back(prefix);
        prefix.pop_back();
      }
      continue;
    }
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (!field->is_repeated()) {
      const Message* sub_actual = actual != nullptr && actual->GetReflection()->HasField(*actual, field)
                                      ? &actual->GetReflection()->GetMessage(*actual, field)
                                      : nullptr;
      const Message* sub_filler = filler != nullptr && filler->GetReflection()->HasField(*filler, field)
                                      ? &filler->GetReflection()->GetMessage(*filler, field)
                                      : nullptr;
      prefix.push_back({field, -1});
      CollectNumericPaths(field->message_type(), sub_actual, sub_filler, prefix, out);
      prefix.pop_back();
      continue;
    }
    const int filler_size = filler != nullptr ? filler->GetReflection()->FieldSize(*filler, field) : 0;
    if (size == 0) {
      // Filled from the finalized config's first element (see Reach), or a
      // default one.
      const Message* element =
          filler_size > 0 ? &filler->GetReflection()->GetRepeatedMessage(*filler, field, 0) : nullptr;
      prefix.push_back({field, 0});
      CollectNumericPaths(field->message_type(), element, element, prefix, out);
      prefix.pop_back();
      continue;
    }
    for (int j = 0; j < size; ++j) {
      const Message* element_filler =
          j < filler_size ? &filler->GetReflection()->GetRepeatedMessage(*filler, field, j) : nullptr;
      prefix.push_back({field, j});
      CollectNumericPaths(field->message_type(), &actual->GetReflection()->GetRepeatedMessage(*actual, field, j),
                          element_filler, prefix, out);
      prefix.pop_back();
    }
  }
}

// Every field the config sets, at any depth.
void CollectSetPaths(const Message& message, Path& prefix, std::vector<Path>& out) {
  const Reflection* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    prefix.push_back({field, -1});
    out.push_back(prefix);
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field->is_repeated()) {
        for (int j = 0; j < reflection->FieldSize(message, field); ++j) {
          prefix.back().index = j;
          CollectSetPaths(reflection->GetRepeatedMessage(message, field, j), prefix, out);
        }
      } else {
        CollectSetPaths(reflection->GetMessage(message, field), prefix, out);
      }
    }
    prefix.pop_back();
  }
}

// The message holding the path's last field, created on the way where the
// config has none; a new repeated element copies the finalized config's
// element at that index, if it has one.
Message* Reach(Message* root, const Message* filler, const Path& path) {
  Message* message = root;
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    const Step& step = path[i];
    const Reflection* reflection = message->GetReflection();
    const Message* next_filler = nullptr;
    if (filler != nullptr) {
      const Reflection* filler_reflection = filler->GetReflection();
      if (!step.field->is_repeated() && filler_reflection->HasField(*filler, step.field)) {
        next_filler = &filler_reflection->GetMessage(*filler, step.field);
      } else if (step.field->is_repeated() && step.index < filler_reflection->FieldSize(*filler, step.field)) {
        next_filler = &filler_reflection->GetRepeatedMessage(*filler, step.field, step.index);
      }
    }
    if (!step.field->is_repeated()) {
      message = reflection->MutableMessage(message, step.field);
    } else if (step.index < reflection->FieldSize(*message, step.field)) {
      message = reflection->MutableRepeatedMessage(message, step.field, step.index);
    } else {
      message = reflection->AddMessage(message, step.field);
      if (next_filler != nullptr) message->CopyFrom(*next_filler);
    }
    filler = next_filler;
  }
  return message;
}

// One value a numeric field takes, whatever its type.
enum class Value { kZero, kOne, kMinusOne, kMax, kMin, kNaN, kInf, kMinusInf };

const char* ValueName(Value value) {
  switch (value) {
    case Value::kZero: return "0";
    case Value::kOne: return "1";
    case Value::kMinusOne: return "-1";
    case Value::kMax: return "max";
    case Value::kMin: return "min";
    case Value::kNaN: return "nan";
    case Value::kInf: return "inf";
    case Value::kMinusInf: return "-inf";
  }
  return "?";
}

template <typename T>
T ValueOf(Value value) {
  using Limits = std::numeric_limits<T>;
  switch (value) {
    case Value::kZero: return T(0);
    case Value::kOne: return T(1);
    case Value::kMinusOne: return static_cast<T>(-1);
    case Value::kMax: return Limits::max();
    case Value::kMin: return Limits::lowest();
    case Value::kNaN: return Limits::quiet_NaN();
    case Value::kInf: return Limits::infinity();
    case Value::kMinusInf: return -Limits::infinity();
  }
  return T(0);
}

std::vector<Value> ValuesFor(const FieldDescriptor* field) {
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT:
      return {Value::kZero, Value::kOne,  Value::kMinusOne, Value::kMax,
              Value::kMin,  Value::kNaN, Value::kInf,      Value::kMinusInf};
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64:
      return {Value::kZero, Value::kOne, Value::kMax};
    default:
      return {Value::kZero, Value::kOne, Value::kMinusOne, Value::kMax, Value::kMin};
  }
}

// Sets the path's field (or its element) to `value`.
void SetValue(Message* root, const Message* filler, const Path& path, Value value) {
  Message* message = Reach(root, filler, path);
  const Reflection* reflection = message->GetReflection();
  const Step& step = path.back();
  const FieldDescriptor* field = step.field;
  const bool add = field->is_repeated() && step.index >= reflection->FieldSize(*message, field);
#define RILL_SET(Type, Cpp)                                                  \
  if (!field->is_repeated()) {                                               \
    reflection->Set##Type(message, field, ValueOf<Cpp>(value));              \
  } else if (add) {                                                          \
    reflection->Add##Type(message, field, ValueOf<Cpp>(value));              \
  } else {                                                                   \
    reflection->SetRepeated##Type(message, field, step.index, ValueOf<Cpp>(value)); \
  }
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: RILL_SET(Int32, int32_t) break;
    case FieldDescriptor::CPPTYPE_INT64: RILL_SET(Int64, int64_t) break;
    case FieldDescriptor::CPPTYPE_UINT32: RILL_SET(UInt32, uint32_t) break;
    case FieldDescriptor::CPPTYPE_UINT64: RILL_SET(UInt64, uint64_t) break;
    case FieldDescriptor::CPPTYPE_DOUBLE: RILL_SET(Double, double) break;
    case FieldDescriptor::CPPTYPE_FLOAT: RILL_SET(Float, float) break;
    default: break;
  }
#undef RILL_SET
}

// Fields that size an allocation, a count of threads or processes, or a
// wait: at their type's maximum the config must be refused, by name.
const std::set<std::string>& MustRefuseAtMax() {
  static const std::set<std::string>* const kFields = new std::set<std::string>{
      "eval.episodes",
      "learner.prefetch_batches",
      "learner.max_prefetch_bytes",
      "actor.max_in_flight_bytes",
      "learner.batch_size",
      "learner.num_threads",
      "network.hidden_sizes",
      "topology.num_actors",
      "topology.num_replay_shards",
      "topology.num_inference_servers",
      "actor.num_envs",
      "actor.insert_batch_items",
      "actor.max_in_flight_batches",
      "actor.learning_starts",
      "replay.durability.group_commit_micros",
      "replay.durability.checkpoint_interval_seconds",
      "replay.max_message_bytes",
      "replay.max_in_flight_inserts_per_stream",
      "replay.grpc_memory_quota_bytes",
      "replay.tables.max_size",
      "inference.max_batch",
      "inference.max_wait_micros",
      "env.remote.reconnect_seconds",
      "max_env_steps",
      "seed",
  };
  return *kFields;
}

struct Outcome {
  int64_t cases = 0;
  int64_t accepted = 0;
  std::vector<std::string> failures;  // what broke the contract
};

// Runs one mutated config through what every process does with it.
void Check(const v1::ExperimentConfig& mutated, const std::string& label, const std::string& field_name,
           bool must_refuse, Outcome& outcome) {
  std::string text;
  if (!google::protobuf::TextFormat::PrintToString(mutated, &text)) {
    outcome.failures.push_back(absl::StrCat(label, ": cannot print the mutated config"));
    return;
  }
  std::snprintf(g_current_case, sizeof(g_current_case), "%s", label.c_str());
  ++outcome.cases;
  const absl::StatusOr<v1::ExperimentConfig> config = ParseExperimentConfig(text);
  if (config.ok()) {
    ++outcome.accepted;
    // RILL_FUZZ_SHOW_ACCEPTED=1 lists what was accepted.
    if (std::getenv("RILL_FUZZ_SHOW_ACCEPTED") != nullptr) std::printf("accepted: %s\n", label.c_str());
    if (must_refuse) outcome.failures.push_back(absl::StrCat(label, ": accepted, but it must be refused"));
    return;
  }
  const absl::Status& status = config.status();
  // A role exits with code 2 (bad input) for these (roles/role.h).
  const bool bad_input = absl::IsInvalidArgument(status) || absl::IsNotFound(status) ||
                         absl::IsFailedPrecondition(status) || absl::IsOutOfRange(status);
  const bool named = absl::StrContains(status.message(), "config field") ||
                     (!field_name.empty() && absl::StrContains(status.message(), field_name));
  if (!bad_input || !named) {
    outcome.failures.push_back(absl::StrCat(label, ": refused without naming a config field: ", status.ToString()));
  }
}

class ConfigFuzzTest : public ::testing::Test {
 protected:
  // Run from a folder laid out as the repository root after `bazel build`
  // (as config_test's EveryShippedConfigLoads does): the plugin configs
  // name bazel-bin/examples/plugin/lib*.so (every example library this
  // test's data has).
  static void SetUpTestSuite() {
    runfiles_ = new std::filesystem::path(std::filesystem::current_path());
    const std::filesystem::path root = std::filesystem::path(std::getenv("TEST_TMPDIR")) / "root";
    std::filesystem::create_directories(root / "bazel-bin/examples/plugin");
    std::filesystem::create_directory_symlink(*runfiles_ / "deploy", root / "deploy");
    for (const auto& library : std::filesystem::directory_iterator(*runfiles_ / "examples/plugin")) {
      if (library.path().extension() != ".so") continue;
      std::filesystem::create_symlink(library.path(), root / "bazel-bin/examples/plugin" / library.path().filename());
    }
    std::filesystem::current_path(root);
    InstallCrashReport();
  }
  static void TearDownTestSuite() {
    std::filesystem::current_path(*runfiles_);
    delete runfiles_;
  }

  static std::filesystem::path* runfiles_;
};

std::filesystem::path* ConfigFuzzTest::runfiles_ = nullptr;

// Runs every mutation of `base` (as a shipped config reads, or as its
// finalization wrote it out) through Check; `filler` is the finalized
// config new repeated elements copy.
void FuzzOneBase(const std::string& label, const v1::ExperimentConfig& base, const v1::ExperimentConfig& filler,
                 Outcome& outcome, std::set<std::string>& tried_at_max) {
  std::vector<Path> numeric;
  Path prefix;
  CollectNumericPaths(v1::ExperimentConfig::descriptor(), &base, &filler, prefix, numeric);
  for (const Path& field_path : numeric) {
    const std::string name = PathName(field_path);
    const std::string field = PathName(field_path, /*with_indices=*/false);
    const Step& last = field_path.back();
    const std::string element = last.index >= 0 ? absl::StrCat("[", last.index, "]") : "";
    for (Value value : ValuesFor(last.field)) {
      v1::ExperimentConfig mutated = base;
      SetValue(&mutated, &filler, field_path, value);
      const bool must_refuse = (value == Value::kMax && MustRefuseAtMax().count(field) > 0) ||
                               (value == Value::kOne && field == "replay.max_message_bytes");
      if (must_refuse && value == Value::kMax) tried_at_max.insert(field);
      Check(mutated, absl::StrCat(label, ": ", name, element, " = ", ValueName(value)), name, must_refuse, outcome);
    }
  }
  std::vector<Path> set;
  prefix.clear();
  CollectSetPaths(base, prefix, set);
  for (const Path& field_path : set) {
    v1::ExperimentConfig mutated = base;
    Message* parent = Reach(&mutated, nullptr, field_path);
    parent->GetReflection()->ClearField(parent, field_path.back().field);
    Check(mutated, absl::StrCat(label, ": ", PathName(field_path), " deleted"), PathName(field_path),
          /*must_refuse=*/false, outcome);
  }
}

std::vector<std::string> ShippedConfigs() {
  std::vector<std::string> paths;
  for (const auto& entry : std::filesystem::directory_iterator("deploy/configs")) {
    if (entry.path().extension() == ".textpb") paths.push_back(entry.path().string());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST_F(ConfigFuzzTest, EveryMutatedShippedConfigIsAcceptedOrRefusedNamingAField) {
  const std::vector<std::string> paths = ShippedConfigs();
  ASSERT_GE(paths.size(), 13u);
  const absl::Time start = absl::Now();
  Outcome outcome;
  std::set<std::string> tried_at_max;
  for (const std::string& path : paths) {
    const std::string text = ReadText(path);
    v1::ExperimentConfig written;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &written)) << path;
    const absl::StatusOr<v1::ExperimentConfig> finalized = ParseExperimentConfig(text);
    ASSERT_TRUE(finalized.ok()) << path << ": " << finalized.status();
    // As the user wrote it, and as finalization writes it out next to a
    // run's checkpoints (every default spelled out, every field set).
    FuzzOneBase(path, written, *finalized, outcome, tried_at_max);
    FuzzOneBase(absl::StrCat(path, " (finalized)"), *finalized, *finalized, outcome, tried_at_max);
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::printf("config fuzz: %zu shipped configs, %lld mutated configs (%lld accepted, the rest refused naming a "
              "field), %.1f s\n",
              paths.size(), static_cast<long long>(outcome.cases), static_cast<long long>(outcome.accepted), seconds);
  // A listed field that no config reaches any more would check nothing.
  for (const std::string& field : MustRefuseAtMax()) {
    EXPECT_TRUE(tried_at_max.count(field) > 0) << field << " was never mutated: is it still in the config?";
  }
  // RILL_FUZZ_SHOW_ALL=1 lists every failure, not the first 60.
  const size_t shown = std::getenv("RILL_FUZZ_SHOW_ALL") != nullptr ? outcome.failures.size() : 60;
  for (size_t i = 0; i < outcome.failures.size() && i < shown; ++i) ADD_FAILURE() << outcome.failures[i];
  EXPECT_TRUE(outcome.failures.empty()) << outcome.failures.size() << " of " << outcome.cases
                                        << " mutated configs broke the contract (the first " << shown << " above)";
}

// The mutations issue 31 reported (one field of a shipped config changed):
// each crashed or hung a run, or failed it without naming the field. Now
// each is refused at start-up naming the field. (topology.num_actors
// 100000 is a run this machine cannot hold: `rill launch` refuses it,
// tests/config_bounds_launch_test.cc.)
TEST_F(ConfigFuzzTest, TheReportedConfigsAreRefusedNamingTheirField) {
  struct Case {
    const char* config;
    const char* change;  // text merged into the config
    bool clear_hidden_sizes;
    const char* expected;
  };
  const Case cases[] = {
      {"pendulum_sac", "eval { episodes: 2147483647 }", false, "config field eval.episodes: 2147483647"},
      {"pendulum_sac", "learner { prefetch_batches: 2147483647 }", false,
       "config field learner.prefetch_batches: 2147483647"},
      {"pendulum_sac", "topology { num_actors: 2147483647 }", false, "config field topology.num_actors: 2147483647"},
      {"pendulum_sac", "replay { durability { group_commit_micros: 2147483647 } }", false,
       "config field replay.durability.group_commit_micros: 2147483647"},
      {"pendulum_sac", "learner { batch_size: 2147483647 }", false, "config field learner.batch_size: 2147483647"},
      {"cartpole_impala", "learner { batch_size: 2147483647 }", false,
       "config field learner.batch_size: 2147483647"},
      {"pendulum_sac", "replay { max_message_bytes: 1 }", false, "config field replay.max_message_bytes: 1 is smaller"},
      {"pendulum_sac", "network { hidden_sizes: [65536, 65536] }", true, "config field network.hidden_sizes"},
      {"humanoid_sac", "network { hidden_sizes: 65536 }", true, "config field network.hidden_sizes"},
      {"pendulum_sac", "learner { num_threads: 2147483647 }", false, "config field learner.num_threads: 2147483647"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrCat(c.config, " with ", c.change));
    v1::ExperimentConfig config;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
        ReadText(absl::StrCat("deploy/configs/", c.config, ".textpb")), &config));
    if (c.clear_hidden_sizes) config.mutable_network()->clear_hidden_sizes();
    ASSERT_TRUE(google::protobuf::TextFormat::MergeFromString(c.change, &config));
    std::string text;
    ASSERT_TRUE(google::protobuf::TextFormat::PrintToString(config, &text));
    const absl::StatusOr<v1::ExperimentConfig> parsed = ParseExperimentConfig(text);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << parsed.status();
    EXPECT_TRUE(absl::StrContains(parsed.status().message(), c.expected)) << parsed.status();
  }
}

}  // namespace
}  // namespace rill::experiment
