"""N instances of a multi-agent env stepped in lockstep, with the protocol's
multi-agent rules (proto/env.proto, "Multi-agent envs").

The env is any PettingZoo-parallel-style class, found by duck typing
(pettingzoo is never imported): `possible_agents`, `observation_space(agent)`
and `action_space(agent)` (rill.spaces: observations float32 Boxes, or for
a Discrete agent a Dict of "observation" and "action_mask", served flat
with the mask last; actions Boxes or Discretes; agents may differ), `reset(seed=...) -> (obs, infos)`
and `step(actions) -> (obs, rewards, terminations, truncations, infos)`,
dicts keyed by agent; optionally `agents` (the live ones after a reset;
else every agent that reset observed), `state()` with `state_space` (a
global state) and `spec.max_episode_steps`.

Each env's agents lie side by side in its row, in possible_agents order:
MultiAgentEnvBatch.step takes [N, A] float32 actions and gives [N, O]
observations, [N, K] rewards and flags, [N, K] live masks and [N, S]
states. Only live agents are given actions; an agent leaves when its step
terminates or truncates it, keeping its last observation in its slot, and
the env resets when none is left. Anything an env does wrong (it raises,
leaves out a live agent, names an agent it never declared, answers with an
observation of another shape or dtype, a reward that is not a finite
number, or something other than five dicts) is named by (env index, agent,
field) and that env is reset; so is a live agent's mask that allows no
action. The batch itself never raises for it.

MultiAgentEnvBatch steps its envs in this process; MultiAgentProcessBatch
spreads them over worker processes (env_batch.ProcessEnvBatch), each a
MultiAgentEnvBatch of a consecutive range, with the same answers.
"""

import math
import numbers

import numpy as np

from rill import render, tensors
from rill.env_batch import (ALLOWS_NOTHING, EnvBatch, FactoryError, ProcessEnvBatch, StreamEnvs, env_time_limit,
                             load_factory, make_envs)
from rill.spaces import ActionSpace, ObservationSpace, SpaceError, all_finite, observation_space_of
from rill._proto import env_pb2


def is_multi_agent(env):
    """Whether `env` is a PettingZoo-parallel-style env."""
    return getattr(env, "possible_agents", None) is not None


def _describe(error):
    return "%s: %s" % (type(error).__name__, error)


class _EnvFailed(Exception):
    """One env's failure: (field, agent, message)."""

    def __init__(self, field, agent, message):
        super().__init__(message)
        self.field, self.agent, self.message = field, agent, message


class _Agent:
    """One agent's checked spaces and where it lies in a row."""

    def __init__(self, env, name, obs_offset, action_offset):
        self.name = name
        try:
            space = env.observation_space(name)
        except Exception as error:
            raise FactoryError("observation_space(%r) raised %s" % (name, _describe(error))) from None
        try:
            self.action_space = ActionSpace(env.action_space(name))
            # A Dict of "observation" and "action_mask" travels flat, the
            # mask last (MaskedObservationSpace), as a single-agent env's.
            self.observation_space = observation_space_of(space, self.action_space)
        except SpaceError as error:
            raise FactoryError("agent %s's %s" % (name, error)) from None
        except Exception as error:
            raise FactoryError("action_space(%r) raised %s" % (name, _describe(error))) from None
        if self.observation_space.dtype != np.float32:
            raise FactoryError("agent %s's observation_space is %s; a multi-agent env's observations travel as "
                               "float32" % (name, self.observation_space.dtype))
        self.obs_size = math.prod(self.observation_space.shape)
        self.obs_slice = slice(obs_offset, obs_offset + self.obs_size)
        width = 1 if self.action_space.discrete else math.prod(self.action_space.shape)
        self.action_slice = slice(action_offset, action_offset + width)

    def message(self):
        return env_pb2.AgentSpaces(name=self.name, observation_space=self.observation_space.message(),
                                   action_space=self.action_space.message(),
                                   action_mask=self.observation_space.action_mask)

    def check_allows_something(self, observation, what):
        """_EnvFailed when this agent's checked `observation` ends in a mask
        that allows no action, though the agent must act from it."""
        if self.observation_space.action_mask and self.observation_space.allows_nothing(observation):
            raise _EnvFailed("observation", self.name, ALLOWS_NOTHING % ("%s %s" % (what, self.name)))

    def env_action(self, row):
        """The env's form of this agent's slot of an action row; _EnvFailed
        for a discrete index out of range or not whole."""
        space = self.action_space
        if space.discrete:
            value = float(row[self.action_slice.start])
            if not (math.isfinite(value) and value == round(value) and 0 <= value < space.n):
                raise _EnvFailed("action", self.name, "action %s is outside Discrete(%d)" % (value, space.n))
            return int(value) + space.start
        return np.array(row[self.action_slice], np.float32).reshape(space.shape)


