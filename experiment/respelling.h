// The new spelling of a config line the text parser refused because a
// setting changed type: a closed set that was a string is now an enum
// (`mode: "wal"` -> `mode: WAL`) or a oneof of messages (`selector: "fifo"`
// -> `selector { fifo {} }`), or a field moved into such a message
// (`priority_exponent` -> `selector { prioritized { priority_exponent } }`).
// Worked out from the config's descriptors, so a set that becomes a type
// later is covered without a list to keep.
//
// Thread-safe: pure functions.
#ifndef RILL_EXPERIMENT_RESPELLING_H_
#define RILL_EXPERIMENT_RESPELLING_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"

namespace rill::experiment {

// A hint such as "selector is no longer a string: write selector { fifo {} }"
// for the parse error `parser_message` at zero-based `column` of `line` (the
// text of the line it was reported on), for a config of type `root`; nullopt
// when the error is not one of a changed spelling.
std::optional<std::string> RespellingHint(const google::protobuf::Descriptor& root, absl::string_view line,
                                          int column, absl::string_view parser_message);

}  // namespace rill::experiment

#endif  // RILL_EXPERIMENT_RESPELLING_H_
