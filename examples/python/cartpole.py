"""CartPole-v1's dynamics in numpy, behind Gymnasium's env API: the pole on
a cart of Barto, Sutton and Anderson (1983) with Gymnasium's constants
(gravity 9.8, cart 1.0 kg, pole 0.1 kg and half-length 0.5 m, force 10 N,
Euler steps of 0.02 s; the episode ends past 12 degrees or 2.4 m, and is
truncated at 500 steps). Rill's C++ CartPole-v1 computes the same, so the
served and the built-in env learn alike.

    PYTHONPATH=python:examples/python python3 -m rill.env_server --factory=cartpole:make
"""

import math

import numpy as np

from spaces import Box, Discrete, Spec

GRAVITY = 9.8
CART_MASS = 1.0
POLE_MASS = 0.1
TOTAL_MASS = CART_MASS + POLE_MASS
HALF_LENGTH = 0.5
POLE_MASS_LENGTH = POLE_MASS * HALF_LENGTH
FORCE = 10.0
TAU = 0.02
THETA_LIMIT = 12 * 2 * math.pi / 360
X_LIMIT = 2.4


class CartPole:
    def __init__(self):
        high = np.array([X_LIMIT * 2, np.inf, THETA_LIMIT * 2, np.inf], dtype=np.float32)
        self.observation_space = Box(-high, high, (4,), np.float32)
        self.action_space = Discrete(2)
        self.spec = Spec(max_episode_steps=500)
        self.rng = np.random.default_rng()
        self.state = np.zeros(4)

    def reset(self, seed=None, options=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.state = self.rng.uniform(-0.05, 0.05, size=4)
        return self.state.astype(np.float32), {}

    def step(self, action):
        x, x_dot, theta, theta_dot = self.state
        force = FORCE if action == 1 else -FORCE
        cos, sin = math.cos(theta), math.sin(theta)
        temp = (force + POLE_MASS_LENGTH * theta_dot * theta_dot * sin) / TOTAL_MASS
        theta_acc = (GRAVITY * sin - cos * temp) / (HALF_LENGTH * (4.0 / 3.0 - POLE_MASS * cos * cos / TOTAL_MASS))
        x_acc = temp - POLE_MASS_LENGTH * theta_acc * cos / TOTAL_MASS
        x, x_dot = x + TAU * x_dot, x_dot + TAU * x_acc
        theta, theta_dot = theta + TAU * theta_dot, theta_dot + TAU * theta_acc
        self.state = np.array([x, x_dot, theta, theta_dot])
        terminated = bool(abs(x) > X_LIMIT or abs(theta) > THETA_LIMIT)
        return self.state.astype(np.float32), 1.0, terminated, False, {}


def make():
    return CartPole()