class MultiAgentBatch:
    """What a stream's batch of multi-agent envs announces and answers,
    wherever its envs step (MultiAgentEnvBatch in this process,
    MultiAgentProcessBatch in worker processes): its agents, each with its
    spaces and slots in a row (`agents`, `names`, `obs_width`,
    `action_width`), the state space (`state_space`, `state_size`), the
    time limit and the cameras; `live` holds the agents that act in the
    next step, [N, K]."""

    def _read_agents(self, env, factory_spec, max_episode_steps):
        """Reads the agents and spaces of `env`, one of the stream's;
        FactoryError when the protocol cannot carry them."""
        try:
            names = [str(agent) for agent in env.possible_agents]
        except TypeError:
            raise FactoryError("%s's possible_agents is not a list of names" % factory_spec) from None
        if not names or len(set(names)) != len(names):
            raise FactoryError("%s's possible_agents %r must be distinct names, at least one" % (factory_spec, names))
        self.names = names
        self.index = {name: k for k, name in enumerate(names)}
        self.agents = []
        obs_offset = action_offset = 0
        for name in names:
            agent = _Agent(env, name, obs_offset, action_offset)
            obs_offset, action_offset = agent.obs_slice.stop, agent.action_slice.stop
            self.agents.append(agent)
        self.obs_width, self.action_width = obs_offset, action_offset
        self.state_space = None
        if callable(getattr(env, "state", None)) and getattr(env, "state_space", None) is not None:
            try:
                self.state_space = ObservationSpace(env.state_space)
            except SpaceError as error:
                raise FactoryError("%s's state_space: %s" % (factory_spec, error)) from None
        self.state_size = math.prod(self.state_space.shape) if self.state_space else 0
        self.max_episode_steps = env_time_limit(env, max_episode_steps)
        self.cameras = render.cameras(env)

    def opened_fields(self, opened):
        """Fills an EnvsOpened's multi-agent fields (agents, state_space)."""
        opened.agents.extend(agent.message() for agent in self.agents)
        if self.state_space is not None:
            opened.state_space.CopyFrom(self.state_space.message().box)


