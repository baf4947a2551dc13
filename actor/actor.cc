#include "actor/actor.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "envs/registry.h"
#include "policies/registry.h"
#include "common/blas.h"
#include "common/logging.h"
#include "common/metrics.h"
#include "common/status_macros.h"
#include "replay/client/client_metrics.h"

namespace rill::actor {

namespace {

// Actor ids above this are reserved for evaluators, so keys never collide.
constexpr int kEvaluatorSeedOffset = 1 << 20;

}  // namespace

absl::StatusOr<std::unique_ptr<Actor>> Actor::Create(const ActorOptions& options, prometheus::Registry* registry) {
  std::unique_ptr<Actor> actor(new Actor(options));
  const v1::ExperimentConfig& config = actor->options_.config;
  if (options.actor_id < 0) return absl::InvalidArgumentError("actor id must be >= 0");
  const int num_envs = options.evaluator ? config.eval().episodes() : config.actor().num_envs();
  const uint64_t base_seed =
      options.seed * 1000003ULL + static_cast<uint64_t>(options.actor_id + (options.evaluator ? kEvaluatorSeedOffset : 0)) * 4099ULL;
  actor->rng_.seed(base_seed);
  for (int i = 0; i < num_envs; ++i) {
    ASSIGN_OR_RETURN(std::unique_ptr<envs::Env> env, envs::MakeEnv(config.env().name(), config.env().max_episode_steps(), base_seed + i + 1));
    actor->envs_.push_back(std::make_unique<envs::EpisodeStatistics>(std::move(env)));
  }
  ASSIGN_OR_RETURN(actor->env_spec_, envs::LookupEnvSpec(config.env().name(), config.env().max_episode_steps()));
  actor->seed_ = base_seed;
  actor->obs_dim_ = actor->env_spec_.obs_dim();
  actor->act_dim_ = actor->env_spec_.discrete ? 1 : actor->env_spec_.action_dim();
  actor->obs_.assign(static_cast<size_t>(num_envs) * actor->obs_dim_, 0.f);
  actor->actions_.assign(static_cast<size_t>(num_envs) * actor->act_dim_, 0.f);
  actor->action_indices_.assign(static_cast<size_t>(num_envs), 0);
  actor->log_probs_.assign(static_cast<size_t>(num_envs), 0.f);
  actor->distribution_width_ = actor->env_spec_.discrete ? actor->env_spec_.num_actions : 2 * actor->act_dim_;
  actor->distributions_.assign(static_cast<size_t>(num_envs) * actor->distribution_width_, 0.f);
  if (config.topology().inference() == "central" && !options.evaluator) {
    // GA3C / SEED: no policy copy and no parameter stream here.
    std::string address = options.inference_address;
    if (address.empty()) address = config.inference().address();
    if (address.empty()) address = options.learner_address;
    actor->central_ = std::make_unique<CentralActionSource>(address, config.replay().max_message_bytes());
  } else {
    actor->parameters_ =
        std::make_unique<parameters::ParameterClient>(options.learner_address, config.replay().max_message_bytes());
  }

  if (registry == nullptr) {
    actor->own_registry_ = std::make_unique<prometheus::Registry>();
    registry = actor->own_registry_.get();
  }
  actor->InitMetrics(registry);

  if (!options.evaluator) {
    const v1::TableConfig& table = config.replay().tables(0);
    replay::WriterOptions writer_options;
    // Every shard: the writer picks its home shard by actor id and fails
    // over to the others while it is down.
    writer_options.addresses = absl::StrSplit(options.replay_address, ',', absl::SkipEmpty());
    if (writer_options.addresses.empty()) return absl::InvalidArgumentError("no replay address given");
    absl::StatusOr<std::unique_ptr<items::ItemBuilder>> builder =
        items::MakeItemBuilder(options.items, actor->env_spec_, num_envs, table.signature());
    actor->synchronous_ = options.synchronous;
    if (!builder.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("replay table '", table.name(), "': ", builder.status().message()));
    }
    actor->items_ = *std::move(builder);
    writer_options.table = table.name();
    writer_options.signature = table.signature();
    writer_options.batch_items = config.actor().insert_batch_items();
    // The envs step in lockstep, so their unrolls complete together: one
    // insert per completed round keeps them from waiting in the writer
    // for later rounds (which would add to the policy lag).
    if (actor->items_->needs_behaviour()) writer_options.batch_items = std::min(writer_options.batch_items, num_envs);
    writer_options.max_in_flight_batches = config.actor().max_in_flight_batches();
    writer_options.key_prefix = static_cast<uint64_t>(options.actor_id);
    writer_options.max_message_bytes = config.replay().max_message_bytes();
    writer_options.on_ack_latency = [histogram = actor->metrics_.insert_rpc_seconds](absl::Duration latency) {
      histogram->Observe(absl::ToDoubleSeconds(latency));
    };
    ASSIGN_OR_RETURN(actor->writer_, replay::ReplayWriter::Create(writer_options));
  }
  return actor;
}

