"""Envs for the env server's tests: spaces of several shapes and dtypes, and
envs that misbehave in each way the server must name (proto/env.proto)."""

import numpy as np


class Box:
    def __init__(self, low, high, shape, dtype):
        self.low, self.high, self.shape, self.dtype = low, high, tuple(shape), np.dtype(dtype)


class Discrete:
    def __init__(self, n):
        self.n, self.shape = n, ()


class Echo:
    """uint8 image observations [3, 8, 8]; a [2, 3] box action. Each step's
    observation is filled with round(10 * (sum of the action + 3)), so a
    test sees that the action arrived; episodes last 4 steps."""

    def __init__(self):
        self.observation_space = Box(0, 255, (3, 8, 8), np.uint8)
        self.action_space = Box(-1.0, 1.0, (2, 3), np.float32)
        self.t = 0

    def reset(self, seed=None, options=None):
        self.t = 0
        return np.full((3, 8, 8), (seed or 0) % 256, np.uint8), {}

    def step(self, action):
        assert action.shape == (2, 3), action.shape
        self.t += 1
        value = int(round(10 * (float(np.sum(action)) + 3)))
        return np.full((3, 8, 8), value, np.uint8), float(self.t), self.t >= 4, False, {}


class Counter:
    """A float observation [t, reset count]; Discrete(3); never ends by
    itself. The base of the misbehaving envs below."""

    fail_at = None  # the step (of the episode) where the env misbehaves

    def __init__(self):
        self.observation_space = Box(None, None, (2,), np.float32)
        self.action_space = Discrete(3)
        self.t = 0
        self.resets = 0

    def reset(self, seed=None, options=None):
        self.t = 0
        self.resets += 1
        return np.array([0, self.resets], np.float32), {}

    def good_step(self):
        return np.array([self.t, self.resets], np.float32), 1.0, False, False, {}

    def step(self, action):
        self.t += 1
        if self.t == self.fail_at:
            return self.misbehave()
        return self.good_step()


class RaisesInStep(Counter):
    fail_at = 3

    def misbehave(self):
        raise RuntimeError("the simulator diverged")


class WrongShape(Counter):
    fail_at = 2

    def misbehave(self):
        return np.zeros(5, np.float32), 1.0, False, False, {}


class NanObservation(Counter):
    fail_at = 2

    def misbehave(self):
        return np.array([np.nan, 0], np.float32), 1.0, False, False, {}


class StringReward(Counter):
    fail_at = 2

    def misbehave(self):
        return np.zeros(2, np.float32), "one", False, False, {}


class UintObservationForFloatSpace(Counter):
    """A uint8 space whose env returns floats at step 2: the wrong dtype."""

    fail_at = 2

    def __init__(self):
        super().__init__()
        self.observation_space = Box(0, 255, (2,), np.uint8)

    def good_step(self):
        return np.array([self.t, self.resets], np.uint8), 1.0, False, False, {}

    def reset(self, seed=None, options=None):
        super().reset(seed)
        return np.array([0, self.resets], np.uint8), {}

    def misbehave(self):
        return np.zeros(2, np.float32), 1.0, False, False, {}


class RaisesInReset(Counter):
    def reset(self, seed=None, options=None):
        raise ValueError("no scenario file")


class StringObservationSpace(Counter):
    def __init__(self):
        super().__init__()
        self.observation_space = Box(None, None, (2,), np.str_)


def echo():
    return Echo()


def counter():
    return Counter()


def raises_in_step():
    return RaisesInStep()


def wrong_shape():
    return WrongShape()


def nan_observation():
    return NanObservation()


def string_reward():
    return StringReward()


def wrong_dtype():
    return UintObservationForFloatSpace()


def raises_in_reset():
    return RaisesInReset()


def string_observation_space():
    return StringObservationSpace()


def factory_raises():
    raise OSError("license server unreachable")
