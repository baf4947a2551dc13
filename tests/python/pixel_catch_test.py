"""examples/python/pixel_catch.py served by a real env server on port 0: a
uint8 image space on the wire, the rules (a falling ball, +1 for a catch,
-1 for a miss, 10 balls an episode) and the claim its docstring makes."""

import os
import sys
import unittest

import numpy as np

from env_server_test import ROOT, Server

sys.path.insert(0, os.path.join(ROOT, "examples", "python"))
sys.path.insert(0, os.path.join(ROOT, "python"))

import pixel_catch  # noqa: E402
from rill import tensors  # noqa: E402
from rill.env_client import EnvStream  # noqa: E402


def ball_and_paddle(screen):
    """(ball row, ball column, paddle column) of one [1, 10, 5] screen."""
    rows, columns = np.nonzero(screen[0])
    paddle = [c for r, c in zip(rows, columns) if r == 9]
    ball = [(r, c) for r, c in zip(rows, columns) if r < 9] or [(9, paddle[0])]
    return ball[0][0], ball[0][1], paddle[0]


class PixelCatchTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server("pixel_catch:make")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_open_reports_uint8_pixels_and_three_actions(self):
        stream = EnvStream(self.server.address, 3, seeds=[1, 2, 3])
        try:
            box = stream.opened.observation_space.box
            self.assertEqual(list(box.shape), [1, 10, 5])
            self.assertEqual(box.dtype, tensors.dtype_code(np.uint8))
            self.assertEqual(stream.opened.action_space.discrete.n, 3)
            self.assertEqual(stream.opened.max_episode_steps, 90)
            self.assertEqual(stream.observations.dtype, np.uint8)
            self.assertEqual(stream.observations.shape, (3, 1, 10, 5))
            for screen in stream.observations:
                self.assertEqual(sorted(set(screen.ravel().tolist())), [0, 255])
                self.assertEqual(int(np.count_nonzero(screen)), 2)  # the ball in the top row, the paddle
                self.assertEqual(ball_and_paddle(screen)[0], 0)
        finally:
            stream.close()

    def test_a_chasing_paddle_catches_all_ten_balls_and_staying_put_misses(self):
        stream = EnvStream(self.server.address, 2, seeds=[11, 12])
        try:
            returns = np.zeros(2)
            for step in range(90):
                actions = []
                for i, screen in enumerate(stream.observations):
                    _, ball, paddle = ball_and_paddle(screen)
                    actions.append(1 + int(np.sign(ball - paddle)) if i == 0 else 1)
                _, rewards, terminated, truncated, final_indices, _, errors = stream.step(
                    np.array(actions, np.int64))
                self.assertEqual(errors, [])
                self.assertTrue(set(rewards.tolist()) <= {-1.0, 0.0, 1.0})
                self.assertEqual(rewards[0] != 0, (step + 1) % 9 == 0, step)
                returns += rewards
                if step < 89:
                    self.assertEqual(final_indices, [])
            self.assertEqual(final_indices, [0, 1])
            np.testing.assert_array_equal(terminated, [True, True])
            self.assertEqual(returns[0], 10.0)
            self.assertLess(returns[1], 10.0)
        finally:
            stream.close()

    def test_the_docstring_returns(self):
        seeds = range(1000, 1100)
        self.assertEqual(pixel_catch._mean_return(lambda env, rng: pixel_catch.chase(env), seeds), 10.0)
        self.assertAlmostEqual(pixel_catch._mean_return(lambda env, rng: int(rng.integers(3)), seeds), -5.6, places=1)


if __name__ == "__main__":
    unittest.main()