void Actor::InitMetrics(prometheus::Registry* registry) {
  const std::string role = options_.evaluator ? "evaluator" : "actor";
  const std::map<std::string, std::string> labels = {{"role", role}};
  metrics_.env_steps = &prometheus::BuildCounter().Name("rill_actor_env_steps_total")
                            .Help("Environment steps taken").Register(*registry).Add(labels);
  metrics_.episodes = &prometheus::BuildCounter().Name("rill_actor_episodes_total")
                           .Help("Episodes finished").Register(*registry).Add(labels);
  metrics_.episode_return = &prometheus::BuildGauge().Name("rill_actor_episode_return")
                                 .Help("Return of the last finished episode").Register(*registry).Add(labels);
  metrics_.episode_return_hist = &prometheus::BuildHistogram().Name("rill_actor_episode_return_distribution")
                                      .Help("Returns of finished episodes").Register(*registry)
                                      .Add(labels, prometheus::Histogram::BucketBoundaries{
                                          -2000, -1000, -500, -300, -200, -150, -100, -50, 0, 50, 100, 200,
                                          300, 500, 1000, 2000, 3000, 5000, 10000});
  metrics_.episode_length = &prometheus::BuildGauge().Name("rill_actor_episode_length")
                                 .Help("Length in env steps of the last finished episode").Register(*registry).Add(labels);
  metrics_.episode_length_hist = &prometheus::BuildHistogram().Name("rill_actor_episode_length_distribution")
                                      .Help("Lengths in env steps of finished episodes").Register(*registry)
                                      .Add(labels, prometheus::Histogram::BucketBoundaries{
                                          10, 20, 50, 100, 200, 300, 500, 1000, 2000, 5000, 10000});
  metrics_.parameter_version = &prometheus::BuildGauge().Name("rill_actor_parameter_version")
                                    .Help("Policy parameter version in use").Register(*registry).Add(labels);
  metrics_.step_seconds = &prometheus::BuildHistogram().Name("rill_actor_step_seconds")
                               .Help("Wall time of one lockstep step of all envs (policy + envs + write)")
                               .Register(*registry).Add(labels, LatencyBuckets());
  metrics_.insert_rpc_seconds =
      &replay::ClientRpcSeconds(*registry).Add({{"role", role}, {"method", "Insert"}}, LatencyBuckets());
  metrics_.parameter_delay_seconds = &prometheus::BuildHistogram().Name("rill_actor_parameter_delay_seconds")
                                          .Help("From the learner's publish of a parameter version to its receipt here")
                                          .Register(*registry).Add(labels, LatencyBuckets());
  metrics_.eval_rounds = &prometheus::BuildCounter().Name("rill_eval_rounds_total")
                              .Help("Evaluation rounds finished").Register(*registry).Add({});
  metrics_.eval_episodes = &prometheus::BuildCounter().Name("rill_eval_episodes_total")
                                .Help("Evaluation episodes finished").Register(*registry).Add({});
  metrics_.eval_return_mean = &prometheus::BuildGauge().Name("rill_eval_return_mean")
                                   .Help("Mean return of the last evaluation round").Register(*registry).Add({});
  metrics_.eval_episode_length_mean = &prometheus::BuildGauge().Name("rill_eval_episode_length_mean")
                                           .Help("Mean episode length of the last evaluation round")
                                           .Register(*registry).Add({});
  metrics_.replay_failovers = &prometheus::BuildCounter().Name("rill_actor_replay_failovers_total")
                                   .Help("Times the replay writer left a down shard for another").Register(*registry).Add(labels);
  metrics_.replay_shard = &prometheus::BuildGauge().Name("rill_actor_replay_shard")
                               .Help("Replay shard the writer sends new items to").Register(*registry).Add(labels);
  metrics_.eval_parameter_version = &prometheus::BuildGauge().Name("rill_eval_parameter_version")
                                         .Help("Parameter version the last evaluation round used").Register(*registry).Add({});
}

