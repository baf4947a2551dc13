"""rill.spaces' one rule for a Box, for observations and actions alike (the
actors apply the same one: envs/remote/spaces.h): any rank, a scalar served
as it is; each bound one value for every element or one value per element,
anything else refused naming the space and the bound; a bound whose
elements are all equal announced as one value. And a scalar-observation
env and a rank-4 one served by a real server over both transports."""

import os
import sys
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
for path in (os.path.join(ROOT, "python"), HERE):
    if path not in sys.path:
        sys.path.insert(0, path)

from rill.env_client import EnvStream  # noqa: E402
from rill.spaces import ActionSpace, ObservationSpace, SpaceError  # noqa: E402
from env_server_test import Server  # noqa: E402
from test_envs import Box, Drift  # noqa: E402


class BoundsRuleTest(unittest.TestCase):
    def test_one_value_is_every_elements_for_observations_and_actions_alike(self):
        for make in (ObservationSpace, ActionSpace):
            with self.subTest(space=make.__name__):
                space = make(Box(-1.0, [1.0], (2, 3), np.float32))
                np.testing.assert_array_equal(space.low, np.full((2, 3), -1.0, np.float32))
                np.testing.assert_array_equal(space.high, np.ones((2, 3), np.float32))
                self.assertEqual(space.low.dtype, np.float32)

    def test_one_value_per_element_is_the_spaces_shape_or_flat(self):
        for low in (np.arange(6.0).reshape(2, 3), list(range(6))):
            with self.subTest(low=low):
                space = ActionSpace(Box(low, 10.0, (2, 3), np.float32))
                np.testing.assert_array_equal(space.low, np.arange(6, dtype=np.float32).reshape(2, 3))

    def test_wrong_length_bounds_are_refused_naming_the_space_and_the_bound(self):
        cases = [
            (ActionSpace, Box([-1.0, -1.0, -1.0], 1.0, (2,), np.float32),
             "action_space low has shape (3,) for a space of shape (2,): a box bound is one value for every "
             "element or one value per element (2)"),
            (ObservationSpace, Box(-np.inf, np.zeros(3), (4,), np.float32),
             "observation_space high has shape (3,) for a space of shape (4,)"),
            # numpy would broadcast a row over [2, 3]: the rule does not.
            (ObservationSpace, Box(np.zeros(3), 1.0, (2, 3), np.float32),
             "observation_space low has shape (3,) for a space of shape (2, 3)"),
            (ActionSpace, Box([0.0, 0.0], 1.0, (), np.float32),
             "action_space low has shape (2,) for a space of shape ()"),
        ]
        for make, space, message in cases:
            with self.subTest(message=message):
                with self.assertRaises(SpaceError) as raised:
                    make(space)
                self.assertIn(message, str(raised.exception))

    def test_nan_crossed_half_stated_and_infinite_action_bounds_are_refused(self):
        cases = [
            (ObservationSpace, Box(np.nan, 1.0, (2,), np.float32), "observation_space bounds hold NaN"),
            (ObservationSpace, Box(2.0, [1.0, 3.0], (2,), np.float32), "observation_space has low > high"),
            (ObservationSpace, Box(None, 1.0, (2,), np.float32), "observation_space has high but no low"),
            (ActionSpace, Box(-np.inf, 1.0, (2,), np.float32), "action_space bounds must be finite"),
        ]
        for make, space, message in cases:
            with self.subTest(message=message):
                with self.assertRaises(SpaceError) as raised:
                    make(space)
                self.assertIn(message, str(raised.exception))
        # An observation's bounds may be infinite, or absent.
        self.assertEqual(ObservationSpace(Box(-np.inf, np.inf, (2,), np.float32)).low.tolist(), [-np.inf] * 2)
        self.assertIsNone(ObservationSpace(Box(None, None, (2,), np.float32)).low)

    def test_bounds_alike_for_every_element_are_announced_as_one_value(self):
        box = ObservationSpace(Box(0, 255, (3, 8, 8), np.uint8)).message().box
        self.assertEqual((list(box.low), list(box.high)), ([0.0], [255.0]))
        box = ActionSpace(Box([-1.0, -2.0], 1.0, (2,), np.float32)).message().box
        self.assertEqual((list(box.low), list(box.high)), ([-1.0, -2.0], [1.0]))

    def test_a_scalar_box_is_shape_empty_on_the_wire(self):
        observation, action = ObservationSpace(Drift().observation_space), ActionSpace(Drift().action_space)
        self.assertEqual((observation.shape, action.shape), ((), ()))
        self.assertEqual(list(observation.message().box.shape), [])
        self.assertEqual(list(action.message().box.low), [-1.0])


class ServedSpacesTest(unittest.TestCase):
    def test_a_scalar_observation_env_is_served_over_both_transports(self):
        with Server("test_envs:drift") as server:
            for shared_memory in (False, True):
                with self.subTest(shared_memory=shared_memory):
                    stream = EnvStream(server.address, 3, seeds=[1, 2, 3], shared_memory=shared_memory)
                    try:
                        self.assertEqual(stream.region is not None, shared_memory)
                        box = stream.opened.observation_space.box
                        self.assertEqual((list(box.shape), list(box.low), list(box.high)), ([], [-2.0], [2.0]))
                        self.assertEqual(list(stream.opened.action_space.box.shape), [])
                        self.assertEqual(stream.opened.max_episode_steps, 20)
                        first = stream.observations.copy()
                        self.assertEqual((first.shape, first.dtype), ((3,), np.float32))
                        expected = [np.float32(np.random.default_rng(s).uniform(-1, 1)) for s in (1, 2, 3)]
                        np.testing.assert_array_equal(first, expected)
                        obs, rewards, *_ = stream.step(np.array([1.0, -1.0, 0.0], np.float32))
                        np.testing.assert_allclose(obs, first + [0.1, -0.1, 0.0], atol=1e-6)
                        np.testing.assert_allclose(rewards, -np.abs(obs), atol=1e-6)
                        for _ in range(19):
                            obs, rewards, terminated, truncated, final_indices, finals, errors = stream.step(
                                np.zeros(3, np.float32))
                        self.assertEqual((final_indices, errors), ([0, 1, 2], []))
                        self.assertEqual(finals.shape, (3,))
                        self.assertTrue(truncated.all())
                    finally:
                        stream.close()

    def test_a_rank_four_observation_travels_as_it_is(self):
        with Server("test_envs:rank_four") as server:
            stream = EnvStream(server.address, 2)
            try:
                box = stream.opened.observation_space.box
                self.assertEqual(list(box.shape), [2, 1, 2, 2])
                self.assertEqual((list(box.low), list(box.high)), ([-1.0], [100.0 + k for k in range(8)]))
                obs, *_ = stream.step(np.zeros(2, np.int64))
                self.assertEqual(obs.shape, (2, 2, 1, 2, 2))
                np.testing.assert_allclose(obs[1].ravel(), 1 + np.arange(8) / 10, rtol=1e-6)
            finally:
                stream.close()


if __name__ == "__main__":
    unittest.main()
