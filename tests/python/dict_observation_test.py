"""Dict and Tuple observations on the Python server (proto/env.proto,
DictSpace): the space is announced leaf by leaf, the image first; each
observation travels as one row, the image's bytes then the flat leaves'
float32s (a uint8 image), or every leaf's float32s; each bad observation
an env returns is named by its leaf in the step's errors and the env
reset, over gRPC and through shared memory alike; spaces Rill cannot take
stop the server at start, naming why (tests/python/test_envs.py:
DictChaos and the envs after it)."""

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
from rill.env_client import EnvStream  # noqa: E402
from rill.spaces import ActionSpace, ObservationSpace, SpaceError, observation_space_of  # noqa: E402
from env_server_test import Server, named, refused_start  # noqa: E402
from test_envs import DICT_CHAOS, Box, Dict, Discrete, MultiBinary  # noqa: E402

KIND = {kind: index for index, kind in enumerate(DICT_CHAOS)}


def row(t, resets, kind):
    """DictChaos's row: the image's four bytes, then (t / 2, -1.5)'s."""
    floats = np.array([t / 2, -1.5], np.float32).view(np.uint8).tolist()
    return [t, resets, KIND[kind], 255] + floats


class DictChaosTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server("test_envs:dict_chaos")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def open(self, shared_memory):
        stream = EnvStream(self.server.address, len(DICT_CHAOS), seeds=range(len(DICT_CHAOS)),
                           shared_memory=shared_memory)
        self.addCleanup(stream.close)
        self.assertEqual(stream.region is not None, shared_memory)
        return stream

    def test_open_announces_the_leaves_image_first_and_rows_of_bytes(self):
        for shared_memory in (False, True):
            with self.subTest(shared_memory=shared_memory):
                opened = self.open(shared_memory).opened
                leaves = opened.observation_space.dict.leaves
                self.assertEqual([leaf.name for leaf in leaves], ["image", "state"])
                self.assertEqual(list(leaves[0].box.shape), [1, 2, 2])
                self.assertEqual(leaves[0].box.dtype, tensors.dtype_code(np.uint8))
                self.assertEqual((list(leaves[1].box.shape), leaves[1].box.dtype),
                                 ([2], tensors.dtype_code(np.float32)))
                self.assertEqual((list(leaves[1].box.low), list(leaves[1].box.high)), ([-10.0], [10.0]))
                self.assertFalse(opened.action_mask)
                first = tensors.from_tensor(opened.observations)
                self.assertEqual((first.shape, first.dtype), ((len(DICT_CHAOS), 12), np.uint8))
                for kind in DICT_CHAOS:
                    self.assertEqual(first[KIND[kind]].tolist(), row(0, 1, kind))

    def test_each_bad_observation_is_named_by_its_leaf_over_grpc_and_shared_memory(self):
        streams = [self.open(False), self.open(True)]
        answers = [[stream.step(np.ones(len(DICT_CHAOS), np.int64)) for stream in streams] for _ in range(2)]
        for over_grpc, shared in answers:
            for x, y in zip(over_grpc, shared):
                if isinstance(x, np.ndarray):
                    np.testing.assert_array_equal(x, y)
                else:
                    self.assertEqual(x, y)
        obs, _, _, _, _, _, errors = answers[0][0]
        self.assertEqual(errors, [])
        for kind in DICT_CHAOS:
            self.assertEqual(obs[KIND[kind]].tolist(), row(1, 1, kind))
        obs, rewards, terminated, truncated, _, _, errors = answers[1][0]
        step = "step's observation "
        found = named(errors)
        self.assertEqual(found[:6], [
            (KIND["not_a_dict"], "observation", step + "is ndarray, not a dict of ['image', 'state']"),
            (KIND["missing_leaf"], "observation", step + "has keys ['image'], the observation space ['image', "
                                                         "'state']"),
            (KIND["extra_leaf"], "observation", step + "has keys ['state', 'image', 'goal'], the observation space "
                                                       "['image', 'state']"),
            (KIND["image_of_floats"], "observation", step + "leaf 'image' has dtype float32, the observation space "
                                                            "says uint8"),
            (KIND["state_of_nan"], "observation", step + "leaf 'state' holds NaN or infinity"),
            (KIND["state_too_long"], "observation", step + "leaf 'state' has shape (3,), the observation space says "
                                                           "(2,)")])
        self.assertEqual(found[6][0], KIND["image_raises"])
        self.assertIn("camera unplugged", found[6][2])
        for kind in DICT_CHAOS[1:]:
            # Each failed env starts its next episode; what it had stays.
            self.assertEqual(obs[KIND[kind]].tolist(), row(0, 2, kind), kind)
            self.assertTrue(truncated[KIND[kind]], kind)
        self.assertEqual(obs[KIND["good"]].tolist(), row(2, 1, "good"))