void Actor::ExportWriterMetrics() {
  if (writer_ == nullptr) return;
  const double failovers = static_cast<double>(writer_->failovers());
  if (failovers > metrics_.replay_failovers->Value()) metrics_.replay_failovers->Increment(failovers - metrics_.replay_failovers->Value());
  metrics_.replay_shard->Set(writer_->current_shard());
}

absl::Status Actor::MaybeUpdatePolicy() {
  if (parameters_ == nullptr) return absl::OkStatus();  // central inference
  std::optional<parameters::ReceivedParameters> received = parameters_->TakeNewer();
  if (!received.has_value()) return absl::OkStatus();
  if (received->published > absl::UnixEpoch()) {
    metrics_.parameter_delay_seconds->Observe(
        std::max(0.0, absl::ToDoubleSeconds(received->received - received->published)));
  }
  const v1::PolicySpec& spec = received->parameters.policy();
  const bool categorical = spec.kind() == "categorical";
  if (spec.obs_dim() != obs_dim_ || spec.action_dim() != env_spec_.action_dim() || categorical != env_spec_.discrete) {
    return absl::InvalidArgumentError(absl::StrCat(
        "parameter version ", received->version, " is a ", spec.kind(), " policy for obs ", spec.obs_dim(),
        ", actions ", spec.action_dim(), "; ", env_spec_.name, " has obs ", obs_dim_, ", ",
        env_spec_.discrete ? "discrete actions " : "continuous actions ", env_spec_.action_dim()));
  }
  absl::Status status;
  if (policy_ == nullptr || policy_->spec().SerializeAsString() != spec.SerializeAsString()) {
    absl::StatusOr<std::unique_ptr<policies::Policy>> policy = policies::PolicyFromParameters(received->parameters, seed_);
    if (policy.ok()) policy_ = *std::move(policy);
    status = policy.status();
  } else {
    status = policy_->LoadParameters(received->parameters);
  }
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("parameter version ", received->version, " does not fit this actor's policy: ", status.message()));
  }
  policy_version_ = received->version;
  metrics_.parameter_version->Set(static_cast<double>(policy_version_));
  return absl::OkStatus();
}

absl::Status Actor::ChooseActions(bool random, bool deterministic) {
  if (central_ != nullptr && !random) {
    CentralActions out;
    out.actions = actions_.data();
    out.action_indices = action_indices_.data();
    out.log_probs = log_probs_.data();
    out.distributions = distributions_.data();
    out.action_dim = env_spec_.discrete ? 0 : act_dim_;
    out.distribution_width = distribution_width_;
    const bool behaviour = items_ != nullptr && items_->needs_behaviour();
    ASSIGN_OR_RETURN(const CentralAnswer answer,
                     central_->Act(obs_.data(), static_cast<int>(envs_.size()), obs_dim_, behaviour, *stop_, out));
    if (answer.version != policy_version_) {
      policy_version_ = answer.version;
      metrics_.parameter_version->Set(static_cast<double>(policy_version_));
    }
    return absl::OkStatus();
  }
  if (random || policy_ == nullptr) {
    if (env_spec_.discrete) {
      std::uniform_int_distribution<int64_t> uniform(0, env_spec_.num_actions - 1);
      for (int64_t& a : action_indices_) a = uniform(rng_);
    } else {
      std::uniform_real_distribution<float> uniform(-1.f, 1.f);
      for (float& a : actions_) a = uniform(rng_);
    }
    return absl::OkStatus();
  }
  const int64_t n = static_cast<int64_t>(envs_.size());
  if (!deterministic && items_ != nullptr && items_->needs_behaviour()) {
    const absl::Status acted = policy_->ActWithBehaviour(obs_.data(), n, &policy_output_);
    if (!acted.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the replay table's items need the behaviour policy: ", acted.message()));
    }
    std::copy(policy_output_.log_prob.begin(), policy_output_.log_prob.end(), log_probs_.begin());
    std::copy(policy_output_.distribution.begin(), policy_output_.distribution.end(), distributions_.begin());
  } else {
    policy_->Act(obs_.data(), n, deterministic, &policy_output_);
  }
  if (env_spec_.discrete) {
    std::copy(policy_output_.indices.begin(), policy_output_.indices.end(), action_indices_.begin());
  } else {
    std::copy(policy_output_.actions.begin(), policy_output_.actions.end(), actions_.begin());
  }
  return absl::OkStatus();
}

