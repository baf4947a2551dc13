"""Two pickers share a table of items, each with an action mask: a
PettingZoo-parallel-style env (no pettingzoo import) whose agents observe
Dicts of "observation" and "action_mask", as PettingZoo's classic games
give them. Rill serves each agent's observation flat with its mask last
(proto/env.proto, AgentSpaces.action_mask), and a policy shared by both
agents never picks what an agent's mask forbids.

Eight items, each worth a value drawn U(0, 1) at reset, dealt four to
each picker. Each step every live picker picks one item (Discrete(8)):
one of its own pays its value and is gone; any other pays -1 and ends that
picker's episode. picker_0 picks twice, picker_1 once and then leaves:
picker_0 acts alone at the second step. "observation" holds the eight
values (0 once picked), "action_mask" a 1 for each of the picker's own
items still on the table.

Mean return per picker over the episodes of seeds 0..999
(`python3 examples/python/pick_party.py` measures them):
    any item at random, ignoring the mask                       -0.38
    one of its own items at random                               0.73
    its most valuable item                                       1.10

    PYTHONPATH=python:examples/python python3 -m rill.env_server --factory=pick_party:make
"""

import numpy as np

from spaces import Box, Dict, Discrete, MultiBinary, Spec

ITEMS = 8
PICKS = {"picker_0": 2, "picker_1": 1}
FORBIDDEN_REWARD = -1.0


class PickParty:
    def __init__(self):
        self.possible_agents = list(PICKS)
        self.spec = Spec(max_episode_steps=max(PICKS.values()))
        self._rng = np.random.default_rng()

    def observation_space(self, agent):
        return Dict({"observation": Box(0.0, 1.0, (ITEMS,), np.float32), "action_mask": MultiBinary(ITEMS)})

    def action_space(self, agent):
        return Discrete(ITEMS)

    def reset(self, seed=None, options=None):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.values = self._rng.uniform(0, 1, ITEMS).astype(np.float32)
        deal = self._rng.permutation(ITEMS)
        self.owner = {"picker_0": deal[:ITEMS // 2], "picker_1": deal[ITEMS // 2:]}
        self.on_table = np.ones(ITEMS, np.int8)
        self.picks = {agent: 0 for agent in self.possible_agents}
        self.agents = list(self.possible_agents)
        return {agent: self._observation(agent) for agent in self.agents}, {agent: {} for agent in self.agents}

    def step(self, actions):
        rewards, terminations, truncations = {}, {}, {}
        for agent in self.agents:
            item = int(actions[agent])
            if not 0 <= item < ITEMS:
                raise ValueError("%s's action %d is not an item 0..%d" % (agent, item, ITEMS - 1))
            if not self._mask(agent)[item]:
                rewards[agent], terminations[agent] = FORBIDDEN_REWARD, True
            else:
                rewards[agent] = float(self.values[item])
                self.values[item] = 0
                self.on_table[item] = 0
                self.picks[agent] += 1
                terminations[agent] = self.picks[agent] == PICKS[agent]
            truncations[agent] = False
        observations = {agent: self._observation(agent) for agent in self.agents}
        infos = {agent: {} for agent in self.agents}
        self.agents = [agent for agent in self.agents if not terminations[agent]]
        return observations, rewards, terminations, truncations, infos

    def _mask(self, agent):
        mask = np.zeros(ITEMS, np.int8)
        mask[self.owner[agent]] = 1
        return mask * self.on_table

    def _observation(self, agent):
        return {"observation": self.values.copy(), "action_mask": self._mask(agent)}


def make():
    return PickParty()


def _mean_return(policy, seeds):
    """The mean return per picker of policy(observation dict, rng) -> item."""
    total = 0.0
    for seed in seeds:
        env = make()
        obs, _ = env.reset(seed=seed)
        rng = np.random.default_rng(seed)
        while env.agents:
            obs, rewards, _, _, _ = env.step({agent: policy(obs[agent], rng) for agent in env.agents})
            total += sum(rewards.values())
    return total / len(seeds) / len(PICKS)


def any_item(obs, rng):
    return int(rng.integers(ITEMS))


def own_item(obs, rng):
    return int(rng.choice(np.flatnonzero(obs["action_mask"])))


def most_valuable(obs, rng):
    return int(np.argmax(np.where(obs["action_mask"] == 1, obs["observation"], -1.0)))


if __name__ == "__main__":
    seeds = range(1000)
    for name, policy in [("any item at random, ignoring the mask", any_item),
                         ("one of its own items at random", own_item), ("its most valuable item", most_valuable)]:
        print("%-60s %5.2f" % (name, _mean_return(policy, seeds)))
