// Cross-play of a sweep's settings (`rill sweep --cross_play_agents=NAMES`),
// as the MADDPG paper pits MADDPG predators against DDPG prey. Once the
// runs have ended, for every seed and every ordered pair (A, B) of the
// sweep's settings whose runs of that seed both finished, `rill eval` plays
// A's run with the named agents on B's networks (A against itself: its
// plain evaluation), --cross_play_episodes episodes at the seed as its
// --seed, so every pair of one seed plays the same starts. The results:
// cross_play.csv (one row per game: the settings, the seed, the mean return
// and the env's own figures) and cross_play.md (per figure, a matrix of the
// mean ± sample standard deviation over seeds: a row per setting of the
// other agents, a column per setting of the named ones).
//
// Thread-compatible.
#ifndef RILL_CLI_CROSS_PLAY_H_
#define RILL_CLI_CROSS_PLAY_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"

namespace rill::cli {

struct CrossPlayOptions {
  // The env's agents that play the opponent setting's networks (rill eval
  // --opponent_agents); empty: no cross-play.
  std::vector<std::string> agents;
  int episodes = 100;
  // rill eval --sample_actions.
  bool sample_actions = false;
};

// One finished (or failed) run of the sweep.
struct CrossPlayRun {
  size_t setting = 0;
  int64_t seed = 0;
  std::string run_dir;
  bool finished = false;
};

// One `rill eval` of the cross-play: `setting`'s run with the named agents
// on `opponent`'s networks, both of `seed`.
struct CrossPlayGame {
  size_t setting = 0, opponent = 0;
  int64_t seed = 0;
  double return_mean = 0;
  // The env's own figures (predator-prey's touches), by name.
  std::map<std::string, double> figures;
};

// The return and the env's figures of `rill eval`'s JSON line.
// InvalidArgument when the line is not one.
absl::StatusOr<CrossPlayGame> ParseEvalJson(const std::string& line);

// Plays every game described above with `self` (the rill binary), each
// logging to <sweep_dir>/cross_play/<setting>-vs-<opponent>-seed-<k>.log.
// The first game that fails ends the play with an error naming its
// command and its log's tail; Cancelled once `stop` is notified.
absl::StatusOr<std::vector<CrossPlayGame>> PlayCrossPlay(const std::string& self, const std::vector<CrossPlayRun>& runs,
                                                         const std::vector<std::string>& names,
                                                         const CrossPlayOptions& options, const std::string& sweep_dir,
                                                         const absl::Notification& stop);

// cross_play.md's matrices (the return's first, then each figure's).
std::string CrossPlayTables(const std::vector<CrossPlayGame>& games, const std::vector<std::string>& names,
                            const CrossPlayOptions& options);

// Writes cross_play.csv and cross_play.md into `sweep_dir` and prints the
// matrices.
absl::Status WriteCrossPlay(const std::vector<CrossPlayGame>& games, const std::vector<std::string>& names,
                            const CrossPlayOptions& options, const std::string& sweep_dir);

}  // namespace rill::cli

#endif  // RILL_CLI_CROSS_PLAY_H_
