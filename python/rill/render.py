"""Rendering a user's env for the env server (proto/env.proto's render
request): which envs draw, how they are made to, and the checks a frame
must pass before it goes on the wire.

Gymnasium's convention, found by duck typing (gymnasium itself is never
imported): an env draws an RGB frame when it was made with
render_mode="rgb_array", and its render() then returns a uint8 array of
shape [height, width, 3]. The server passes render_mode="rgb_array" to a
factory that takes a `render_mode` parameter, unless the factory's own
metadata["render_modes"] leaves "rgb_array" out. An env without a
`render_mode` attribute at all (not Gymnasium-style) renders when it has a
render() method. A Python env draws at its own size, from one camera,
"default".
"""

import inspect

import numpy as np

# The one camera a Python env draws from.
CAMERA = "default"

# The largest height or width of a frame: what the C++ side accepts
# (envs/render.h, kMaxRenderSize).
MAX_SIZE = 4096


class FrameError(ValueError):
    """What render() returned cannot be sent as an RGB frame."""


def make_kwargs(factory):
    """The keyword arguments that make `factory`'s env draw RGB frames:
    {"render_mode": "rgb_array"} when the factory takes a `render_mode`
    parameter and does not declare that it cannot, else {}."""
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):  # a builtin, or a callable without one
        return {}
    if "render_mode" not in parameters:
        return {}
    modes = _render_modes(factory)
    if modes is not None and "rgb_array" not in modes:
        return {}
    return {"render_mode": "rgb_array"}


def _render_modes(owner):
    """metadata["render_modes"] of an env or env class, or None where it
    declares none."""
    metadata = getattr(owner, "metadata", None)
    if not isinstance(metadata, dict):
        return None
    modes = metadata.get("render_modes")
    return list(modes) if isinstance(modes, (list, tuple, set)) else None


def cameras(env):
    """[CAMERA] when `env` draws RGB frames, else []."""
    if not callable(getattr(env, "render", None)):
        return []
    if not hasattr(env, "render_mode"):
        return [CAMERA]
    return [CAMERA] if getattr(env, "render_mode") == "rgb_array" else []


def frame(result):
    """render()'s `result` as a C-ordered uint8 [height, width, 3] array (an
    alpha channel dropped), or FrameError saying what it is instead."""
    if result is None:
        raise FrameError("render() returned None (an env made without render_mode=\"rgb_array\" draws nothing)")
    try:
        array = result if isinstance(result, np.ndarray) else np.asarray(result)
    except Exception as error:
        raise FrameError("render() returned %s, not an array: %s" % (type(result).__name__, error)) from None
    if array.dtype.kind not in "biuf":
        raise FrameError("render() returned %s of dtype %s, not an RGB array of uint8"
                         % (type(result).__name__, array.dtype))
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise FrameError("render() returned an array of shape %s; an RGB frame is [height, width, 3] "
                         "(or [height, width, 4] with alpha)" % (tuple(array.shape),))
    height, width = array.shape[:2]
    if not (1 <= height <= MAX_SIZE and 1 <= width <= MAX_SIZE):
        raise FrameError("render() returned a frame of %dx%d pixels (width x height); each must lie in 1..%d"
                         % (width, height, MAX_SIZE))
    if array.dtype != np.uint8:
        if array.dtype.kind == "f":
            raise FrameError("render() returned a frame of dtype %s%s; an RGB frame is uint8 (0..255)"
                             % (array.dtype, "" if np.isfinite(array).all() else " that holds NaN or infinity"))
        if array.dtype.kind == "b" or array.min() < 0 or array.max() > 255:
            raise FrameError("render() returned a frame of dtype %s%s; an RGB frame is uint8 (0..255)"
                             % (array.dtype, "" if array.dtype.kind == "b"
                                else " with values in %d..%d" % (array.min(), array.max())))
        array = array.astype(np.uint8)
    return np.ascontiguousarray(array[:, :, :3])


def answer(env, name, env_cameras, width, height, camera):
    """(frame, None) with `env`'s current state as a uint8 [height, width,
    3] array, or (None, why not) naming it as `name`: what a stream's render
    request gets, for single- and multi-agent envs alike. The env draws at
    its own size: `width` and `height` are only checked. Steps nothing."""
    if not env_cameras:
        return None, "%s cannot render" % name
    if camera not in ("", CAMERA):
        return None, "%s has no camera %r; its cameras: %s" % (name, camera, ", ".join(env_cameras))
    if not (1 <= width <= MAX_SIZE and 1 <= height <= MAX_SIZE):
        return None, ("a render of %dx%d pixels: width and height must lie in 1..%d"
                      % (width, height, MAX_SIZE))
    try:
        result = env.render()
    except Exception as error:
        return None, "%s: render() raised %s: %s" % (name, type(error).__name__, error)
    try:
        return frame(result), None
    except FrameError as error:
        return None, "%s: %s" % (name, error)
