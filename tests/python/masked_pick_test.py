"""examples/python/masked_pick.py served by a real env server on port 0, over
gRPC and through shared memory: its Dict observation announced as an action
mask and served flat (eight values, then the mask), the rules (a pickable
item pays its value and is gone, four picks end the episode, a forbidden
pick pays -1 and ends it) and the returns its docstring gives."""

import os
import sys
import unittest

import numpy as np

from env_server_test import ROOT, Server

sys.path.insert(0, os.path.join(ROOT, "examples", "python"))
sys.path.insert(0, os.path.join(ROOT, "python"))

import masked_pick  # noqa: E402
from rill import tensors  # noqa: E402
from rill.env_client import EnvStream  # noqa: E402

ITEMS = masked_pick.ITEMS


class MaskedPickTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server("masked_pick:make")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def open(self, shared_memory, envs=3):
        stream = EnvStream(self.server.address, envs, seeds=range(1, envs + 1), shared_memory=shared_memory)
        self.addCleanup(stream.close)
        self.assertEqual(stream.region is not None, shared_memory)
        return stream

    def test_open_announces_a_mask_after_the_eight_values(self):
        stream = self.open(False)
        opened = stream.opened
        self.assertTrue(opened.action_mask)
        box = opened.observation_space.box
        self.assertEqual((list(box.shape), box.dtype), ([2 * ITEMS], tensors.dtype_code(np.float32)))
        self.assertEqual((list(box.low), list(box.high)), ([0.0], [1.0]))
        self.assertEqual(opened.action_space.discrete.n, ITEMS)
        self.assertEqual(opened.max_episode_steps, masked_pick.PICKS)
        env = masked_pick.make()
        for i, obs in enumerate(stream.observations):
            expected, _ = env.reset(seed=i + 1)
            np.testing.assert_array_equal(obs[:ITEMS], expected["observation"])
            np.testing.assert_array_equal(obs[ITEMS:], expected["action_mask"])
            self.assertEqual(obs[ITEMS:].sum(), masked_pick.PICKABLE)

    def test_four_best_picks_pay_their_values_over_both_transports(self):
        for shared_memory in (False, True):
            with self.subTest(shared_memory=shared_memory):
                stream = self.open(shared_memory)
                obs = stream.observations.copy()
                for pick in range(masked_pick.PICKS):
                    values, mask = obs[:, :ITEMS], obs[:, ITEMS:]
                    actions = np.argmax(np.where(mask == 1, values, -1.0), axis=1)
                    best = values[np.arange(3), actions]
                    obs, rewards, terminated, _, final_indices, finals, errors = stream.step(actions)
                    self.assertEqual(errors, [])
                    np.testing.assert_array_equal(rewards, best)
                    ended = pick == masked_pick.PICKS - 1
                    self.assertEqual(final_indices, [0, 1, 2] if ended else [])
                    self.assertEqual(terminated.tolist(), [ended] * 3)
                    last = finals if ended else obs
                    np.testing.assert_array_equal(last[np.arange(3), actions], [0, 0, 0])  # the value is gone
                    np.testing.assert_array_equal(last[np.arange(3), ITEMS + actions], [0, 0, 0])  # and its mask
                # The final observations keep two pickable items; the rows
                # hold the next episodes' six.
                self.assertEqual(finals[:, ITEMS:].sum(axis=1).tolist(), [2, 2, 2])
                self.assertEqual(obs[:, ITEMS:].sum(axis=1).tolist(), [6, 6, 6])

    def test_a_forbidden_pick_pays_minus_one_and_ends_the_episode(self):
        stream = self.open(True, envs=1)
        forbidden = int(np.flatnonzero(stream.observations[0, ITEMS:] == 0)[0])
        _, rewards, terminated, _, final_indices, _, errors = stream.step(np.array([forbidden], np.int64))
        self.assertEqual((rewards.tolist(), terminated.tolist(), final_indices, errors),
                         ([masked_pick.FORBIDDEN_REWARD], [True], [0], []))

    def test_the_docstring_returns(self):
        seeds = range(1000)
        for policy, expected in [(masked_pick.any_item, -0.21), (masked_pick.pickable_item, 1.96),
                                 (masked_pick.most_valuable, 2.60)]:
            with self.subTest(policy=policy.__name__):
                self.assertAlmostEqual(masked_pick._mean_return(policy, seeds), expected, places=2)


if __name__ == "__main__":
    unittest.main()
