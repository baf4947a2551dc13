"""EnvBatch (python/rill/env_batch.py) against the per-instance reference it
must match: the same envs, seeds and actions give the same observations,
rewards, flags, final observations and errors, in the same order, however
the instances misbehave (tests/python/test_envs.py: Chaos). EnvBatch checks
observations in one pass over the batch and falls back to per-instance
checks; the reference checks every instance on its own, as the server did
before."""

import math
import numbers
import os
import sys
import unittest
from unittest import mock

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
for path in (os.path.join(ROOT, "python"), os.path.join(ROOT, "examples", "python"), HERE):
    if path not in sys.path:
        sys.path.insert(0, path)

from rill.env_batch import EnvBatch, ProcessEnvBatch, load_factory  # noqa: E402
from rill.spaces import ActionSpace, ObservationSpace, SpaceError  # noqa: E402


def reference_check(space, obs):
    """ObservationSpace.check, one instance at a time."""
    if type(obs) is not np.ndarray:
        obs = np.asarray(obs)
    if obs.shape != space.shape:
        raise SpaceError("has shape %s, the observation space says %s" % (obs.shape, space.shape))
    if space.dtype == np.uint8:
        if obs.dtype != np.uint8:
            raise SpaceError("has dtype %s, the observation space says uint8" % obs.dtype)
        return obs
    if obs.dtype != np.float32:
        if obs.dtype.kind not in "fiub":
            raise SpaceError("has dtype %s, the observation space says float32" % obs.dtype)
        obs = obs.astype(np.float32)
    if not math.isfinite(obs.sum(dtype=np.float64)):
        raise SpaceError("holds NaN or infinity")
    return obs


class ReferenceBatch:
    """The server's EnvBatch as it was: every instance's outputs checked on
    their own, in instance order; with row control (proto/env.proto, "Row
    control") written the same way."""

    def __init__(self, factory_spec, count, first=0, max_episode_steps=0):
        factory = load_factory(factory_spec)
        self.envs = [factory() for _ in range(count)]
        self.first = first
        self.observation_space = ObservationSpace(self.envs[0].observation_space)
        self.action_space = ActionSpace(self.envs[0].action_space)
        self.max_episode_steps = max_episode_steps
        self.steps = [0] * count
        self.failed = [False] * count
        self.ended = [False] * count  # waiting, at the end of an episode, for reset_some
        self.zeros = np.zeros(self.observation_space.shape, self.observation_space.dtype)
        self.rows = [self.zeros] * count

    def _reset(self, i, seed, errors):
        self.steps[i] = 0
        try:
            result = self.envs[i].reset(seed=seed) if seed is not None else self.envs[i].reset()
            obs = result[0] if isinstance(result, tuple) else result
        except Exception as error:
            errors.append((self.first + i, "reset", "reset raised %s: %s" % (type(error).__name__, error)))
            self.rows[i] = self.zeros
            return False
        try:
            self.rows[i] = reference_check(self.observation_space, obs)
        except SpaceError as error:
            errors.append((self.first + i, "observation", "reset's observation " + str(error)))
            self.rows[i] = self.zeros
            return False
        return True

    def reset_all(self, seeds):
        errors = []
        for i, seed in enumerate(seeds):
            self.failed[i] = not self._reset(i, int(seed), errors)
        return np.stack(self.rows), errors

    def reset_some(self, indices):
        errors = []
        for index in indices:
            i = index - self.first
            self.ended[i] = False
            self.failed[i] = not self._reset(i, None, errors)
        rows = [self.rows[index - self.first] for index in indices]
        return (np.stack(rows) if rows else np.zeros((0,) + self.observation_space.shape,
                                                     self.observation_space.dtype)), errors

    def step(self, actions, step_mask=None, defer_resets=False):
        count = len(self.envs)
        rewards, terminated, truncated = [0.0] * count, [False] * count, [False] * count
        final_indices, final_observations, errors = [], [], []
        space = self.action_space
        for i in range(count):
            if step_mask is not None and not step_mask[i]:
                continue
            if self.failed[i]:
                self.failed[i] = not self._reset(i, None, errors)
                truncated[i] = True
                continue
            if self.ended[i]:
                self.ended[i] = False
                errors.append((self.first + i, "step", "stepped after its episode ended, before a reset request"))
                truncated[i] = True
                self.failed[i] = not self._reset(i, None, errors)
                continue
            action = actions[i]
            if space.discrete:
                action = int(action)
                if not 0 <= action < space.n:
                    errors.append((self.first + i, "action", "action %d is outside Discrete(%d)" % (action, space.n)))
                    truncated[i] = True
                    self.failed[i] = not self._reset(i, None, errors)
                    continue
                action += space.start
            else:
                action = np.array(action, dtype=np.float32)
            try:
                result = self.envs[i].step(action)
                if type(result) is not tuple or len(result) != 5:
                    raise SpaceError("step returned %s, not (obs, reward, terminated, truncated, info)"
                                     % (type(result).__name__ if not isinstance(result, tuple)
                                        else "a tuple of %d" % len(result)))
                obs, reward, term, trunc, _ = result
            except SpaceError as error:
                field, message = "step", str(error)
            except Exception as error:
                field, message = "step", "step raised %s: %s" % (type(error).__name__, error)
            else:
                field, message, obs = self._check_step(obs, reward, term, trunc)
            if field is not None:
                errors.append((self.first + i, field, message))
                truncated[i] = True
                self.failed[i] = not self._reset(i, None, errors)
                continue
            rewards[i] = reward
            self.steps[i] += 1
            term = bool(term)
            trunc = bool(trunc) or (not term and self.max_episode_steps > 0
                                    and self.steps[i] >= self.max_episode_steps)
            terminated[i], truncated[i] = term, trunc
            if term or trunc:
                final_indices.append(self.first + i)
                final_observations.append(obs)
                if defer_resets:
                    self.rows[i] = obs
                    self.ended[i] = True
                else:
                    self.failed[i] = not self._reset(i, None, errors)
            else:
                self.rows[i] = obs
        final = (np.stack(final_observations) if final_observations
                 else np.zeros((0,) + self.observation_space.shape, self.observation_space.dtype))
        return (np.stack(self.rows), np.array(rewards, np.float32), np.array(terminated, np.bool_),
                np.array(truncated, np.bool_), final_indices, final, errors)

    def _check_step(self, obs, reward, term, trunc):
        try:
            obs = reference_check(self.observation_space, obs)
        except SpaceError as error:
            return "observation", "step's observation " + str(error), None
        if type(reward) not in (float, int, np.float32, np.float64) and (
                isinstance(reward, (bool, np.bool_)) or not isinstance(reward, (numbers.Real, np.number))
                or np.ndim(reward) != 0):
            return "reward", "reward %r is not a number" % (reward,), None
        if not math.isfinite(reward):
            return "reward", "reward is %s" % float(reward), None
        for name, flag in (("terminated", term), ("truncated", trunc)):
            if type(flag) is not bool and not isinstance(flag, np.bool_):
                return name, "%s %r is not a bool" % (name, flag), None
        return None, None, obs


