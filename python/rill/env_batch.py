"""N instances of one env stepped in lockstep, with the protocol's episode
and error rules (proto/env.proto): an instance whose episode ends is reset
in the same step and its final observation kept aside; an instance that
fails is named, reset and goes on; a render draws one instance and
touches nothing else. Row control ("Row control"): a step may name the
instances it steps (the others are not called, and nothing of them
changes) and may defer the resets of the episodes that end in it, leaving
those instances at their final state until reset_some resets them.
EnvBatch steps its instances in this process; ProcessEnvBatch spreads them
over worker processes, each holding a batch of a consecutive range of them
(an EnvBatch; a MultiAgentEnvBatch for multi_agent's
MultiAgentProcessBatch), with the answers of one batch in one process.
"""

import importlib
import logging
import math
import multiprocessing
import numbers
import operator
import traceback

import numpy as np

from rill import render
from rill.spaces import ActionSpace, SpaceError, all_finite, observation_space_of

log = logging.getLogger("rill.env_server")


class FactoryError(RuntimeError):
    """The env factory cannot be imported or called, or its env's spaces
    cannot be carried."""


def load_factory(spec):
    """The callable named by "MODULE:CALLABLE"."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise FactoryError("--factory %r is not MODULE:CALLABLE" % spec)
    try:
        module = importlib.import_module(module_name)
    except Exception as error:
        raise FactoryError("cannot import %s (from --factory %s): %s: %s"
                           % (module_name, spec, type(error).__name__, error)) from None
    factory = module
    for part in attribute.split("."):
        factory = getattr(factory, part, None)
        if factory is None:
            raise FactoryError("module %s has no %s (from --factory %s)" % (module_name, attribute, spec))
    if not callable(factory):
        raise FactoryError("%s is not callable (from --factory %s)" % (spec, spec))
    return factory


def make_env(factory, spec, **kwargs):
    try:
        return factory(**kwargs)
    except Exception as error:
        arguments = ", ".join("%s=%r" % item for item in kwargs.items())
        raise FactoryError("%s(%s) raised %s: %s" % (spec, arguments, type(error).__name__, error)) from None


def make_envs(factory, spec, count):
    """`count` envs of `factory`, made to draw RGB frames where it takes
    render_mode (rill.render.make_kwargs); a factory that raises with it is
    called without it, once told in the log, and its envs do not render."""
    kwargs = render.make_kwargs(factory)
    if kwargs:
        try:
            first = make_env(factory, spec, **kwargs)
        except FactoryError as error:
            log.warning("%s; making its envs without render_mode, so they do not render", error)
            kwargs = {}
        else:
            return [first] + [make_env(factory, spec, **kwargs) for _ in range(count - 1)]
    return [make_env(factory, spec) for _ in range(count)]


def env_time_limit(env, flag_limit):
    """--max_episode_steps when given, else the env's spec.max_episode_steps,
    else 0 (the env's own ending only)."""
    if flag_limit:
        return int(flag_limit)
    limit = getattr(getattr(env, "spec", None), "max_episode_steps", None)
    return int(limit) if isinstance(limit, numbers.Integral) and limit > 0 else 0


# Reward types taken without further checks (the common ones).
_REAL_TYPES = (float, int, np.float32, np.float64)
_REAL_TYPE_SET = frozenset(_REAL_TYPES)
# Calls its first argument with the rest (map(_call, functions, arguments)).
_call = operator.call
# What a batch whose every instance behaved is made of (EnvBatch._finish_batch).
_TUPLE, _FIVE, _NDARRAY, _BOOL = {tuple}, {5}, {np.ndarray}, {bool}
# The error of an instance stepped while it waits, ended, for its reset.
STEPPED_AFTER_END = "stepped after its episode ended, before a reset request"
# The error of an action mask that allows nothing where the agent must act
# (a reset's observation, or a step's that did not end the episode; a final
# observation may allow nothing).
ALLOWS_NOTHING = '%s observation "action_mask" allows no action, and the agent must act from it'


class _Raised:
    """What an env's step raised, kept for the per-instance checks."""

    __slots__ = ("error",)

    def __init__(self, error):
        self.error = error


# An array's (shape, dtype).
_layout = operator.attrgetter("shape", "dtype")


def _env_index(error):
    return error[0]


def _describe(error):
    return "%s: %s" % (type(error).__name__, error)


class StreamEnvs:
    """What the env batches of one stream (EnvBatch, multi_agent's
    MultiAgentEnvBatch) share: their instances `envs`, the stream index of
    the first (`first`), the factory they came from and its cameras."""

    def render(self, index, width, height, camera):
        """(frame, None) with instance `index`'s (of the stream) current
        state as a uint8 [height, width, 3] array, or (None, why not) naming
        the instance. The env draws at its own size: `width` and `height`
        are only checked. Steps nothing."""
        return render.answer(self.envs[index - self.first], "env %d (%s)" % (index, self.factory_spec),
                             self.cameras, width, height, camera)

    def close(self):
        """Closes every instance that has a close(); its errors are ignored."""
        for env in self.envs:
            close = getattr(env, "close", None)
            if callable(close):
                try:
                    close()
                except Exception:
                    pass


class EnvBatch(StreamEnvs):
    """Instances [first, first + count) of the stream's N, in this process."""

    def __init__(self, factory_spec, count, first=0, max_episode_steps=0, envs=None):
        """envs: the instances, already made (open_batch's); else made here."""
        self.factory_spec = factory_spec
        self.envs = envs if envs is not None else make_envs(load_factory(factory_spec), factory_spec, count)
        self.first = first
        # The cameras announced at open: the first instance's (all are made
        # alike).
        self.cameras = render.cameras(self.envs[0])
        try:
            self.action_space = ActionSpace(getattr(self.envs[0], "action_space", None))
            self.observation_space = observation_space_of(getattr(self.envs[0], "observation_space", None),
                                                          self.action_space)
        except SpaceError as error:
            raise FactoryError("%s makes an env whose %s" % (factory_spec, error)) from None
        self.max_episode_steps = env_time_limit(self.envs[0], max_episode_steps)
        # Each instance's steps in its episode (numpy: a step adds one to all).
        self.steps = np.zeros(count, np.int64)
        # Bound once: the first pass of a step calls nothing else.
        self.step_fns = [env.step for env in self.envs]
        self.failed = [False] * count
        # The instances (indices in this batch) whose episode ended in a step
        # that deferred resets: each waits at its final state for
        # reset_some; stepping it before fails it.
        self.ended = set()
        space = self.observation_space
        # Each instance's current observation, one row each, in the wire's
        # dtype (zeros while its reset fails).
        self.zeros = np.zeros(space.shape, space.dtype)
        self.current = np.zeros((count,) + space.shape, space.dtype)
        self.no_finals = np.zeros((0,) + space.shape, space.dtype)
        # The (shape, dtype) every observation of a well-behaved step has
        # ((None, None) for dicts with an action mask, which no array has:
        # they are checked one by one).
        self.obs_layout = {space.env_layout}
        # Observations that end in an action mask: one that allows no
        # action is an error where the agent must act from it.
        self.masked = space.action_mask
        # Steps until the instance furthest into its episode reaches the
        # time limit (_finish_batch checks the limit only then).
        self.steps_to_limit = self.max_episode_steps
        # Float observations must be finite: a step's rows are checked
        # together, in one pass over the batch (EnvBatch.step).
        self.check_finite = space.dtype != np.uint8

    # One instance's reset: its first observation, or zeros and an error.
    def _reset(self, i, seed, errors):
        self.steps[i] = 0
        try:
            result = self.envs[i].reset(seed=seed) if seed is not None else self.envs[i].reset()
            obs = result[0] if isinstance(result, tuple) else result
        except Exception as error:
            errors.append((self.first + i, "reset", "reset raised " + _describe(error)))
            self.current[i] = self.zeros
            return False
        try:
            self.current[i] = self.observation_space.check(obs)
        except SpaceError as error:
            errors.append((self.first + i, "observation", "reset's observation " + str(error)))
            self.current[i] = self.zeros
            return False
        if self.masked and self.observation_space.allows_nothing(self.current[i]):
            errors.append((self.first + i, "observation", ALLOWS_NOTHING % "reset's"))
            self.current[i] = self.zeros
            return False
        return True

    def reset_all(self, seeds):
        """Resets instance i with seeds[i]: (observations, errors)."""
        errors = []
        self.ended.clear()
        for i, seed in enumerate(seeds):
            self.failed[i] = not self._reset(i, int(seed), errors)
        return self.current.copy(), errors

    def reset_some(self, indices):
        """Resets the instances `indices` (relative to the stream, ascending,
        each once) without a seed, their random streams going on, whether
        or not their episode ended: (their first observations
        [len(indices), ...], errors). One whose reset fails has a row of
        zeros, and its next step retries the reset."""
        errors = []
        rows = [index - self.first for index in indices]
        for i in rows:
            self.ended.discard(i)
            self.failed[i] = not self._reset(i, None, errors)
        return self.current[rows], errors

    def step(self, actions, step_mask=None, defer_resets=False):
        """Steps every instance with its row of `actions` (an array, or for
        a discrete space also a list of ints): (observations, rewards,
        terminated, truncated, final_indices, final_observations, errors),
        indices relative to the stream.

        step_mask: None, or [count] bools, the instances to step. An
        unmarked instance is not called and nothing of it changes (a failed
        reset is not retried, its action not looked at); its row is its
        current observation, reward 0 and both flags false, and it is in
        neither final_indices nor errors. defer_resets: an instance whose
        episode ends is not reset; its row is the observation it ended on
        (in final_observations too) and it waits in `ended` for reset_some.
        Stepping it before fails it (field "step"): it is reset, as any
        failure is.

        Two passes. The first calls every instance's step and keeps what it
        returned (or raised); nothing else happens per instance. The second
        checks the batch at once: when every instance returned a 5-tuple of
        an array of the space's shape and dtype, a real reward and two
        bools, and every observation is finite, the outputs are stacked and
        their episode ends handled with numpy (_finish_batch). Anything else
        (an instance that failed before, an action outside the space, one
        misbehaving env) sends the whole step through the per-instance
        checks (_finish_each), which name each offender exactly as if every
        instance had been checked on its own. A step with a mask or deferred
        resets, or while an instance waits for its reset, takes the
        per-instance checks from the start; so does every step of an env
        whose observations are dicts with an action mask (rill.spaces'
        MaskedObservationSpace flattens each), whose mask must also allow
        some action wherever the episode goes on."""
        space = self.action_space
        count = len(self.envs)
        if space.discrete:
            # Python ints: cheaper to check and pass than numpy scalars.
            if type(actions) is not list:
                actions = actions.tolist()
            in_space = min(actions) >= 0 and max(actions) < space.n
            # What the envs are given: the space's own numbering.
            env_actions = [action + space.start for action in actions] if space.start else actions
        else:
            in_space = True
            if space.shape:
                # One writable copy; each instance gets its own row of it.
                env_actions = list(np.array(actions, dtype=np.float32))
            else:
                env_actions = [np.array(action, dtype=np.float32) for action in actions]
        step_fns = self.step_fns
        if in_space and step_mask is None and not defer_resets and not self.ended and not any(self.failed):
            # Every instance's step, called from C (map): a step that raises
            # stops extend() after the results before it; the map goes on
            # with the next instance.
            results = []
            stepping = map(_call, step_fns, env_actions)
            while True:
                try:
                    results.extend(stepping)
                    break
                except Exception as error:
                    results.append(_Raised(error))
            finished = self._finish_batch(results)
            if finished is not None:
                return finished
        else:
            if step_mask is not None and type(step_mask) is not list:
                step_mask = step_mask.tolist()
            results = [None] * count
            n = space.n
            for i in range(count):
                if ((step_mask is not None and not step_mask[i]) or self.failed[i] or i in self.ended
                        or (space.discrete and not 0 <= actions[i] < n)):
                    continue  # _finish_each answers for it; its env is not stepped
                try:
                    results[i] = step_fns[i](env_actions[i])
                except Exception as error:
                    results[i] = _Raised(error)
        return self._finish_each(actions, results, step_mask, defer_resets)

    def _finish_batch(self, results):
        """The step's outputs when every instance behaved (see step), else
        None, having changed nothing."""
        if set(map(type, results)) != _TUPLE or set(map(len, results)) != _FIVE:
            return None
        observations, rewards, terminated, truncated, _ = zip(*results)
        space = self.observation_space
        if (set(map(type, observations)) != _NDARRAY or not set(map(type, rewards)) <= _REAL_TYPE_SET
                or set(map(type, terminated)) != _BOOL or set(map(type, truncated)) != _BOOL
                or set(map(_layout, observations)) != self.obs_layout):
            return None
        try:
            # Every observation has the space's shape and dtype: their bytes
            # side by side are the batch (a quarter of np.array's time; a
            # strided array has no such bytes and goes the long way).
            batch = np.frombuffer(b"".join(observations), space.dtype).reshape(self.current.shape)
            rewards = np.array(rewards, np.float64)
        except (TypeError, ValueError, OverflowError):  # a strided observation; an int beyond float64
            return None
        if not all_finite(rewards) or (self.check_finite and not all_finite(batch)):
            return None
        terminated = np.frombuffer(bytes(terminated), np.bool_)
        truncated = np.frombuffer(bytes(truncated), np.bool_)
        steps = self.steps
        steps += 1
        if self.max_episode_steps:
            # No instance is nearer its time limit than the one furthest into
            # its episode: the check waits until that one could reach it.
            self.steps_to_limit -= 1
            if self.steps_to_limit <= 0:
                truncated = truncated | ((steps >= self.max_episode_steps) & ~terminated)
        self.current[...] = batch
        final_indices, errors = [], []
        ended = np.flatnonzero(terminated | truncated).tolist()
        for i in ended:
            final_indices.append(self.first + i)
            self.failed[i] = not self._reset(i, None, errors)
        final = batch[ended] if ended else self.no_finals
        if self.max_episode_steps and self.steps_to_limit <= 0:
            self.steps_to_limit = self.max_episode_steps - int(steps.max())
        return (self.current.copy(), rewards.astype(np.float32), terminated, truncated, final_indices, final, errors)

    def _finish_each(self, actions, results, step_mask=None, defer_resets=False):
        """The step's outputs from `results` (what each instance's step
        returned or raised; None where it was not stepped), every instance
        checked on its own; step_mask (a list, or None) and defer_resets as
        step takes them."""
        count = len(self.envs)
        rewards = [0.0] * count
        terminated = [False] * count
        truncated = [False] * count
        final_indices, final_observations, errors = [], [], []
        space = self.action_space
        discrete, n = space.discrete, space.n
        limit = self.max_episode_steps
        current, steps, failed, first, ended = self.current, self.steps, self.failed, self.first, self.ended
        obs_shape, obs_dtype = self.observation_space.env_layout
        check_finite, masked = self.check_finite, self.masked
        ndarray, real_types, isfinite = np.ndarray, _REAL_TYPE_SET, math.isfinite
        for i in range(count):
            if step_mask is not None and not step_mask[i]:
                continue  # not stepped: its row as it was, reward 0, flags false
            if failed[i]:
                # Its last reset failed: retry it; this step is its error row.
                failed[i] = not self._reset(i, None, errors)
                truncated[i] = True
                continue
            if ended and i in ended:
                ended.discard(i)
                errors.append((first + i, "step", STEPPED_AFTER_END))
                truncated[i] = True
                failed[i] = not self._reset(i, None, errors)
                continue
            if discrete and not 0 <= actions[i] < n:
                errors.append((first + i, "action", "action %d is outside Discrete(%d)" % (actions[i], n)))
                truncated[i] = True
                failed[i] = not self._reset(i, None, errors)
                continue
            result = results[i]
            if type(result) is _Raised:
                field, message = "step", "step raised " + _describe(result.error)
            elif type(result) is not tuple or len(result) != 5:
                field, message = "step", ("step returned %s, not (obs, reward, terminated, truncated, info)"
                                          % (type(result).__name__ if not isinstance(result, tuple)
                                             else "a tuple of %d" % len(result)))
            else:
                obs, reward, term, trunc, _ = result
                if (type(obs) is ndarray and obs.dtype is obs_dtype and obs.shape == obs_shape
                        and type(reward) in real_types and isfinite(reward)
                        and (term is False or term is True) and (trunc is False or trunc is True)):
                    # The common case: every check but finiteness passed.
                    field = None
                    finite_unknown = check_finite
                else:
                    field, message, obs = self._check_step(obs, reward, term, trunc)
                    finite_unknown = False
                    if field is None:  # numpy bools
                        term, trunc = bool(term), bool(trunc)
            if field is not None:
                errors.append((first + i, field, message))
                truncated[i] = True
                failed[i] = not self._reset(i, None, errors)
                continue
            steps[i] += 1
            if not (term or trunc) and limit and steps[i] >= limit:
                trunc = True
            if term or trunc:
                if finite_unknown and not all_finite(obs):
                    errors.append((first + i, "observation", "step's observation holds NaN or infinity"))
                    truncated[i] = True
                    failed[i] = not self._reset(i, None, errors)
                    continue
                rewards[i] = reward
                terminated[i] = term
                truncated[i] = trunc
                final_indices.append(first + i)
                # A copy: an env may reuse its observation's array in reset.
                final_observations.append(obs.copy())
                if defer_resets:
                    current[i] = obs  # its row until reset_some resets it
                    ended.add(i)
                else:
                    failed[i] = not self._reset(i, None, errors)
            elif masked and self.observation_space.allows_nothing(obs):
                errors.append((first + i, "observation", ALLOWS_NOTHING % "step's"))
                truncated[i] = True
                failed[i] = not self._reset(i, None, errors)
            else:
                rewards[i] = reward
                current[i] = obs
        if check_finite and not all_finite(current):
            # Rare: name and reset each instance whose observation is not
            # finite, as the per-instance check would have (only instances
            # that went on can be among them: the others' rows are checked).
            for i in np.flatnonzero(~np.isfinite(current.reshape(count, -1)).all(axis=1)).tolist():
                errors.append((first + i, "observation", "step's observation holds NaN or infinity"))
                rewards[i] = 0.0
                truncated[i] = True
                failed[i] = not self._reset(i, None, errors)
            errors.sort(key=_env_index)  # in instance order, as if checked one by one
        if limit:
            self.steps_to_limit = limit - int(steps.max())
        final = np.stack(final_observations) if final_observations else self.no_finals
        # bytes() of a list of bools is its bool array's bytes, made faster
        # than np.array makes the array.
        return (current.copy(), np.array(rewards, np.float32), np.frombuffer(bytes(terminated), np.bool_),
                np.frombuffer(bytes(truncated), np.bool_), final_indices, final, errors)

    def _check_step(self, obs, reward, term, trunc):
        """(None, None, the observation as the wire carries it), or the
        field that is wrong and why."""
        try:
            obs = self.observation_space.check(obs)
        except SpaceError as error:
            return "observation", "step's observation " + str(error), None
        if type(reward) not in _REAL_TYPES and (isinstance(reward, (bool, np.bool_)) or not isinstance(
                reward, (numbers.Real, np.number)) or np.ndim(reward) != 0):
            return "reward", "reward %r is not a number" % (reward,), None
        if not math.isfinite(reward):
            return "reward", "reward is %s" % float(reward), None
        for name, flag in (("terminated", term), ("truncated", trunc)):
            if type(flag) is not bool and not isinstance(flag, np.bool_):
                return name, "%s %r is not a bool" % (name, flag), None
        return None, None, obs



def _worker(connection, open_batch, factory_spec, count, first, max_episode_steps):
    """A worker process: open_batch(factory_spec, count, first,
    max_episode_steps), driven over `connection`. Each message names one
    of the batch's methods and its arguments; the answer is what it
    returns. "close" ends the worker."""
    try:
        batch = open_batch(factory_spec, count, first, max_episode_steps)
    except Exception as error:
        connection.send(("error", str(error) if isinstance(error, FactoryError) else traceback.format_exc()))
        return
    connection.send(("ready", None))
    while True:
        try:
            method, arguments = connection.recv()
        except EOFError:
            break
        if method == "close":
            break
        connection.send(getattr(batch, method)(*arguments))
    batch.close()


def _join(answers):
    """One answer from the workers' answers to one call (in worker order,
    so in instance order): each array field concatenated along its rows,
    each list field (final_indices, errors) joined."""
    return tuple([item for part in parts for item in part] if type(parts[0]) is list else np.concatenate(parts)
                 for parts in zip(*answers))


class ProcessEnvBatch:
    """The stream's N instances spread over `processes` worker processes
    (spawned, so the server's gRPC threads are not forked) and stepped in
    parallel, each worker holding a batch of a consecutive range of them,
    made by `open_batch` (an EnvBatch; multi_agent's MultiAgentProcessBatch
    has them make MultiAgentEnvBatches). It has that batch's interface,
    the workers' answers joined in instance order: what one batch of all N
    answers in one process."""

    def __init__(self, factory_spec, count, processes, max_episode_steps=0, open_batch=EnvBatch):
        """open_batch(factory_spec, count, first, max_episode_steps): a
        batch of instances [first, first + count), in the process that
        calls it; a FactoryError names why it cannot be made."""
        context = multiprocessing.get_context("spawn")
        processes = max(1, min(processes, count))
        sizes = [count // processes + (1 if k < count % processes else 0) for k in range(processes)]
        self.workers = []
        first = 0
        try:
            for size in sizes:
                parent, child = context.Pipe()
                process = context.Process(target=_worker, args=(child, open_batch, factory_spec, size, first,
                                                                max_episode_steps), daemon=True)
                process.start()
                child.close()
                self.workers.append((process, parent, first, size))
                first += size
            for _, connection, _, _ in self.workers:
                status, detail = connection.recv()
                if status != "ready":
                    raise FactoryError(detail)
            # The spaces, from an instance made here (cheap, and the same
            # factory).
            probe = open_batch(factory_spec, 1, 0, max_episode_steps)
            try:
                self._describe(probe)
            finally:
                probe.close()
        except Exception:
            self.close()
            raise

    def _describe(self, probe):
        """Takes what the stream announces (its spaces, time limit and
        cameras) from `probe`, a batch of one instance."""
        self.observation_space, self.action_space = probe.observation_space, probe.action_space
        self.max_episode_steps = probe.max_episode_steps
        self.cameras = probe.cameras
        self.no_rows = probe.no_finals  # reset_some's observations of no instance

    def _gather(self, method, split):
        """Calls `method` of each worker's batch with its part of `split`
        (a tuple of arguments), then takes their answers, in worker order;
        a worker whose part is None is not asked. RuntimeError when a
        worker died."""
        asked = []
        for worker, arguments in zip(self.workers, split):
            if arguments is not None:
                worker[1].send((method, arguments))
                asked.append(worker)
        results = []
        for process, connection, _, _ in asked:
            try:
                results.append(connection.recv())
            except EOFError:
                raise RuntimeError("env worker process %d died (exit code %s)"
                                   % (process.pid, process.exitcode)) from None
        return results

    def reset_all(self, seeds):
        """The batch's reset_all, each worker resetting its instances with
        their seeds."""
        return _join(self._gather("reset_all", [(seeds[first:first + size],) for _, _, first, size in self.workers]))

    def reset_some(self, indices):
        """EnvBatch.reset_some, by the workers that hold `indices`
        (ascending: the workers hold consecutive ranges, so their answers
        follow one another in the request's order)."""
        parts = [[index for index in indices if first <= index < first + size] for _, _, first, size in self.workers]
        results = self._gather("reset_some", [(part,) if part else None for part in parts])
        if not results:
            return self.no_rows, []
        return _join(results)

    def step(self, actions, step_mask=None, defer_resets=False):
        """The batch's step, each worker stepping its rows (and its part of
        step_mask)."""
        if step_mask is None and not defer_resets:
            split = [(actions[first:first + size],) for _, _, first, size in self.workers]
        else:
            split = [(actions[first:first + size], None if step_mask is None else step_mask[first:first + size],
                      defer_resets) for _, _, first, size in self.workers]
        return _join(self._gather("step", split))

    def render(self, index, width, height, camera):
        """The batch's render, by the worker that holds instance `index`."""
        for worker in self.workers:
            first, size = worker[2], worker[3]
            if first <= index < first + size:
                split = [(index, width, height, camera) if w is worker else None for w in self.workers]
                return self._gather("render", split)[0]
        raise IndexError(index)

    def close(self):
        for process, connection, _, _ in self.workers:
            try:
                connection.send(("close", ()))
            except (OSError, ValueError):
                pass
            connection.close()
        for process, _, _, _ in self.workers:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()