class MultiAgentEnvBatch(StreamEnvs, MultiAgentBatch):
    """Instances [first, first + len(envs)) of a stream's N multi-agent
    envs, in this process; EnvBatch's interface (reset_all, step, render,
    close) with the multi-agent tensors."""

    def __init__(self, envs, factory_spec, first=0, max_episode_steps=0):
        self.envs = envs
        self.factory_spec = factory_spec
        self.first = first
        self._read_agents(envs[0], factory_spec, max_episode_steps)
        count, k = len(envs), len(self.names)
        self.current = np.zeros((count, self.obs_width), np.float32)
        self.live = np.zeros((count, k), np.bool_)
        self.states = np.zeros((count, self.state_size), np.float32)
        self.steps = [0] * count
        self.failed = [False] * count

    # One env's reset into its rows; False (and its error) when it failed.
    def _reset(self, i, seed, errors):
        self.steps[i] = 0
        self.current[i] = 0
        self.live[i] = False
        self.states[i] = 0
        env = self.envs[i]
        try:
            result = env.reset(seed=seed) if seed is not None else env.reset()
        except Exception as error:
            errors.append((self.first + i, "reset", "", "reset raised " + _describe(error)))
            return False
        try:
            obs = result[0] if isinstance(result, tuple) else result
            if not isinstance(obs, dict):
                raise _EnvFailed("reset", "", "reset returned %s, not (a dict of observations, infos)"
                                 % type(obs).__name__)
            live = getattr(env, "agents", None)
            live = list(obs) if live is None else list(live)
            for name in list(obs) + live:
                if name not in self.index:
                    raise _EnvFailed("agents", str(name), "reset names agent %r, not one of possible_agents %s"
                                     % (name, self.names))
            if not live:
                raise _EnvFailed("agents", "", "reset left no agent live")
            for name in live:
                if name not in obs:
                    raise _EnvFailed("agents", name, "reset gave live agent %s no observation" % name)
                agent = self.agents[self.index[name]]
                observation = self._observation(agent, obs[name], "reset's")
                agent.check_allows_something(observation, "reset's")
                self.current[i, agent.obs_slice] = observation
                self.live[i, self.index[name]] = True
            self._state(i)
        except _EnvFailed as failure:
            errors.append((self.first + i, failure.field, failure.agent, failure.message))
            self.current[i] = 0
            self.live[i] = False
            return False
        return True

    @staticmethod
    def _observation(agent, obs, what):
        try:
            return agent.observation_space.check(obs).reshape(-1)
        except SpaceError as error:
            raise _EnvFailed("observation", agent.name, "%s observation of %s %s" % (what, agent.name, error)) from None

    def _state(self, i):
        if self.state_space is None:
            return
        try:
            state = self.envs[i].state()
        except Exception as error:
            raise _EnvFailed("state", "", "state() raised " + _describe(error)) from None
        try:
            self.states[i] = self.state_space.check(state).reshape(-1)
        except SpaceError as error:
            raise _EnvFailed("state", "", "state() " + str(error)) from None

    def reset_all(self, seeds):
        """Resets env i with seeds[i]: (observations, errors, live, states),
        errors as (index, field, agent, message)."""
        errors = []
        for i, seed in enumerate(seeds):
            self.failed[i] = not self._reset(i, int(seed), errors)
        return self.current.copy(), errors, self.live.copy(), self.states.copy()

    def step(self, actions):
        """Steps every env's live agents with their slots of `actions`
        ([N, A] float32): (observations, rewards, terminated, truncated,
        final_indices, final_observations, errors, live, states,
        final_states), indices relative to the stream, errors as (index,
        field, agent, message); final_states [len(final_indices), S], each
        ended env's state before its reset."""
        count, k = len(self.envs), len(self.agents)
        rewards = np.zeros((count, k), np.float32)
        terminated = np.zeros((count, k), np.bool_)
        truncated = np.zeros((count, k), np.bool_)
        final_indices, finals, final_states, errors = [], [], [], []
        for i in range(count):
            if self.failed[i]:
                # Its last reset failed: retry it; this step is its error row.
                truncated[i] = True
                self.failed[i] = not self._reset(i, None, errors)
                continue
            try:
                ended = self._step_one(i, actions[i], rewards[i], terminated[i], truncated[i])
            except _EnvFailed as failure:
                errors.append((self.first + i, failure.field, failure.agent, failure.message))
                rewards[i] = 0
                terminated[i] = False
                truncated[i] = True
                self.failed[i] = not self._reset(i, None, errors)
                continue
            if ended:
                final_indices.append(self.first + i)
                finals.append(self.current[i].copy())
                final_states.append(self.states[i].copy())
                self.failed[i] = not self._reset(i, None, errors)
        final = np.stack(finals) if finals else np.zeros((0, self.obs_width), np.float32)
        final_state = np.stack(final_states) if final_states else np.zeros((0, self.state_size), np.float32)
        return (self.current.copy(), rewards, terminated, truncated, final_indices, final, errors,
                self.live.copy(), self.states.copy(), final_state)

    def _step_one(self, i, row, rewards, terminated, truncated):
        """Steps env i; writes its agents' outcomes; True when no agent is
        left. _EnvFailed (having written nothing to the batch's rows but
        rewards and flags) when the env misbehaved."""
        env, live = self.envs[i], self.live[i]
        acting = [agent for agent, is_live in zip(self.agents, live) if is_live]
        env_actions = {agent.name: agent.env_action(row) for agent in acting}
        try:
            result = env.step(env_actions)
        except Exception as error:
            raise _EnvFailed("step", "", "step raised " + _describe(error)) from None
        if not isinstance(result, tuple) or len(result) != 5 or not all(isinstance(d, dict) for d in result[:4]):
            raise _EnvFailed("step", "", "step returned %s, not (obs, rewards, terminations, truncations, infos) "
                             "dicts keyed by agent" % (type(result).__name__ if not isinstance(result, tuple)
                                                       else "a tuple of %d" % len(result)))
        obs, reward_of, term_of, trunc_of = result[:4]
        for field, values in (("observation", obs), ("reward", reward_of), ("terminated", term_of),
                              ("truncated", trunc_of)):
            for name in values:
                if name not in self.index:
                    raise _EnvFailed("agents", str(name), "step's %s dict names agent %r, not one of "
                                     "possible_agents %s" % (field, name, self.names))
            for agent in acting:
                if agent.name not in values:
                    raise _EnvFailed("agents", agent.name, "step's %s dict leaves out live agent %s"
                                     % (field, agent.name))
        # Everything is checked before anything of the env's row changes.
        checked = []
        # Whether this step reaches the time limit, which ends every agent.
        limit = self.max_episode_steps and self.steps[i] + 1 >= self.max_episode_steps
        for agent in acting:
            name = agent.name
            observation = self._observation(agent, obs[name], "step's")
            reward = reward_of[name]
            if isinstance(reward, (bool, np.bool_)) or not isinstance(reward, (numbers.Real, np.number)) \
                    or np.ndim(reward) != 0:
                raise _EnvFailed("reward", name, "reward %r of %s is not a number" % (reward, name))
            if not math.isfinite(reward):
                raise _EnvFailed("reward", name, "reward of %s is %s" % (name, float(reward)))
            flags = []
            for field, flag in (("terminated", term_of[name]), ("truncated", trunc_of[name])):
                if not isinstance(flag, (bool, np.bool_)):
                    raise _EnvFailed(field, name, "%s %r of %s is not a bool" % (field, flag, name))
                flags.append(bool(flag))
            if not (flags[0] or flags[1] or limit):
                agent.check_allows_something(observation, "step's")
            checked.append((agent, observation, float(reward), flags[0], flags[1]))
        self._state(i)
        self.steps[i] += 1
        for agent, observation, reward, term, trunc in checked:
            k = self.index[agent.name]
            self.current[i, agent.obs_slice] = observation
            rewards[k] = reward
            trunc = (trunc or bool(limit)) and not term
            terminated[k], truncated[k] = term, trunc
            if term or trunc:
                live[k] = False
        return not live.any()


