// The evaluator: `eval.episodes` envs run in lockstep with the deterministic
// policy of the newest parameter version (its own policy copy, following the
// learner's parameter stream: action_sources/local.h), one episode per env
// per round, writing nothing. The first round evaluates the first version
// the learner publishes (the untrained policy: a curve's first point); each
// later one a version at least `eval.every_updates` newer than the last one
// evaluated, or the final one once the learner has stopped publishing for a
// second. Each reports the round's mean return and length (metrics
// rill_eval_*, and the log). With eval.video_every_seconds and a video
// folder, a round now and then draws its first episode into an MP4
// (episode_video.h).
//
// In a self-play run (config.self_play, a two-player zero-sum game such as
// PongDuel-v0) each round also plays the version against the versions it
// evaluated in the last self_play.eval_opponents rounds (copies it keeps,
// loaded from the parameters it evaluated): eval.episodes games each, in
// envs of their own where env e's seat e mod 2 is the version's and the
// other the past version's (opponent_seats.h), deterministic on both
// sides. A game is the version's win, draw or loss by the sign of its
// seat's return (ratings.h: only a zero-sum game's returns say that), and
// the version is rated on an Elo scale from its score against the scripted
// player (eval.scripted_agents, rated kAnchorRating) and against the past
// versions (rated when they were evaluated). Reported as rill_eval_rating
// and rill_eval_{win,draw,loss}_rate{opponent="scripted"|"past"}, on the
// log line and in the scalar log (AppendRound).
//
// Run() is called from one thread; the object is not otherwise thread-safe.
#ifndef RILL_ACTOR_EVALUATOR_H_
#define RILL_ACTOR_EVALUATOR_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "actor/action_sources/interface.h"
#include "actor/action_sources/local.h"
#include "actor/action_sources/fixed.h"
#include "actor/action_sources/row_subset.h"
#include "actor/actor_metrics.h"
#include "actor/agent_returns.h"
#include "actor/episode_video.h"
#include "actor/lockstep_envs.h"
#include "actor/opponent_seats.h"
#include "actor/ratings.h"
#include "common/scalar_log.h"
#include "envs/episode_statistics.h"
#include "prometheus/registry.h"
#include "proto/config.pb.h"

