// RemoteEnvs: N instances of an environment served by a rill.v1.EnvService
// (proto/env.proto; python/rill/env_server.py serves any Gymnasium-API
// class), stepped in lockstep over one bidirectional stream: one message
// with all N actions out, one with all N outcomes back.
//
// Open() sends the instance count and seeds, and reads the spaces into an
// EnvSpec; Step() sends the actions and fills a RemoteStep. The server
// resets an instance whose episode ended in the same step, so after a step
// `observations` holds each instance's next observation (the first of its
// next episode where one ended) and `final_observations` the observations
// those episodes ended on, for bootstrapping a truncation. An instance the
// server reports as failed (`errors`: its env raised, or returned a bad
// observation or reward) has been reset; its row's reward is 0 and it is
// truncated, and the caller drops what it was building for it.
//
// Render() asks the server for one instance's current state as an RGB
// image, on the same stream between two steps; it steps nothing. cameras()
// says whether the server's envs render at all.
//
// Errors: Open, Step and Render return the stream's status when the server
// ends it or cannot be reached (UNAVAILABLE, DEADLINE_EXCEEDED naming the
// address), and InvalidArgument when an answer breaks the protocol
// (shapes, dtypes, counts), naming the field. A failed RemoteEnvs is not
// reused: open a new one (the actor reconnects with backoff).
//
// Shared memory: with Transport::kSharedMemoryWhenLocal (the default) a
// stream to a loopback address (127.0.0.0/8, localhost, [::1]) asks its
// server to step through a shared region (proto/env.proto, "Shared
// memory"); where the server grants it, steps and renders go through the
// region and its socket, with the same answers and errors, and the gRPC
// stream only carries the open and the final status. A server that
// declines, or a region that cannot be reached (another network namespace),
// leaves the stream on gRPC; shared_memory() says which it is.
//
// Multi-agent envs (proto/env.proto, "Multi-agent envs"): a server whose
// opened answer lists agents makes a multi-agent stream: multi_agent()
// says so and multi_agent_spec() holds the agents and their spaces. Its
// spec() is then the stream's row, an env's agents side by side (float32
// observations [O], continuous actions [A]: a discrete agent's index as a
// float), so Step takes and gives rows as for one agent, with rewards,
// terminated and truncated per agent ([N, K]) and the live masks and
// states besides.
//
// Not thread-safe: one step loop owns it (Render included).
#ifndef RILL_ENVS_REMOTE_REMOTE_ENVS_H_
#define RILL_ENVS_REMOTE_REMOTE_ENVS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/shared_region.h"
#include "envs/multi_agent/interface.h"
#include "envs/remote/spaces.h"
#include "envs/render.h"
#include "envs/spec.h"
#include "grpcpp/grpcpp.h"
#include "proto/env.grpc.pb.h"

namespace rill::envs {

// One failed instance, as the server named it.
struct RemoteEnvError {
  int env_index = 0;
  std::string field;  // "step", "reset", "observation", "reward", ...
  std::string message;
  std::string agent;  // a multi-agent env's agent it concerns, else empty
};

// The outcome of one step of every instance.
struct RemoteStep {
  // Observations are the bytes of spec().observation_type: [N, obs_bytes].
  std::vector<uint8_t> observations;
  std::vector<float> rewards;       // [N] ([N, K] for a multi-agent stream)
  std::vector<uint8_t> terminated;  // [N] ([N, K])
  std::vector<uint8_t> truncated;   // [N] ([N, K])
  // A multi-agent stream's only: [N, K], the agents that act in the next
  // step, and [N, S], each env's state.
  std::vector<uint8_t> live;
  std::vector<float> states;
  std::vector<int> final_indices;   // ascending
  std::vector<uint8_t> final_observations;  // [final_indices.size(), obs_bytes]
  // A multi-agent stream with a state: [final_indices.size(), S], each ended
  // env's state at its episode's end (before the server's reset).
  std::vector<float> final_states;
  std::vector<RemoteEnvError> errors;
};

class RemoteEnvs {
 public:
  enum class Transport {
    kSharedMemoryWhenLocal,  // shared memory to a loopback address, else gRPC
    kGrpc,                   // gRPC messages only
  };

