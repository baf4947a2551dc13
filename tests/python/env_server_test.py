"""The Python env server as a real process on port 0, driven over gRPC by
rill.env_client: spaces, seeding, episode ends, time limits, worker
processes, misbehaving envs and malformed requests (proto/env.proto); and
the same steps through a shared region."""

import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import grpc
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python"))

from rill import shared_region, tensors  # noqa: E402
from rill._proto import env_pb2  # noqa: E402
from rill.env_client import EnvStream  # noqa: E402

PYTHONPATH = os.pathsep.join([os.path.join(ROOT, "python"), os.path.join(ROOT, "examples", "python"), HERE])


class Server:
    """`python3 -m rill.env_server` on 127.0.0.1:0, stopped on exit."""

    def __init__(self, factory, *flags):
        # The log goes to a file: a pipe nobody reads would fill with a
        # misbehaving env's warnings and stall the server.
        self.log = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rill.env_server", "--factory=" + factory, "--address=127.0.0.1:0", *flags],
            stdout=subprocess.PIPE, stderr=self.log, text=True,
            env=dict(os.environ, PYTHONPATH=PYTHONPATH))
        line = self.process.stdout.readline()
        if not line.startswith("listening on "):
            self.stop()
            self.log.seek(0)
            raise AssertionError("server did not start: %r %s" % (line, self.log.read()))
        self.address = line.split()[-1]

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.stop()


def named(errors):
    """(index, field, message) of each EnvError."""
    return [(e.env_index, e.field, e.message) for e in errors]


def refused_start(factory):
    """(exit code, stderr) of a server that must refuse to start."""
    process = subprocess.run([sys.executable, "-m", "rill.env_server", "--factory=" + factory],
                             capture_output=True, text=True, timeout=60, env=dict(os.environ, PYTHONPATH=PYTHONPATH))
    return process.returncode, process.stderr


class CartPoleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server("cartpole:make")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_open_reports_the_spaces_and_seeds_each_instance(self):
        a = EnvStream(self.server.address, 4, seeds=[1, 2, 3, 4])
        b = EnvStream(self.server.address, 4, seeds=[1, 2, 3, 5])
        try:
            self.assertEqual(a.opened.env_id, "cartpole:make")
            self.assertEqual(list(a.opened.observation_space.box.shape), [4])
            self.assertEqual(a.opened.action_space.discrete.n, 2)
            self.assertEqual(a.opened.max_episode_steps, 500)
            self.assertEqual(a.observations.shape, (4, 4))
            self.assertEqual(a.observations.dtype, np.float32)
            np.testing.assert_array_equal(a.observations[:3], b.observations[:3])
            self.assertFalse(np.array_equal(a.observations[3], b.observations[3]))
            self.assertTrue(np.all(np.abs(a.observations) <= 0.05))
        finally:
            a.close()
            b.close()

    def test_an_ended_episode_is_reset_in_the_same_step_with_its_final_observation(self):
        stream = EnvStream(self.server.address, 3, seeds=[7, 8, 9])
        try:
            ended = None
            for _ in range(100):  # always pushing left: the pole falls within ~10 steps
                before = stream.observations.copy()
                obs, rewards, terminated, truncated, final_indices, final_obs, errors = stream.step(
                    np.zeros(3, np.int64))
                self.assertEqual(errors, [])
                np.testing.assert_array_equal(rewards, np.ones(3, np.float32))
                if final_indices:
                    ended = (before, obs, terminated, truncated, final_indices, final_obs)
                    break
            self.assertIsNotNone(ended, "no episode ended in 100 steps")
            before, obs, terminated, truncated, final_indices, final_obs = ended
            self.assertEqual(final_obs.shape, (len(final_indices), 4))
            for row, index in enumerate(final_indices):
                self.assertTrue(terminated[index])
                self.assertFalse(truncated[index])
                x, theta = final_obs[row][0], final_obs[row][2]
                self.assertTrue(abs(x) > 2.4 or abs(theta) > 12 * 2 * np.pi / 360, final_obs[row])
                self.assertTrue(np.all(np.abs(obs[index]) <= 0.05), obs[index])  # the next episode's first
            for index in set(range(3)) - set(final_indices):
                self.assertFalse(terminated[index])
        finally:
            stream.close()

    def test_malformed_requests_end_only_their_stream(self):
        cases = [
            (env_pb2.EnvRequest(step=env_pb2.StepEnvs()), grpc.StatusCode.FAILED_PRECONDITION, "must be open"),
            (env_pb2.EnvRequest(open=env_pb2.OpenEnvs(num_envs=0)), grpc.StatusCode.INVALID_ARGUMENT,
             "num_envs 0 is out of range"),
            (env_pb2.EnvRequest(open=env_pb2.OpenEnvs(num_envs=2, seeds=[1])), grpc.StatusCode.INVALID_ARGUMENT,
             "1 seeds for 2 envs"),
        ]
        channel = grpc.insecure_channel(self.server.address)
        connect = channel.stream_stream("/rill.v1.EnvService/Connect",
                                        request_serializer=env_pb2.EnvRequest.SerializeToString,
                                        response_deserializer=env_pb2.EnvResponse.FromString)
        for request, code, text in cases:
            with self.assertRaises(grpc.RpcError) as raised:
                list(connect(iter([request]), timeout=30))
            self.assertEqual(raised.exception.code(), code)
            self.assertIn(text, raised.exception.details())
        channel.close()
        # Actions of the wrong dtype, of the wrong shape, then a step that
        # is an open: each named; the server goes on serving.
        for actions, text in [(np.zeros(2, np.float32), "dtype float32 and shape [2]; this stream takes int64 [2]"),
                              (np.zeros(3, np.int64), "shape [3]; this stream takes int64 [2]")]:
            stream = EnvStream(self.server.address, 2)
            with self.assertRaises(grpc.RpcError) as raised:
                stream.step(actions)
            self.assertEqual(raised.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
            self.assertIn(text, raised.exception.details())
            stream.close()
        stream = EnvStream(self.server.address, 2)
        stream.send(env_pb2.EnvRequest(open=env_pb2.OpenEnvs(num_envs=2, seeds=[0, 1])))
        with self.assertRaises(grpc.RpcError) as raised:
            stream.receive()
        self.assertIn("a stream opens once", raised.exception.details())
        stream.close()
        bad_bytes = env_pb2.EnvRequest()
        bad_bytes.step.actions.dtype = tensors.dtype_code(np.int64)
        bad_bytes.step.actions.shape.append(2)
        bad_bytes.step.actions.data = b"\x00" * 3
        stream = EnvStream(self.server.address, 2)
        stream.send(bad_bytes)
        with self.assertRaises(grpc.RpcError) as raised:
            stream.receive()
        self.assertIn("needs 16 bytes, has 3", raised.exception.details())
        stream.close()
        self.assertIsNone(self.server.process.poll())
        stream = EnvStream(self.server.address, 2)
        self.assertEqual(len(stream.step(np.ones(2, np.int64))[1]), 2)
        stream.close()


    def test_a_step_request_written_otherwise_is_read_alike(self):
        # The server reads a step request written as protobuf writes it
        # itself; the same request with its tensor's fields in reverse
        # order (as valid) goes through protobuf's parser instead and must
        # be answered alike. Bytes that are no EnvRequest end the stream.
        def reversed_request(actions):
            data = actions.astype("<i8").tobytes()
            tensor = (b"\x1a" + bytes([len(data)]) + data + b"\x12\x01" + bytes([len(actions)])
                      + b"\x08" + bytes([tensors.dtype_code(np.int64)]))
            step = b"\x0a" + bytes([len(tensor)]) + tensor
            return b"\x12" + bytes([len(step)]) + step

        channel = grpc.insecure_channel(self.server.address)
        connect = channel.stream_stream("/rill.v1.EnvService/Connect", request_serializer=None,
                                        response_deserializer=env_pb2.EnvResponse.FromString)
        requests = [env_pb2.EnvRequest(open=env_pb2.OpenEnvs(num_envs=2, seeds=[5, 6])).SerializeToString()]
        all_actions = [np.array([t % 2, t // 3 % 2], np.int64) for t in range(40)]
        requests += [reversed_request(actions) for actions in all_actions]
        self.assertNotEqual(requests[1], env_pb2.EnvRequest(step=env_pb2.StepEnvs(
            actions=tensors.to_tensor(all_actions[0]))).SerializeToString())
        self.assertEqual(env_pb2.EnvRequest.FromString(requests[1]).step.actions,
                         tensors.to_tensor(all_actions[0]))
        usual = requests[:1] + [env_pb2.EnvRequest(step=env_pb2.StepEnvs(actions=tensors.to_tensor(actions)))
                                .SerializeToString() for actions in all_actions]
        answers = list(connect(iter(requests), timeout=30))
        self.assertEqual(answers, list(connect(iter(usual), timeout=30)))
        self.assertEqual(len(answers), 41)
        self.assertGreater(sum(len(answer.stepped.final_indices) for answer in answers), 0)  # episodes ended
        with self.assertRaises(grpc.RpcError) as raised:
            list(connect(iter([requests[0], b"\xff\xff\xff"]), timeout=30))
        self.assertEqual(raised.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("no rill.v1.EnvRequest", raised.exception.details())
        channel.close()


class ServerTest(unittest.TestCase):
    def test_the_time_limit_truncates_and_bootstraps_from_the_final_observation(self):
        with Server("cartpole:make", "--max_episode_steps=5") as server:
            stream = EnvStream(server.address, 2, seeds=[3, 4])
            self.assertEqual(stream.opened.max_episode_steps, 5)
            for _ in range(4):
                result = stream.step(np.array([0, 1], np.int64))
                self.assertEqual(result[4], [])
            obs, _, terminated, truncated, final_indices, final_obs, _ = stream.step(np.array([1, 0], np.int64))
            self.assertEqual(final_indices, [0, 1])
            np.testing.assert_array_equal(truncated, [True, True])
            np.testing.assert_array_equal(terminated, [False, False])
            self.assertTrue(np.all(np.abs(obs) <= 0.05))
            self.assertTrue(np.any(np.abs(final_obs) > 0.05))
            stream.close()

    def test_worker_processes_step_exactly_as_the_server_itself(self):
        actions = np.random.default_rng(0).integers(0, 2, size=(60, 5))
        runs = []
        for flags in [(), ("--processes=2",)]:
            with Server("cartpole:make", *flags) as server:
                stream = EnvStream(server.address, 5, seeds=range(10, 15))
                trace = [stream.observations.copy()]
                for row in actions:
                    obs, rewards, terminated, truncated, final_indices, final_obs, _ = stream.step(row)
                    trace += [obs.copy(), terminated.copy(), np.array(final_indices), final_obs.copy()]
                stream.close()
                runs.append(trace)
        self.assertEqual(len(runs[0]), len(runs[1]))
        for a, b in zip(*runs):
            np.testing.assert_array_equal(a, b)

    def test_spaces_of_several_shapes_and_dtypes_round_trip(self):
        with Server("test_envs:echo") as server:
            stream = EnvStream(server.address, 2, seeds=[5, 6])
            space = stream.opened.observation_space.box
            self.assertEqual(list(space.shape), [3, 8, 8])
            self.assertEqual(space.dtype, tensors.dtype_code(np.uint8))
            # Bounds alike for every element travel as one value.
            self.assertEqual((list(space.low), list(space.high)), ([0.0], [255.0]))
            action = stream.opened.action_space.box
            self.assertEqual(list(action.shape), [2, 3])
            self.assertEqual(list(action.low), [-1.0])
            self.assertEqual(stream.observations.dtype, np.uint8)
            np.testing.assert_array_equal(stream.observations[:, 0, 0, 0], [5, 6])
            actions = np.zeros((2, 2, 3), np.float32)
            actions[1] = 0.5
            obs, rewards, *_ = stream.step(actions)
            self.assertEqual(obs.shape, (2, 3, 8, 8))
            np.testing.assert_array_equal(obs[:, 1, 2, 3], [30, 60])  # 10 * (sum + 3)
            np.testing.assert_array_equal(rewards, [1.0, 1.0])
            stream.close()

    def test_box_actions_not_finite_or_not_the_streams_end_it(self):
        inf_in_one = np.zeros((2, 2, 3), np.float32)
        inf_in_one[1, 1, 2] = -np.inf
        with Server("test_envs:echo") as server:
            for actions, text in [
                    (np.full((2, 2, 3), np.nan, np.float32), "step.actions holds NaN or infinity"),
                    (inf_in_one, "step.actions holds NaN or infinity"),
                    (np.zeros((2, 2, 3), np.float64), "dtype float64 and shape [2, 2, 3]; this stream takes float32"),
                    (np.zeros((2, 6), np.float32), "shape [2, 6]; this stream takes float32 [2, 2, 3]")]:
                stream = EnvStream(server.address, 2)
                self.assertEqual(stream.step(np.full((2, 2, 3), 0.5, np.float32))[6], [])
                with self.assertRaises(grpc.RpcError) as raised:
                    stream.step(actions)
                self.assertEqual(raised.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
                self.assertIn(text, raised.exception.details())
                stream.close()
            stream = EnvStream(server.address, 2)
            obs = stream.step(np.full((2, 2, 3), 0.5, np.float32))[0]
            np.testing.assert_array_equal(obs[:, 0, 0, 0], [60, 60])  # 10 * (6 * 0.5 + 3)
            stream.close()

    def test_each_misbehaving_env_is_named_reset_and_the_stream_goes_on(self):
        cases = [("raises_in_step", 3, "step", "RuntimeError: the simulator diverged"),
                 ("wrong_shape", 2, "observation", "has shape (5,), the observation space says (2,)"),
                 ("nan_observation", 2, "observation", "NaN"),
                 ("string_reward", 2, "reward", "'one' is not a number"),
                 ("wrong_dtype", 2, "observation", "has dtype float32, the observation space says uint8")]
        for factory, fail_at, field, text in cases:
            with self.subTest(factory=factory), Server("test_envs:" + factory) as server:
                stream = EnvStream(server.address, 2)
                for t in range(1, fail_at):
                    self.assertEqual(stream.step(np.ones(2, np.int64))[6], [])
                obs, rewards, terminated, truncated, final_indices, final_obs, errors = stream.step(
                    np.ones(2, np.int64))
                self.assertEqual(sorted(e.env_index for e in errors), [0, 1])
                self.assertEqual({e.field for e in errors}, {field})
                self.assertIn(text, errors[0].message)
                np.testing.assert_array_equal(truncated, [True, True])
                np.testing.assert_array_equal(rewards, [0, 0])
                self.assertEqual(final_indices, [])  # nothing to bootstrap from
                self.assertEqual(obs.tolist(), [[0, 2], [0, 2]])  # the second reset's first observation
                self.assertEqual(stream.step(np.ones(2, np.int64))[6], [])
                stream.close()

    def test_an_action_outside_the_discrete_space_is_named(self):
        with Server("test_envs:counter") as server:
            stream = EnvStream(server.address, 2)
            errors = stream.step(np.array([1, 3], np.int64))[6]
            self.assertEqual([(e.env_index, e.field) for e in errors], [(1, "action")])
            self.assertIn("action 3 is outside Discrete(3)", errors[0].message)
            stream.close()

    def test_a_reset_that_raises_is_named_at_open_and_retried(self):
        code, stderr = refused_start("test_envs:nowhere")
        self.assertEqual(code, 2)
        self.assertIn("module test_envs has no nowhere", stderr)
        with Server("test_envs:raises_in_reset") as server:
            stream = EnvStream(server.address, 2)
            self.assertEqual([(e.env_index, e.field) for e in stream.opened.errors], [(0, "reset"), (1, "reset")])
            self.assertIn("ValueError: no scenario file", stream.opened.errors[0].message)
            np.testing.assert_array_equal(stream.observations, np.zeros((2, 2)))
            obs, rewards, terminated, truncated, _, _, errors = stream.step(np.ones(2, np.int64))
            self.assertEqual({e.field for e in errors}, {"reset"})
            np.testing.assert_array_equal(truncated, [True, True])
            stream.close()

    def test_factories_and_spaces_that_cannot_work_stop_the_server_at_start(self):
        for factory, text in [("test_envs:factory_raises", "OSError: license server unreachable"),
                              ("test_envs:string_observation_space",
                               "observation_space dtype <U0: the protocol carries float32 and uint8"),
                              ("test_envs:wrong_length_action_bounds",
                               "action_space low has shape (3,) for a space of shape (2,): a box bound is one "
                               "value for every element or one value per element (2)"),
                              ("no_such_module:make", "cannot import no_such_module"),
                              ("cartpole", "is not MODULE:CALLABLE")]:
            with self.subTest(factory=factory):
                code, stderr = refused_start(factory)
                self.assertEqual(code, 2, stderr)
                self.assertIn(text, stderr)


class RenderTest(unittest.TestCase):
    """Render requests between steps (proto/env.proto's RenderEnv)."""

    def test_an_env_class_made_with_rgb_array_renders_its_frame_between_steps(self):
        from test_envs import Painter
        for flags in [(), ("--processes=2",)]:
            with self.subTest(flags=flags), Server("test_envs:Painter", *flags) as server:
                stream = EnvStream(server.address, 3, seeds=[1, 2, 3])
                self.assertEqual(list(stream.opened.cameras), ["default"])
                stream.step(np.zeros(3, np.int64))
                stream.step(np.zeros(3, np.int64))
                frame, error = stream.render(2, 64, 48)
                self.assertIsNone(error)
                self.assertEqual(frame.dtype, np.uint8)
                np.testing.assert_array_equal(frame, Painter.expected_frame(2))  # its own size, not 64x48
                frame, error = stream.render(0, 1, 1, "default")
                np.testing.assert_array_equal(frame, Painter.expected_frame(2))
                # Rendering stepped nothing: the next step is step 3 of the episode.
                obs = stream.step(np.zeros(3, np.int64))[0]
                np.testing.assert_array_equal(obs[:, 0], [3, 3, 3])
                stream.close()

    def test_an_alpha_channel_is_dropped(self):
        from test_envs import Painter
        with Server("test_envs:painter_with_alpha") as server:
            stream = EnvStream(server.address, 1)
            self.assertEqual(list(stream.opened.cameras), ["default"])
            frame, error = stream.render(0, 8, 8)
            self.assertIsNone(error)
            np.testing.assert_array_equal(frame, Painter.expected_frame(0))
            stream.close()

    def test_a_frame_that_is_no_rgb_image_is_named_and_the_stream_goes_on(self):
        cases = [(0, "render() returned None"),
                 (1, "render() returned an array of shape (6, 5); an RGB frame is [height, width, 3]"),
                 (2, "render() returned a frame of dtype float32; an RGB frame is uint8"),
                 (3, "render() raised RuntimeError: the renderer lost its GL context"),
                 (4, "dtype float64 that holds NaN or infinity"),
                 (5, "render() returned str of dtype <U5, not an RGB array")]
        with Server("test_envs:bad_painter") as server:
            stream = EnvStream(server.address, 7, seeds=range(1, 8))  # instance i seeded i + 1
            stream.step(np.ones(7, np.int64))
            for index, text in cases:
                with self.subTest(index=index):
                    frame, error = stream.render(index, 16, 16)
                    self.assertIsNone(frame)
                    self.assertIn("env %d (test_envs:bad_painter): " % index, error)
                    self.assertIn(text, error)
            frame, error = stream.render(6, 16, 16)
            self.assertIsNone(error)
            self.assertEqual(frame.shape, (6, 5, 3))
            obs, rewards, _, _, _, _, errors = stream.step(np.ones(7, np.int64))
            self.assertEqual(errors, [])
            np.testing.assert_array_equal(obs[:, 0], np.full(7, 2))
            stream.close()

    def test_a_request_out_of_range_is_answered_with_an_error(self):
        with Server("test_envs:Painter") as server:
            stream = EnvStream(server.address, 2)
            for args, text in [((2, 8, 8), "render.env_index 2 is out of range (0..1)"),
                               ((-1, 8, 8), "render.env_index -1 is out of range (0..1)"),
                               ((0, 0, 8), "a render of 0x8 pixels"),
                               ((0, 8, 5000), "a render of 8x5000 pixels"),
                               ((0, 8, 8, "top"), "has no camera 'top'; its cameras: default")]:
                with self.subTest(args=args):
                    frame, error = stream.render(*args)
                    self.assertIsNone(frame)
                    self.assertIn(text, error)
            self.assertEqual(stream.step(np.ones(2, np.int64))[6], [])
            stream.close()

    def test_envs_that_do_not_render_announce_no_camera(self):
        for factory in ["test_envs:counter", "test_envs:Blind", "cartpole:make"]:
            with self.subTest(factory=factory), Server(factory) as server:
                stream = EnvStream(server.address, 1)
                self.assertEqual(list(stream.opened.cameras), [])
                frame, error = stream.render(0, 8, 8)
                self.assertIsNone(frame)
                self.assertIn("env 0 (%s) cannot render" % factory, error)
                self.assertEqual(stream.step(np.ones(1, np.int64))[6], [])
                stream.close()

    def test_a_factory_that_takes_render_mode_is_given_rgb_array(self):
        # painter() passes render_mode on; Painter made without it would draw None.
        with Server("test_envs:painter") as server:
            stream = EnvStream(server.address, 1)
            frame, error = stream.render(0, 8, 8)
            self.assertIsNone(error)
            self.assertEqual(frame.shape, (6, 5, 3))
            stream.close()


class SharedMemoryTest(unittest.TestCase):
    """Streams stepped through the server's shared region (proto/env.proto,
    "Shared memory") answer exactly as streams over gRPC."""

    def test_steps_through_the_region_match_grpc_steps_error_for_error(self):
        with Server("test_envs:chaos_box") as server:
            over_grpc = EnvStream(server.address, 7, seeds=range(7))
            shared = EnvStream(server.address, 7, seeds=range(7), shared_memory=True)
            self.assertIsNone(over_grpc.region)
            self.assertIsNotNone(shared.region)
            np.testing.assert_array_equal(over_grpc.observations, shared.observations)
            rng = np.random.default_rng(3)
            fields = set()
            for t in range(150):
                actions = rng.uniform(-1, 1, (7, 2)).astype(np.float32)
                a, b = over_grpc.step(actions), shared.step(actions)
                for x, y in zip(a, b):
                    if isinstance(x, np.ndarray):
                        self.assertEqual((x.dtype, x.shape), (y.dtype, y.shape), t)
                        np.testing.assert_array_equal(x, y, str(t))
                    else:
                        self.assertEqual(x, y, t)
                fields.update(error.field for error in b[6])
            self.assertTrue({"step", "observation", "reward", "reset"} <= fields, fields)
            # The stream ends with its status, as over gRPC.
            actions[0, 0] = np.nan
            with self.assertRaises((ConnectionError, OSError)):
                shared.step(actions)
            with self.assertRaises(grpc.RpcError) as ended:
                shared.receive()
            self.assertEqual(ended.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
            self.assertIn("step.actions holds NaN or infinity", ended.exception.details())
            over_grpc.close()
            shared.close()

    def test_only_the_streams_own_client_is_handed_the_region(self):
        with Server("cartpole:make") as server:
            asked = EnvStream(server.address, 2, shared_memory=True, take_region=False)
            name = asked.opened.shared_memory.socket
            impostor = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            impostor.settimeout(10)
            impostor.connect("\0" + name)
            impostor.sendall(b"x" * 16)
            self.assertEqual(impostor.recv(1), b"")  # closed: no region
            impostor.close()
            asked._take_region(asked.opened.shared_memory)  # the right token still works
            obs = asked.step(np.array([0, 1], np.int64))[0]
            self.assertEqual(obs.shape, (2, 4))
            asked.close()

    def test_the_server_polls_a_little_longer_than_its_client_takes_to_come_back(self):
        # At least the minimum; a client that comes back within the maximum
        # is waited for a quarter longer than it takes, plus 20 us; a slower
        # one (or none yet) gets the minimum.
        self.assertEqual(shared_region.spin_seconds(None), shared_region.MIN_SPIN_SECONDS)
        self.assertEqual(shared_region.spin_seconds(40e-6), shared_region.MIN_SPIN_SECONDS)
        self.assertAlmostEqual(shared_region.spin_seconds(400e-6), 520e-6)
        self.assertEqual(shared_region.spin_seconds(900e-6), shared_region.MAX_SPIN_SECONDS)
        self.assertEqual(shared_region.spin_seconds(5e-3), shared_region.MIN_SPIN_SECONDS)
        # A client quick, then slower than the poll, then slow again: every
        # step is answered as over gRPC.
        with Server("cartpole:make") as server:
            over_grpc = EnvStream(server.address, 3, seeds=range(3))
            shared = EnvStream(server.address, 3, seeds=range(3), shared_memory=True)
            self.assertIsNotNone(shared.region)
            rng = np.random.default_rng(5)
            for t, pause in enumerate([0] * 20 + [0.0004] * 20 + [0.003] * 10 + [0] * 10 + [0.0004] * 10):
                time.sleep(pause)
                actions = rng.integers(0, 2, 3)
                for x, y in zip(over_grpc.step(actions), shared.step(actions)):
                    if isinstance(x, np.ndarray):
                        np.testing.assert_array_equal(x, y, str(t))
                    else:
                        self.assertEqual(x, y, t)
            over_grpc.close()
            shared.close()

    def test_a_client_that_never_takes_its_region_is_served_over_grpc(self):
        with Server("cartpole:make") as server:
            stream = EnvStream(server.address, 2, shared_memory=True, take_region=False)
            self.assertTrue(stream.opened.HasField("shared_memory"))
            start = time.monotonic()
            obs = stream.step(np.array([1, 1], np.int64))[0]  # waits out the server's 5 s
            self.assertGreaterEqual(time.monotonic() - start, 4.0)
            self.assertEqual(obs.shape, (2, 4))
            stream.close()


if __name__ == "__main__":
    unittest.main()