void Actor::EnvAction(int i, float* env_action) const {
  if (env_spec_.discrete) {
    env_action[0] = static_cast<float>(action_indices_[i]);
    return;
  }
  // The policy acts in [-1, 1]; the env in [low, high].
  for (int j = 0; j < act_dim_; ++j) {
    const float a = actions_[static_cast<size_t>(i) * act_dim_ + j];
    env_action[j] = env_spec_.action_low[j] + (a + 1.f) * 0.5f * (env_spec_.action_high[j] - env_spec_.action_low[j]);
  }
}

absl::StatusOr<bool> Actor::WriteReady(const absl::Notification& stop) {
  if (items_->ready() == 0) return true;
  absl::Status written;
  do {
    written = writer_->Append(items_->Columns(), items_->ready());
    // DeadlineExceeded: replay is applying backpressure (rate limiter);
    // keep waiting unless asked to stop.
  } while (absl::IsDeadlineExceeded(written) && !stop.HasBeenNotified());
  if (absl::IsDeadlineExceeded(written)) return false;
  RETURN_IF_ERROR(written);
  items_->ClearReady();
  return true;
}

absl::Status Actor::Run(const absl::Notification& stop) {
  // The policy's forwards are small: the BLAS's own threads would only
  // compete with the envs (and with the other actors on the machine).
  SetBlasThreads(1);
  stop_ = &stop;
  return options_.evaluator ? RunEvaluation(stop) : RunTraining(stop);
}

void Actor::RecordEpisode(int i) {
  const std::optional<envs::EpisodeRecord>& episode = envs_[i]->finished();
  if (!episode.has_value()) return;
  metrics_.episodes->Increment();
  metrics_.episode_return->Set(episode->episode_return);
  metrics_.episode_return_hist->Observe(episode->episode_return);
  metrics_.episode_length->Set(episode->length);
  metrics_.episode_length_hist->Observe(episode->length);
  if (summary_.episodes == 0) {
    summary_.return_min = summary_.return_max = episode->episode_return;
  }
  ++summary_.episodes;
  summary_.return_sum += episode->episode_return;
  summary_.return_min = std::min(summary_.return_min, episode->episode_return);
  summary_.return_max = std::max(summary_.return_max, episode->episode_return);
  summary_.length_sum += episode->length;
}

void Actor::LogEpisodeSummary(bool force) {
  const absl::Time now = absl::Now();
  if (!force && now - summary_.since < absl::Seconds(30)) return;
  if (summary_.episodes > 0) {
    const double count = static_cast<double>(summary_.episodes);
    RILL_LOG(INFO) << absl::StrFormat(
        "actor %d: %d episodes in %.0f s, return mean %.1f (min %.1f, max %.1f), length mean %.1f", options_.actor_id,
        summary_.episodes, absl::ToDoubleSeconds(now - summary_.since), summary_.return_sum / count,
        summary_.return_min, summary_.return_max, static_cast<double>(summary_.length_sum) / count);
  }
  summary_ = EpisodeSummary{};
  summary_.since = now;
}

