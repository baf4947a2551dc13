// RETURN_IF_ERROR / ASSIGN_OR_RETURN: the one pair of error-propagation
// macros used across Rill.
#ifndef RILL_COMMON_STATUS_MACROS_H_
#define RILL_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define RILL_CONCAT_INNER_(a, b) a##b
#define RILL_CONCAT_(a, b) RILL_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr)                      \
  do {                                             \
    ::absl::Status rill_status_ = (expr);          \
    if (!rill_status_.ok()) return rill_status_;   \
  } while (0)

#define ASSIGN_OR_RETURN(lhs, expr) \
  RILL_ASSIGN_OR_RETURN_IMPL_(RILL_CONCAT_(rill_statusor_, __LINE__), lhs, expr)

#define RILL_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // RILL_COMMON_STATUS_MACROS_H_
