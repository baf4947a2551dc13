// The one shape of a config refusal: "config field <field>: <why>", as
// InvalidArgument. Every section's rules (the experiment's, the learner's
// and its algorithms', the policies', a replay table's) refuse through it,
// so a user reads the same sentence wherever the rule lives.
#ifndef RILL_COMMON_INVALID_FIELD_H_
#define RILL_COMMON_INVALID_FIELD_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace rill {

inline absl::Status InvalidField(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("config field ", field, ": ", why));
}

// A broken rule before it is worded for its reader: the field, relative to
// the message whose rules found it ("rate_limiter.error_buffer" of a table),
// and why, as a phrase that follows the field's name ("5 is smaller than
// ..."). A component reports it in its own words ("table 'transitions':
// rate_limiter.error_buffer 5 is smaller than ..."), the experiment config
// as InvalidField with the field's full path.
struct FieldIssue {
  std::string field;
  std::string why;
};

}  // namespace rill

#endif  // RILL_COMMON_INVALID_FIELD_H_
