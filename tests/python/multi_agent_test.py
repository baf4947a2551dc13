"""Multi-agent envs on the Python env server (proto/env.proto, "Multi-agent
envs"), a real server process on port 0 stepped over gRPC and through a
shared region: heterogeneous spaces, agents leaving mid-episode, the
global state, and each way a multi-agent env can misbehave, named by env,
agent and field with the env reset and the stream going on; and worker
processes (--processes) answering exactly as one process does."""

import os
import sys
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "python"))

from env_server_test import Server  # noqa: E402
from row_control_test import assert_stream_ends  # noqa: E402
from rill._proto import env_pb2  # noqa: E402
from rill.env_client import EnvStream  # noqa: E402

TRANSPORTS = (("grpc", False), ("shared memory", True))


def open_stream(server, num_envs, shared_memory):
    stream = EnvStream(server.address, num_envs, seeds=list(range(1, num_envs + 1)), shared_memory=shared_memory)
    if shared_memory and stream.region is None:
        stream.close()
        raise AssertionError("the server granted no shared region")
    return stream


class TagTest(unittest.TestCase):
    """Tag: a runner (Discrete(4), obs [3]) and a chaser (box [2], obs
    [2, 2]); the runner leaves after step 3, the episode ends at step 5."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server("test_envs:tag")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_open_announces_each_agents_own_spaces_and_the_state(self):
        stream = open_stream(self.server, 2, False)
        try:
            opened = stream.opened
            self.assertEqual([a.name for a in opened.agents], ["runner", "chaser"])
            runner, chaser = opened.agents
            self.assertEqual(list(runner.observation_space.box.shape), [3])
            self.assertEqual(runner.action_space.discrete.n, 4)
            self.assertEqual(list(chaser.observation_space.box.shape), [2, 2])
            self.assertEqual(list(chaser.action_space.box.shape), [2])
            self.assertEqual(list(opened.state_space.shape), [2])
            self.assertFalse(opened.HasField("observation_space"))
            self.assertEqual(stream.observations.shape, (2, 7))  # 3 + 2 * 2 floats a row
            np.testing.assert_array_equal(stream.observations[0], [0, -1, 1, 0, 0, 0, 1])
            np.testing.assert_array_equal(stream.live, [[True, True], [True, True]])
            np.testing.assert_array_equal(stream.states, [[0, 2], [0, 2]])
        finally:
            stream.close()

    def test_an_agent_leaves_mid_episode_and_comes_back_at_the_reset(self):
        for transport, shared in TRANSPORTS:
            with self.subTest(transport=transport):
                stream = open_stream(self.server, 2, shared)
                try:
                    self._play_one_episode(stream)
                finally:
                    stream.close()

    def test_fewer_envs_than_worker_processes_play_the_same_episode(self):
        with Server("test_envs:tag", "--processes=3") as server:
            for transport, shared in TRANSPORTS:
                with self.subTest(transport=transport):
                    stream = open_stream(server, 2, shared)
                    try:
                        self._play_one_episode(stream)
                    finally:
                        stream.close()

    def _play_one_episode(self, stream):
        # Each agent's action lands in its own slot: the runner's index, then
        # the chaser's box.
        actions = np.array([[2, 0.5, -0.25], [3, 0.0, 1.0]], np.float32)
        for t in range(1, 6):
            obs, rewards, terminated, truncated, final_indices, finals, errors, live, states, final_states = \
                stream.step(actions)
            self.assertEqual(errors, [])
            self.assertEqual(rewards.shape, (2, 2))
            if t <= 3:
                np.testing.assert_array_equal(obs[:, :3], [[t, 2, 1], [t, 3, 1]])
                np.testing.assert_array_equal(rewards, [[1, 2], [1, 2]])
            else:
                # The runner has left: no reward, its last observation kept.
                np.testing.assert_array_equal(rewards, [[0, 2], [0, 2]])
            np.testing.assert_array_equal(terminated[:, 0], [t == 3, t == 3])
            self.assertFalse(truncated.any())
            if t < 5:
                np.testing.assert_array_equal(obs[0, 3:], [t, 0.5, -0.25, 1])
                np.testing.assert_array_equal(live, [[t < 3, True]] * 2)
                np.testing.assert_array_equal(states, [[t, 2 if t < 3 else 1]] * 2)
                self.assertEqual(final_indices, [])
                self.assertEqual(final_states.shape, (0, 2))
            else:
                # The chaser's end is the episode's: reset in the same step.
                np.testing.assert_array_equal(terminated[:, 1], [True, True])
                self.assertEqual(final_indices, [0, 1])
                np.testing.assert_array_equal(finals[0], [3, 2, 1, 5, 0.5, -0.25, 1])
                np.testing.assert_array_equal(obs[0], [0, -1, 2, 0, 0, 0, 2])
                np.testing.assert_array_equal(live, [[True, True]] * 2)
                np.testing.assert_array_equal(states, [[0, 2]] * 2)
                # The state each env ended in, before its reset: step 5, no
                # agent left.
                np.testing.assert_array_equal(final_states, [[5, 0]] * 2)


class SwarmTest(unittest.TestCase):
    """Swarm: three agents of one space, leaving one by one."""

    def test_agents_leave_one_by_one_over_both_transports(self):
        with Server("test_envs:swarm") as server:
            for transport, shared in TRANSPORTS:
                with self.subTest(transport=transport):
                    stream = open_stream(server, 3, shared)
                    try:
                        actions = np.ones((3, 3), np.float32)
                        for t in range(1, 5):
                            obs, rewards, _, truncated, final_indices, _, errors, live, _, _ = stream.step(actions)
                            self.assertEqual(errors, [])
                            for k in range(3):
                                acted = t <= k + 2
                                self.assertEqual(rewards[0, k], 1.0 if acted else 0.0, (t, k))
                                self.assertEqual(bool(truncated[0, k]), t == k + 2, (t, k))
                            if t < 4:
                                np.testing.assert_array_equal(live[0], [t < 2, t < 3, True])
                        self.assertEqual(final_indices, [0, 1, 2])
                        np.testing.assert_array_equal(live, np.ones((3, 3), bool))
                        np.testing.assert_array_equal(obs[0], [0, 0, 0, 0, 1, 0, 0, 2, 0])
                    finally:
                        stream.close()


class MisbehavingMultiAgentEnvTest(unittest.TestCase):
    """Each bad env misbehaves at step 2 of its episode: the step names it
    (env, agent, field), resets it, and the stream goes on."""

    CASES = (
        ("omits_live_agent", "agents", "runner", "leaves out live agent runner"),
        ("unknown_agent", "agents", "ghost", "not one of possible_agents"),
        ("chaser_changes_shape", "observation", "chaser", "has shape (3,)"),
        ("chaser_changes_dtype", "observation", "chaser", "dtype"),
        ("lists_not_dicts", "step", "", "dicts keyed by agent"),
        ("nan_reward_for_runner", "reward", "runner", "reward of runner is nan"),
        ("raises_in_multi_agent_step", "step", "", "the swarm diverged"),
    )

    def test_each_bad_env_is_named_and_reset(self):
        for factory, field, agent, words in self.CASES:
            for transport, shared in TRANSPORTS:
                with self.subTest(env=factory, transport=transport), Server("test_envs:" + factory) as server:
                    stream = open_stream(server, 2, shared)
                    try:
                        actions = np.zeros((2, 3), np.float32)
                        stream.step(actions)
                        obs, rewards, terminated, truncated, final_indices, _, errors, live, _, _ = stream.step(actions)
                        self.assertEqual(sorted(e.env_index for e in errors), [0, 1])
                        for error in errors:
                            self.assertEqual((error.field, error.agent), (field, agent), error)
                            self.assertIn(words, error.message)
                        np.testing.assert_array_equal(rewards, np.zeros((2, 2)))
                        self.assertTrue(truncated.all())
                        self.assertFalse(terminated.any())
                        self.assertEqual(final_indices, [])
                        np.testing.assert_array_equal(obs[:, :3], [[0, -1, 2], [0, -1, 2]])  # reset: resets = 2
                        np.testing.assert_array_equal(live, np.ones((2, 2), bool))
                        # The stream goes on with the reset envs.
                        errors = stream.step(actions)[6]
                        self.assertEqual(errors, [])
                    finally:
                        stream.close()


def described(errors):
    return [(e.env_index, e.field, e.agent, e.message) for e in errors]


class WorkerProcessesTest(unittest.TestCase):
    """--processes=K spreads a multi-agent stream's envs over K worker
    processes: every answer is the one the server gives stepping them
    itself."""

    def test_three_workers_answer_as_one_process_step_for_step(self):
        # SquadChaos draws from each env's own generator whether an agent
        # leaves, the episode ends or the env misbehaves: the same random
        # actions and renders must give the same answers, error for error,
        # whether one process or three workers (3, 2 and 2 envs) step the
        # envs, over gRPC or through a shared region.
        traces, seen = {}, set()
        for flags in [(), ("--processes=3",)]:
            with Server("test_envs:squad_chaos", "--max_episode_steps=6", *flags) as server:
                for transport, shared in TRANSPORTS:
                    stream = open_stream(server, 7, shared)
                    try:
                        traces[flags, transport] = self.play(stream, np.random.default_rng(5), seen)
                    finally:
                        stream.close()
        self.assertTrue({"step", "agents", "reward", "observation", "truncated", "state", "reset", "action",
                         "final", "left", "frame", "render error"} <= seen, seen)
        reference = traces[(), "grpc"]
        for key, trace in traces.items():
            self.assertEqual(len(trace), len(reference), key)
            for t, (got, want) in enumerate(zip(trace, reference)):
                if isinstance(want, np.ndarray):
                    np.testing.assert_array_equal(got, want, "%s: entry %d" % (key, t))
                else:
                    self.assertEqual(got, want, "%s: entry %d" % (key, t))

    @staticmethod
    def play(stream, rng, seen):
        """Everything the stream answers to random actions and renders: the
        opened answer, then each step's answer and one env's render; what
        was seen (error fields, episode ends, agents leaving, frames and
        render errors) added to `seen`."""
        opened = env_pb2.EnvsOpened()
        opened.CopyFrom(stream.opened)
        opened.ClearField("shared_memory")
        trace = [opened]
        seen.update(error.field for error in opened.errors)
        for _ in range(150):
            # Slots: the scout's index, the tank's box [2], the medic's index.
            actions = rng.uniform(-1, 1, (7, 4)).astype(np.float32)
            actions[:, 0] = rng.integers(0, 3, 7) + (rng.random(7) < 0.03)  # now and then outside Discrete(3)
            actions[:, 3] = rng.integers(0, 2, 7)
            # An agent that is not live has its slot ignored, NaN or not.
            for k, slots in enumerate((slice(0, 1), slice(1, 3), slice(3, 4))):
                actions[~stream.live[:, k], slots] = np.nan
            step = stream.step(actions)
            trace += [np.array(x) for x in step[:4]] + [list(step[4]), step[5].copy(), described(step[6])]
            trace += [np.array(x) for x in step[7:]]
            seen.update(error.field for error in step[6])
            stray = [e.message for e in step[6] if "AssertionError" in e.message]
            if stray:
                raise AssertionError("the server gave actions to agents that are not live: %s" % stray)
            live = step[7]
            if step[4]:
                seen.add("final")
            if (live.any(axis=1) & ~live.all(axis=1)).any():
                seen.add("left")
            index = int(rng.integers(7))
            frame, error = stream.render(index, 3, 4)
            trace.append(frame if error is None else error)
            seen.add("frame" if error is None else "render error")
        return trace

    def test_a_nan_action_of_a_live_agent_ends_the_stream_naming_it(self):
        for flags in [(), ("--processes=3",)]:
            with Server("test_envs:tag", *flags) as server:
                for transport, shared in TRANSPORTS:
                    with self.subTest(flags=flags, transport=transport):
                        stream = open_stream(server, 4, shared)
                        try:
                            actions = np.zeros((4, 3), np.float32)
                            for _ in range(3):  # the runners leave after step 3
                                self.assertEqual(stream.step(actions)[6], [])
                            actions[:, 0] = np.nan  # the runners' slots: ignored
                            self.assertEqual(stream.step(actions)[6], [])
                            actions[2, 2] = np.inf  # env 2's chaser is live
                            assert_stream_ends(self, stream, lambda: stream.step(actions),
                                               "step.actions of env 2 agent chaser hold NaN or infinity")
                        finally:
                            stream.close()


if __name__ == "__main__":
    unittest.main()
