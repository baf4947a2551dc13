"""How fast a Python env steps behind rill.v1.EnvService, against the floor
Python itself sets: the same env stepped in a plain Python loop, measured in
the same run. Prints JSON on its last line.

    PYTHONPATH=python:examples/python python3 -m rill.bench_env_server \
        --factory=cartpole:make --envs=1,16,64 --seconds=3

For each N: remote env steps/s with one stream of N envs (the client sends
random actions and waits for each answer, as an actor does), the plain
loop's env steps/s over N envs, their ratio, and the time per message
beyond the env's own stepping (at N=1: the protocol's overhead per step).
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--factory", default="cartpole:make")
    parser.add_argument("--envs", default="1,16,64")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--processes", type=int, default=1, help="the server's --processes")
    args = parser.parse_args()
    factory = load_factory(args.factory)
    probe = factory()
    space = probe.action_space
    discrete = getattr(space, "n", None) is not None and tuple(getattr(space, "shape", ()) or ()) == ()
    n = int(space.n) if discrete else 0
    shape = () if discrete else tuple(space.shape)
    low = None if discrete else np.broadcast_to(space.low, shape)
    high = None if discrete else np.broadcast_to(space.high, shape)

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
            overhead_us = (num_envs / served - num_envs / local) * 1e6
            results.append({"envs_per_stream": num_envs, "remote_steps_per_second": round(served),
                            "python_loop_steps_per_second": round(local), "ratio": round(served / local, 3),
                            "overhead_us_per_message": round(overhead_us, 1)})
            print("  %3d envs: remote %8.0f steps/s, plain loop %8.0f (%.2f), %.0f us per message beyond the env"
                  % (num_envs, served, local, served / local, overhead_us), file=sys.stderr)
    finally:
        server.terminate()
        server.wait()
    print(json.dumps({"bench": "env_server", "factory": args.factory, "processes": args.processes,
                      "load_average": os.getloadavg()[0], "results": results}))


if __name__ == "__main__":
    main()
