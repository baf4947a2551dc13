// `rill learner`: the learner process (training loop + parameter service).
#ifndef RILL_ROLES_LEARNER_MAIN_H_
#define RILL_ROLES_LEARNER_MAIN_H_

namespace rill::roles {

// Reads the flags (already parsed); returns the process exit code.
int LearnerMain();

}  // namespace rill::roles

#endif  // RILL_ROLES_LEARNER_MAIN_H_
