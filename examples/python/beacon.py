"""Beacon-v0's rules behind Gymnasium's env API (envs/games/beacon.h is the
C++ one), with a Dict observation of an image and a vector, as a robot
sees a camera frame beside its state:
    "image"       uint8 (1, 7, 7): 255 on the agent's cell, 0 elsewhere;
    "beacon"      float32 (2,): the beacon's column and row, each / 6;
    "action_mask" int8 (4,): 1 for each move that stays on the grid.
The agent walks a 7 x 7 grid to the beacon (Discrete(4): up, right, down,
left; a move into the edge stays put): reaching it pays +1 and ends the
episode, every other step costs 0.02; episodes are cut at 40 steps.

Rill serves the Dict as one row per observation, the image's bytes then
the vector's and the mask's float32s (proto/env.proto, DictSpace), and
PPO's conv torso runs on the image with the rest beside its features; a
move off the grid gets no probability (deploy/configs/beacon_ppo_python.textpb).

Mean returns over the 1000 episodes of seeds 0..999
(`python3 examples/python/beacon.py` measures them):
    a random walk                                             -0.30
    straight to the beacon                                     0.93

    PYTHONPATH=python:examples/python python3 -m rill.env_server --factory=beacon:make
"""

import numpy as np

from spaces import Box, Dict, Discrete, MultiBinary, Spec

SIZE = 7
BEACON_REWARD = 1.0
STEP_REWARD = -0.02
MOVES = ((0, -1), (1, 0), (0, 1), (-1, 0))  # (column, row) per action


class Beacon:
    def __init__(self):
        self.observation_space = Dict({"image": Box(0, 255, (1, SIZE, SIZE), np.uint8),
                                       "beacon": Box(0.0, 1.0, (2,), np.float32),
                                       "action_mask": MultiBinary(len(MOVES))})
        self.action_space = Discrete(len(MOVES))
        self.spec = Spec(max_episode_steps=40)
        self._rng = np.random.default_rng()

    def reset(self, seed=None, options=None):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        agent, beacon = self._rng.choice(SIZE * SIZE, 2, replace=False)
        self.agent = [int(agent) % SIZE, int(agent) // SIZE]
        self.beacon = (int(beacon) % SIZE, int(beacon) // SIZE)
        return self._observation(), {}

    def step(self, action):
        move = int(action)
        if not 0 <= move < len(MOVES):
            raise ValueError("action %d is not one of 0 (up), 1 (right), 2 (down), 3 (left)" % move)
        for axis in (0, 1):
            self.agent[axis] = min(max(self.agent[axis] + MOVES[move][axis], 0), SIZE - 1)
        reached = tuple(self.agent) == self.beacon
        return self._observation(), BEACON_REWARD if reached else STEP_REWARD, reached, False, {}

    def _observation(self):
        image = np.zeros((1, SIZE, SIZE), np.uint8)
        image[0, self.agent[1], self.agent[0]] = 255
        mask = np.array([0 <= self.agent[0] + dc < SIZE and 0 <= self.agent[1] + dr < SIZE for dc, dr in MOVES],
                        np.int8)
        return {"image": image, "beacon": np.array(self.beacon, np.float32) / (SIZE - 1), "action_mask": mask}


def make():
    return Beacon()


def _mean_return(policy, seeds):
    """The mean return of policy(env, rng) -> action over one episode per
    seed, cut at 40 steps."""
    total = 0.0
    for seed in seeds:
        env = make()
        env.reset(seed=seed)
        rng = np.random.default_rng(seed)
        for _ in range(40):
            _, reward, terminated, _, _ = env.step(policy(env, rng))
            total += reward
            if terminated:
                break
    return total / len(seeds)


def _straight(env, rng):
    (col, row), (goal_col, goal_row) = env.agent, env.beacon
    if col != goal_col:
        return 1 if goal_col > col else 3
    return 2 if goal_row > row else 0


if __name__ == "__main__":
    seeds = range(1000)
    print("a random walk          %.2f" % _mean_return(lambda env, rng: int(rng.integers(4)), seeds))
    print("straight to the beacon %.2f" % _mean_return(_straight, seeds))
