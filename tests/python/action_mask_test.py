"""Action masks on the Python server (proto/env.proto, EnvsOpened.action_mask):
an env whose observation space is a Dict of "observation" and "action_mask"
is announced with the flag and served flat, the Box's elements then the
mask's; each bad mask an env returns is named in the step's errors and the
env reset, over gRPC, through shared memory and from worker processes
alike; spaces that cannot carry a mask stop the server at start, naming
why (tests/python/test_envs.py: MaskChaos and the envs after it)."""

import os
import sys
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
for path in (os.path.join(ROOT, "python"), HERE):
    if path not in sys.path:
        sys.path.insert(0, path)

from rill import tensors  # noqa: E402
from rill.env_batch import EnvBatch  # noqa: E402
from rill.env_client import EnvStream  # noqa: E402
from rill.spaces import ActionSpace, ObservationSpace, SpaceError, observation_space_of  # noqa: E402
from env_server_test import Server, named, refused_start  # noqa: E402
from test_envs import MASK_CHAOS, Box, Dict, Discrete, MultiBinary  # noqa: E402

KIND = {kind: index for index, kind in enumerate(MASK_CHAOS)}
ALLOWS_NOTHING = '"action_mask" allows no action, and the agent must act from it'


def row(t, resets, kind, mask):
    """MaskChaos's flat observation: [[t, resets], [kind, 7]], then the mask."""
    return [t, resets, KIND[kind], 7] + list(mask)


class MaskChaosTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server("test_envs:mask_chaos")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def open(self, shared_memory):
        stream = EnvStream(self.server.address, len(MASK_CHAOS), seeds=range(len(MASK_CHAOS)),
                           shared_memory=shared_memory)
        self.addCleanup(stream.close)
        self.assertEqual(stream.region is not None, shared_memory)
        return stream

    def test_open_announces_the_mask_and_flat_observations_the_mask_last(self):
        for shared_memory in (False, True):
            with self.subTest(shared_memory=shared_memory):
                stream = self.open(shared_memory)
                opened = stream.opened
                self.assertTrue(opened.action_mask)
                box = opened.observation_space.box
                self.assertEqual(list(box.shape), [7])
                self.assertEqual(box.dtype, tensors.dtype_code(np.float32))
                # The Box's bounds, then the mask's 0 and 1.
                self.assertEqual(list(box.low), [-1.0] * 4 + [0.0] * 3)
                self.assertEqual(list(box.high), [100.0] * 4 + [1.0] * 3)
                self.assertEqual(opened.action_space.discrete.n, 3)
                self.assertEqual((stream.observations.shape, stream.observations.dtype), ((11, 7), np.float32))
                for kind in ("good", "not_a_dict", "next_reset_allows_nothing"):
                    self.assertEqual(stream.observations[KIND[kind]].tolist(), row(0, 1, kind, [0, 1, 1]))
                # A first observation that allows nothing is an error: zeros.
                first = KIND["first_reset_allows_nothing"]
                self.assertEqual(named(opened.errors),
                                 [(first, "observation", "reset's observation " + ALLOWS_NOTHING)])
                self.assertEqual(stream.observations[first].tolist(), [0] * 7)

    def test_each_bad_mask_is_named_and_its_env_reset_over_grpc_and_shared_memory(self):
        streams = [self.open(False), self.open(True)]
        answers = [[stream.step(np.ones(11, np.int64)) for stream in streams] for _ in range(3)]
        for over_grpc, shared in answers:
            for x, y in zip(over_grpc, shared):
                if isinstance(x, np.ndarray):
                    np.testing.assert_array_equal(x, y)
                else:
                    self.assertEqual(x, y)
        # Step 1: every env goes on (a bool mask, read as 0 and 1); the one
        # whose first reset failed is reset again, now allowing actions.
        obs, rewards, terminated, truncated, final_indices, _, errors = answers[0][0]
        self.assertEqual(errors, [])
        for kind in MASK_CHAOS[:-1]:
            self.assertEqual(obs[KIND[kind]].tolist(), row(1, 1, kind, [1, 0, 1]))
        self.assertEqual(obs[-1].tolist(), row(0, 2, "first_reset_allows_nothing", [0, 1, 1]))
        self.assertEqual(truncated.tolist(), [False] * 10 + [True])
        # Step 2: each bad observation named, in instance order.
        obs, rewards, terminated, truncated, final_indices, finals, errors = answers[1][0]
        step = "step's observation "
        self.assertEqual(named(errors), [
            (KIND["not_a_dict"], "observation", step + 'is ndarray, not a dict of "observation" and "action_mask"'),
            (KIND["no_mask"], "observation", step + "has keys ['observation'], not \"observation\" and "
                                                    "\"action_mask\""),
            (KIND["short_mask"], "observation", step + '"action_mask" has 2 elements, the action space has 3'),
            (KIND["string_mask"], "observation", step + '"action_mask" has dtype <U1, not numbers read as 0 or 1'),
            (KIND["mask_of_two"], "observation",
             step + '"action_mask" holds 2: each element is 1 (allowed) or 0 (forbidden)'),
            (KIND["allows_nothing"], "observation", step + ALLOWS_NOTHING),
            (KIND["next_reset_allows_nothing"], "observation", "reset's observation " + ALLOWS_NOTHING)])
        for kind in ("not_a_dict", "no_mask", "short_mask", "string_mask", "mask_of_two", "allows_nothing"):
            index = KIND[kind]
            self.assertEqual(obs[index].tolist(), row(0, 2, kind, [0, 1, 1]), kind)  # reset
            self.assertEqual((rewards[index], terminated[index], truncated[index]), (0, False, True), kind)
        # A final observation may allow nothing; the next episode's first
        # may not (its row is zeros until a reset works).
        self.assertEqual(final_indices, [KIND["terminates_allowing_nothing"], KIND["truncates_allowing_nothing"],
                                         KIND["next_reset_allows_nothing"]])
        self.assertEqual(finals.tolist(), [row(2, 1, "terminates_allowing_nothing", [0, 0, 0]),
                                           row(2, 1, "truncates_allowing_nothing", [0, 0, 0]),
                                           row(2, 1, "next_reset_allows_nothing", [1, 1, 0])])
        self.assertEqual([terminated[i] for i in final_indices], [True, False, True])
        self.assertEqual([truncated[i] for i in final_indices], [False, True, False])
        self.assertEqual([rewards[i] for i in final_indices], [1, 1, 1])
        self.assertEqual(obs[KIND["terminates_allowing_nothing"]].tolist(),
                         row(0, 2, "terminates_allowing_nothing", [0, 1, 1]))
        self.assertEqual(obs[KIND["next_reset_allows_nothing"]].tolist(), [0] * 7)
        self.assertEqual(obs[KIND["good"]].tolist(), row(2, 1, "good", [1, 1, 0]))  # a list of ints
        # Step 3: the stream goes on; the failed reset is retried and works.
        obs, _, _, truncated, _, _, errors = answers[2][0]
        self.assertEqual(errors, [])
        self.assertEqual(obs[KIND["next_reset_allows_nothing"]].tolist(),
                         row(0, 3, "next_reset_allows_nothing", [0, 1, 1]))
        self.assertEqual(np.flatnonzero(truncated).tolist(), [KIND["next_reset_allows_nothing"]])

    def test_worker_processes_answer_as_one_process(self):
        with Server("test_envs:mask_chaos", "--processes=3") as spread:
            traces = [self.trace(self.server.address), self.trace(spread.address)]
        for x, y in zip(*traces):
            if isinstance(x, np.ndarray):
                np.testing.assert_array_equal(x, y)
            else:
                self.assertEqual(x, y)

    def trace(self, address):
        """Everything a stream of every MaskChaos kind answers in 7 steps."""
        stream = EnvStream(address, len(MASK_CHAOS), seeds=range(len(MASK_CHAOS)))
        try:
            self.assertTrue(stream.opened.action_mask)
            trace = [stream.observations, named(stream.opened.errors)]
            for t in range(7):
                result = stream.step(np.full(len(MASK_CHAOS), t % 3, np.int64))
                trace += list(result[:6]) + [named(result[6])]
            return trace
        finally:
            stream.close()


