"""Gymnasium-API spaces, found by duck typing, as rill.v1.Space messages,
and the checks an env's outputs must pass against them.

An observation space needs `shape` and `dtype` (float types travel as
float32, uint8 as uint8; `low`/`high` are optional). An action space is
Discrete-like (an integer `n`, no dimensions) or Box-like (`shape`, `low`,
`high`, finite, float32 on the wire). Anything else is refused with a
SpaceError naming the space and what it lacks; gymnasium itself is never
imported.

A Box follows one rule, for observations and actions alike (the actors
apply the same one to what a server announces and to a config's
env.remote spaces: envs/remote/spaces.h):
  - shape: any rank, every dimension >= 1. A scalar (shape ()) is served
    as it is, [N] tensors for N envs; the actors take it as one value,
    shape [1].
  - low and high: each ONE value, which every element takes, or one value
    per element (an array of the space's shape, or flat in row-major
    order). No NaN, low <= high, and an action's bounds finite. On the
    wire a bound whose elements are all equal travels as that one value.

A Dict-like observation space (a `spaces` mapping, Gymnasium's Dict) or a
Tuple-like one (a `spaces` sequence, Gymnasium's Tuple) of Boxes is
carried as proto/env.proto's DictSpace says (DictObservationSpace): one
row per observation, the image leaves (rank 3; several share height,
width and dtype) first in their dtype, then the other leaves' elements as
float32; a uint8 image makes the
row bytes. A leaf "action_mask" (a Discrete(n) action space's n elements)
goes last and is announced in EnvsOpened.action_mask (the actors read it
as EnvSpec.action_mask, envs/spec.h). A Dict of exactly "observation" (a
Box) and "action_mask" is served as before, as a flat Box of the
observation's elements then the mask's, in the observation's dtype
(MaskedObservationSpace).
"""

import collections.abc
import math
import numbers

import numpy as np

from rill._proto import env_pb2, tensor_pb2


_UINT8 = np.dtype(np.uint8)
_FLOAT32 = np.dtype(np.float32)


class SpaceError(ValueError):
    """A space the protocol cannot carry, or an env output that breaks it."""


# Up to this many elements a BLAS dot product is one short single-threaded
# pass (larger ones may be split over OpenBLAS threads).
_DOT_ELEMENTS = 8192


def all_finite(array):
    """Whether every element of a float array is finite, in one pass in C.

    A small array's sum of squares (a BLAS dot product, the cheapest numpy
    call here: ~0.4 us against ~1.3 us for a sum) is finite whenever every
    element is; when it is not (a NaN or infinity, or a square beyond
    float32's range) and for large arrays, the answer is the sum in float64,
    finite exactly when every float32 element is."""
    flat = array.reshape(-1)
    if flat.size <= _DOT_ELEMENTS and math.isfinite(flat.dot(flat)):
        return True
    return math.isfinite(flat.sum(dtype=np.float64))


def _shape_of(space, which):
    shape = getattr(space, "shape", None)
    if shape is None:
        raise SpaceError("%s %r has no shape" % (which, space))
    try:
        shape = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise SpaceError("%s shape %r is not a tuple of integers" % (which, shape)) from None
    if any(d <= 0 for d in shape):
        raise SpaceError("%s shape %s has a dimension < 1" % (which, shape))
    return shape


