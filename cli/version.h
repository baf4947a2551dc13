// What `rill --version` prints and every run records: the git commit the
// binary was built from, stamped by Bazel (tools/workspace_status.sh).
#ifndef RILL_CLI_VERSION_H_
#define RILL_CLI_VERSION_H_

#include <string>

namespace rill::cli {

// "1a2b3c4d5e6f", "1a2b3c4d5e6f-dirty" (built with uncommitted changes) or
// "unknown" (built outside a git checkout, or without the status command).
std::string BuildCommit();

}  // namespace rill::cli

#endif  // RILL_CLI_VERSION_H_