class MaskedSpacesTest(unittest.TestCase):
    def test_a_uint8_observation_and_a_multibinary_mask_travel_as_uint8_observation_first(self):
        # The Dict lists the mask first: the wire's order is still the
        # observation's elements, then the mask's.
        with Server("test_envs:masked_uint8") as server:
            for shared_memory in (False, True):
                with self.subTest(shared_memory=shared_memory):
                    stream = EnvStream(server.address, 2, shared_memory=shared_memory)
                    try:
                        self.assertTrue(stream.opened.action_mask)
                        box = stream.opened.observation_space.box
                        self.assertEqual((list(box.shape), box.dtype), ([4], tensors.dtype_code(np.uint8)))
                        # A bound alike for every element travels as one value.
                        self.assertEqual((list(box.low), list(box.high)), ([0], [255, 255, 1, 1]))
                        self.assertEqual(stream.observations.tolist(), [[0, 255, 1, 0]] * 2)
                        obs, _, _, _, _, _, errors = stream.step(np.zeros(2, np.int64))
                        self.assertEqual(errors, [])
                        self.assertEqual((obs.dtype, obs.tolist()), (np.uint8, [[1, 255, 0, 1]] * 2))
                    finally:
                        stream.close()

    def test_an_env_without_a_mask_announces_none(self):
        with Server("test_envs:counter") as server:
            stream = EnvStream(server.address, 1)
            self.assertFalse(stream.opened.action_mask)
            stream.close()

    def test_spaces_that_cannot_carry_a_mask_stop_the_server_at_start(self):
        for factory, text in [
                ("mask_of_wrong_length", 'observation_space["action_mask"] has 3 elements, the action space has 2 '
                                         "actions"),
                ("mask_with_box_actions", 'observation_space has an "action_mask", which needs a Discrete action '
                                          "space; the action space is a Box of shape (2,)"),
                ("mask_beside_discrete_observation", 'observation_space["observation"]')]:
            with self.subTest(factory=factory):
                code, stderr = refused_start("test_envs:" + factory)
                self.assertEqual(code, 2, stderr)
                self.assertIn("test_envs:%s makes an env whose %s" % (factory, text), stderr)
        code, stderr = refused_start("test_envs:mask_beside_discrete_observation")
        self.assertIn("is not a Box", stderr)

    def test_a_dict_is_refused_where_no_mask_can_be(self):
        # A multi-agent agent's space, or a state space: ObservationSpace.
        space = Dict({"observation": Box(0, 1, (2,), np.float32), "action_mask": MultiBinary(2)})
        with self.assertRaises(SpaceError) as raised:
            ObservationSpace(space)
        self.assertIn("observation_space is a Dict or Tuple", str(raised.exception))
        # A Dict leaf beside a mask is no Box either.
        nested = Dict({"observation": Dict({"x": Box(0, 1, (2,), np.float32)}), "action_mask": MultiBinary(2)})
        with self.assertRaises(SpaceError) as raised:
            observation_space_of(nested, ActionSpace(Discrete(2)))
        self.assertIn('observation_space["observation"]', str(raised.exception))
        self.assertIn("is not a Box", str(raised.exception))

    def test_a_mask_of_floats_reads_as_0_and_1_and_nan_is_named(self):
        space = observation_space_of(
            Dict({"observation": Box(None, None, (1,), np.float32), "action_mask": Box(0, 1, (2,), np.float32)}),
            ActionSpace(Discrete(2)))
        flat = space.check({"observation": [0.5], "action_mask": np.array([1.0, 0.0])})
        self.assertEqual((flat.dtype, flat.tolist()), (np.float32, [0.5, 1, 0]))
        with self.assertRaises(SpaceError) as raised:
            space.check({"observation": [0.5], "action_mask": [np.nan, 1.0]})
        self.assertIn('"action_mask" holds nan', str(raised.exception))


class TimeLimitTest(unittest.TestCase):
    def test_an_episode_the_time_limit_ends_may_end_on_a_mask_that_allows_nothing(self):
        batch = EnvBatch("test_envs:mask_chaos", 1, max_episode_steps=2)
        try:
            batch.reset_all([KIND["allows_nothing"]])
            self.assertEqual(batch.step([1])[6], [])
            obs, _, terminated, truncated, final_indices, finals, errors = batch.step([1])
            self.assertEqual((errors, final_indices, truncated.tolist()), ([], [0], [True]))
            self.assertEqual(finals.tolist(), [row(2, 1, "allows_nothing", [0, 0, 0])])
            self.assertEqual(obs.tolist(), [row(0, 2, "allows_nothing", [0, 1, 1])])
        finally:
            batch.close()


if __name__ == "__main__":
    unittest.main()
