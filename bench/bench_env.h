// `rill bench env --env=NAME`: how many env steps per second one core runs
// for an environment, alone and inside the actor's loop with batched policy
// inference, against the bare physics of the same model measured in the
// same run.
//
// Reads --env (a registry name; default HalfCheetah-v4), --bench_num_envs (envs stepped in lockstep,
// 16 by default), --bench_policy_hidden ("256,256") and --bench_seconds
// (0: 3 s per measurement). Three measurements, each on the calling thread
// with LibTorch limited to one thread:
//   env_steps_per_second: bench_num_envs envs stepped in lockstep with
//     uniformly random actions, each reset when its episode ends.
//   with_policy_env_steps_per_second: the same with the actor loop's
//     action choice: one batched forward of a freshly initialised policy
//     (Gaussian for continuous actions, categorical for discrete, the
//     hidden widths above) for all envs per step, actions scaled from
//     [-1, 1] to the env's bounds; no replay.
//   raw_physics_steps_per_second: MuJoCo tasks: bare mj_step on the same
//     compiled model in one fresh mjData with random controls (one env step
//     is frame_skip of these). Classic control: one env's Step in a tight
//     loop (its dynamics function plus its few bookkeeping lines).
// Prints a summary to stderr and, as the last line of stdout, one JSON
// object: {"env", "num_envs", "frame_skip", "obs_dim", "action_dim",
// "discrete", "policy_hidden", "env_steps_per_second",
// "with_policy_env_steps_per_second", "raw_physics_steps_per_second",
// "raw_env_steps_per_second" (raw / frame_skip), "env_fraction_of_raw",
// "with_policy_fraction_of_raw"}.
//
// With --render=WIDTHxHEIGHT (e.g. 84x84), a fourth measurement: one env
// stepped with random actions alone, then the same env stepped and drawn
// from its default camera after every step (envs::RenderInto; MuJoCo's
// renderer on llvmpipe, or the env's own). The JSON gains "render",
// "render_camera", "render_frames_per_second" (frames over the time spent
// drawing only), "render_physics_env_steps_per_second" (that env's steps/s
// without drawing), "render_env_steps_per_second" (steps/s with a frame
// each), "render_frames_to_physics_steps" and
// "render_env_fraction_of_physics" (the last two over the first).
//
// With --bench_env_server, one other measurement instead: --env (default
// CartPole-v1) at each of --bench_env_server_envs ("1,64") envs per stream,
// (a) N envs stepped in a plain loop with random actions, each reset when
// its episode ends, and (b) the same env behind the C++ EnvService server
// (envs/remote/env_server.h), started in this process on 127.0.0.1:0 and
// stepped over one stream through envs::RemoteEnvs as an actor does, random
// actions. The last line: {"bench": "env_server", "env", "cores",
// "load_average_1m_before", "load_average_1m_after",
// "seconds_per_measurement", "cases": [{"num_envs",
// "in_process_env_steps_per_second", "served_env_steps_per_second",
// "served_fraction_of_in_process", "us_per_message" (one step of all N
// served), "env_us_per_message" (the same N steps in-process),
// "us_per_message_beyond_env" (their difference: the protocol's cost)}],
// "us_per_message_beyond_env_at_1_env"}.
//
// With --bench_agents_vs_single, one other measurement instead: the actor
// loop over --bench_num_envs envs of --env (a multi-agent env, default
// CooperativeNavigation-v0) against the same loop over as many rows of
// single-agent envs of one agent's size and share of the env's work, with
// the same policy (agents_vs_single.h has what is run and the JSON it
// prints).
// Not meant to run beside other work.
#ifndef RILL_BENCH_BENCH_ENV_H_
#define RILL_BENCH_BENCH_ENV_H_

namespace rill::bench {

// Returns the process exit code: 0, or 1 after printing the error to stderr.
int RunEnvBench();

}  // namespace rill::bench

#endif  // RILL_BENCH_BENCH_ENV_H_