def _bound(value, shape, which):
    """`value` (a space's low or high) as a float32 array of `shape`: one
    value broadcast, or one value per element; SpaceError otherwise."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise SpaceError("%s is not a number or an array of numbers (%s)" % (which, error)) from None
    elements = math.prod(shape)
    if array.size == 1:
        return np.full(shape, array.reshape(()), np.float32)
    if array.size == elements and (array.shape == shape or array.ndim == 1):
        return array.reshape(shape).astype(np.float32)
    raise SpaceError("%s has shape %s for a space of shape %s: a box bound is one value for every element or "
                     "one value per element (%d)" % (which, array.shape, shape, elements))


def _bounds(space, shape, which, required):
    low, high = getattr(space, "low", None), getattr(space, "high", None)
    if low is None and high is None:
        if required:
            raise SpaceError("%s %r has no low/high bounds" % (which, space))
        return None, None
    if low is None or high is None:
        raise SpaceError("%s has %s but no %s: a box states both bounds or neither"
                         % (which, "high" if low is None else "low", "low" if low is None else "high"))
    low, high = _bound(low, shape, which + " low"), _bound(high, shape, which + " high")
    if np.isnan(low).any() or np.isnan(high).any():
        raise SpaceError("%s bounds hold NaN (low %s, high %s)" % (which, low.tolist(), high.tolist()))
    if required and not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
        raise SpaceError("%s bounds must be finite (low %s, high %s)" % (which, low.tolist(), high.tolist()))
    if np.any(low > high):
        raise SpaceError("%s has low > high" % which)
    return low, high


def _as_array(value, what):
    """`value` as a numpy array; SpaceError "<what> (<numpy's reason>)"
    for an object numpy cannot read."""
    if type(value) is np.ndarray:
        return value
    try:
        return np.asarray(value)
    except Exception as error:  # an object numpy cannot read
        raise SpaceError("%s (%s)" % (what, error)) from None


def _wire_bound(bound):
    """A bound's values on the wire: one when every element's is the same."""
    flat = bound.ravel()
    if flat.size > 1 and (flat == flat[0]).all():
        return [float(flat[0])]
    return flat.tolist()


_MASK_KEYS = ("observation", "action_mask")


def _dict_keys(space):
    """The keys of a Dict-like space (a `spaces` mapping), else None."""
    spaces = getattr(space, "spaces", None)
    if not isinstance(spaces, collections.abc.Mapping):
        return None
    return list(spaces)


def _leaves(space):
    """(name, leaf space) pairs of a Dict-like (keys) or Tuple-like
    (indices "0", "1", ...) space, and whether it is a Tuple; None for
    anything else."""
    spaces = getattr(space, "spaces", None)
    if isinstance(spaces, collections.abc.Mapping):
        return [(str(key), leaf) for key, leaf in spaces.items()], False
    if isinstance(spaces, (tuple, list)):
        return [(str(k), leaf) for k, leaf in enumerate(spaces)], True
    return None


class ObservationSpace:
    """The checked form of an env's observation space: a Box."""

    # Whether observations end in an action mask (MaskedObservationSpace).
    action_mask = False

    def __init__(self, space, name="observation_space", numbers=False):
        """name: how errors call the space; numbers: integer and bool
        dtypes are taken too, as float32 (a Dict's flat leaves)."""
        if _leaves(space) is not None:
            raise SpaceError("%s is a Dict or Tuple: a single-agent env's observation may be one, an agent's or a "
                             "state's is a Box" % name)
        self.shape = _shape_of(space, name)
        dtype = getattr(space, "dtype", None)
        try:
            dtype = np.dtype(dtype if dtype is not None else np.float32)
        except TypeError:
            raise SpaceError("%s dtype %r is not a numpy dtype" % (name, dtype)) from None
        if dtype == np.uint8:
            self.dtype = np.dtype(np.uint8)
        elif np.issubdtype(dtype, np.floating) or (numbers and dtype.kind in "biu"):
            self.dtype = np.dtype(np.float32)
        else:
            raise SpaceError("%s dtype %s: the protocol carries float32 and uint8 observations" % (name, dtype))
        self.low, self.high = _bounds(space, self.shape, name, required=False)
        # The (shape, dtype) of an observation the env returns that needs
        # no conversion: the batch takes such arrays as they are.
        self.env_layout = (self.shape, self.dtype)

    def message(self):
        box = env_pb2.BoxSpace(shape=self.shape, dtype=(tensor_pb2.DTYPE_UINT8 if self.dtype == np.uint8
                                                         else tensor_pb2.DTYPE_FLOAT32))
        if self.low is not None:
            box.low.extend(_wire_bound(self.low))
            box.high.extend(_wire_bound(self.high))
        return env_pb2.Space(box=box)

    def check(self, obs):
        """`obs` as an array of the space's shape and wire dtype; SpaceError
        naming what is wrong (shape, dtype, NaN or infinity)."""
        obs = _as_array(obs, "is not an array")
        if obs.shape != self.shape:
            raise SpaceError("has shape %s, the observation space says %s" % (obs.shape, self.shape))
        if self.dtype == _UINT8:
            if obs.dtype != _UINT8:
                raise SpaceError("has dtype %s, the observation space says uint8" % obs.dtype)
            return obs
        if obs.dtype != _FLOAT32:
            if obs.dtype.kind not in "fiub":
                raise SpaceError("has dtype %s, the observation space says float32" % obs.dtype)
            obs = obs.astype(np.float32)
        if not all_finite(obs):
            raise SpaceError("holds NaN or infinity")
        return obs


