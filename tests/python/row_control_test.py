"""Row control on the Python env server (proto/env.proto, "Row control"), a
real server process on port 0 driven over gRPC and through a shared region:
masked steps that leave the unmarked instances untouched, deferred resets
that leave an ended instance at its final state until a reset request
names it, the failure of an instance stepped before then, the requests the
server refuses, and worker processes answering as one process does."""

import contextlib
import os
import sys
import unittest

import grpc
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
for path in (os.path.join(ROOT, "python"), os.path.join(ROOT, "examples", "python"), HERE):
    if path not in sys.path:
        sys.path.insert(0, path)

import cartpole  # noqa: E402
from env_server_test import Server  # noqa: E402
from rill.env_client import EnvStream  # noqa: E402
from test_envs import Painter  # noqa: E402

TRANSPORTS = (("grpc", False), ("shared memory", True))
STEPPED_AFTER_END = "stepped after its episode ended, before a reset request"


@contextlib.contextmanager
def opened(server, num_envs, shared_memory, seeds=None):
    """A stream of the server's over the transport asked for, closed at the
    end of the with block."""
    stream = EnvStream(server.address, num_envs, seeds=seeds, shared_memory=shared_memory)
    try:
        if shared_memory and stream.region is None:
            raise AssertionError("the server granted no shared region")
        yield stream
    finally:
        stream.close()


def described(errors):
    """EnvErrors as (index, field, message)."""
    return [(e.env_index, e.field, e.message) for e in errors]