namespace rill::actor {

// What one round of PlayEvaluationRound came to.
struct EvaluationRound {
  // One episode per env (row), in row order, scripted agents' rows left
  // out (LockstepEnvs::ScriptAgents).
  std::vector<envs::EpisodeRecord> episodes;
  // Every env's episode ended; false when stopped first.
  bool finished = false;
  // Env steps taken, counting every env at every step.
  int64_t env_steps = 0;
  // Remote or plugin envs that failed and were reset mid-episode (their
  // episodes started over).
  int env_failures = 0;
  // The envs' own figures (LockstepEnvs::metrics: a particle task's
  // landmark distance, a game's wins), each the mean over the envs' first
  // episodes of the round (one per env, whatever its agents); empty for
  // most envs.
  std::vector<std::pair<std::string, double>> env_metrics;
  // A multi-agent env's agents (PlayEvaluationRound's `agent_returns`),
  // each agent's mean return over the counted episodes, by agent index
  // (NaN for an agent none of whose episodes counted: a scripted one's);
  // empty otherwise.
  std::vector<double> agent_return_means;
};

// Plays one episode in each of `envs` (reset first) with `policy`'s
// deterministic actions, in lockstep: an env whose episode has ended steps
// on into the next, which is not counted. What the evaluator runs for each
// version, and `rill eval` for a checkpoint. Returns the first error of the
// policy or the envs; stops early when `stop` is notified. With `video`,
// env 0's episode is drawn into it (episode_video.h: a frame after the
// reset and after each step of that episode; a failing video stops
// recording, never the round); the caller finishes it. With `seats`
// (opponent_seats.h, made for `envs`), their opponents' deterministic
// actions replace `policy`'s on their rows, whose episodes are left out
// as a scripted agent's are; OpponentSeats::Act's errors. With
// `agent_returns` (agent_returns.h, made for `envs`), each agent's mean
// return fills the round's agent_return_means. `deterministic` false:
// `policy` and the seats' opponents sample their actions instead.
absl::StatusOr<EvaluationRound> PlayEvaluationRound(LockstepEnvs& envs, ActionSource& policy,
                                                    const absl::Notification& stop,
                                                    EpisodeVideo* video = nullptr,
                                                    OpponentSeats* seats = nullptr,
                                                    AgentReturns* agent_returns = nullptr,
                                                    bool deterministic = true);

// Wins, draws and losses of the seat whose episodes `episodes` are, in a
// two-player zero-sum game (OutcomeOfReturn: by the return's sign).
WinDrawLoss CountOutcomes(const std::vector<envs::EpisodeRecord>& episodes);

// A self-play round's results (Evaluator, above): the version's rating,
// its games against the scripted player (none without
// eval.scripted_agents) and against the past versions together (none in a
// run's first round or with self_play.eval_opponents 0).
struct SelfPlayFigures {
  double rating = kAnchorRating;
  std::optional<WinDrawLoss> scripted;
  std::optional<WinDrawLoss> past;
  // The past versions played.
  int past_versions = 0;
};

// The base seed of evaluator `id`'s envs and policy in a run of `seed`:
// apart from every actor's.
uint64_t EvaluatorSeed(uint64_t seed, int id);

// A finished round's figures: its episodes' mean, lowest and highest
// return and mean length (`episodes` not empty).
struct RoundFigures {
  int episodes = 0;
  double return_mean = 0, return_min = 0, return_max = 0, length_mean = 0;
  std::vector<std::pair<std::string, double>> env_metrics;  // EvaluationRound's
  std::optional<SelfPlayFigures> self_play;                 // a self-play run's
  // A run of several policies: each one's mean return over its agents, by
  // name in config order.
  std::vector<std::pair<std::string, double>> policy_returns;
};
RoundFigures SummarizeRound(const std::vector<envs::EpisodeRecord>& episodes,
                            std::vector<std::pair<std::string, double>> env_metrics = {});

// The round's line of the scalar log (metrics/evaluator.jsonl), as the
// evaluator appends one every round: the env metrics as fields "env/NAME";
// each policy's return as "policy/NAME/return";
// a self-play round's "rating", and "OPPONENT/win_rate", "/draw_rate",
// "/loss_rate" and "/games" for OPPONENT "scripted" and "past" when it
// played them ("past/versions": how many). Its "time" is `began`, when the
// round took its version: the launcher places the round at the env steps
// of that moment, the policy's.
void AppendRound(ScalarLog& log, int64_t version, const RoundFigures& round, absl::Time began = absl::Now());

// "rating 1191, vs scripted 7-1-2, vs 3 past versions 12-10-8
// (won-drawn-lost)": a self-play round as the evaluator's line prints it.
std::string FormatSelfPlay(const SelfPlayFigures& self_play);

// A policy's mean return in a round: the mean over `agents` (agent
// indices, the policy's) of their EvaluationRound::agent_return_means,
// leaving out the agents none of whose episodes counted (a scripted
// agent's); none when no agent of it counted.
std::optional<double> PolicyReturnMean(const std::vector<double>& agent_return_means, const std::vector<int>& agents);

// "landmark_distance 0.412, collisions 1.3": the env metrics as the
// evaluator's and rill eval's lines print them; "" for none.
std::string FormatEnvMetrics(const std::vector<std::pair<std::string, double>>& env_metrics);

struct EvaluatorOptions {
  v1::ExperimentConfig config;  // finalized (experiment/config.h)
  std::string learner_address;
  // Seeds envs and policy apart from every actor's.
  int id = 0;
  uint64_t seed = 0;
  // Where each round is appended (common/scalar_log.h): version, episodes,
  // return mean, min and max, mean length. Null: nowhere. Outlives the
  // evaluator.
  ScalarLog* scalars = nullptr;
  // Where eval.video_every_seconds puts its videos (the folder is made);
  // empty: no videos whatever the config says.
  std::string video_dir;
  // The policies the rows play for (ActorOptions' fields of the same
  // names). Several: each follows its own parameter stream, and the first
  // one's versions pace the rounds (a round every eval.every_updates of
  // its versions, with the others' newest).
  std::vector<std::string> policy_names;
  std::vector<int> agent_policy;
};

class Evaluator {
 public:
  // The registry's errors for the env; `registry` may be null (no metrics).
  static absl::StatusOr<std::unique_ptr<Evaluator>> Create(const EvaluatorOptions& options,
                                                           prometheus::Registry* registry);

