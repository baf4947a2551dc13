"""Pursuit on a line: a multi-agent env in the shape of PettingZoo's parallel
API, served to Rill by rill.env_server (docs/own-env.md, "A multi-agent env
in Python"). No pettingzoo import: the server finds possible_agents,
observation_space(agent), action_space(agent), reset, step, state and
state_space by duck typing.

Two agents of different spaces on the segment [-1, 1]:
  chaser  moves by 0.1 * its action, a Box in [-1, 1]; observes
          [its position, the runner's position - its own] (or its last
          sight of the runner once caught); reward: minus the distance.
  runner  moves left, stays or moves right by 0.05 (Discrete(3));
          observes [its position, the chaser's - its own, time left];
          reward: the distance. Caught (within 0.1) it is terminated and
          leaves; the chaser goes on alone until the time limit.
The global state is both positions and the time left. Episodes last 50
steps (spec.max_episode_steps: the server truncates the agents still live).
"""

import numpy as np


class Box:
    def __init__(self, low, high, shape):
        self.low, self.high, self.shape, self.dtype = low, high, tuple(shape), np.dtype(np.float32)


class Discrete:
    def __init__(self, n):
        self.n, self.shape = n, ()


class Spec:
    max_episode_steps = 50


class Pursuit:
    spec = Spec()

    def __init__(self):
        self.possible_agents = ["chaser", "runner"]
        self.agents = []
        self.state_space = Box(-1.0, 1.0, (3,))
        self.rng = np.random.default_rng()
        self.chaser = self.runner = 0.0
        self.t = 0

    def observation_space(self, agent):
        return Box(-2.0, 2.0, (2,) if agent == "chaser" else (3,))

    def action_space(self, agent):
        return Box(-1.0, 1.0, (1,)) if agent == "chaser" else Discrete(3)

    def state(self):
        return np.array([self.chaser, self.runner, 1 - self.t / 50], np.float32)

    def _obs(self):
        gap = self.runner - self.chaser
        obs = {"chaser": np.array([self.chaser, gap], np.float32)}
        if "runner" in self.agents:
            obs["runner"] = np.array([self.runner, -gap, 1 - self.t / 50], np.float32)
        return obs

    def reset(self, seed=None, options=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.chaser, self.runner = self.rng.uniform(-1, 1, 2)
        self.t = 0
        self.agents = list(self.possible_agents)
        return self._obs(), {agent: {} for agent in self.agents}

    def step(self, actions):
        self.t += 1
        self.chaser = float(np.clip(self.chaser + 0.1 * float(actions["chaser"][0]), -1, 1))
        if "runner" in actions:
            self.runner = float(np.clip(self.runner + 0.05 * (int(actions["runner"]) - 1), -1, 1))
        distance = abs(self.runner - self.chaser)
        caught = "runner" in actions and distance < 0.1
        obs = self._obs()
        if caught:
            obs["runner"] = np.array([self.runner, self.chaser - self.runner, 1 - self.t / 50], np.float32)
        rewards = {"chaser": -distance}
        terminations = {"chaser": False}
        if "runner" in actions:
            rewards["runner"] = distance
            terminations["runner"] = caught
        truncations = {agent: False for agent in actions}
        if caught:
            self.agents.remove("runner")
        return obs, rewards, terminations, truncations, {agent: {} for agent in actions}


def make():
    return Pursuit()