  // Opens `num_envs` instances at `address`, instance i seeded
  // base_seed + i + 1 (as local envs are). `timeout` bounds the connection
  // and every answer.
  static absl::StatusOr<std::unique_ptr<RemoteEnvs>> Open(const std::string& address, int num_envs,
                                                          uint64_t base_seed, absl::Duration timeout,
                                                          Transport transport = Transport::kSharedMemoryWhenLocal);

  // Open, retried with backoff (100 ms doubling to 5 s, each try waiting
  // up to 10 s) while the server is unavailable, for up to
  // `reconnect_seconds`: what a batch does at its first open and when its
  // stream broke. `first_stream` says whether to log the shared-memory
  // note. Errors: Unavailable past the deadline, naming it and
  // env.remote.reconnect_seconds; Open's others as they are.
  static absl::StatusOr<std::unique_ptr<RemoteEnvs>> OpenWithBackoff(const std::string& address, int num_envs,
                                                                     uint64_t base_seed, double reconnect_seconds,
                                                                     Transport transport, bool first_stream);

  // Whether `address`'s host is a loopback one (the kSharedMemoryWhenLocal
  // test).
  static bool IsLoopback(const std::string& address);
  ~RemoteEnvs();

  const EnvSpec& spec() const { return spec_; }
  int size() const { return num_envs_; }
  // [N, obs_bytes]: the first observations (rows of failed resets are zeros).
  const std::vector<uint8_t>& first_observations() const { return first_observations_; }
  // Instances whose first reset failed.
  const std::vector<RemoteEnvError>& open_errors() const { return open_errors_; }
  // Whether the server's envs are multi-agent (see above), and their
  // agents; first_live() [N, K] and first_states() [N, S] are the open's.
  bool multi_agent() const { return agents_ > 0; }
  const MultiAgentSpec& multi_agent_spec() const { return multi_agent_spec_; }
  const std::vector<uint8_t>& first_live() const { return first_live_; }
  const std::vector<float>& first_states() const { return first_states_; }
  // The agents' spaces as the server announced them (multi-agent only).
  const google::protobuf::RepeatedPtrField<v1::AgentSpaces>& agent_spaces() const { return agent_spaces_; }
  // The server's spaces as it announced them.
  const v1::Space& observation_space() const { return observation_space_; }
  const v1::Space& action_space() const { return action_space_; }

  // Steps every instance. `actions`: [N, act_dim] floats in env units for a
  // Box action space; [N] action indices (as floats) for a discrete one.
  // With row control (row_control(); proto/env.proto, "Row control"): only
  // the instances whose `step_mask` byte is 1 when it is not null (the
  // others' rows are their current observations, reward 0, neither flag),
  // and with `defer_resets` an instance whose episode ends is left ended,
  // its row the observation it ended on, until ResetSome names it.
  // FailedPrecondition for either without row control (nothing sent).
  absl::Status Step(const float* actions, RemoteStep* step, const uint8_t* step_mask = nullptr,
                    bool defer_resets = false);

  // Whether the server steps chosen instances and defers resets (its
  // opened answer said so; never for a multi-agent stream).
  bool row_control() const { return row_control_ && !multi_agent(); }

  // Row control: starts the next episode of the instances `indices`
  // (ascending, each below size()) and writes their first observations,
  // in that order, to `observations` ([len, obs_bytes]; zeros for one
  // whose reset failed, which is in `errors` and fails at its next step).
  // Errors: FailedPrecondition without row control; InvalidArgument for
  // indices that are not ascending below size() (nothing sent) or an
  // answer that breaks the protocol; the stream's status as for Step.
  absl::Status ResetSome(const std::vector<int>& indices, std::vector<uint8_t>* observations,
                         std::vector<RemoteEnvError>* errors);

  // The cameras the server's envs render from, the default first, as its
  // opened answer listed them; empty when they cannot render (or the
  // server predates rendering).
  const std::vector<std::string>& cameras() const { return cameras_; }