class MaskedObservationSpace(ObservationSpace):
    """A Dict of "observation" (a Box) and "action_mask" (n elements, n the
    Discrete action space's), served as one flat Box: the observation's
    elements in row-major order, then the mask's as 0 and 1, in the
    observation's wire dtype (proto/env.proto, EnvsOpened.action_mask)."""

    action_mask = True

    def __init__(self, space, action_space):
        """space: a Dict-like whose keys are exactly _MASK_KEYS;
        action_space: the env's ActionSpace."""
        leaf, mask = space.spaces["observation"], space.spaces["action_mask"]
        if not action_space.discrete:
            raise SpaceError('observation_space has an "action_mask", which needs a Discrete action space; '
                             "the action space is a Box of shape %s" % (action_space.shape,))
        if _dict_keys(leaf) is not None or getattr(leaf, "n", None) is not None:
            raise SpaceError('observation_space["observation"] %r is not a Box: an observation beside an action '
                             "mask is a Box of float or uint8" % (leaf,))
        self.leaf = ObservationSpace(leaf, 'observation_space["observation"]')
        self.n = action_space.n
        mask_elements = math.prod(_shape_of(mask, 'observation_space["action_mask"]'))
        if mask_elements != self.n:
            raise SpaceError('observation_space["action_mask"] has %d elements, the action space has %d actions'
                             % (mask_elements, self.n))
        self.leaf_size = math.prod(self.leaf.shape)
        self.shape = (self.leaf_size + self.n,)
        self.dtype = self.leaf.dtype
        self.low = self.high = None
        if self.leaf.low is not None:
            self.low = np.concatenate([self.leaf.low.ravel(), np.zeros(self.n, np.float32)])
            self.high = np.concatenate([self.leaf.high.ravel(), np.ones(self.n, np.float32)])
        # An env returns dicts, never arrays that could be taken as they are.
        self.env_layout = (None, None)

    def check(self, obs):
        """`obs`, a dict of "observation" and "action_mask", as the flat
        array the wire carries; SpaceError naming what is wrong (not such a
        dict; the observation's shape, dtype, NaN or infinity; a mask of
        another length, not numbers, or with an element other than 0 and
        1). A mask that allows nothing passes: whether it may is the
        batch's question (allows_nothing)."""
        if not isinstance(obs, collections.abc.Mapping):
            raise SpaceError('is %s, not a dict of "observation" and "action_mask"' % type(obs).__name__)
        if len(obs) != 2 or "observation" not in obs or "action_mask" not in obs:
            raise SpaceError('has keys %s, not "observation" and "action_mask"' % list(obs))
        try:
            leaf = self.leaf.check(obs["observation"])
        except SpaceError as error:
            raise SpaceError('"observation" %s' % error) from None
        mask = _as_array(obs["action_mask"], '"action_mask" is not an array')
        if mask.size != self.n:
            raise SpaceError('"action_mask" has %d elements, the action space has %d' % (mask.size, self.n))
        if mask.dtype.kind not in "biuf":
            raise SpaceError('"action_mask" has dtype %s, not numbers read as 0 or 1' % mask.dtype)
        mask = mask.reshape(-1)
        if mask.dtype.kind != "b":
            wrong = (mask != 0) & (mask != 1)
            if wrong.any():
                raise SpaceError('"action_mask" holds %r: each element is 1 (allowed) or 0 (forbidden)'
                                 % mask[wrong][0].item())
        flat = np.empty(self.shape, self.dtype)
        flat[:self.leaf_size] = leaf.reshape(-1)
        flat[self.leaf_size:] = mask
        return flat

    def allows_nothing(self, row):
        """Whether the mask at the end of `row` (a checked observation)
        forbids every action: wrong where the agent must act from it."""
        return not row[self.leaf_size:].any()


