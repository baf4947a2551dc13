"""examples/python/heated_room.py served by a real env server on port 0:
the spaces a config must carry, episodes that are the seed's alone, the
time limit, and the claim its docstring makes (looking ahead pays)."""

import os
import sys
import unittest

import numpy as np

from env_server_test import ROOT, Server

sys.path.insert(0, os.path.join(ROOT, "examples", "python"))
sys.path.insert(0, os.path.join(ROOT, "python"))

import heated_room  # noqa: E402
from rill import tensors  # noqa: E402
from rill.env_client import EnvStream  # noqa: E402


def trace(address, seeds, actions):
    """Every observation and reward of one stream driven by `actions`."""
    stream = EnvStream(address, len(seeds), seeds=seeds)
    try:
        steps = [stream.observations.copy()]
        for row in actions:
            obs, rewards, *_ = stream.step(row)
            steps += [obs.copy(), rewards.copy()]
        return steps
    finally:
        stream.close()


class HeatedRoomTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server("heated_room:make")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_open_reports_a_one_dimensional_heater_from_zero_to_one(self):
        stream = EnvStream(self.server.address, 2, seeds=[1, 2])
        try:
            observation = stream.opened.observation_space.box
            self.assertEqual(list(observation.shape), [5])
            self.assertEqual(observation.dtype, tensors.dtype_code(np.float32))
            action = stream.opened.action_space.box
            self.assertEqual(list(action.shape), [1])
            self.assertEqual((list(action.low), list(action.high)), ([0.0], [1.0]))
            self.assertEqual(stream.opened.max_episode_steps, 144)
            self.assertEqual(stream.observations.dtype, np.float32)
            self.assertTrue(np.all(np.abs(stream.observations[:, 0]) <= 1.0))  # within 1 K of the setpoint
        finally:
            stream.close()

    def test_the_same_seeds_and_actions_give_the_same_episodes(self):
        actions = np.random.default_rng(0).uniform(0.0, 1.0, size=(150, 3, 1)).astype(np.float32)
        first = trace(self.server.address, [5, 6, 7], actions)
        again = trace(self.server.address, [5, 6, 7], actions)
        other = trace(self.server.address, [5, 6, 8], actions)
        for a, b in zip(first, again):
            np.testing.assert_array_equal(a, b)
        self.assertFalse(np.array_equal(first[0][2], other[0][2]))
        np.testing.assert_array_equal(first[0][:2], other[0][:2])

    def test_episodes_are_truncated_at_144_steps_with_their_final_observation(self):
        stream = EnvStream(self.server.address, 2, seeds=[3, 4])
        try:
            for _ in range(143):
                _, rewards, terminated, truncated, final_indices, _, errors = stream.step(
                    np.full((2, 1), 0.4, np.float32))
                self.assertEqual((final_indices, errors), ([], []))
                self.assertTrue(np.all(rewards < 0), rewards)  # the heater is never free
            _, _, terminated, truncated, final_indices, final_obs, _ = stream.step(np.full((2, 1), 0.4, np.float32))
            self.assertEqual(final_indices, [0, 1])
            np.testing.assert_array_equal(truncated, [True, True])
            np.testing.assert_array_equal(terminated, [False, False])
            self.assertEqual(final_obs.shape, (2, 5))
        finally:
            stream.close()

    def test_a_controller_that_looks_ahead_beats_the_proportional_thermostat(self):
        looking_ahead = heated_room.mean_return(heated_room.planner(1.0, 4.0), episodes=20)
        thermostat = heated_room.mean_return(heated_room.thermostat(1.0), episodes=20)
        half_power = heated_room.mean_return(lambda obs: np.array([0.5], np.float32), episodes=20)
        self.assertGreater(looking_ahead, thermostat + 10, (looking_ahead, thermostat))
        self.assertGreater(thermostat, half_power + 100, (thermostat, half_power))


if __name__ == "__main__":
    unittest.main()
