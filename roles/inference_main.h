// `rill inference`: central batched inference (the GA3C / SEED topology) in
// a process of its own, for fleets whose actors would crowd the learner's
// gRPC server and device. It follows the learner's parameter stream as an
// actor does (parameters/parameter_client.h: subscribe, reconnect with backoff)
// and serves rill.v1.InferenceService with the newest version received;
// actors reach it through the config's inference.address.
#ifndef RILL_ROLES_INFERENCE_MAIN_H_
#define RILL_ROLES_INFERENCE_MAIN_H_

namespace rill::roles {

// Reads the flags (already parsed): --config, --learner_address, --host,
// --port, --metrics_port, --ready_fd. Serves until SIGINT / SIGTERM and
// returns the process exit code: 0 after a clean stop, 2 for a bad flag or
// config, 1 when it cannot serve.
int InferenceMain();

}  // namespace rill::roles

#endif  // RILL_ROLES_INFERENCE_MAIN_H_