class DictObservationSpace:
    """A Dict or Tuple of Boxes, served as proto/env.proto's DictSpace
    says: each observation one row, the image leaves (rank 3; several share
    height, width and dtype, and a network runs a torso on each) first in
    their dtype, then the flat leaves' elements as float32, an
    "action_mask" leaf last. A uint8 image makes the rows bytes (`shape`
    (bytes,), dtype uint8), whose flat part is the float32s' bytes;
    otherwise the rows are float32 (`shape` (elements,))."""

    def __init__(self, space, action_space, name="observation_space"):
        leaves, self.tuple = _leaves(space)
        if not leaves:
            raise SpaceError("%s is a %s with no leaves" % (name, "Tuple" if self.tuple else "Dict"))
        checked = []
        for key, leaf in leaves:
            what = "%s[%s]" % (name, key if self.tuple else repr(key))
            discrete = getattr(leaf, "n", None) is not None and tuple(getattr(leaf, "shape", None) or ()) == ()
            if _leaves(leaf) is not None or discrete:
                raise SpaceError("%s %r is not a Box: Rill takes a Dict or Tuple of Boxes, not nested" % (what, leaf))
            flat = len(_shape_of(leaf, what)) < 3
            checked.append((key, ObservationSpace(leaf, what, numbers=flat)))
        images = [(key, leaf) for key, leaf in checked if len(leaf.shape) == 3]
        for key, leaf in images[1:]:
            first_key, first = images[0]
            if leaf.shape[1:] != first.shape[1:] or leaf.dtype != first.dtype:
                raise SpaceError("%s[%r] is an image %s %s beside %r, %s %s: image leaves share height, width and "
                                 "dtype (a row holds them as one image, a torso each); resize or convert one"
                                 % (name, key, leaf.dtype, leaf.shape, first_key, first.dtype, first.shape))
        for key, leaf in checked:
            if len(leaf.shape) > 3:
                raise SpaceError("%s[%r] has shape %s: a leaf is an image (C, H, W) or flat" % (name, key, leaf.shape))
        self.action_mask = any(key == "action_mask" for key, _ in checked) and not self.tuple
        if self.action_mask:
            if not action_space.discrete:
                raise SpaceError('%s has an "action_mask", which needs a Discrete action space; the action space '
                                 "is a Box of shape %s" % (name, action_space.shape))
            mask = dict(checked)["action_mask"]
            if math.prod(mask.shape) != action_space.n:
                raise SpaceError('%s["action_mask"] has %d elements, the action space has %d actions'
                                 % (name, math.prod(mask.shape), action_space.n))
        # The row's order: the image, the flat leaves as the env lists them,
        # the mask.
        order = ([kv for kv in checked if len(kv[1].shape) == 3]
                 + [kv for kv in checked if len(kv[1].shape) < 3 and kv[0] != "action_mask"]
                 + [kv for kv in checked if kv[0] == "action_mask"])
        self.leaves = order
        self.n = action_space.n if self.action_mask else 0
        image = images[0][1] if images else None
        self.packed = image is not None and image.dtype == _UINT8
        self.image_size = sum(math.prod(leaf.shape) for _, leaf in images)
        self.flat_size = sum(math.prod(leaf.shape) for key, leaf in order if len(leaf.shape) < 3)
        if self.packed:
            self.shape, self.dtype = (self.image_size + 4 * self.flat_size,), _UINT8
        else:
            self.shape, self.dtype = (self.image_size + self.flat_size,), _FLOAT32
        self.env_layout = (None, None)  # dicts, checked one by one

    def message(self):
        dict_space = env_pb2.DictSpace(tuple=self.tuple)
        for key, leaf in self.leaves:
            box = leaf.message().box
            if len(leaf.shape) < 3:
                box.dtype = tensor_pb2.DTYPE_FLOAT32  # flat leaves travel as float32
            dict_space.leaves.add(name="" if self.tuple else key, box=box)
        return env_pb2.Space(dict=dict_space)

    def check(self, obs):
        """`obs`, a dict (a tuple) of the space's leaves, as the row the
        wire carries; SpaceError naming the leaf and what is wrong with it
        (missing, extra, shape, dtype, NaN or infinity, a mask element
        other than 0 and 1)."""
        if self.tuple:
            if not isinstance(obs, (tuple, list)) or len(obs) != len(self.leaves):
                raise SpaceError("is %s, not a tuple of %d leaves" % (type(obs).__name__, len(self.leaves)))
            values = {str(k): value for k, value in enumerate(obs)}
        else:
            if not isinstance(obs, collections.abc.Mapping):
                raise SpaceError("is %s, not a dict of %s" % (type(obs).__name__, [k for k, _ in self.leaves]))
            if len(obs) != len(self.leaves) or any(key not in obs for key, _ in self.leaves):
                raise SpaceError("has keys %s, the observation space %s" % (list(obs), [k for k, _ in self.leaves]))
            values = obs
        row = np.empty(self.shape, self.dtype)
        floats = row[self.image_size:].view(np.float32) if self.packed else row[self.image_size:]
        at = 0
        pixels = 0
        for key, leaf in self.leaves:
            try:
                value = leaf.check(values[key])
            except SpaceError as error:
                raise SpaceError("leaf %r %s" % (key, error)) from None
            if len(leaf.shape) == 3:
                row[pixels:pixels + value.size] = value.reshape(-1)
                pixels += value.size
                continue
            flat = value.reshape(-1)
            if key == "action_mask" and self.action_mask and ((flat != 0) & (flat != 1)).any():
                raise SpaceError('leaf "action_mask" holds %r: each element is 1 (allowed) or 0 (forbidden)'
                                 % flat[(flat != 0) & (flat != 1)][0].item())
            floats[at:at + flat.size] = flat
            at += flat.size
        return row

    def allows_nothing(self, row):
        """Whether the mask at the end of `row` (a checked observation: a
        packed row ends in its float32s' bytes) forbids every action."""
        if self.packed:
            return not row[-4 * self.n:].view(np.float32).any()
        return not row[-self.n:].any()