absl::Status Actor::RunTraining(const absl::Notification& stop) {
  const v1::ExperimentConfig& config = options_.config;
  const int n = static_cast<int>(envs_.size());
  const int num_actors = std::max(1, config.topology().num_actors());
  // The random-action warm-up is shared out over all actors. Builders that
  // need the behaviour policy never act at random (learning_starts is 0).
  const int64_t random_steps = (config.actor().learning_starts() + num_actors - 1) / num_actors;
  const bool on_policy = items_->needs_behaviour();
  std::vector<float> next_obs(obs_.size());
  std::vector<float> final_obs(static_cast<size_t>(obs_dim_));
  std::vector<float> env_actions(static_cast<size_t>(act_dim_));
  for (int i = 0; i < n; ++i) envs_[i]->Reset(&obs_[static_cast<size_t>(i) * obs_dim_]);
  summary_ = EpisodeSummary{};
  summary_.since = absl::Now();
  bool stopped = false;

  RILL_LOG(INFO) << "actor " << options_.actor_id << ": " << n << " x " << config.env().name() << ", writing to "
                 << options_.replay_address << ", "
                 << (on_policy ? absl::StrCat("unrolls of the behaviour policy", synchronous_ ? ", synchronous" : "")
                               : absl::StrCat("random actions for the first ", random_steps, " steps"));
  while (!stop.HasBeenNotified() && (options_.max_env_steps == 0 || env_steps_ < options_.max_env_steps)) {
    const absl::Time start = absl::Now();
    RETURN_IF_ERROR(MaybeUpdatePolicy());
    if (on_policy && policy_ == nullptr && central_ == nullptr) {
      // Unrolls carry the behaviour policy: wait for the first parameters.
      parameters_->WaitForVersionAfter(0, absl::Milliseconds(200));
      continue;
    }
    // Local inference acts at random until the first version arrives;
    // central inference always has the learner's newest.
    const bool no_policy_yet = central_ == nullptr && policy_version_ == 0;
    absl::Status chosen = ChooseActions(/*random=*/env_steps_ < random_steps || no_policy_yet, /*deterministic=*/false);
    if (absl::IsCancelled(chosen)) break;  // stopped while the inference service was away
    RETURN_IF_ERROR(chosen);
    // The last step of a budget that is not a multiple of num_envs steps only
    // the first envs, so the actor takes exactly its budget.
    const int active = options_.max_env_steps > 0
                           ? static_cast<int>(std::min<int64_t>(n, options_.max_env_steps - env_steps_))
                           : n;
    const int64_t ready_before = items_->ready();
    for (int i = 0; i < active; ++i) {
      EnvAction(i, env_actions.data());
      float* next = &next_obs[static_cast<size_t>(i) * obs_dim_];
      ASSIGN_OR_RETURN(envs::StepResult result, envs_[i]->Step(env_actions.data(), next));
      items::Step step;
      step.obs = &obs_[static_cast<size_t>(i) * obs_dim_];
      step.action = env_spec_.discrete ? nullptr : &actions_[static_cast<size_t>(i) * act_dim_];
      step.action_index = action_indices_[i];
      step.reward = result.reward;
      // Only a true terminal state stops bootstrapping; a time limit does not.
      step.terminated = result.terminated;
      step.truncated = result.truncated;
      step.final_obs = next;
      step.next_obs = next;
      step.log_prob = log_probs_[i];
      step.distribution = &distributions_[static_cast<size_t>(i) * distribution_width_];
      step.version = policy_version_;
      if (result.terminated || result.truncated) {
        RecordEpisode(i);
        // Auto-reset: the env goes on from the next episode's first
        // observation; the builder still sees the real last one.
        std::copy_n(next, obs_dim_, final_obs.data());
        step.final_obs = final_obs.data();
        envs_[i]->Reset(next);
      }
      items_->AddStep(i, step);
    }
    const bool completed_unrolls = on_policy && items_->ready() > ready_before;
    ASSIGN_OR_RETURN(const bool written, WriteReady(stop));
    if (!written) {
      stopped = true;
      break;
    }
    obs_.swap(next_obs);
    env_steps_ += active;
    metrics_.env_steps->Increment(active);
    ExportWriterMetrics();
    metrics_.step_seconds->Observe(absl::ToDoubleSeconds(absl::Now() - start));
    LogEpisodeSummary(/*force=*/false);
    if (completed_unrolls && synchronous_) {
      // A3C-style: the next unroll is acted by the version the learner
      // makes from this one (policy lag 0).
      RETURN_IF_ERROR(writer_->Flush(absl::Seconds(30)));
      while (!stop.HasBeenNotified() && !parameters_->WaitForVersionAfter(policy_version_, absl::Milliseconds(200))) {
      }
    }
  }
  if (!stopped) {
    // Items still waiting for later steps end here: transitions as if
    // truncated (they bootstrap from the last observation they saw); a
    // partial unroll is dropped.
    items_->FlushPending();
    RETURN_IF_ERROR(WriteReady(stop).status());
  }
  absl::Status flushed = writer_->Flush(absl::Seconds(30));
  LogEpisodeSummary(/*force=*/true);
  RILL_LOG(INFO) << "actor " << options_.actor_id << " stops after " << env_steps_ << " env steps ("
                 << writer_->acked_items() << " items acknowledged by replay)";
  return flushed;
}

