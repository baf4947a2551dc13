"""rill.wire writes EnvResponse{stepped} messages by hand: byte for byte
what protobuf writes for the same EnvBatch.step result, for observations of
several shapes and dtypes, batches from 1 to 4096 instances (lengths of
one, two and three varint bytes), final observations and errors; and reads
step requests as the prefix protobuf writes before their actions' bytes."""

import os
import sys
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
for path in (os.path.join(ROOT, "python"), os.path.join(ROOT, "examples", "python"), HERE):
    if path not in sys.path:
        sys.path.insert(0, path)

from rill import tensors, wire  # noqa: E402
from rill._proto import env_pb2  # noqa: E402
from rill.env_batch import EnvBatch  # noqa: E402


class WireTest(unittest.TestCase):
    def assert_encodes_as_protobuf(self, encoder, result):
        want = wire.stepped_message(*result)
        got = encoder.encode(*result)
        self.assertEqual(got, want.SerializeToString())
        self.assertEqual(env_pb2.EnvResponse.FromString(got), want)

    def test_random_results_of_every_shape(self):
        rng = np.random.default_rng(0)
        for count, shape, dtype in [(1, (4,), np.float32), (3, (2, 5), np.float32), (64, (4,), np.float32),
                                    (2, (3, 8, 8), np.uint8), (4096, (1,), np.float32), (600, (7,), np.float32),
                                    (9, (84, 84), np.uint8)]:
            encoder = wire.SteppedEncoder(count, shape, dtype)
            for _ in range(20):
                ended = sorted(rng.choice(count, rng.integers(0, min(count, 40) + 1), replace=False).tolist())
                observations = (rng.integers(0, 256, (count,) + shape) if dtype == np.uint8
                                else rng.normal(size=(count,) + shape)).astype(dtype)
                finals = observations[ended] + 1 if ended else np.zeros((0,) + shape, dtype)
                errors = [(int(i), field, "went wrong " * int(rng.integers(0, 20)))
                          for i, field in zip(rng.integers(0, count, rng.integers(0, 4)), ("step", "reward", ""))]
                result = (observations, rng.normal(size=count).astype(np.float32), rng.random(count) < 0.5,
                          rng.random(count) < 0.1, ended, finals.astype(dtype), errors)
                with self.subTest(count=count, shape=shape, ended=len(ended), errors=len(errors)):
                    self.assert_encodes_as_protobuf(encoder, result)

    def test_env_batch_results_including_misbehaving_instances(self):
        for factory, count in [("cartpole:make", 16), ("heated_room:make", 3), ("test_envs:chaos", 32),
                               ("test_envs:chaos_image", 8), ("test_envs:echo", 2)]:
            batch = EnvBatch(factory, count)
            batch.reset_all(range(count))
            encoder = wire.SteppedEncoder(count, batch.observation_space.shape, batch.observation_space.dtype)
            rng = np.random.default_rng(1)
            space = batch.action_space
            with np.errstate(over="ignore"):
                for _ in range(30):
                    actions = (rng.integers(0, space.n, count) if space.discrete
                               else rng.uniform(-1, 1, (count,) + space.shape).astype(np.float32))
                    with self.subTest(factory=factory):
                        self.assert_encodes_as_protobuf(encoder, batch.step(actions))
            batch.close()

    def test_step_requests_are_a_prefix_and_the_actions_bytes(self):
        rng = np.random.default_rng(2)
        for dtype, shape in [(np.int64, (1,)), (np.int64, (64,)), (np.int64, (4096,)), (np.float32, (1, 1)),
                             (np.float32, (64, 6)), (np.float32, (4096, 2, 3))]:
            prefix = wire.step_request_prefix(dtype, shape)
            self.assertIsNotNone(prefix, (dtype, shape))
            actions = rng.integers(-5, 5, shape).astype(dtype)
            request = env_pb2.EnvRequest(step=env_pb2.StepEnvs(actions=tensors.to_tensor(actions)))
            self.assertEqual(request.SerializeToString(), prefix + actions.tobytes())

    def test_arrays_it_was_not_made_for_take_the_protobuf_path(self):
        encoder = wire.SteppedEncoder(2, (3,), np.float32)
        result = (np.zeros((2, 3), np.float64), np.zeros(2, np.float32), np.zeros(2, bool), np.zeros(2, bool), [],
                  np.zeros((0, 3), np.float64), [])
        self.assert_encodes_as_protobuf(encoder, result)
        result = (np.zeros((3, 3), np.float32),) + result[1:5] + (np.zeros((0, 3), np.float32), [])
        self.assert_encodes_as_protobuf(encoder, result)


if __name__ == "__main__":
    unittest.main()
