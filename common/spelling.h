// "Did you mean ...?" for a mistyped name: the closest of a set of known
// names by edit distance (insertions, deletions, substitutions and swaps of
// two neighbouring letters each count one), when it is close enough to be
// a likely typo rather than another word. Used for commands, flags, config
// files and env ids.
//
// Thread-safe: pure functions.
#ifndef RILL_COMMON_SPELLING_H_
#define RILL_COMMON_SPELLING_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace rill {

// The optimal string alignment distance between `a` and `b`, ignoring case.
int EditDistance(absl::string_view a, absl::string_view b);

// The known name closest to `word`, if its distance is at most a third of
// the longer of the two (at least 1, at most 3); ties go to the earlier
// name. nullopt for an exact match or when nothing is that close.
std::optional<std::string> ClosestName(absl::string_view word, const std::vector<std::string>& known);

// " (did you mean 'NAME'?)" for ClosestName's answer, "" without one:
// ready to append to an error message.
std::string DidYouMean(absl::string_view word, const std::vector<std::string>& known);

}  // namespace rill

#endif  // RILL_COMMON_SPELLING_H_
