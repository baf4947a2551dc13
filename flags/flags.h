// Flags shared by every role of the one `rill` binary. absl flags are global,
// so a flag used by several roles is defined once, here; a role's own flags
// live beside its entry point and must not reuse these names. Only entry
// points (roles/, bench/, tools/) read flags: every package below this one's
// floor takes its settings as arguments, which Bazel's visibility enforces.
#ifndef RILL_FLAGS_FLAGS_H_
#define RILL_FLAGS_FLAGS_H_

#include <cstdint>
#include <string>

#include "absl/flags/declare.h"

ABSL_DECLARE_FLAG(std::string, config);       // experiment config (textproto)
ABSL_DECLARE_FLAG(std::string, host);         // address servers bind
ABSL_DECLARE_FLAG(int32_t, port);             // gRPC port; 0 picks a free one
ABSL_DECLARE_FLAG(int32_t, metrics_port);     // Prometheus port; 0 picks a free one, -1 disables
ABSL_DECLARE_FLAG(int32_t, ready_fd);         // launcher's pipe for the ready line
ABSL_DECLARE_FLAG(std::string, final_metrics_file);  // where a role writes its last metrics as it exits
ABSL_DECLARE_FLAG(std::string, checkpoint_dir);
ABSL_DECLARE_FLAG(std::string, scalars_file);  // JSON lines of the process's scalars (common/scalar_log.h)
ABSL_DECLARE_FLAG(std::string, replay_address);   // comma-separated HOST:PORT list
ABSL_DECLARE_FLAG(std::string, learner_address);  // HOST:PORT of the parameter service
ABSL_DECLARE_FLAG(int64_t, seed);             // overrides the config's seed when >= 0
ABSL_DECLARE_FLAG(double, bench_seconds);   // benchmarks; 0: their own default
ABSL_DECLARE_FLAG(std::string, env);         // an env id: `rill bench env`, `rill env-server`
ABSL_DECLARE_FLAG(std::string, plugin);      // an env plugin library: `rill envs`, `rill env-server`
ABSL_DECLARE_FLAG(int32_t, episodes);        // `rill eval`, `rill render`; -1: the command's default
ABSL_DECLARE_FLAG(std::string, out);          // the file `rill export` and `rill render` write
ABSL_DECLARE_FLAG(std::string, format);       // `rill export`: torchscript or onnx
ABSL_DECLARE_FLAG(int32_t, num_learners);    // learner ranks: `rill launch`, `rill bench learner`; -1: default
ABSL_DECLARE_FLAG(std::string, address);     // HOST:PORT: `rill replay info`, `rill env-server`
ABSL_DECLARE_FLAG(std::string, env_address);  // remote envs' server: `rill actor`, `rill eval`, `rill render`
// Mutual TLS for every gRPC server and channel (common/tls.h, tls_flags.h): all three PEM
// files, or none for plain text.
ABSL_DECLARE_FLAG(std::string, tls_cert);     // this process's certificate (chain)
ABSL_DECLARE_FLAG(std::string, tls_key);      // its private key
ABSL_DECLARE_FLAG(std::string, tls_ca);       // the CA(s) every peer's certificate must chain to

#endif  // RILL_FLAGS_FLAGS_H_
