// The C++ server of rill.v1.EnvService (proto/env.proto): serves envs made
// by an EnvFactory (a registered env, a plugin's, any Env) to actors that
// step them through envs::RemoteEnvs, or multi-agent envs made by a
// MultiAgentEnvFactory (envs/multi_agent/interface.h) to actors that step
// them through envs::RemoteMultiAgentEnvs, with the protocol's semantics
// as python/rill/env_server.py has them. `rill env-server` runs it
// (roles/env_server_main.h); `rill bench env --bench_env_server` measures
// it against stepping the same envs in-process.
//
// EnvServiceImpl is the service on gRPC's callback API: one reactor per
// actor stream (no thread per stream), holding that stream's ServerBatch
// (env_server_batch.h): an EnvServerBatch, or for a multi-agent env a
// MultiAgentServerBatch (multi_agent_server_batch.h). A stream's open and
// steps run on the gRPC callback thread that read the request, one at a
// time per stream; the envs' CPU time is the server's, and streams step in
// parallel on gRPC's threads. A request the server cannot serve ends its stream only:
// FAILED_PRECONDITION when the first message is not an open, for a second
// open, or when the factory fails; INVALID_ARGUMENT naming open.num_envs,
// open.seeds, step.actions, step.step_mask or reset.env_indices.
// Per-instance failures are answered in `errors` and the stream goes on.
// The opened answer lists the env's cameras (Env::cameras()); a render
// request between steps is answered with the instance's frame
// (envs::RenderInto), or with an error naming what was wrong, and the
// stream goes on. The opened answer announces row_control (the protocol's
// "Row control"): a step may carry a step mask, which steps only the
// instances it marks, and defer_resets, which leaves an instance whose
// episode ends at its last state until a reset request names it; a reset
// request is answered with those instances' first observations. A
// multi-agent stream announces its agents, their spaces and the env's
// state, steps [N, A] actions into the protocol's multi-agent tensors, and
// has no row control: a step mask, defer_resets or a reset request ends it
// with INVALID_ARGUMENT naming the field. A stream that asks for shared
// memory (OpenEnvs.shared_memory: a client on this host) is offered a
// region laid out as the Python server lays it out, served by a thread of
// its own (common/region_server.h), so streams still step in parallel;
// its steps, renders and resets then come as frames on the region's socket
// and are answered exactly as over gRPC, their tensors in the region.
//
// EnvServer starts one on HOST:PORT (port 0 picks a free one) with the
// message limit of the client (256 MiB) and grpc.health.v1.
//
// Thread-safe: every method; Connect is called by gRPC.
#ifndef RILL_ENVS_REMOTE_ENV_SERVER_H_
#define RILL_ENVS_REMOTE_ENV_SERVER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "envs/remote/env_server_batch.h"
#include "envs/remote/multi_agent_server_batch.h"
#include "grpcpp/grpcpp.h"
#include "proto/env.grpc.pb.h"

namespace rill::envs {

class EnvServiceImpl final : public v1::EnvService::CallbackService {
 public:
  // Opens one stream's batch and fills its opened answer (EnvServerBatch::
  // Open's or MultiAgentServerBatch::Open's errors).
  using StreamOpener =
      std::function<absl::StatusOr<std::unique_ptr<ServerBatch>>(const v1::OpenEnvs& open, v1::EnvsOpened* opened)>;

  // Makes one instance (seed 0) to learn the spaces and time limit every
  // stream's instances must have, so that a factory that cannot make its
  // env fails here and not at the first stream. InvalidArgument for no
  // factory; FailedPrecondition with the factory's error.
  static absl::StatusOr<std::unique_ptr<EnvServiceImpl>> Create(EnvFactory factory);
  // The same for a multi-agent env, whose agents, spaces, state and time
  // limit every stream's instances must have; FailedPrecondition too for
  // an env the protocol cannot carry (CheckServableAgents).
  static absl::StatusOr<std::unique_ptr<EnvServiceImpl>> CreateMultiAgent(MultiAgentEnvFactory factory);

  grpc::ServerBidiReactor<v1::EnvRequest, v1::EnvResponse>* Connect(grpc::CallbackServerContext* context) override;

  // The served env's id and time limit, as each stream's opened answer
  // announces them.
  const std::string& env_name() const { return env_name_; }
  int max_episode_steps() const { return max_episode_steps_; }

 private:
  EnvServiceImpl(std::string env_name, int max_episode_steps, StreamOpener open)
      : env_name_(std::move(env_name)), max_episode_steps_(max_episode_steps), open_(std::move(open)) {}

  const std::string env_name_;
  const int max_episode_steps_;
  const StreamOpener open_;
  std::atomic<int64_t> next_stream_{1};
};

class EnvServer {
 public:
  // The largest message sent or received: what envs::RemoteEnvs allows.
  static constexpr int64_t kMaxMessageBytes = int64_t{256} << 20;

  // Makes the service (EnvServiceImpl::Create's errors) and serves it on
  // `address` ("HOST:PORT"). InvalidArgument for an address without a
  // numeric port; Unavailable naming the address when it cannot be bound.
  static absl::StatusOr<std::unique_ptr<EnvServer>> Start(const std::string& address, EnvFactory factory);
  // The same for a multi-agent env (EnvServiceImpl::CreateMultiAgent's
  // errors).
  static absl::StatusOr<std::unique_ptr<EnvServer>> StartMultiAgent(const std::string& address,
                                                                    MultiAgentEnvFactory factory);
  // Stops as Stop(absl::ZeroDuration()) does.
  ~EnvServer();

  EnvServer(const EnvServer&) = delete;
  EnvServer& operator=(const EnvServer&) = delete;

  // "HOST:PORT" with the port bound: where actors connect.
  const std::string& address() const { return address_; }
  int port() const { return port_; }
  const std::string& env_name() const { return service_->env_name(); }
  int max_episode_steps() const { return service_->max_episode_steps(); }
  // Reports NOT_SERVING to grpc.health.v1 probes; streams go on.
  void SetNotServing();
  // Refuses new streams, lets open ones end by themselves for up to
  // `grace`, then cancels the rest. Blocks until every stream has ended
  // (a stream's step in progress runs to its end first). Idempotent.
  void Stop(absl::Duration grace);

 private:
  EnvServer() = default;
  // Serves `service` (or its error) on `address`, as Start says.
  static absl::StatusOr<std::unique_ptr<EnvServer>> Serve(const std::string& address,
                                                          absl::StatusOr<std::unique_ptr<EnvServiceImpl>> service);

  // Declared before server_: the server is destroyed first.
  std::unique_ptr<EnvServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  int port_ = 0;
  std::atomic<bool> stopped_{false};
};

}  // namespace rill::envs

#endif  // RILL_ENVS_REMOTE_ENV_SERVER_H_