def observation_space_of(space, action_space):
    """The checked form of a single-agent env's observation space, given its
    ActionSpace: a MaskedObservationSpace for a Dict of exactly
    "observation" and "action_mask", a DictObservationSpace for any other
    Dict or Tuple, else an ObservationSpace."""
    keys = _dict_keys(space)
    if keys is not None and sorted(keys) == sorted(_MASK_KEYS):
        return MaskedObservationSpace(space, action_space)
    if _leaves(space) is not None:
        return DictObservationSpace(space, action_space)
    return ObservationSpace(space)


class ActionSpace:
    """The checked form of an env's action space: discrete (n) or a box."""

    def __init__(self, space):
        n = getattr(space, "n", None)
        shape = getattr(space, "shape", None)
        if n is not None and (shape is None or tuple(shape) == ()):
            if isinstance(n, bool) or not isinstance(n, numbers.Integral) and not (
                    isinstance(n, np.integer)):
                raise SpaceError("action_space n %r is not an integer" % (n,))
            if int(n) < 2:
                raise SpaceError("action_space n %d: a discrete space needs at least 2 actions" % int(n))
            self.discrete, self.n, self.shape = True, int(n), ()
            self.start = int(getattr(space, "start", 0) or 0)
            return
        self.discrete, self.n = False, 0
        self.shape = _shape_of(space, "action_space")
        self.low, self.high = _bounds(space, self.shape, "action_space", required=True)

    def message(self):
        if self.discrete:
            return env_pb2.Space(discrete=env_pb2.DiscreteSpace(n=self.n))
        return env_pb2.Space(box=env_pb2.BoxSpace(shape=self.shape, dtype=tensor_pb2.DTYPE_FLOAT32,
                                                  low=_wire_bound(self.low), high=_wire_bound(self.high)))

    def wire_dtype(self):
        return np.dtype(np.int64) if self.discrete else np.dtype(np.float32)

