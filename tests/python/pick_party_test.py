"""examples/python/pick_party.py served by a real env server on port 0, over
gRPC and through shared memory: a multi-agent env whose agents observe
Dicts of "observation" and "action_mask", announced per agent
(AgentSpaces.action_mask) and served flat with each agent's mask last; the
rules (own items pay their value, any other -1 and ends that picker,
picker_1 leaves after one pick); and a live agent's mask that allows
nothing, named with the agent and its env reset
(tests/python/test_envs.py: EmptyHandedParty)."""

import os
import sys
import unittest

import numpy as np

from env_server_test import ROOT, Server

sys.path.insert(0, os.path.join(ROOT, "examples", "python"))
sys.path.insert(0, os.path.join(ROOT, "python"))

import pick_party  # noqa: E402
from rill.env_client import EnvStream  # noqa: E402

ITEMS = pick_party.ITEMS
WIDTH = 2 * ITEMS  # one picker's values and mask


def best(row):
    """Each picker's most valuable own item, as an action row."""
    return [float(np.argmax(np.where(row[k * WIDTH + ITEMS:(k + 1) * WIDTH] == 1, row[k * WIDTH:k * WIDTH + ITEMS],
                                     -1.0))) for k in range(2)]


class PickPartyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server("pick_party:make")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def open(self, shared_memory, envs=3):
        stream = EnvStream(self.server.address, envs, seeds=range(1, envs + 1), shared_memory=shared_memory)
        self.addCleanup(stream.close)
        self.assertEqual(stream.region is not None, shared_memory)
        return stream

    def test_open_announces_each_pickers_mask_after_its_values(self):
        opened = self.open(False).opened
        self.assertEqual([a.name for a in opened.agents], ["picker_0", "picker_1"])
        for agent in opened.agents:
            self.assertTrue(agent.action_mask)
            self.assertEqual(list(agent.observation_space.box.shape), [WIDTH])
            self.assertEqual(agent.action_space.discrete.n, ITEMS)
        stream = self.open(True)
        for i, obs in enumerate(stream.observations):
            env = pick_party.make()
            expected, _ = env.reset(seed=i + 1)
            for k, name in enumerate(env.possible_agents):
                np.testing.assert_array_equal(obs[k * WIDTH:k * WIDTH + ITEMS], expected[name]["observation"])
                np.testing.assert_array_equal(obs[k * WIDTH + ITEMS:(k + 1) * WIDTH], expected[name]["action_mask"])
            # The items are dealt four to each picker, none to both.
            masks = obs[ITEMS:WIDTH] + obs[WIDTH + ITEMS:]
            np.testing.assert_array_equal(masks, np.ones(ITEMS))

    def test_best_picks_pay_and_picker_1_leaves_after_one_over_both_transports(self):
        for shared_memory in (False, True):
            with self.subTest(shared_memory=shared_memory):
                stream = self.open(shared_memory)
                obs = stream.observations.copy()
                actions = np.array([best(row) for row in obs], np.float32)
                next_obs, rewards, terminated, _, final_indices, _, errors, live, _, _ = stream.step(actions)
                self.assertEqual(errors, [])
                self.assertEqual(final_indices, [])
                for i in range(3):
                    for k in range(2):
                        self.assertAlmostEqual(rewards[i, k], obs[i, k * WIDTH + int(actions[i, k])], places=6)
                np.testing.assert_array_equal(terminated, [[False, True]] * 3)
                np.testing.assert_array_equal(live, [[True, False]] * 3)
                # picker_0 picks again alone; the episode ends and resets.
                actions = np.array([best(row) for row in next_obs], np.float32)
                _, rewards, terminated, _, final_indices, _, errors, live, _, _ = stream.step(actions)
                self.assertEqual(errors, [])
                self.assertEqual(final_indices, [0, 1, 2])
                np.testing.assert_array_equal(rewards[:, 1], [0, 0, 0])
                self.assertTrue((rewards[:, 0] > 0).all())
                np.testing.assert_array_equal(live, [[True, True]] * 3)

    def test_a_forbidden_pick_pays_minus_one_and_ends_that_picker(self):
        stream = self.open(False, envs=1)
        obs = stream.observations[0]
        forbidden = float(np.flatnonzero(obs[ITEMS:WIDTH] == 0)[0])  # one of picker_1's items
        _, rewards, terminated, _, _, _, errors, live, _, _ = stream.step(
            np.array([[forbidden, best(obs)[1]]], np.float32))
        self.assertEqual(errors, [])
        self.assertEqual(rewards[0, 0], pick_party.FORBIDDEN_REWARD)
        np.testing.assert_array_equal(terminated, [[True, True]])


class EmptyHandedPartyTest(unittest.TestCase):
    def test_a_live_agents_mask_that_allows_nothing_is_named_and_its_env_reset(self):
        with Server("test_envs:empty_handed_party") as server:
            for shared_memory in (False, True):
                with self.subTest(shared_memory=shared_memory):
                    stream = EnvStream(server.address, 2, seeds=[1, 2], shared_memory=shared_memory)
                    try:
                        actions = np.array([best(row) for row in stream.observations], np.float32)
                        obs, _, _, truncated, _, _, errors, live, _, _ = stream.step(actions)
                        self.assertEqual([(e.env_index, e.field, e.agent) for e in errors],
                                         [(0, "observation", "picker_0"), (1, "observation", "picker_0")])
                        self.assertIn('step\'s picker_0 observation "action_mask" allows no action', errors[0].message)
                        np.testing.assert_array_equal(truncated, [[True, True]] * 2)
                        # Reset: both pickers live, each with its four items.
                        np.testing.assert_array_equal(live, [[True, True]] * 2)
                        self.assertEqual(obs[0, ITEMS:WIDTH].sum() + obs[0, WIDTH + ITEMS:].sum(), ITEMS)
                    finally:
                        stream.close()


if __name__ == "__main__":
    unittest.main()
