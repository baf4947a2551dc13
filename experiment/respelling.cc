#include "experiment/respelling.h"

#include <cctype>
#include <deque>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace rill::experiment {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::OneofDescriptor;

// Every message type reachable from `root` through its fields, root first.
std::vector<const Descriptor*> Reachable(const Descriptor& root) {
  std::vector<const Descriptor*> order = {&root};
  absl::flat_hash_set<const Descriptor*> seen = {&root};
  for (size_t i = 0; i < order.size(); ++i) {
    for (int f = 0; f < order[i]->field_count(); ++f) {
      const Descriptor* type = order[i]->field(f)->message_type();
      if (type != nullptr && seen.insert(type).second) order.push_back(type);
    }
  }
  return order;
}

// The oneof of a message that is a choice (SelectorConfig's `kind`): its
// one real oneof (proto3 `optional` fields make synthetic ones).
const OneofDescriptor* ChoiceOf(const Descriptor* type) {
  if (type == nullptr) return nullptr;
  const OneofDescriptor* choice = nullptr;
  for (int i = 0; i < type->oneof_decl_count(); ++i) {
    if (type->oneof_decl(i)->is_synthetic()) continue;
    if (choice != nullptr) return nullptr;
    choice = type->oneof_decl(i);
  }
  return choice;
}

// The field named `name`, anywhere under `root`, whose values are a closed
// set: an enum, or a message that is a choice.
const FieldDescriptor* ClosedSetField(const Descriptor& root, const std::string& name) {
  for (const Descriptor* type : Reachable(root)) {
    const FieldDescriptor* field = type->FindFieldByName(name);
    if (field != nullptr && (field->enum_type() != nullptr || ChoiceOf(field->message_type()) != nullptr)) {
      return field;
    }
  }
  return nullptr;
}

// "mode: WAL" for the enum field `mode` and the old string "wal", or the
// choices when the old string names none of them.
std::string NewSpelling(const FieldDescriptor& field, const std::string& old_value) {
  std::vector<std::string> spellings;
  if (field.enum_type() != nullptr) {
    const std::string upper = absl::AsciiStrToUpper(old_value);
    if (field.enum_type()->FindValueByName(upper) != nullptr) return absl::StrCat(field.name(), ": ", upper);
    for (int i = 0; i < field.enum_type()->value_count(); ++i) {
      spellings.push_back(absl::StrCat(field.name(), ": ", field.enum_type()->value(i)->name()));
    }
  } else {
    const OneofDescriptor* choice = ChoiceOf(field.message_type());
    for (int i = 0; i < choice->field_count(); ++i) {
      const std::string spelling = absl::StrCat(field.name(), " { ", choice->field(i)->name(), " {} }");
      if (choice->field(i)->name() == old_value) return spelling;
      spellings.push_back(spelling);
    }
  }
  return absl::StrCat("one of ", absl::StrJoin(spellings, ", "), " ('", old_value, "' is none of them)");
}

// The path from `type` to the nearest field named `name` below one of its
// fields, e.g. {"selector", "prioritized", "priority_exponent"}; empty when
// there is none.
std::vector<std::string> PathBelow(const Descriptor& type, const std::string& name) {
  std::deque<std::pair<const Descriptor*, std::vector<std::string>>> queue = {{&type, {}}};
  absl::flat_hash_set<const Descriptor*> seen = {&type};
  while (!queue.empty()) {
    auto [message, path] = std::move(queue.front());
    queue.pop_front();
    for (int f = 0; f < message->field_count(); ++f) {
      const FieldDescriptor* field = message->field(f);
      std::vector<std::string> below = path;
      below.push_back(field->name());
      if (field->name() == name && !path.empty()) return below;
      if (field->message_type() != nullptr && seen.insert(field->message_type()).second) {
        queue.emplace_back(field->message_type(), std::move(below));
      }
    }
  }
  return {};
}

// The text between `before` and the next `after` in `text`, or "".
std::string Between(absl::string_view text, absl::string_view before, absl::string_view after) {
  const size_t start = text.find(before);
  if (start == absl::string_view::npos) return "";
  const size_t end = text.find(after, start + before.size());
  if (end == absl::string_view::npos) return "";
  return std::string(text.substr(start + before.size(), end - start - before.size()));
}

// The `name: "value"` pair on `line` whose value is where the parser
// stopped (at or before `column`), or {"", ""}.
std::pair<std::string, std::string> QuotedSettingAt(absl::string_view line, int column) {
  std::pair<std::string, std::string> found;
  for (size_t quote = line.find('"'); quote != absl::string_view::npos && static_cast<int>(quote) <= column;) {
    const size_t close = line.find('"', quote + 1);
    if (close == absl::string_view::npos) break;
    size_t end = quote;
    while (end > 0 && std::isspace(static_cast<unsigned char>(line[end - 1]))) --end;
    if (end > 0 && line[end - 1] == ':') {
      --end;
      while (end > 0 && std::isspace(static_cast<unsigned char>(line[end - 1]))) --end;
      size_t start = end;
      while (start > 0 && (std::isalnum(static_cast<unsigned char>(line[start - 1])) || line[start - 1] == '_')) {
        --start;
      }
      if (start < end) {
        found = {std::string(line.substr(start, end - start)), std::string(line.substr(quote + 1, close - quote - 1))};
      }
    }
    quote = line.find('"', close + 1);
  }
  return found;
}

}  // namespace

std::optional<std::string> RespellingHint(const Descriptor& root, absl::string_view line, int column,
                                          absl::string_view parser_message) {
  // A field that moved into a message below the one it was written in.
  const std::string type_name = Between(parser_message, "Message type \"", "\"");
  const std::string missing = Between(parser_message, "has no field named \"", "\"");
  if (!type_name.empty() && !missing.empty()) {
    const Descriptor* type = root.file()->pool()->FindMessageTypeByName(type_name);
    if (type == nullptr) return std::nullopt;
    const std::vector<std::string> path = PathBelow(*type, missing);
    if (path.empty()) return std::nullopt;
    std::string spelling = absl::StrCat(missing, ": ...");
    for (auto it = path.rbegin() + 1; it != path.rend(); ++it) spelling = absl::StrCat(*it, " { ", spelling, " }");
    return absl::StrCat(missing, " moved: write ", spelling);
  }
  // A closed set written as the string it used to be.
  const auto [name, old_value] = QuotedSettingAt(line, column);
  if (name.empty()) return std::nullopt;
  const FieldDescriptor* field = ClosedSetField(root, name);
  if (field == nullptr) return std::nullopt;
  return absl::StrCat(name, " is no longer a string but ", field->enum_type() != nullptr ? "an enum" : "a message",
                      ": write ", NewSpelling(*field, old_value));
}

}  // namespace rill::experiment
