#include "actor/evaluator.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/blas.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "envs/catalog.h"

namespace rill::actor {
namespace {

// Evaluator ids are offset past every actor id, so their seeds never match
// an actor's.
constexpr int kEvaluatorSeedOffset = 1 << 20;

// A self-play round's records by the label they are reported under
// (opponent="scripted", "past"), those with games only.
std::vector<std::pair<std::string, WinDrawLoss>> PlayedOpponents(const SelfPlayFigures& self_play) {
  std::vector<std::pair<std::string, WinDrawLoss>> played;
  if (self_play.scripted.has_value() && self_play.scripted->games() > 0) {
    played.emplace_back("scripted", *self_play.scripted);
  }
  if (self_play.past.has_value() && self_play.past->games() > 0) played.emplace_back("past", *self_play.past);
  return played;
}

}  // namespace

uint64_t EvaluatorSeed(uint64_t seed, int id) {
  return seed * 1000003ULL + static_cast<uint64_t>(id + kEvaluatorSeedOffset) * 4099ULL;
}

absl::StatusOr<std::unique_ptr<Evaluator>> Evaluator::Create(const EvaluatorOptions& options,
                                                             prometheus::Registry* registry) {
  std::unique_ptr<Evaluator> evaluator(new Evaluator(options));
  const v1::ExperimentConfig& config = evaluator->options_.config;
  if (options.id < 0) return absl::InvalidArgumentError("evaluator id must be >= 0");
  const uint64_t base_seed = EvaluatorSeed(options.seed, options.id);
  ASSIGN_OR_RETURN(evaluator->envs_, LockstepEnvs::CreateForEvaluation(config, config.eval().episodes(), base_seed));
  evaluator->base_seed_ = base_seed;
  // Self-play of one policy also rates each version against the past ones;
  // between policies (config.policies) the rounds play every policy's
  // newest, each policy's return reported.
  if (config.has_self_play() && config.policies_size() == 0) {
    // Seeded past the plain round's envs (env i: base_seed + i + 1).
    const int episodes = config.eval().episodes();
    ASSIGN_OR_RETURN(evaluator->versus_envs_, LockstepEnvs::Create(config.env(), episodes, base_seed + episodes));
    ASSIGN_OR_RETURN(evaluator->seats_,
                     OpponentSeats::For(*evaluator->versus_envs_, evaluator->versus_envs_->size() / episodes));
  }
  if (registry == nullptr) {
    evaluator->own_registry_ = std::make_unique<prometheus::Registry>();
    registry = evaluator->own_registry_.get();
  }
  evaluator->metrics_ = RegisterActorMetrics(*registry, "evaluator");
  evaluator->agent_returns_ = AgentReturns::ForEnv(config.env(), evaluator->envs_->size());
  if (config.eval().video_every_seconds() > 0 && !options.video_dir.empty()) {
    EpisodeVideoOptions video;
    video.width = config.eval().video_width();
    video.height = config.eval().video_height();
    video.camera = config.eval().video_camera();
    absl::Status can = EpisodeVideo::CheckCanRecord(*evaluator->envs_, video);
    if (can.ok() && mkdir(options.video_dir.c_str(), 0755) != 0 && errno != EEXIST) {
      can = absl::PermissionDeniedError(absl::StrCat("cannot make '", options.video_dir, "': ", strerror(errno)));
    }
    if (can.ok()) {
      evaluator->videos_ = true;
    } else {
      RILL_LOG(WARNING) << "evaluation videos are off: " << can.message();
    }
  }
  RETURN_IF_ERROR(evaluator->FollowPolicies(base_seed));
  return evaluator;
}

absl::Status Evaluator::FollowPolicies(uint64_t seed) {
  const EvaluatorOptions& options = options_;
  const v1::ExperimentConfig& config = options.config;
  const auto follow = [&](const std::string& name, const envs::EnvSpec& spec, uint64_t policy_seed,
                          prometheus::Gauge* version) {
    LocalPolicyOptions follow = FollowLearner(options.learner_address, config.replay().max_message_bytes(), spec,
                                              policy_seed, metrics_.parameter_delay_seconds, version);
    follow.policy = name;
    follow.shared_memory = config.learner().shared_memory_parameters();
    auto source = std::make_unique<LocalPolicySource>(std::move(follow));
    policies_.push_back(source.get());
    return source;
  };
  if (options.policy_names.empty()) {
    if (config.policies_size() > 0) {
      return absl::InvalidArgumentError("the config names policies, but the evaluator was given no agent-to-policy map");
    }
    acting_ = follow("", envs_->spec(), seed, metrics_.parameter_version);
    policy_ = policies_[0];
    return absl::OkStatus();
  }
  const int agents = static_cast<int>(options.agent_policy.size());
  if (agents == 0 || envs_->size() % agents != 0) {
    return absl::InvalidArgumentError(absl::StrCat("the agent-to-policy map has ", agents, " agents; ",
                                                   config.env().name(), "'s batch has ", envs_->size(), " rows"));
  }
  std::vector<std::unique_ptr<RowSubsetSource>> parts;
  for (size_t p = 0; p < options.policy_names.size(); ++p) {
    std::vector<int> rows = RowsOfPolicy(options.agent_policy, envs_->size(), static_cast<int>(p));
    policy_agents_.emplace_back();
    for (int k = 0; k < agents; ++k) {
      if (options.agent_policy[k] == static_cast<int>(p)) policy_agents_.back().push_back(k);
    }
    const std::string& name = options.policy_names[p];
    ASSIGN_OR_RETURN(const envs::EnvSpec spec,
                     envs::PolicyRowSpec(config.env(), options.agent_policy, static_cast<int>(p)));
    parts.push_back(std::make_unique<RowSubsetSource>(
        std::move(rows),
        follow(name, spec, seed + 7919ULL * p,
               &metrics_.parameter_versions->Add({{"role", "evaluator"}, {"policy", name}})),
        spec.obs_dim()));
  }
  acting_ = std::make_unique<SplitSource>(std::move(parts));
  policy_ = policies_[0];
  return absl::OkStatus();
}

absl::StatusOr<bool> Evaluator::AwaitVersion(int64_t evaluated_version, const absl::Notification& stop) {
  parameters::ParameterClient& parameters = policy_->parameters();
  if (!parameters.WaitForVersionAfter(evaluated_version, absl::Milliseconds(200))) return false;
  // The first round plays the first version there is (the untrained policy,
  // or a resumed run's restored one), so that every evaluation curve starts
  // where training did; later rounds wait for eval.every_updates more.
  const int64_t every =
      evaluated_version == 0 ? 0 : std::max<int64_t>(0, options_.config.eval().every_updates());
  int64_t seen = parameters.latest_version();
  while (seen < evaluated_version + every && !stop.HasBeenNotified()) {
    if (!parameters.WaitForVersionAfter(seen, absl::Seconds(1))) break;  // stable: evaluate it
    seen = parameters.latest_version();
  }
  if (stop.HasBeenNotified()) return false;
  RETURN_IF_ERROR(acting_->Refresh());
  if (!acting_->ready()) {
    // Another policy's first version is still on its way: look again soon
    // rather than at once.
    stop.WaitForNotificationWithTimeout(absl::Milliseconds(50));
    return false;
  }
  return policy_->version() > evaluated_version;
}

absl::StatusOr<EvaluationRound> PlayEvaluationRound(LockstepEnvs& envs, ActionSource& policy,
                                                    const absl::Notification& stop, EpisodeVideo* video,
                                                    OpponentSeats* seats, AgentReturns* agent_returns,
                                                    bool deterministic) {
  const int n = envs.size();
  std::vector<uint8_t> next_obs(envs.obs().size());
  std::vector<uint8_t> final_obs(envs.obs().size());
  std::vector<EnvOutcome> outcomes;
  EvaluationRound round;
  std::vector<envs::EpisodeRecord> episodes(n);
  // A scripted agent's or an opponent's rows play but are counted as no
  // policy's.
  std::vector<bool> counted(n), done(n);
  for (int i = 0; i < n; ++i) {
    counted[i] = !envs.scripted(i) && (seats == nullptr || !seats->opponent_row(i));
    done[i] = !counted[i];
  }
  // Each env's first episode's figures, by its first row.
  const std::vector<envs::EnvMetric>& metrics = envs.metrics();
  std::vector<std::vector<double>> figures(n);
  // Each agent's returns over the counted episodes, by agent index.
  std::vector<double> agent_sums;
  std::vector<int> agent_counts;
  if (agent_returns != nullptr) {
    agent_sums.assign(agent_returns->num_agents(), 0.0);
    agent_counts.assign(agent_returns->num_agents(), 0);
    for (int i = 0; i < n; ++i) agent_returns->Drop(i);
  }
  RETURN_IF_ERROR(envs.ResetAll());
  if (video != nullptr) video->Frame(envs);
  int remaining = static_cast<int>(std::count(done.begin(), done.end(), false));
  while (remaining > 0 && !stop.HasBeenNotified()) {
    RETURN_IF_ERROR(policy.Act(envs.observation_rows(), deterministic, /*behaviour=*/false, stop, envs.buffers()));
    RETURN_IF_ERROR(envs.ApplyScripts());
    if (seats != nullptr) RETURN_IF_ERROR(seats->Act(envs, deterministic, stop));
    // Every env steps; one that has finished its episode of this round goes
    // on into the next, which is not counted.
    RETURN_IF_ERROR(envs.Step(n, &next_obs, &final_obs, &outcomes));
    for (const envs::EnvEpisodeFigures& ended : envs.env_episodes()) {
      if (figures[ended.first_row].empty()) figures[ended.first_row] = ended.values;
    }
    for (int i = 0; i < n; ++i) {
      if (done[i] || outcomes[i].masked) continue;
      if (outcomes[i].failed) {
        // A remote env reset after an error: its episode starts over.
        ++round.env_failures;
        RILL_LOG(WARNING) << "evaluation: env " << i << " failed and was reset: " << outcomes[i].error;
        if (agent_returns != nullptr) agent_returns->Drop(i);
        continue;
      }
      if (agent_returns != nullptr) agent_returns->AddStep(i, envs.agent_rewards_row(i));
      if (outcomes[i].episode.has_value()) {
        episodes[i] = *outcomes[i].episode;
        done[i] = true;
        --remaining;
        if (agent_returns == nullptr) continue;
        for (const auto& [agent, agent_return] : agent_returns->EndEpisode(i, episodes[i].episode_return)) {
          agent_sums[agent] += agent_return;
          ++agent_counts[agent];
        }
      }
    }
    envs.obs().swap(next_obs);
    round.env_steps += n;
    // Env 0's episode goes on: its new state is the video's next frame.
    if (video != nullptr && !done[0] && !outcomes[0].failed) video->Frame(envs);
  }
  round.finished = remaining == 0;
  for (size_t a = 0; a < agent_sums.size(); ++a) {
    round.agent_return_means.push_back(agent_counts[a] > 0 ? agent_sums[a] / agent_counts[a]
                                                           : std::numeric_limits<double>::quiet_NaN());
  }
  for (int i = 0; i < n; ++i) {
    if (counted[i]) round.episodes.push_back(episodes[i]);
  }
  for (size_t m = 0; m < metrics.size(); ++m) {
    double sum = 0;
    int count = 0;
    for (const std::vector<double>& values : figures) {
      if (values.empty()) continue;
      sum += values[m];
      ++count;
    }
    if (count > 0) round.env_metrics.emplace_back(metrics[m].name, sum / count);
  }
  return round;
}

absl::StatusOr<bool> Evaluator::RunRound(const absl::Notification& stop, EvaluationRound* round,
                                        EpisodeVideo* video) {
  ASSIGN_OR_RETURN(*round, PlayEvaluationRound(*envs_, *acting_, stop, video, /*seats=*/nullptr,
                                               agent_returns_.get()));
  metrics_.env_errors->Increment(round->env_failures);
  env_steps_ += round->env_steps;
  return round->finished;
}

WinDrawLoss CountOutcomes(const std::vector<envs::EpisodeRecord>& episodes) {
  WinDrawLoss record;
  for (const envs::EpisodeRecord& episode : episodes) record.Add(OutcomeOfReturn(episode.episode_return));
  return record;
}

absl::StatusOr<bool> Evaluator::PlaySelfPlay(const EvaluationRound& round, const absl::Notification& stop,
                                             SelfPlayFigures* figures) {
  *figures = SelfPlayFigures{};
  std::vector<GamesAgainst> records;
  if (!options_.config.eval().scripted_agents().empty()) {
    figures->scripted = CountOutcomes(round.episodes);
    records.push_back({kAnchorRating, figures->scripted->games(), figures->scripted->score()});
  }
  WinDrawLoss past;
  for (const PastVersion& opponent : past_) {
    // Env e: the version plays seat e mod 2, so it plays both sides.
    for (int e = 0; e < seats_->num_envs(); ++e) seats_->Seat(e, 1 - e % 2, opponent.policy.get());
    ASSIGN_OR_RETURN(const EvaluationRound games,
                     PlayEvaluationRound(*versus_envs_, *policy_, stop, /*video=*/nullptr, &*seats_,
                                         /*agent_returns=*/nullptr,
                                         /*deterministic=*/!options_.config.self_play().eval_sample_past_games()));
    metrics_.env_errors->Increment(games.env_failures);
    env_steps_ += games.env_steps;
    if (!games.finished) return false;
    const WinDrawLoss record = CountOutcomes(games.episodes);
    records.push_back({opponent.rating, record.games(), record.score()});
    past.wins += record.wins;
    past.draws += record.draws;
    past.losses += record.losses;
  }
  if (!past_.empty()) {
    figures->past = past;
    figures->past_versions = static_cast<int>(past_.size());
  }
  ASSIGN_OR_RETURN(figures->rating, RateVersion(std::move(records)));
  // This version is a later round's opponent, at the rating it got now.
  const size_t keep = static_cast<size_t>(options_.config.self_play().eval_opponents());
  if (keep > 0) {
    auto copy = std::make_unique<FixedPolicySource>(versus_envs_->spec(), base_seed_);
    RETURN_IF_ERROR(copy->Load(policy_->loaded_parameters(), policy_->version()));
    past_.push_back(PastVersion{std::move(copy), figures->rating});
    while (past_.size() > keep) past_.pop_front();
  }
  return true;
}

RoundFigures SummarizeRound(const std::vector<envs::EpisodeRecord>& episodes,
                            std::vector<std::pair<std::string, double>> env_metrics) {
  RoundFigures round;
  round.env_metrics = std::move(env_metrics);
  round.episodes = static_cast<int>(episodes.size());
  const double n = round.episodes;
  round.return_min = round.return_max = episodes[0].episode_return;
  for (const envs::EpisodeRecord& episode : episodes) {
    round.return_mean += episode.episode_return / n;
    round.length_mean += static_cast<double>(episode.length) / n;
    round.return_min = std::min(round.return_min, episode.episode_return);
    round.return_max = std::max(round.return_max, episode.episode_return);
  }
  return round;
}

void AppendRound(ScalarLog& log, int64_t version, const RoundFigures& round, absl::Time began) {
  std::vector<std::pair<std::string, double>> fields = {{"parameter_version", static_cast<double>(version)},
                                                        {"episodes", static_cast<double>(round.episodes)},
                                                        {"return_mean", round.return_mean},
                                                        {"return_min", round.return_min},
                                                        {"return_max", round.return_max},
                                                        {"length_mean", round.length_mean}};
  for (const auto& [name, value] : round.env_metrics) fields.emplace_back(absl::StrCat("env/", name), value);
  for (const auto& [name, value] : round.policy_returns) fields.emplace_back(absl::StrCat("policy/", name, "/return"), value);
  if (round.self_play.has_value()) {
    const SelfPlayFigures& self_play = *round.self_play;
    fields.emplace_back("rating", self_play.rating);
    for (const auto& [opponent, record] : PlayedOpponents(self_play)) {
      const double games = record.games();
      fields.emplace_back(absl::StrCat(opponent, "/win_rate"), record.wins / games);
      fields.emplace_back(absl::StrCat(opponent, "/draw_rate"), record.draws / games);
      fields.emplace_back(absl::StrCat(opponent, "/loss_rate"), record.losses / games);
      fields.emplace_back(absl::StrCat(opponent, "/games"), games);
    }
    if (self_play.past.has_value()) fields.emplace_back("past/versions", self_play.past_versions);
  }
  log.Append(fields, began);
}

std::string FormatSelfPlay(const SelfPlayFigures& self_play) {
  std::string text = absl::StrFormat("rating %.0f", self_play.rating);
  const auto wdl = [](const WinDrawLoss& record) {
    return absl::StrFormat("%d-%d-%d", record.wins, record.draws, record.losses);
  };
  if (self_play.scripted.has_value()) absl::StrAppend(&text, ", vs scripted ", wdl(*self_play.scripted));
  if (self_play.past.has_value()) {
    absl::StrAppend(&text, ", vs ", self_play.past_versions, " past version", self_play.past_versions == 1 ? "" : "s",
                    " ", wdl(*self_play.past));
  }
  return absl::StrCat(text, " (won-drawn-lost)");
}

std::optional<double> PolicyReturnMean(const std::vector<double>& agent_return_means, const std::vector<int>& agents) {
  double sum = 0;
  int counted = 0;
  for (const int agent : agents) {
    if (agent >= static_cast<int>(agent_return_means.size())) continue;
    const double mean = agent_return_means[static_cast<size_t>(agent)];
    if (std::isnan(mean)) continue;  // a scripted agent's
    sum += mean;
    ++counted;
  }
  if (counted == 0) return std::nullopt;
  return sum / counted;
}

std::string FormatEnvMetrics(const std::vector<std::pair<std::string, double>>& env_metrics) {
  std::string text;
  for (const auto& [name, value] : env_metrics) {
    absl::StrAppend(&text, text.empty() ? "" : ", ", name, " ", absl::StrFormat("%.3g", value));
  }
  return text;
}

void Evaluator::Report(const EvaluationRound& played, const std::optional<SelfPlayFigures>& self_play,
                       absl::Time began) {
  RoundFigures round = SummarizeRound(played.episodes, played.env_metrics);
  round.self_play = self_play;
  std::string versions;
  for (size_t p = 0; p < policy_agents_.size(); ++p) {
    // Several policies: each one's mean over its agents that played.
    const std::optional<double> mean = PolicyReturnMean(played.agent_return_means, policy_agents_[p]);
    const std::string& name = options_.policy_names[p];
    metrics_.eval_policy_version->Add({{"policy", name}}).Set(static_cast<double>(policies_[p]->version()));
    absl::StrAppend(&versions, versions.empty() ? "" : ", ", name, " v", policies_[p]->version());
    if (!mean.has_value()) continue;
    round.policy_returns.emplace_back(name, *mean);
    metrics_.eval_policy_return_mean->Add({{"policy", name}}).Set(*mean);
    absl::StrAppend(&versions, absl::StrFormat(" %.1f", *mean));
  }
  const int n = round.episodes;
  const double mean = round.return_mean, mean_length = round.length_mean;
  const double lowest = round.return_min, highest = round.return_max;
  const int64_t version = policy_->version();
  // The line first: a reader that has seen the round counted finds it.
  if (options_.scalars != nullptr) AppendRound(*options_.scalars, version, round, began);
  metrics_.eval_episodes->Increment(n);
  metrics_.eval_return_mean->Set(mean);
  metrics_.eval_episode_length_mean->Set(mean_length);
  metrics_.eval_parameter_version->Set(static_cast<double>(version));
  metrics_.eval_rounds->Increment();
  for (const auto& [name, value] : round.env_metrics) metrics_.eval_env_metric->Add({{"metric", name}}).Set(value);
  for (size_t a = 0; a < played.agent_return_means.size(); ++a) {
    if (std::isnan(played.agent_return_means[a])) continue;  // a scripted agent's
    metrics_.eval_agent_return_mean->Add({{"agent", agent_returns_->agents()[a]}}).Set(played.agent_return_means[a]);
  }
  if (self_play.has_value()) SetSelfPlayMetrics(*self_play);
  RILL_LOG(INFO) << absl::StrFormat("eval: version %d, %d episodes, mean return %.1f (min %.1f, max %.1f), mean length %.1f",
                                    version, n, mean, lowest, highest, mean_length)
                 << (versions.empty() ? "" : absl::StrCat("; policies ", versions))
                 << (round.env_metrics.empty() ? "" : "; ") << FormatEnvMetrics(round.env_metrics)
                 << (self_play.has_value() ? "; " + FormatSelfPlay(*self_play) : "");
}

void Evaluator::SetSelfPlayMetrics(const SelfPlayFigures& self_play) {
  metrics_.eval_rating->Set(self_play.rating);
  for (const auto& [opponent, record] : PlayedOpponents(self_play)) {
    const double games = record.games();
    metrics_.eval_win_rate->Add({{"opponent", opponent}}).Set(record.wins / games);
    metrics_.eval_draw_rate->Add({{"opponent", opponent}}).Set(record.draws / games);
    metrics_.eval_loss_rate->Add({{"opponent", opponent}}).Set(record.losses / games);
  }
}

std::optional<EpisodeVideoOptions> Evaluator::NextVideo() {
  if (!videos_) return std::nullopt;
  const absl::Time now = absl::Now();
  if (last_video_.has_value() &&
      now - *last_video_ < absl::Seconds(options_.config.eval().video_every_seconds())) {
    return std::nullopt;
  }
  last_video_ = now;
  EpisodeVideoOptions video;
  // Named by version and return once the round is over (KeepVideo).
  video.path = absl::StrCat(options_.video_dir, "/recording-", options_.id, ".mp4");
  video.width = options_.config.eval().video_width();
  video.height = options_.config.eval().video_height();
  video.camera = options_.config.eval().video_camera();
  return video;
}

void Evaluator::KeepVideo(EpisodeVideo& video, int64_t version, const envs::EpisodeRecord& episode) {
  const absl::Status finished = video.Finish();
  if (!finished.ok()) {
    videos_ = false;
    RILL_LOG(WARNING) << "evaluation videos are off: " << finished.message();
    return;
  }
  const std::string name =
      absl::StrFormat("%s/v%06d_return_%.1f.mp4", options_.video_dir, version, episode.episode_return);
  if (rename(video.path().c_str(), name.c_str()) != 0) {
    videos_ = false;
    RILL_LOG(WARNING) << "evaluation videos are off: cannot name the video '" << name << "': " << strerror(errno);
    return;
  }
  RILL_LOG(INFO) << absl::StrFormat("eval: video of version %d (return %.1f, %d frames) in %s", version,
                                    episode.episode_return, video.frames(), name);
}

absl::Status Evaluator::Run(const absl::Notification& stop) {
  // The policy's forwards are small: the BLAS's own threads would only
  // compete with the envs.
  SetBlasThreads(1);
  int64_t evaluated_version = 0;
  EvaluationRound round;
  while (!stop.HasBeenNotified()) {
    ASSIGN_OR_RETURN(const bool take, AwaitVersion(evaluated_version, stop));
    if (!take) continue;
    const absl::Time began = absl::Now();
    std::optional<EpisodeVideo> video;
    if (std::optional<EpisodeVideoOptions> options = NextVideo(); options.has_value()) video.emplace(*options);
    ASSIGN_OR_RETURN(const bool finished, RunRound(stop, &round, video.has_value() ? &*video : nullptr));
    if (!finished) break;
    std::optional<SelfPlayFigures> self_play;
    if (versus_envs_ != nullptr) {
      ASSIGN_OR_RETURN(const bool played, PlaySelfPlay(round, stop, &self_play.emplace()));
      if (!played) break;
    }
    evaluated_version = policy_->version();
    Report(round, self_play, began);
    if (video.has_value()) KeepVideo(*video, evaluated_version, round.episodes[0]);
  }
  return absl::OkStatus();
}

}  // namespace rill::actor
