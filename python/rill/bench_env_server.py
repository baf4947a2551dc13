"""How fast a Python env steps behind rill.v1.EnvService, against the floor
Python itself sets: the same env stepped in a plain Python loop, measured in
the same run. Prints JSON on its last line.

    PYTHONPATH=python:examples/python python3 -m rill.bench_env_server \
        --factory=cartpole:make --envs=1,16,64 --seconds=3

For each N: remote env steps/s with one stream of N envs, the client
sending random actions and waiting for each answer as an actor does, with
the C++ client the actors use (`rill bench env --bench_remote`, from
--rill, default bazel-bin/rill; skipped when it is missing) both over gRPC
messages and through the shared region an actor on the server's host
takes (proto/env.proto, "Shared memory"), and with the Python client
(rill.env_client, over gRPC); the plain loop's env steps/s over N envs;
their ratios; and the time per message beyond the env's own stepping (at
N=1: the protocol's overhead per step).
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

from rill.env_batch import load_factory
from rill.env_client import EnvStream
from rill.spaces import ActionSpace


def plain_loop(factory, num_envs, seconds, discrete, n, shape, low, high):
    envs = [factory() for _ in range(num_envs)]
    for i, env in enumerate(envs):
        env.reset(seed=i)
    rng = np.random.default_rng(0)
    steps = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        actions = rng.integers(0, n, num_envs) if discrete else rng.uniform(low, high, (num_envs,) + shape)
        for env, action in zip(envs, actions):
            _, _, terminated, truncated, _ = env.step(int(action) if discrete else action.astype(np.float32))
            if terminated or truncated:
                env.reset()
        steps += num_envs
    return steps / (time.perf_counter() - start)


def remote(address, num_envs, seconds, discrete, n, shape, low, high):
    stream = EnvStream(address, num_envs)
    rng = np.random.default_rng(0)
    for _ in range(20):  # warm-up: connection, first messages
        stream.step(rng.integers(0, n, num_envs) if discrete else
                    rng.uniform(low, high, (num_envs,) + shape).astype(np.float32))
    steps = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        stream.step(rng.integers(0, n, num_envs) if discrete else
                    rng.uniform(low, high, (num_envs,) + shape).astype(np.float32))
        steps += num_envs
    rate = steps / (time.perf_counter() - start)
    stream.close()
    return rate


def rill_client(rill, address, num_envs, seconds, grpc_only=False):
    """(env steps/s, transport) of `rill bench env --bench_remote` (the
    actors' client): through shared memory, as actors on the server's host
    step, or with grpc_only over gRPC messages."""
    out = subprocess.run([rill, "bench", "env", "--bench_remote=" + address, "--bench_num_envs=%d" % num_envs,
                          "--bench_seconds=%g" % seconds, "--bench_remote_grpc=%s" % str(grpc_only).lower()],
                         capture_output=True, text=True, timeout=120 + seconds)
    if out.returncode != 0:
        raise SystemExit("rill bench env --bench_remote failed: %s" % out.stderr.strip())
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["env_steps_per_second"], result.get("transport", "grpc")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--factory", default="cartpole:make")
    parser.add_argument("--envs", default="1,16,64")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--processes", type=int, default=1, help="the server's --processes")
    parser.add_argument("--rill", default="bazel-bin/rill", help="the rill binary whose C++ client is measured")
    args = parser.parse_args()
    factory = load_factory(args.factory)
    space = ActionSpace(factory().action_space)  # the server's reading of it
    discrete, n, shape = space.discrete, space.n, tuple(space.shape)
    low = None if discrete else space.low
    high = None if discrete else space.high

    server = subprocess.Popen([sys.executable, "-m", "rill.env_server", "--factory=" + args.factory,
                               "--address=127.0.0.1:0", "--processes=%d" % args.processes],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=os.environ.copy())
    try:
        line = server.stdout.readline()
        if not line.startswith("listening on "):
            raise SystemExit("the env server did not start: %r" % line)
        address = line.split()[-1]
        results = []
        for num_envs in [int(x) for x in args.envs.split(",")]:
            local = plain_loop(factory, num_envs, args.seconds, discrete, n, shape, low, high)
            served = remote(address, num_envs, args.seconds, discrete, n, shape, low, high)
            result = {"envs_per_stream": num_envs, "python_loop_steps_per_second": round(local),
                      "python_client_steps_per_second": round(served),
                      "python_client_ratio": round(served / local, 3)}
            best = served
            if os.access(args.rill, os.X_OK):
                grpc_rate, _ = rill_client(args.rill, address, num_envs, args.seconds, grpc_only=True)
                cpp, transport = rill_client(args.rill, address, num_envs, args.seconds)
                result.update({"rill_client_grpc_steps_per_second": round(grpc_rate),
                               "rill_client_grpc_ratio": round(grpc_rate / local, 3),
                               "rill_client_transport": transport,
                               "rill_client_steps_per_second": round(cpp), "rill_client_ratio": round(cpp / local, 3),
                               "grpc_overhead_us_per_message": round((num_envs / grpc_rate - num_envs / local) * 1e6,
                                                                     1)})
                best = cpp
            result["overhead_us_per_message"] = round((num_envs / best - num_envs / local) * 1e6, 1)
            results.append(result)
            print("  %3d envs: plain loop %8.0f steps/s; remote: python client %8.0f (%.2f), rill client %s;"
                  " %.0f us per message beyond the env"
                  % (num_envs, local, served, served / local,
                     "over gRPC %8.0f (%.2f), %s %8.0f (%.2f)" % (
                         result["rill_client_grpc_steps_per_second"], result["rill_client_grpc_ratio"],
                         result["rill_client_transport"], result["rill_client_steps_per_second"],
                         result["rill_client_ratio"])
                     if "rill_client_steps_per_second" in result else "-", result["overhead_us_per_message"]),
                  file=sys.stderr)
    finally:
        server.terminate()
        server.wait()
    print(json.dumps({"bench": "env_server", "factory": args.factory, "processes": args.processes,
                      "load_average": os.getloadavg()[0], "results": results}))


if __name__ == "__main__":
    main()
