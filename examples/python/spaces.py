"""The spaces the examples need, with the attributes Gymnasium's Box,
Discrete, MultiBinary and Dict have (Rill finds them by duck typing;
gymnasium's own classes work the same)."""

import numpy as np


class Box:
    def __init__(self, low, high, shape, dtype):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.low = np.broadcast_to(np.asarray(low, dtype=self.dtype), self.shape)
        self.high = np.broadcast_to(np.asarray(high, dtype=self.dtype), self.shape)


class Discrete:
    def __init__(self, n):
        self.n = n
        self.shape = ()
        self.dtype = np.dtype(np.int64)


class MultiBinary:
    def __init__(self, n):
        self.n = n
        self.shape = (n,)
        self.dtype = np.dtype(np.int8)


class Dict:
    def __init__(self, spaces):
        self.spaces = dict(spaces)


class Spec:
    def __init__(self, max_episode_steps):
        self.max_episode_steps = max_episode_steps
