"""Catch in pixels, behind Gymnasium's env API: the smallest image task, for
trying Rill's uint8 observations end to end.

The screen is 10 rows by 5 columns, one channel: a uint8 image
[1, 10, 5] where the ball and the paddle are 255 and the rest 0 (the
networks see it as x / 255). A ball appears in the top row at a random
column and falls one row per step; the paddle, in the bottom row, moves
one column left, stays or moves right (Discrete(3), clamped at the
walls). When the ball reaches the bottom row the step pays +1 if the paddle
is under it, else -1, and the next ball appears in the top row. These are
the rules of bsuite's Catch (Osband et al. 2020), here with 10 balls per
episode, so an episode lasts 90 steps and its return lies in -10..10.

Mean returns over the 100 episodes of seeds 1000..1099
(`python3 examples/python/pixel_catch.py` measures them):
    random actions                                               -5.6
    chasing the ball (move towards its column)                   10.0

    PYTHONPATH=python:examples/python python3 -m rill.env_server --factory=pixel_catch:make
"""

import numpy as np

from spaces import Box, Discrete, Spec

ROWS = 10
COLUMNS = 5
BALLS = 10
ON = 255


class PixelCatch:
    def __init__(self):
        self.observation_space = Box(0, ON, (1, ROWS, COLUMNS), np.uint8)
        self.action_space = Discrete(3)
        self.spec = Spec(BALLS * (ROWS - 1))
        self._rng = np.random.default_rng()
        self._screen = np.zeros((1, ROWS, COLUMNS), np.uint8)

    def reset(self, seed=None, options=None):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.paddle = int(self._rng.integers(COLUMNS))
        self.balls_left = BALLS
        self._drop()
        return self._draw(), {}

    def _drop(self):
        self.ball_row = 0
        self.ball_column = int(self._rng.integers(COLUMNS))
        self.balls_left -= 1

    def step(self, action):
        action = int(action)
        if not 0 <= action < 3:
            raise ValueError("action %d is not 0 (left), 1 (stay) or 2 (right)" % action)
        self.paddle = min(max(self.paddle + action - 1, 0), COLUMNS - 1)
        self.ball_row += 1
        reward = 0.0
        terminated = False
        if self.ball_row == ROWS - 1:
            reward = 1.0 if self.ball_column == self.paddle else -1.0
            if self.balls_left == 0:
                terminated = True
            else:
                self._drop()
        return self._draw(), reward, terminated, False, {}

    def _draw(self):
        self._screen.fill(0)
        self._screen[0, self.ball_row, self.ball_column] = ON
        self._screen[0, ROWS - 1, self.paddle] = ON
        return self._screen.copy()


def make():
    return PixelCatch()


def chase(env):
    """The action that moves the paddle towards the ball's column."""
    return 1 + int(np.sign(env.ball_column - env.paddle))


def _mean_return(policy, seeds):
    total = 0.0
    for seed in seeds:
        env = make()
        env.reset(seed=seed)
        rng = np.random.default_rng(seed)
        done = False
        while not done:
            _, reward, done, _, _ = env.step(policy(env, rng))
            total += reward
    return total / len(seeds)


if __name__ == "__main__":
    seeds = range(1000, 1100)
    print("random actions     %6.1f" % _mean_return(lambda env, rng: int(rng.integers(3)), seeds))
    print("chasing the ball   %6.1f" % _mean_return(lambda env, rng: chase(env), seeds))