def random_actions(rng, space, count, valid=False):
    if space.discrete:
        return rng.integers(0, space.n, count) if valid else rng.integers(-1, space.n + 1, count)  # a few outside
    return rng.uniform(-1, 1, (count,) + tuple(space.shape)).astype(np.float32)


def random_row_control(rng, count, ended):
    """A step's (step_mask, defer_resets) and the instances to reset after
    it, drawn so that each rule is met: no mask, masks of every density,
    deferred and plain resets, resets of ended instances (`ended`: those
    the last step ended) and of running ones, and ended instances stepped
    before their reset."""
    step_mask = None if rng.random() < 0.3 else rng.random(count) < rng.uniform(0.2, 0.9)
    defer_resets = bool(rng.random() < 0.6)
    resets = {i for i in ended if rng.random() < 0.7} | {i for i in range(count) if rng.random() < 0.05}
    return step_mask, defer_resets, sorted(resets)


class EnvBatchTest(unittest.TestCase):
    def assert_same_step(self, got, want, where):
        names = ("observations", "rewards", "terminated", "truncated", "final_indices", "final_observations",
                 "errors")
        for name, a, b in zip(names, got, want):
            if isinstance(b, np.ndarray):
                self.assertEqual((a.dtype, a.shape), (b.dtype, b.shape), "%s: %s" % (where, name))
                np.testing.assert_array_equal(a, b, "%s: %s" % (where, name))
            else:
                self.assertEqual(a, b, "%s: %s" % (where, name))

    def run_alike(self, factory, count, steps, first=0, max_episode_steps=0, make=EnvBatch, valid_actions=False):
        with np.errstate(over="ignore"):  # Chaos's float64 observations past float32's range
            return self._run_alike(factory, count, steps, first, max_episode_steps, make, valid_actions)

    def _run_alike(self, factory, count, steps, first, max_episode_steps, make, valid_actions):
        batch = make(factory, count, first, max_episode_steps)
        reference = ReferenceBatch(factory, count, first, max_episode_steps)
        seeds = list(range(100, 100 + count))
        try:
            self.assert_same_step(batch.reset_all(seeds), reference.reset_all(seeds), "reset_all")
            rng = np.random.default_rng(count)
            fields = set()
            for t in range(steps):
                actions = random_actions(rng, batch.action_space, count, valid_actions)
                got = batch.step(actions)
                self.assert_same_step(got, reference.step(actions), "%s step %d" % (factory, t))
                fields.update(field for _, field, _ in got[6])
            return fields
        finally:
            batch.close()

    def test_every_misbehaviour_is_named_as_the_per_instance_checks_name_it(self):
        for factory, count in [("test_envs:chaos", 1), ("test_envs:chaos", 5), ("test_envs:chaos", 64),
                               ("test_envs:chaos_image", 16), ("test_envs:chaos_box", 16)]:
            with self.subTest(factory=factory, count=count):
                fields = self.run_alike(factory, count, 1200 // count + 20, first=3 if count == 5 else 0,
                                        max_episode_steps=7 if count == 16 else 0)
                expected = {"reset", "observation", "reward", "step", "terminated", "truncated"}
                if "box" not in factory:
                    expected.add("action")
                self.assertEqual(fields, expected)

    def test_a_batch_that_behaves_is_finished_in_one_pass_and_matches_the_reference(self):
        # CartPole behaves: every step of 32 instances (terminations, and
        # truncations by a limit of 9 steps) takes the batch pass alone.
        with mock.patch.object(EnvBatch, "_finish_each", side_effect=AssertionError("per-instance pass taken")):
            self.run_alike("cartpole:make", 32, 60, max_episode_steps=9, valid_actions=True)
        # One instance that misbehaves sends the whole step through the
        # per-instance checks, which name it.
        batch = EnvBatch("test_envs:counter", 3)
        batch.reset_all([0, 1, 2])
        batch.envs[1].misbehave = lambda: (np.array([0, 0], np.float64), 1.0, False, False, {})
        batch.envs[1].fail_at = 1
        with mock.patch.object(EnvBatch, "_finish_each", wraps=batch._finish_each) as each:
            errors = batch.step(np.ones(3, np.int64))[6]
        self.assertEqual(each.call_count, 1)
        self.assertEqual([(i, field) for i, field, _ in errors], [])  # float64 is cast, not refused

    def test_a_strided_observation_takes_the_per_instance_pass_and_is_kept(self):
        # The batch pass joins the observations' bytes: a view with strides
        # has none to join, so the step goes the long way, unrefused.
        batch = EnvBatch("test_envs:counter", 3)
        batch.reset_all([0, 1, 2])
        strided = np.array([[7, 0], [8, 0]], np.float32)[:, 0]
        self.assertFalse(strided.flags.c_contiguous)
        batch.envs[1].misbehave = lambda: (strided, 1.0, False, False, {})
        batch.envs[1].fail_at = 1
        with mock.patch.object(EnvBatch, "_finish_each", wraps=batch._finish_each) as each:
            obs, rewards, _, _, _, _, errors = batch.step(np.ones(3, np.int64))
        self.assertEqual(each.call_count, 1)
        self.assertEqual(errors, [])
        np.testing.assert_array_equal(obs[1], [7, 8])
        np.testing.assert_array_equal(rewards, [1, 1, 1])

    def test_worker_processes_match_the_reference_too(self):
        # The spawned workers take -W options from sys.warnoptions: quiet
        # their float64-to-float32 overflow warnings too.
        with mock.patch.object(sys, "warnoptions", sys.warnoptions + ["ignore::RuntimeWarning"]):
            self.run_alike("test_envs:chaos", 6, 60, make=lambda factory, count, first, limit: ProcessEnvBatch(
                factory, count, 2, limit))

    def run_row_control_alike(self, factory, count, steps, first=0, max_episode_steps=0, make=EnvBatch):
        """Steps a batch and the reference alike with random row control;
        the fields of the errors seen."""
        batch = make(factory, count, first, max_episode_steps)
        reference = ReferenceBatch(factory, count, first, max_episode_steps)
        seeds = list(range(200, 200 + count))
        try:
            with np.errstate(over="ignore"):
                self.assert_same_step(batch.reset_all(seeds), reference.reset_all(seeds), "reset_all")
                rng = np.random.default_rng(count + 1)
                fields, ended = set(), []
                for t in range(steps):
                    actions = random_actions(rng, batch.action_space, count)
                    step_mask, defer_resets, resets = random_row_control(rng, count, ended)
                    got = batch.step(actions, step_mask, defer_resets)
                    where = "%s step %d (mask %s, defer %s)" % (factory, t, step_mask, defer_resets)
                    self.assert_same_step(got, reference.step(actions, step_mask, defer_resets), where)
                    if step_mask is not None:
                        unmarked = np.flatnonzero(~step_mask)
                        self.assertFalse(set(unmarked + first) & set(got[4] + [e[0] for e in got[6]]), where)
                        self.assertFalse(got[1][unmarked].any() or got[2][unmarked].any() or got[3][unmarked].any())
                    fields.update(field for _, field, _ in got[6])
                    ended = [index - first for index in got[4]] if defer_resets else []
                    resets = [i + first for i in resets]
                    self.assert_same_step(batch.reset_some(resets), reference.reset_some(resets),
                                          "%s reset %s after step %d" % (factory, resets, t))
            return fields
        finally:
            batch.close()

    def test_row_control_follows_the_rules_however_the_instances_misbehave(self):
        # Masked steps, deferred resets and reset_some, on envs that fail
        # in every way: the per-instance reference's answers, error for
        # error, ended instances stepped before their reset among them.
        for factory, count in [("test_envs:chaos", 5), ("test_envs:chaos", 32), ("test_envs:chaos_box", 16),
                               ("cartpole:make", 16)]:
            with self.subTest(factory=factory, count=count):
                fields = self.run_row_control_alike(factory, count, 2000 // count + 30,
                                                    first=3 if count == 5 else 0,
                                                    max_episode_steps=6 if count == 16 else 0)
                self.assertIn("step", fields)
                if "chaos" in factory:
                    self.assertTrue({"reset", "observation", "reward"} <= fields, fields)

    def test_worker_processes_follow_row_control_as_the_reference(self):
        # Three workers of 3, 2 and 2 instances: masks and resets split
        # among them, answers joined in order.
        with mock.patch.object(sys, "warnoptions", sys.warnoptions + ["ignore::RuntimeWarning"]):
            fields = self.run_row_control_alike("test_envs:chaos", 7, 80, make=lambda factory, count, first, limit:
                                                ProcessEnvBatch(factory, count, 3, limit))
        self.assertIn("step", fields)

    def test_a_plain_step_after_row_control_takes_the_batch_pass_again(self):
        # Once every ended instance is reset, a step with no mask and no
        # deferral is the batch pass alone; while one waits, it is not.
        batch = EnvBatch("test_envs:short_episodes", 3)
        batch.reset_all([0, 1, 2])
        actions = np.zeros(3, np.int64)
        with mock.patch.object(EnvBatch, "_finish_each", wraps=batch._finish_each) as each:
            for _ in range(3):
                final_indices = batch.step(actions, defer_resets=True)[4]
            self.assertEqual(final_indices, [0, 1, 2])
            self.assertEqual(each.call_count, 3)
            batch.reset_some([0, 1])
            errors = batch.step(actions)[6]
            self.assertEqual(each.call_count, 4)
            self.assertEqual([(i, field) for i, field, _ in errors], [(2, "step")])
            obs = batch.step(actions)[0]
            self.assertEqual(each.call_count, 4)
            np.testing.assert_array_equal(obs, [[2, 2], [2, 2], [1, 2]])  # 2 reset by its failure

    def test_observations_that_go_on_are_checked_for_finiteness_in_one_pass(self):
        batch = EnvBatch("test_envs:counter", 3)
        batch.reset_all([0, 1, 2])
        batch.envs[1].misbehave = lambda: (np.array([np.nan, 0], np.float32), 1.0, False, False, {})
        batch.envs[2].misbehave = lambda: (np.array([np.inf, 0], np.float32), 2.0, False, False, {})
        batch.envs[1].fail_at = batch.envs[2].fail_at = 1
        obs, rewards, terminated, truncated, final_indices, final, errors = batch.step(np.ones(3, np.int64))
        self.assertEqual([(i, field) for i, field, _ in errors], [(1, "observation"), (2, "observation")])
        self.assertIn("step's observation holds NaN or infinity", errors[0][2])
        np.testing.assert_array_equal(rewards, [1, 0, 0])
        np.testing.assert_array_equal(truncated, [False, True, True])
        np.testing.assert_array_equal(obs, [[1, 1], [0, 2], [0, 2]])  # 1 and 2 reset a second time
        self.assertEqual(final_indices, [])
        self.assertEqual(final.shape, (0, 2))


if __name__ == "__main__":
    unittest.main()
