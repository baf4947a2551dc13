#include "cli/config_settings.h"

#include <optional>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/spelling.h"
#include "experiment/config.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

ABSL_FLAG(std::string, set, "",
          "Config fields to override, `PATH=VALUE` separated by ';', PATH a dotted config field "
          "(learner.sac.actor_lr, learner.batch_size, actor.num_envs). rill launch: one value each, written into "
          "the run's config.textpb. rill sweep: `PATH=V1,V2,...`, and every combination runs; empty: the config as "
          "it is, over the seeds.");

namespace rill::cli {
namespace {

// Keeps a parse attempt's errors off stderr: ApplySettings tries a value
// bare, then quoted, and says itself what neither fits.
class QuietErrors : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int, int, const std::string&) override {}
};

// Why `path` names no scalar field of ExperimentConfig, with the closest
// field's name where one part is mistyped; nullopt when it names one.
std::optional<std::string> PathProblem(const std::string& path) {
  const google::protobuf::Descriptor* message = v1::ExperimentConfig::descriptor();
  const std::vector<std::string> parts = absl::StrSplit(path, '.');
  std::string walked;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string where = walked.empty() ? "the config" : walked;
    if (message == nullptr) return absl::StrCat(where, " is a value, not a section: it has no field ", parts[i]);
    const google::protobuf::FieldDescriptor* field = message->FindFieldByName(parts[i]);
    if (field == nullptr) {
      std::vector<std::string> known;
      for (int f = 0; f < message->field_count(); ++f) known.push_back(message->field(f)->name());
      return absl::StrCat(where, " has no field ", parts[i], DidYouMean(parts[i], known));
    }
    walked = walked.empty() ? parts[i] : absl::StrCat(walked, ".", parts[i]);
    message = field->message_type();
  }
  if (message != nullptr) return absl::StrCat(walked, " is a section, not a value: set one of its fields");
  return std::nullopt;
}

// Clears the field `parts` names in `config` when it is repeated (the
// setting replaces its values rather than appending); whether it is.
bool ClearIfRepeated(const std::vector<std::string>& parts, v1::ExperimentConfig& config) {
  google::protobuf::Message* message = &config;
  for (size_t i = 0; i < parts.size(); ++i) {
    const google::protobuf::FieldDescriptor* field = message->GetDescriptor()->FindFieldByName(parts[i]);
    if (field == nullptr) return false;
    if (i + 1 == parts.size()) {
      if (!field->is_repeated()) return false;
      message->GetReflection()->ClearField(message, field);
      return true;
    }
    if (field->is_repeated() || field->message_type() == nullptr) return false;
    message = message->GetReflection()->MutableMessage(message, field);
  }
  return false;
}

}  // namespace

absl::StatusOr<std::vector<SweptSetting>> ParseSettings(const std::string& text) {
  std::vector<SweptSetting> settings;
  for (absl::string_view part : absl::StrSplit(text, ';', absl::SkipWhitespace())) {
    part = absl::StripAsciiWhitespace(part);
    const size_t equals = part.find('=');
    SweptSetting setting;
    if (equals != absl::string_view::npos) {
      setting.path = std::string(absl::StripAsciiWhitespace(part.substr(0, equals)));
      for (absl::string_view value : absl::StrSplit(part.substr(equals + 1), ',', absl::SkipWhitespace())) {
        setting.values.emplace_back(absl::StripAsciiWhitespace(value));
      }
    }
    const bool path_ok = !setting.path.empty() && setting.path.find_first_not_of(
                                                      "abcdefghijklmnopqrstuvwxyz0123456789_.") == std::string::npos;
    if (!path_ok || setting.values.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--set: '", part, "' is not PATH=V1,V2,... (e.g. learner.sac.actor_lr=1e-3,3e-4)"));
    }
    settings.push_back(std::move(setting));
  }
  return settings;
}

absl::StatusOr<v1::ExperimentConfig> ApplySettings(const v1::ExperimentConfig& config,
                                                   const std::vector<std::pair<std::string, std::string>>& settings) {
  v1::ExperimentConfig changed = config;
  for (const auto& [path, value] : settings) {
    if (std::optional<std::string> problem = PathProblem(path); problem.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat("--set: ", path, "=", value, ": ", *problem));
    }
    // learner.sac.actor_lr=1e-3 as learner { sac { actor_lr: 1e-3 } }; a
    // repeated field is replaced, by one value or a list: [64 64].
    const std::vector<std::string> parts = absl::StrSplit(path, '.');
    const bool repeated = ClearIfRepeated(parts, changed);
    std::string list = value;
    if (repeated && absl::StartsWith(value, "[") && absl::EndsWith(value, "]")) {
      list = absl::StrCat("[", absl::StrJoin(absl::StrSplit(value.substr(1, value.size() - 2), ' ',
                                                            absl::SkipWhitespace()),
                                             ", "),
                          "]");
    }
    std::string text = absl::StrCat(parts.back(), ": ", list);
    for (auto part = parts.rbegin() + 1; part != parts.rend(); ++part) text = absl::StrCat(*part, " { ", text, " }");
    google::protobuf::TextFormat::Parser parser;
    QuietErrors quiet;
    parser.RecordErrorsTo(&quiet);
    if (!parser.MergeFromString(text, &changed)) {
      // A string field takes its value quoted.
      const std::string quoted = absl::StrCat(text.substr(0, text.rfind(list)), "\"", list, "\"",
                                              text.substr(text.rfind(list) + list.size()));
      if (!parser.MergeFromString(quoted, &changed)) {
        return absl::InvalidArgumentError(
            absl::StrCat("--set: ", path, "=", value, " does not fit the config (not a value of its type): ", text));
      }
    }
  }
  return changed;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> LaunchSettings(const std::string& text) {
  absl::StatusOr<std::vector<SweptSetting>> settings = ParseSettings(text);
  if (!settings.ok()) return settings.status();
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const SweptSetting& setting : *settings) {
    if (setting.values.size() != 1) {
      return absl::InvalidArgumentError(absl::StrCat("--set: ", setting.path, " has ", setting.values.size(),
                                                     " values (", absl::StrJoin(setting.values, ","),
                                                     "); one run takes one: `rill sweep` runs each"));
    }
    pairs.emplace_back(setting.path, setting.values[0]);
  }
  return pairs;
}

absl::StatusOr<v1::ExperimentConfig> ApplyLaunchSettings(const v1::ExperimentConfig& config, const std::string& text) {
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> pairs = LaunchSettings(text);
  if (!pairs.ok()) return pairs.status();
  if (pairs->empty()) return config;
  absl::StatusOr<v1::ExperimentConfig> changed = ApplySettings(config, *pairs);
  if (!changed.ok()) return changed.status();
  return experiment::FinalizeExperimentConfig(*std::move(changed));
}

}  // namespace rill::cli