def stepped_message(observations, rewards, terminated, truncated, final_indices, final_observations, errors,
                    live, states, final_states):
    """The serialized EnvResponse{stepped} of one MultiAgentEnvBatch.step."""
    message = env_pb2.EnvsStepped(final_indices=final_indices)
    for array, field in ((observations, message.observations), (rewards, message.rewards),
                         (terminated, message.terminated), (truncated, message.truncated),
                         (final_observations, message.final_observations), (live, message.live)):
        tensors.to_tensor(array, field)
    if states.shape[1]:
        tensors.to_tensor(states, message.states)
        tensors.to_tensor(final_states, message.final_states)
    add_errors(message.errors, errors)
    return env_pb2.EnvResponse(stepped=message).SerializeToString()


def add_errors(field, errors):
    """Appends (index, field, agent, message) errors to a repeated
    EnvError field."""
    for index, name, agent, text in errors:
        field.add(env_index=index, field=name, agent=agent, message=text)



def open_batch(factory_spec, count, max_episode_steps=0):
    """`count` envs of the factory as a MultiAgentEnvBatch when they are
    multi-agent (is_multi_agent), else as an EnvBatch. FactoryError when
    the factory fails or its env's spaces cannot be carried."""
    envs = make_envs(load_factory(factory_spec), factory_spec, count)
    if not is_multi_agent(envs[0]):
        return EnvBatch(factory_spec, count, 0, max_episode_steps, envs=envs)
    return _batch_of(envs, factory_spec, 0, max_episode_steps)


def open_range(factory_spec, count, first, max_episode_steps):
    """A MultiAgentEnvBatch of the stream's envs [first, first + count),
    made here: what each worker of a MultiAgentProcessBatch holds."""
    return _batch_of(make_envs(load_factory(factory_spec), factory_spec, count), factory_spec, first,
                     max_episode_steps)


def _batch_of(envs, factory_spec, first, max_episode_steps):
    """A MultiAgentEnvBatch of `envs`; FactoryError (having closed them)
    when the protocol cannot carry their spaces."""
    try:
        return MultiAgentEnvBatch(envs, factory_spec, first, max_episode_steps)
    except FactoryError as error:
        for env in envs:
            close = getattr(env, "close", None)
            if callable(close):
                try:
                    close()
                except Exception:
                    pass
        raise FactoryError("%s makes an env whose %s" % (factory_spec, error)) from None


class MultiAgentProcessBatch(ProcessEnvBatch, MultiAgentBatch):
    """A stream's N multi-agent envs spread over worker processes, each a
    MultiAgentEnvBatch of its consecutive range (open_range):
    MultiAgentEnvBatch's interface and answers, stream-relative indices and
    all. No row control, as MultiAgentEnvBatch."""

    def __init__(self, factory_spec, count, processes, max_episode_steps=0):
        super().__init__(factory_spec, count, processes, max_episode_steps, open_range)
        self.live = np.zeros((count, len(self.agents)), np.bool_)

    def _describe(self, probe):
        """The agents and spaces, from `probe`'s env (ProcessEnvBatch's)."""
        self._read_agents(probe.envs[0], probe.factory_spec, probe.max_episode_steps)

    def reset_all(self, seeds):
        answer = super().reset_all(seeds)
        self.live = answer[2]
        return answer

    def step(self, actions):
        answer = super().step(actions)
        self.live = answer[7]
        return answer
