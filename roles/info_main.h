// `rill replay info --address=HOST:PORT`: asks a running replay shard for its
// Info and prints it (replay/info_format.h) to stdout. Flags: --address
// (required) and --info_timeout (deadline of the call, default 5 s), both
// defined in info_main.cc. Runs on the calling thread.
#ifndef RILL_ROLES_INFO_MAIN_H_
#define RILL_ROLES_INFO_MAIN_H_

namespace rill::roles {

// Exit code: 0 after printing; 2 without --address; 1 when the shard cannot
// be reached or answers with an error (the message, naming the address, on
// stderr).
int ReplayInfoMain();

}  // namespace rill::roles

#endif  // RILL_ROLES_INFO_MAIN_H_
