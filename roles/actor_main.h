// `rill actor`: one actor (or, with --eval, the evaluator) process.
#ifndef RILL_ROLES_ACTOR_MAIN_H_
#define RILL_ROLES_ACTOR_MAIN_H_

namespace rill::roles {

// Reads the flags (already parsed); returns the process exit code.
int ActorMain();

}  // namespace rill::roles

#endif  // RILL_ROLES_ACTOR_MAIN_H_