class ShortEpisodesTest(unittest.TestCase):
    """test_envs:short_episodes: observation [t, resets], terminated at
    t = 3; its frame's red is t. Every answer says how often each instance
    was stepped and reset."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server("test_envs:short_episodes")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_open_announces_row_control_on_a_single_agent_stream(self):
        for transport, shared in TRANSPORTS:
            with self.subTest(transport=transport), opened(self.server, 2, shared) as stream:
                self.assertTrue(stream.opened.row_control)

    def test_a_masked_step_leaves_the_unmarked_instances_as_they_were(self):
        actions = np.zeros(3, np.int64)
        mask = np.array([True, False, True])
        for transport, shared in TRANSPORTS:
            with self.subTest(transport=transport), opened(self.server, 3, shared) as stream:
                np.testing.assert_array_equal(stream.step(actions)[0], [[1, 1]] * 3)
                obs, rewards, terminated, truncated, final_indices, _, errors = stream.step(actions, mask)
                np.testing.assert_array_equal(obs, [[2, 1], [1, 1], [2, 1]])
                np.testing.assert_array_equal(rewards, [1, 0, 1])
                # Instances 0 and 2 end their episode (step 3) and are reset in
                # the step; instance 1 is in no list.
                obs, rewards, terminated, truncated, final_indices, finals, errors = stream.step(actions, mask)
                np.testing.assert_array_equal(obs, [[0, 2], [1, 1], [0, 2]])
                np.testing.assert_array_equal(rewards, [1, 0, 1])
                np.testing.assert_array_equal(terminated, [True, False, True])
                np.testing.assert_array_equal(truncated, [False, False, False])
                self.assertEqual(final_indices, [0, 2])
                np.testing.assert_array_equal(finals, [[3, 1], [3, 1]])
                self.assertEqual(errors, [])
                # Its env was not called: it draws, and next steps, its step 1.
                frame, error = stream.render(1, 8, 8)
                self.assertIsNone(error)
                np.testing.assert_array_equal(frame, Painter.expected_frame(1))
                np.testing.assert_array_equal(stream.step(actions)[0], [[1, 2], [2, 1], [1, 2]])

    def test_a_deferred_reset_waits_at_the_final_state_for_a_reset_request(self):
        actions = np.zeros(3, np.int64)
        for transport, shared in TRANSPORTS:
            with self.subTest(transport=transport), opened(self.server, 3, shared) as stream:
                stream.step(actions, np.array([True, False, False]))
                stream.step(actions, defer_resets=True)
                obs, rewards, terminated, truncated, final_indices, finals, errors = stream.step(
                    actions, defer_resets=True)
                # Instance 0 ended at step 3 and was not reset: its row is the
                # observation it ended on, and a render draws its last state.
                np.testing.assert_array_equal(obs, [[3, 1], [2, 1], [2, 1]])
                np.testing.assert_array_equal(terminated, [True, False, False])
                self.assertEqual(final_indices, [0])
                np.testing.assert_array_equal(finals, [[3, 1]])
                self.assertEqual(errors, [])
                frame, error = stream.render(0, 8, 8)
                self.assertIsNone(error)
                np.testing.assert_array_equal(frame, Painter.expected_frame(3))
                # Left out of the next step, it waits as it is.
                obs, rewards, terminated, _, final_indices, finals, errors = stream.step(
                    actions, np.array([False, True, True]), defer_resets=True)
                np.testing.assert_array_equal(obs, [[3, 1], [3, 1], [3, 1]])
                np.testing.assert_array_equal(terminated, [False, True, True])
                np.testing.assert_array_equal(rewards, [0, 1, 1])
                self.assertEqual(final_indices, [1, 2])
                # The reset request gives the next episode's first observations;
                # the row of instance 1, not named, stays its final observation.
                first, errors = stream.reset([0, 2])
                np.testing.assert_array_equal(first, [[0, 2], [0, 2]])
                self.assertEqual(errors, [])
                obs = stream.step(actions, np.array([True, False, True]))[0]
                np.testing.assert_array_equal(obs, [[1, 2], [3, 1], [1, 2]])
                frame, _ = stream.render(1, 8, 8)
                np.testing.assert_array_equal(frame, Painter.expected_frame(3))
                first, errors = stream.reset([1])
                np.testing.assert_array_equal(first, [[0, 2]])
                np.testing.assert_array_equal(stream.step(actions)[0], [[2, 2], [1, 2], [2, 2]])

    def test_stepping_an_ended_instance_before_its_reset_fails_it(self):
        actions = np.zeros(2, np.int64)
        for transport, shared in TRANSPORTS:
            with self.subTest(transport=transport), opened(self.server, 2, shared) as stream:
                stream.step(actions, np.array([True, False]))
                stream.step(actions, defer_resets=True)
                self.assertEqual(stream.step(actions, defer_resets=True)[4], [0])
                obs, rewards, terminated, truncated, final_indices, _, errors = stream.step(actions, defer_resets=True)
                self.assertEqual(described(errors), [(0, "step", STEPPED_AFTER_END)])
                # Failed, it is reset as any failure is (deferred or not): its
                # row is the next episode's first observation, truncated.
                np.testing.assert_array_equal(obs, [[0, 2], [3, 1]])
                np.testing.assert_array_equal(rewards, [0, 1])
                np.testing.assert_array_equal(truncated, [True, False])
                np.testing.assert_array_equal(terminated, [False, True])
                self.assertEqual(final_indices, [1])
                # The same without deferring: instance 1 waits too.
                obs, _, _, truncated, _, _, errors = stream.step(actions)
                self.assertEqual(described(errors), [(1, "step", STEPPED_AFTER_END)])
                np.testing.assert_array_equal(obs, [[1, 2], [0, 2]])
                np.testing.assert_array_equal(truncated, [False, True])

    def test_a_reset_request_may_name_a_running_instance(self):
        actions = np.zeros(3, np.int64)
        for transport, shared in TRANSPORTS:
            with self.subTest(transport=transport), opened(self.server, 3, shared) as stream:
                stream.step(actions)
                first, errors = stream.reset([1])
                np.testing.assert_array_equal(first, [[0, 2]])
                self.assertEqual(errors, [])
                self.assertEqual(stream.reset([])[0].shape, (0, 2))
                np.testing.assert_array_equal(stream.step(actions)[0], [[2, 1], [1, 2], [2, 1]])

    def test_bad_step_masks_end_the_stream_naming_the_field(self):
        cases = [(np.ones(3, np.float32), "step.step_mask has dtype float32 and shape [3]; this stream takes bool [3]"),
                 (np.ones(3, np.uint8), "step.step_mask has dtype uint8 and shape [3]"),
                 (np.ones(4, np.bool_), "step.step_mask has dtype bool and shape [4]; this stream takes bool [3]"),
                 (np.ones((3, 1), np.bool_), "step.step_mask has dtype bool and shape [3, 1]")]
        for mask, text in cases:
            for transport, shared in TRANSPORTS:
                with self.subTest(transport=transport), opened(self.server, 3, shared) as stream:
                    stream.step(np.zeros(3, np.int64), np.ones(3, np.bool_))
                    assert_stream_ends(self, stream, lambda: stream.step(np.zeros(3, np.int64), mask), text)
        self.assertIsNone(self.server.process.poll())

    def test_bad_reset_indices_end_the_stream_naming_the_field(self):
        cases = [([3], "reset.env_indices: 3 is out of range (0..2)"),
                 ([0, -1], "reset.env_indices: -1 is out of range (0..2)"),
                 ([2, 1], "reset.env_indices are not ascending: 1 after 2"),
                 ([0, 1, 1], "reset.env_indices names 1 twice")]
        for indices, text in cases:
            for transport, shared in TRANSPORTS:
                with self.subTest(transport=transport), opened(self.server, 3, shared) as stream:
                    assert_stream_ends(self, stream, lambda: stream.reset(indices), text)


def assert_stream_ends(test, stream, call, text, code=grpc.StatusCode.INVALID_ARGUMENT):
    """`call` ends the stream with `code` and a status naming `text`: at
    once over gRPC; through a shared region the server closes the socket
    and the status comes on the gRPC stream."""
    if stream.region is None:
        with test.assertRaises(grpc.RpcError) as raised:
            call()
        status = raised.exception
    else:
        with test.assertRaises((ConnectionError, OSError)):
            call()
        with test.assertRaises(grpc.RpcError) as raised:
            stream.receive()
        status = raised.exception
    test.assertEqual(status.code(), code)
    test.assertIn(text, status.details())


class RowControlTest(unittest.TestCase):
    def test_a_reset_request_continues_the_instances_random_stream(self):
        # No seed: the episode after the reset is the one the instance's own
        # generator draws next, as env.reset() gives it locally.
        local = cartpole.make()
        seeded = local.reset(seed=6)[0]
        for _ in range(3):
            local.step(0)
        expected = local.reset()[0]
        self.assertFalse(np.array_equal(seeded, expected))
        with Server("cartpole:make") as server:
            for transport, shared in TRANSPORTS:
                with self.subTest(transport=transport), opened(server, 2, shared, seeds=[5, 6]) as stream:
                    np.testing.assert_array_equal(stream.observations[1], seeded)
                    for _ in range(3):
                        stream.step(np.zeros(2, np.int64), np.array([False, True]))
                    first, errors = stream.reset([1])
                    self.assertEqual(errors, [])
                    np.testing.assert_array_equal(first, [expected])
                    np.testing.assert_array_equal(stream.observations[1], expected)

    def test_a_reset_that_fails_is_named_and_retried_at_the_instances_next_step(self):
        with Server("test_envs:raises_in_reset") as server:
            for transport, shared in TRANSPORTS:
                with self.subTest(transport=transport), opened(server, 2, shared) as stream:
                    first, errors = stream.reset([1])
                    np.testing.assert_array_equal(first, [[0, 0]])
                    self.assertEqual([(e.env_index, e.field) for e in errors], [(1, "reset")])
                    self.assertIn("ValueError: no scenario file", errors[0].message)
                    # An unmarked instance's failed reset is not retried.
                    _, rewards, _, truncated, _, _, errors = stream.step(np.ones(2, np.int64), np.array([False, True]))
                    self.assertEqual([(e.env_index, e.field) for e in errors], [(1, "reset")])
                    np.testing.assert_array_equal(rewards, [0, 0])
                    np.testing.assert_array_equal(truncated, [False, True])

    def test_a_nan_action_of_an_unmarked_instance_is_not_looked_at(self):
        with Server("test_envs:echo") as server:
            for transport, shared in TRANSPORTS:
                with self.subTest(transport=transport), opened(server, 2, shared, seeds=[5, 6]) as stream:
                    actions = np.full((2, 2, 3), 0.5, np.float32)
                    actions[1, 0, 0] = np.nan
                    obs = stream.step(actions, np.array([True, False]))[0]
                    np.testing.assert_array_equal(obs[:, 0, 0, 0], [60, 6])  # 10 * (6 * 0.5 + 3); seed 6
                    assert_stream_ends(self, stream, lambda: stream.step(actions, np.array([True, True])),
                                       "step.actions holds NaN or infinity")

    def test_a_multi_agent_stream_refuses_row_control(self):
        actions = np.zeros((2, 3), np.float32)
        cases = [(lambda stream: stream.step(actions, np.ones(2, np.bool_)), "step.step_mask"),
                 (lambda stream: stream.step(actions, defer_resets=True), "step.defer_resets"),
                 (lambda stream: stream.reset([0]), "reset: a multi-agent stream has no row control")]
        with Server("test_envs:tag") as server:
            for transport, shared in TRANSPORTS:
                for call, text in cases:
                    with self.subTest(transport=transport, text=text), opened(server, 2, shared) as stream:
                        self.assertFalse(stream.opened.row_control)
                        self.assertEqual(stream.step(actions)[6], [])
                        assert_stream_ends(self, stream, lambda: call(stream), text)

    def test_worker_processes_and_shared_memory_answer_as_one_process_over_grpc(self):
        # Chaos fails in every way the server names, drawn from each
        # instance's own generator: the same random masks, deferrals and
        # resets must give the same answers, error for error, whether one
        # process or three workers (3, 2 and 2 instances) step the envs,
        # over gRPC or through a shared region.
        traces, fields = {}, set()
        for flags in [(), ("--processes=3",)]:
            with Server("test_envs:chaos", *flags) as server:
                for transport, shared in TRANSPORTS:
                    with opened(server, 7, shared, seeds=range(7)) as stream:
                        traces[flags, transport] = self.play(stream, np.random.default_rng(11), fields)
        self.assertTrue({"step", "reset", "observation", "reward", "action"} <= fields, fields)
        reference = traces[(), "grpc"]
        for key, trace in traces.items():
            self.assertEqual(len(trace), len(reference), key)
            for t, (got, want) in enumerate(zip(trace, reference)):
                if isinstance(want, np.ndarray):
                    np.testing.assert_array_equal(got, want, "%s: entry %d" % (key, t))
                else:
                    self.assertEqual(got, want, "%s: entry %d" % (key, t))

    @staticmethod
    def play(stream, rng, fields):
        """Everything the stream answers to random row control; the fields
        of its errors added to `fields`."""
        trace, ended = [stream.observations.copy()], []
        for _ in range(120):
            actions = rng.integers(-1, 5, 7)  # a few outside Discrete(4)
            step_mask = None if rng.random() < 0.3 else rng.random(7) < 0.6
            defer_resets = bool(rng.random() < 0.6)
            step = stream.step(actions, step_mask, defer_resets)
            trace += [np.array(x) for x in step[:4]] + [list(step[4]), step[5].copy(), described(step[6])]
            fields.update(error.field for error in step[6])
            ended = list(step[4]) if defer_resets else []
            resets = sorted({i for i in ended if rng.random() < 0.7} | {i for i in range(7) if rng.random() < 0.05})
            first, errors = stream.reset(resets)
            trace += [first.copy(), described(errors)]
            fields.update(error.field for error in errors)
        return trace


if __name__ == "__main__":
    unittest.main()
