// `rill learner`: the learner process (training loop + parameter service).
#ifndef RILL_LEARNER_LEARNER_MAIN_H_
#define RILL_LEARNER_LEARNER_MAIN_H_

namespace rill::learner {

// Reads the flags (already parsed); returns the process exit code.
int LearnerMain();

}  // namespace rill::learner

#endif  // RILL_LEARNER_LEARNER_MAIN_H_