absl::Status Actor::RunEvaluation(const absl::Notification& stop) {
  const int n = static_cast<int>(envs_.size());
  std::vector<float> next_obs(obs_.size());
  std::vector<float> env_actions(static_cast<size_t>(act_dim_));
  int64_t evaluated_version = 0;
  while (!stop.HasBeenNotified()) {
    // Each round evaluates a version newer than the last one evaluated, at
    // least `every_updates` newer -- or, when the learner has stopped
    // publishing for a second, the final one.
    if (!parameters_->WaitForVersionAfter(evaluated_version, absl::Milliseconds(200))) continue;
    const int64_t every = std::max<int64_t>(0, options_.config.eval().every_updates());
    int64_t seen = parameters_->latest_version();
    while (seen < evaluated_version + every && !stop.HasBeenNotified()) {
      if (!parameters_->WaitForVersionAfter(seen, absl::Seconds(1))) break;  // stable: evaluate it
      seen = parameters_->latest_version();
    }
    if (stop.HasBeenNotified()) break;
    RETURN_IF_ERROR(MaybeUpdatePolicy());
    if (policy_version_ <= evaluated_version) continue;
    std::vector<envs::EpisodeRecord> episodes(n);
    std::vector<bool> done(n, false);
    for (int i = 0; i < n; ++i) envs_[i]->Reset(&obs_[static_cast<size_t>(i) * obs_dim_]);
    int remaining = n;
    while (remaining > 0 && !stop.HasBeenNotified()) {
      RETURN_IF_ERROR(ChooseActions(/*random=*/false, /*deterministic=*/true));
      for (int i = 0; i < n; ++i) {
        if (done[i]) continue;
        EnvAction(i, env_actions.data());
        ASSIGN_OR_RETURN(envs::StepResult result, envs_[i]->Step(env_actions.data(), &next_obs[static_cast<size_t>(i) * obs_dim_]));
        if (result.terminated || result.truncated) {
          episodes[i] = *envs_[i]->finished();
          done[i] = true;
          --remaining;
        }
      }
      obs_.swap(next_obs);
      env_steps_ += n;
    }
    if (remaining > 0) break;
    double mean = 0, mean_length = 0;
    double lowest = episodes[0].episode_return, highest = episodes[0].episode_return;
    for (const envs::EpisodeRecord& episode : episodes) {
      mean += episode.episode_return / n;
      mean_length += static_cast<double>(episode.length) / n;
      lowest = std::min(lowest, episode.episode_return);
      highest = std::max(highest, episode.episode_return);
    }
    evaluated_version = policy_version_;
    metrics_.eval_episodes->Increment(n);
    metrics_.eval_return_mean->Set(mean);
    metrics_.eval_episode_length_mean->Set(mean_length);
    metrics_.eval_parameter_version->Set(static_cast<double>(evaluated_version));
    metrics_.eval_rounds->Increment();
    RILL_LOG(INFO) << absl::StrFormat("eval: version %d, %d episodes, mean return %.1f (min %.1f, max %.1f), mean length %.1f",
                                      evaluated_version, n, mean, lowest, highest, mean_length);
  }
  return absl::OkStatus();
}

}  // namespace rill::actor