  // Whether the stream steps through shared memory; when it asked for it
  // and does not, shared_memory_note() says why (else it is empty).
  bool shared_memory() const { return region_ != nullptr; }
  const std::string& shared_memory_note() const { return shared_memory_note_; }

  // Instance `index`'s current state drawn at width x height from `camera`
  // ("" for the default). The server may answer at another size (a Python
  // env's render() draws at its own): the image is the server's frame, at
  // the size it came. Waits for the answer as Step does; steps nothing, so
  // the episodes go on as if it had not been called. Errors, each naming
  // the server:
  //   Unimplemented: cameras() is empty (nothing asked);
  //   InvalidArgument: an index outside 0..size()-1, a size outside
  //     1..kMaxRenderSize or a camera not in cameras() (nothing asked);
  //     a frame that is not [H, W, 3] uint8 with H and W in
  //     1..kMaxRenderSize, or whose byte count differs from H * W * 3;
  //   FailedPrecondition: the server could not draw it (the env raised,
  //     returned no RGB image, ...), with the server's reason; the stream
  //     goes on;
  //   the stream's status, as for Step, when the stream ended.
  absl::StatusOr<RgbImage> Render(int index, int width, int height, const std::string& camera = "");

 private:
  RemoteEnvs() = default;
  absl::Status Fail(const std::string& what);
  // A region exchange's failure: the stream's status when the socket
  // closed (the server ended the stream), else `status`.
  absl::Status FailRegion(const std::string& what, const absl::Status& status);
  // Sends the actions (and the row control, when there is any) and reads
  // the answer into response_, over the region or the stream.
  absl::Status Exchange(const float* actions, const uint8_t* step_mask, bool defer_resets);
  // OK with row control, else FailedPrecondition saying the server cannot
  // `what`.
  absl::Status CheckRowControl(const char* what) const;
  // A multi-agent open's agents into multi_agent_spec_ and spec_ (the row),
  // and its live masks and states; InvalidArgument naming the agent or
  // field that breaks the protocol.
  absl::Status OpenAgents(const v1::EnvsOpened& opened);
  // The shape of one per-env array of Step: [N], or [N, K] multi-agent.
  std::vector<int64_t> PerAgent() const;

  std::string address_;
  int num_envs_ = 0;
  absl::Duration timeout_;
  EnvSpec spec_;
  // One observation's shape in the server's tensors: its space's (a scalar's
  // is [], where spec_ says [1]; envs/remote/spaces.h), or a multi-agent
  // stream's row.
  std::vector<int64_t> observation_shape_;
  std::vector<uint8_t> first_observations_;
  std::vector<RemoteEnvError> open_errors_;
  MultiAgentSpec multi_agent_spec_;
  int agents_ = 0;  // K for a multi-agent stream, else 0
  std::vector<uint8_t> first_live_;
  std::vector<float> first_states_;
  google::protobuf::RepeatedPtrField<v1::AgentSpaces> agent_spaces_;
  v1::Space observation_space_;
  v1::Space action_space_;
  std::vector<std::string> cameras_;
  bool row_control_ = false;  // as the opened answer said
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::EnvRequest, v1::EnvResponse>> stream_;
  v1::EnvRequest request_;
  v1::EnvResponse response_;
  // A render's own messages, so the step's keep their buffers.
  v1::EnvRequest render_request_;
  v1::EnvResponse render_response_;
  std::vector<int64_t> action_shape_;  // a Box action's shape, as the server's space says ([] for a scalar)
  std::vector<int64_t> indices_;
  // The shared region, its layout and an answer's bytes (null: gRPC).
  std::unique_ptr<SharedRegion> region_;
  v1::SharedMemory layout_;
  std::string answer_;
  std::string render_bytes_;
  std::string step_bytes_;  // a region step's message: empty, or its row control
  std::string shared_memory_note_;
};

}  // namespace rill::envs

#endif  // RILL_ENVS_REMOTE_REMOTE_ENVS_H_
