// CatchTorchErrors: the one place an algorithm's update turns the c10::Error
// LibTorch may throw into a Status (no exception leaves Rill code). Each
// algorithm checks its batch first, so that a bad batch is InvalidArgument
// and changes nothing, then runs its step through this.
//
// Thread safety: that of `step`.
#ifndef RILL_LEARNER_ALGORITHMS_TORCH_ERRORS_H_
#define RILL_LEARNER_ALGORITHMS_TORCH_ERRORS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "c10/util/Exception.h"

namespace rill::learner {

// Returns `step()`'s status, or Internal "<context>: <LibTorch's message>"
// when it throws c10::Error (what it changed before the throw stays
// changed).
template <typename Step>
absl::Status CatchTorchErrors(absl::string_view context, Step&& step) {
  try {
    return std::forward<Step>(step)();
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat(context, ": ", e.what_without_backtrace()));
  }
}

}  // namespace rill::learner

#endif  // RILL_LEARNER_ALGORITHMS_TORCH_ERRORS_H_
