// `rill actor`: one actor (or, with --eval, the evaluator) process.
#ifndef RILL_ACTOR_ACTOR_MAIN_H_
#define RILL_ACTOR_ACTOR_MAIN_H_

namespace rill::actor {

// Reads the flags (already parsed); returns the process exit code.
int ActorMain();

}  // namespace rill::actor

#endif  // RILL_ACTOR_ACTOR_MAIN_H_
