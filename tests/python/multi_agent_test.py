"""Multi-agent envs on the Python env server (proto/env.proto, "Multi-agent
envs"), a real server process on port 0 stepped over gRPC and through a
shared region: heterogeneous spaces, agents leaving mid-episode, the
global state, and each way a multi-agent env can misbehave, named by env,
agent and field with the env reset and the stream going on."""

import os
import sys
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "python"))

from env_server_test import Server  # noqa: E402
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


if __name__ == "__main__":
    unittest.main()