class DictSpacesTest(unittest.TestCase):
    def each_transport(self, factory, check):
        """check(stream) on one env of a server of `factory`, over gRPC and
        then over shared memory, each in its own subTest."""
        with Server(factory) as server:
            for shared_memory in (False, True):
                with self.subTest(shared_memory=shared_memory):
                    stream = EnvStream(server.address, 1, shared_memory=shared_memory)
                    try:
                        check(stream)
                    finally:
                        stream.close()

    def test_flat_leaves_alone_travel_as_float32_the_mask_last(self):
        # MaskedUint8's uint8 "observation", a float "goal" and its mask.
        def check(stream):
            opened = stream.opened
            self.assertTrue(opened.action_mask)
            self.assertEqual([leaf.name for leaf in opened.observation_space.dict.leaves],
                             ["observation", "goal", "action_mask"])
            self.assertEqual(stream.observations.dtype, np.float32)
            # (0, 255), the goal, then the mask allowing action 0.
            self.assertEqual(stream.observations.tolist(), [[0, 255, 0.25, 0.5, 1, 0]])
            obs, _, _, _, _, _, errors = stream.step(np.zeros(1, np.int64))
            self.assertEqual(errors, [])
            self.assertEqual(obs.tolist(), [[1, 255, 0.25, 0.5, 0, 1]])

        self.each_transport("test_envs:mask_beside_other_keys", check)

    def test_a_mask_beside_an_image_ends_the_rows_floats_and_one_that_allows_nothing_is_named(self):
        def check(stream):
            opened = stream.opened
            self.assertTrue(opened.action_mask)
            self.assertEqual([leaf.name for leaf in opened.observation_space.dict.leaves],
                             ["image", "state", "action_mask"])
            first = stream.observations
            self.assertEqual((first.shape, first.dtype), ((1, 4 + 16), np.uint8))
            self.assertEqual(first[0, 4:].view(np.float32).tolist(), [0, -1.5, 1, 0])
            obs, _, _, _, _, _, errors = stream.step(np.zeros(1, np.int64))
            self.assertEqual(errors, [])
            self.assertEqual(obs[0, 4:].view(np.float32).tolist(), [0.5, -1.5, 0, 1])
            stream.step(np.ones(1, np.int64))
            obs, _, _, truncated, _, _, errors = stream.step(np.zeros(1, np.int64))
            self.assertEqual(named(errors), [(0, "observation", "step's observation \"action_mask\" "
                                                                "allows no action, and the agent must act "
                                                                "from it")])
            self.assertTrue(truncated[0])

        self.each_transport("test_envs:mask_beside_image", check)

    def test_two_images_travel_one_after_another_before_the_flat_leaves(self):
        def check(stream):
            leaves = stream.opened.observation_space.dict.leaves
            self.assertEqual([(leaf.name, list(leaf.box.shape)) for leaf in leaves],
                             [("image", [1, 2, 2]), ("depth", [2, 2, 2]), ("state", [2])])
            obs, _, _, _, _, _, errors = stream.step(np.zeros(1, np.int64))
            self.assertEqual(errors, [])
            # image (4 bytes), depth (8 bytes of 10 + t), then the state's float32s.
            self.assertEqual(obs.shape, (1, 4 + 8 + 8))
            self.assertEqual(obs[0, 4:12].tolist(), [11] * 8)
            self.assertEqual(obs[0, 12:].view(np.float32).tolist(), [0.5, -1.5])

        self.each_transport("test_envs:two_images", check)

    def test_a_tuple_travels_as_its_leaves_in_order(self):
        with Server("test_envs:tuple_of_floats") as server:
            stream = EnvStream(server.address, 2)
            try:
                space = stream.opened.observation_space.dict
                self.assertTrue(space.tuple)
                self.assertEqual([list(leaf.box.shape) for leaf in space.leaves], [[2], []])
                obs, _, _, _, _, _, errors = stream.step(np.zeros(2, np.int64))
                self.assertEqual(errors, [])
                self.assertEqual(obs.tolist(), [[1, 1, 0.25]] * 2)
            finally:
                stream.close()

    def test_spaces_rill_cannot_take_stop_the_server_at_start(self):
        for factory, text in [
                ("images_of_two_sizes", "observation_space['depth'] is an image uint8 (1, 3, 3) beside 'image', "
                                        "uint8 (1, 2, 2): image leaves share height, width and dtype"),
                ("nested_dict", "observation_space['arm']"),
                ("rank_four_leaf", "observation_space['video'] has shape (2, 1, 2, 2): a leaf is an image (C, H, "
                                   "W) or flat")]:
            with self.subTest(factory=factory):
                code, stderr = refused_start("test_envs:" + factory)
                self.assertEqual(code, 2, stderr)
                self.assertIn("test_envs:%s makes an env whose %s" % (factory, text), stderr)

    def test_a_dict_is_refused_where_a_box_must_be(self):
        # A multi-agent agent's space, or a state space: ObservationSpace.
        with self.assertRaises(SpaceError) as raised:
            ObservationSpace(Dict({"x": Box(0, 1, (2,), np.float32)}))
        self.assertIn("observation_space is a Dict or Tuple", str(raised.exception))

    def test_integer_flat_leaves_become_float32_and_the_mask_is_checked(self):
        space = observation_space_of(Dict({"count": Box(0, 9, (2,), np.int64), "action_mask": MultiBinary(3)}),
                                     ActionSpace(Discrete(3)))
        flat = space.check({"count": np.array([4, 5]), "action_mask": np.array([1, 0, 1], np.int8)})
        self.assertEqual((flat.dtype, flat.tolist()), (np.float32, [4, 5, 1, 0, 1]))
        with self.assertRaises(SpaceError) as raised:
            space.check({"count": [4, 5], "action_mask": [1, 3, 0]})
        self.assertIn('"action_mask" holds 3', str(raised.exception))
        with self.assertRaises(SpaceError) as raised:
            observation_space_of(Dict({"count": Box(0, 9, (2,), np.int64), "action_mask": MultiBinary(2)}),
                                 ActionSpace(Discrete(3)))
        self.assertIn('["action_mask"] has 2 elements, the action space has 3 actions', str(raised.exception))


if __name__ == "__main__":
    unittest.main()
