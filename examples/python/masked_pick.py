"""MaskedPick-v0's rules behind Gymnasium's env API, with the action mask
as Gymnasium's masked envs give it: a Dict observation of "observation"
and "action_mask". Rill serves it as the C++ MaskedPick-v0
(envs/games/masked_pick.h) is built: one flat observation, the mask last.

Eight items, each worth a value drawn U(0, 1) at reset; six of them, drawn
at random, can be picked. Each step picks one item (Discrete(8)): an item
that can be picked pays its value and is gone; four picks end the episode.
"observation" holds the eight values (0 once picked), "action_mask" a 1
for each item that can still be picked. An item that cannot be picked pays
-1 and ends the episode: the actors never choose one while they honour the
mask (env.ignore_action_mask: false, the default).

Mean returns over the 1000 episodes of seeds 0..999
(`python3 examples/python/masked_pick.py` measures them; the last two
average 2.0 and 2.57 over all episodes):
    any item at random, ignoring the mask                       -0.21
    a pickable item at random                                    1.96
    the most valuable pickable item                              2.60

    PYTHONPATH=python:examples/python python3 -m rill.env_server --factory=masked_pick:make
"""

import numpy as np

from spaces import Box, Dict, Discrete, MultiBinary, Spec

ITEMS = 8
PICKABLE = 6  # at reset
PICKS = 4  # per episode
FORBIDDEN_REWARD = -1.0


class MaskedPick:
    def __init__(self):
        self.observation_space = Dict({"observation": Box(0.0, 1.0, (ITEMS,), np.float32),
                                       "action_mask": MultiBinary(ITEMS)})
        self.action_space = Discrete(ITEMS)
        self.spec = Spec(max_episode_steps=PICKS)
        self._rng = np.random.default_rng()

    def reset(self, seed=None, options=None):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.values = self._rng.uniform(0, 1, ITEMS).astype(np.float32)
        self.pickable = np.zeros(ITEMS, np.int8)
        self.pickable[self._rng.choice(ITEMS, PICKABLE, replace=False)] = 1
        self.picks = 0
        return self._observation(), {}

    def step(self, action):
        item = int(action)
        if not 0 <= item < ITEMS:
            raise ValueError("action %d is not an item 0..%d" % (item, ITEMS - 1))
        if not self.pickable[item]:
            return self._observation(), FORBIDDEN_REWARD, True, False, {}
        reward = float(self.values[item])
        self.values[item] = 0
        self.pickable[item] = 0
        self.picks += 1
        return self._observation(), reward, self.picks == PICKS, False, {}

    def _observation(self):
        # Copies: the server may keep an episode's final observation while
        # the env goes on.
        return {"observation": self.values.copy(), "action_mask": self.pickable.copy()}


def make():
    return MaskedPick()


def _mean_return(policy, seeds):
    """The mean return of policy(observation dict, rng) -> item."""
    total = 0.0
    for seed in seeds:
        env = make()
        obs, _ = env.reset(seed=seed)
        rng = np.random.default_rng(seed)
        done = False
        while not done:
            obs, reward, done, _, _ = env.step(policy(obs, rng))
            total += reward
    return total / len(seeds)


def any_item(obs, rng):
    return int(rng.integers(ITEMS))


def pickable_item(obs, rng):
    return int(rng.choice(np.flatnonzero(obs["action_mask"])))


def most_valuable(obs, rng):
    return int(np.argmax(np.where(obs["action_mask"] == 1, obs["observation"], -1.0)))


if __name__ == "__main__":
    seeds = range(1000)
    for name, policy in [("any item at random", any_item), ("a pickable item at random", pickable_item),
                         ("the most valuable pickable item", most_valuable)]:
        print("%-32s %5.2f" % (name, _mean_return(policy, seeds)))
