// A string as a JSON string literal, for the JSON lines Rill prints and
// writes (summaries, run.json, `rill eval`).
//
// Thread-safe: a pure function.
#ifndef RILL_COMMON_JSON_STRING_H_
#define RILL_COMMON_JSON_STRING_H_

#include <string>

#include "absl/strings/string_view.h"

namespace rill {

// `text` quoted, with quotes and backslashes escaped and control
// characters written as \uXXXX.
std::string JsonString(absl::string_view text);

}  // namespace rill

#endif  // RILL_COMMON_JSON_STRING_H_
