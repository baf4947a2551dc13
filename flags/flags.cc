#include "flags/flags.h"

#include "absl/flags/flag.h"

ABSL_FLAG(std::string, config, "deploy/configs/pendulum_sac.textpb",
          "Experiment config in protobuf text format (rill.v1.ExperimentConfig).");
ABSL_FLAG(std::string, host, "0.0.0.0", "Address the gRPC and metrics servers bind.");
ABSL_FLAG(int32_t, port, 0, "gRPC port to serve on; 0 picks a free port.");
ABSL_FLAG(int32_t, metrics_port, 0, "Prometheus /metrics port; 0 picks a free port, -1 disables.");
ABSL_FLAG(int32_t, ready_fd, -1, "File descriptor to write the 'ready' line with bound ports to.");
ABSL_FLAG(std::string, final_metrics_file, "",
          "Write this process's metrics here (Prometheus text format) as it exits, after its last update; `rill "
          "launch` reads the run's final counters from these files. Empty: none.");
ABSL_FLAG(std::string, checkpoint_dir, "", "Folder for checkpoints; empty: no checkpoints.");
ABSL_FLAG(std::string, scalars_file, "",
          "Append this process's scalars over time here as JSON lines (common/scalar_log.h): the learner's losses "
          "and statistics at each log interval, the evaluator's rounds. `rill launch` sets it to "
          "<run_dir>/metrics/<role>.jsonl. Empty: none.");
ABSL_FLAG(std::string, replay_address, "127.0.0.1:50051", "Replay shard(s), comma-separated HOST:PORT.");
ABSL_FLAG(std::string, learner_address, "127.0.0.1:50052", "Learner parameter service HOST:PORT.");
ABSL_FLAG(int64_t, seed, -1, "Random seed; -1 uses the config's seed.");
ABSL_FLAG(double, bench_seconds, 0,
          "Seconds a benchmark (`rill bench ...`) measures for; 0: the benchmark's own default "
          "(learner: 10 s in all, replay: 2 s per case).");
ABSL_FLAG(std::string, env, "",
          "An environment id (`rill envs` lists them; with --plugin, one of the library's envs). `rill bench env`: "
          "the env it measures (default HalfCheetah-v4; CartPole-v1 with --bench_env_server). `rill env-server`: "
          "the env it serves (required).");
ABSL_FLAG(std::string, plugin, "",
          "An env plugin library (built against envs/plugin/rill_env_plugin.h). `rill envs`: list its envs instead "
          "of the registry's, with the config's env section for each. `rill env-server`: serve its env --env.");
ABSL_FLAG(int32_t, num_learners, -1,
          "Data-parallel learner ranks. rill launch: the ranks of its learner group (rank 0 publishes and "
          "checkpoints, every rank trains); -1 uses the config's topology.num_learners. rill bench learner: that "
          "many ranks in its process, each on its own thread with its own batch and a Gloo group over loopback, "
          "measuring the allreduce against the update and projecting the scaling at 8 ranks over 10 and 100 Gb/s "
          "links; -1: one.");
ABSL_FLAG(int32_t, episodes, -1,
          "Episodes to play with a checkpoint's deterministic policy. rill eval: -1 plays 10. rill render: -1 plays "
          "1, each episode a video.");
ABSL_FLAG(std::string, out, "",
          "The file written. rill export: the policy (required, e.g. policy.pt, or policy.onnx). rill render: the "
          "MP4 video (default episode.mp4).");
ABSL_FLAG(std::string, format, "",
          "rill export: torchscript (LibTorch, torch.jit.load) or onnx (ONNX Runtime and other ONNX runtimes); "
          "empty: onnx when --out ends in .onnx, torchscript otherwise.");
ABSL_FLAG(std::string, address, "",
          "HOST:PORT. `rill replay info`: the replay shard it asks (required). `rill env-server`: where it serves "
          "(default 127.0.0.1:0; port 0 picks a free one, printed as \"listening on HOST:PORT\").");
ABSL_FLAG(std::string, env_address, "",
          "Remote envs: the env server to dial (HOST:PORT), in place of the config's env.remote.address. rill "
          "actor: `rill launch` passes the address of the server its env.remote.command started. rill eval, rill "
          "render: a server already running, in place of the one they otherwise start from env.remote.command.");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate (chain) this process presents as a gRPC server and as a client. With --tls_key and "
          "--tls_ca: mutual TLS on every gRPC server and channel; all three empty: plain text.");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert (unencrypted).");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA certificate(s): a peer (server or client) whose certificate does not chain to one is refused.");