  // Evaluates rounds until `stop` is notified. InvalidArgument when a
  // version does not fit the env; an env's error.
  absl::Status Run(const absl::Notification& stop);

 private:
  explicit Evaluator(EvaluatorOptions options) : options_(std::move(options)) {}
  // Makes the policy copies that act (acting_, policy_, policies_), each
  // following its parameter stream.
  absl::Status FollowPolicies(uint64_t seed);
  // Waits for the version the next round evaluates and takes it up; false
  // when stopped first.
  absl::StatusOr<bool> AwaitVersion(int64_t evaluated_version, const absl::Notification& stop);
  // PlayEvaluationRound with its failures and steps counted; false when
  // stopped before every episode ended.
  absl::StatusOr<bool> RunRound(const absl::Notification& stop, EvaluationRound* round,
                                EpisodeVideo* video);
  // A self-play round after the plain one (`round`, against the scripted
  // player when there is one): the games against the past versions, the
  // rating, and the version kept as a later round's opponent. False when
  // stopped first.
  absl::StatusOr<bool> PlaySelfPlay(const EvaluationRound& round, const absl::Notification& stop,
                                    SelfPlayFigures* figures);
  // A finished round, which took its version at `began`: its metrics, its
  // line of the scalar log and of the log.
  void Report(const EvaluationRound& round, const std::optional<SelfPlayFigures>& self_play, absl::Time began);
  void SetSelfPlayMetrics(const SelfPlayFigures& self_play);
  // Whether this round draws a video (eval.video_every_seconds), and its
  // options when it does.
  std::optional<EpisodeVideoOptions> NextVideo();
  // Finishes this round's video and names it by version and return; a
  // video that failed turns videos off for the rest of the run (warning).
  void KeepVideo(EpisodeVideo& video, int64_t version, const envs::EpisodeRecord& episode);

  EvaluatorOptions options_;
  std::unique_ptr<LockstepEnvs> envs_;
  // What acts in a round: the one policy copy, or a SplitSource of every
  // policy's (row_subset.h). `policy_` is the (first) policy's copy, whose
  // versions pace the rounds; `policies_` every policy's, in config order.
  std::unique_ptr<ActionSource> acting_;
  LocalPolicySource* policy_ = nullptr;
  std::vector<LocalPolicySource*> policies_;
  // Several policies: each one's agents (row offsets within an env).
  std::vector<std::vector<int>> policy_agents_;
  std::unique_ptr<prometheus::Registry> own_registry_;
  ActorMetrics metrics_;
  // A multi-agent env's agents' returns; null for a single-agent env.
  std::unique_ptr<AgentReturns> agent_returns_;
  int64_t env_steps_ = 0;
  // Self-play (config.self_play): the envs of the games against past
  // versions (no scripted agents), their seats, and the versions evaluated
  // in the last self_play.eval_opponents rounds, oldest first, each with
  // the rating it was given.
  struct PastVersion {
    std::unique_ptr<FixedPolicySource> policy;
    double rating = kAnchorRating;
  };
  std::unique_ptr<LockstepEnvs> versus_envs_;
  std::optional<OpponentSeats> seats_;
  std::deque<PastVersion> past_;
  uint64_t base_seed_ = 0;
  // Videos: on until one fails; when the last one was started.
  bool videos_ = false;
  std::optional<absl::Time> last_video_;
};

}  // namespace rill::actor

#endif  // RILL_ACTOR_EVALUATOR_H_
