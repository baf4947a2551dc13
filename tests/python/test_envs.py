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


class Spec:
    def __init__(self, max_episode_steps):
        self.max_episode_steps = max_episode_steps


class Drift:
    """A scalar observation (a Box of shape (), as Gymnasium allows): a
    point's position x in [-2, 2]; a scalar Box action in [-1, 1] moves it
    by 0.1 * action. Reward -|x| per step, so steering to 0 earns the most:
    from x uniform in [-1, 1] at reset, about -1.7 per 20-step episode
    against about -12 for random actions. Bounds of one value each."""

    spec = Spec(20)

    def __init__(self):
        self.observation_space = Box(-2.0, 2.0, (), np.float32)
        self.action_space = Box(-1.0, 1.0, (), np.float32)
        self.rng = np.random.default_rng(0)
        self.x = 0.0

    def reset(self, seed=None, options=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.x = float(self.rng.uniform(-1, 1))
        return np.array(self.x, np.float32), {}

    def step(self, action):
        assert np.shape(action) == (), np.shape(action)
        self.x = min(max(self.x + 0.1 * float(action), -2.0), 2.0)
        return np.array(self.x, np.float32), -abs(self.x), False, False, {}


class RankFour:
    """A float observation of rank 4, [2, 1, 2, 2], every element the
    episode's step count plus its index / 10; Discrete(2); bounds one per
    element."""

    def __init__(self):
        shape = (2, 1, 2, 2)
        self.observation_space = Box(np.full(shape, -1.0), np.arange(8.0).reshape(shape) + 100, shape, np.float32)
        self.action_space = Discrete(2)
        self.t = 0

    def observation(self):
        return (self.t + np.arange(8, dtype=np.float32) / 10).reshape(2, 1, 2, 2)

    def reset(self, seed=None, options=None):
        self.t = 0
        return self.observation(), {}

    def step(self, action):
        self.t += 1
        return self.observation(), 1.0, self.t >= 3, False, {}


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


class RaisesEveryFifthStep(Counter):
    """Raises on every fifth step of the instance, whichever episode it is
    in, so that a fifth of its steps fail (tests/launch_env_errors_test.cc);
    its episodes end after 3 good steps, so evaluation rounds finish."""

    def __init__(self):
        super().__init__()
        self.steps = 0

    def step(self, action):
        self.steps += 1
        if self.steps % 5 == 0:
            raise RuntimeError("the simulator diverged")
        self.t += 1
        observation, reward, _, truncated, info = self.good_step()
        return observation, reward, self.t >= 3, truncated, info


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


def drift():
    return Drift()


def rank_four():
    return RankFour()


def raises_in_step():
    return RaisesInStep()


def raises_every_fifth_step():
    return RaisesEveryFifthStep()


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


class WrongLengthActionBounds(Counter):
    """A box action of shape (2,) whose low holds 3 values."""

    def __init__(self):
        super().__init__()
        self.action_space = Box([-1.0, -1.0, -1.0], 1.0, (2,), np.float32)


def wrong_length_action_bounds():
    return WrongLengthActionBounds()


def factory_raises():
    raise OSError("license server unreachable")


class Chaos:
    """A float observation [3]; Discrete(4). Each reset and step draws from
    the instance's own generator (seeded by reset(seed=...)) whether to
    behave or to misbehave in one of the ways the server names, so two
    batches of instances driven alike see the same sequence
    (tests/python/env_batch_test.py)."""

    OUTCOMES = ("ok", "ok", "ok", "ok", "ok", "ok", "terminated", "truncated", "nan", "inf_terminated",
                "nan_string_reward", "nan_int_flag", "float64", "float64_overflow", "int_observation", "list",
                "huge", "wrong_shape", "np_float32_reward", "np_float64_reward", "int_reward", "nan_reward",
                "bool_reward", "np_bool_terminated", "int_terminated", "int_truncated", "array_terminated",
                "raises", "four_tuple", "list_result")

    def __init__(self, shape=(3,), dtype=np.float32):
        self.observation_space = Box(None, None, shape, dtype)
        self.action_space = Discrete(4)
        self.shape, self.dtype = shape, np.dtype(dtype)
        self.rng = np.random.default_rng(0)

    def observation(self):
        return self.rng.uniform(-2, 2, self.shape).astype(self.dtype)

    def reset(self, seed=None, options=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        draw = self.rng.random()
        if draw < 0.05:
            raise ValueError("reset failed")
        if draw < 0.1:
            return np.full(self.shape, np.nan, np.float32), {}
        return self.observation(), {}

    def step(self, action):
        outcome = self.OUTCOMES[self.rng.integers(len(self.OUTCOMES))]
        obs, reward, terminated, truncated = self.observation(), float(action), False, False
        if outcome == "terminated":
            terminated = True
        elif outcome == "truncated":
            truncated = True
        elif outcome == "nan":
            obs = obs.astype(np.float32)
            obs.flat[-1] = np.nan
        elif outcome == "inf_terminated":
            obs, terminated = np.full(self.shape, np.inf, np.float32), True
        elif outcome == "nan_string_reward":
            obs, reward = np.full(self.shape, np.nan, np.float32), "one"
        elif outcome == "nan_int_flag":
            obs, terminated = np.full(self.shape, np.nan, np.float32), 1
        elif outcome == "float64":
            obs = obs.astype(np.float64)
        elif outcome == "float64_overflow":
            obs = np.full(self.shape, 1e300)
        elif outcome == "int_observation":
            obs = obs.astype(np.int64)
        elif outcome == "list":
            obs = obs.tolist()
        elif outcome == "huge":
            obs = np.full(self.shape, 255 if self.dtype == np.uint8 else 1e30, self.dtype)  # finite; 1e30 ** 2 is not
        elif outcome == "wrong_shape":
            obs = np.zeros(7, self.dtype)
        elif outcome == "np_float32_reward":
            reward = np.float32(reward)
        elif outcome == "np_float64_reward":
            reward = np.float64(reward)
        elif outcome == "int_reward":
            reward = int(reward)
        elif outcome == "nan_reward":
            reward = float("nan")
        elif outcome == "bool_reward":
            reward = True
        elif outcome == "np_bool_terminated":
            terminated = np.bool_(self.rng.random() < 0.5)
        elif outcome == "int_terminated":
            terminated = 1
        elif outcome == "array_terminated":
            terminated = np.array([True, False])
        elif outcome == "int_truncated":
            truncated = 0
        elif outcome == "raises":
            raise RuntimeError("the simulator diverged")
        elif outcome == "four_tuple":
            return obs, reward, terminated, truncated
        elif outcome == "list_result":
            return [obs, reward, terminated, truncated, {}]
        return obs, reward, terminated, truncated, {}


class ChaosImage(Chaos):
    """Chaos with uint8 observations [2, 2, 3]: float ones are its wrong dtype."""

    def __init__(self):
        super().__init__((2, 2, 3), np.uint8)

    def observation(self):
        return self.rng.integers(0, 256, self.shape).astype(np.uint8)


class ChaosBox(Chaos):
    """Chaos with a [2] box action; the reward is the action's sum."""

    def __init__(self):
        super().__init__()
        self.action_space = Box(-1.0, 1.0, (2,), np.float32)

    def step(self, action):
        assert action.shape == (2,) and action.dtype == np.float32, (action.shape, action.dtype)
        return super().step(float(np.sum(action)))


def chaos():
    return Chaos()


def chaos_image():
    return ChaosImage()


def chaos_box():
    return ChaosBox()


class Painter(Counter):
    """Gymnasium-style rendering: made with render_mode="rgb_array", render()
    draws a [6, 5, 3] uint8 frame whose pixel (y, x) is (t, y, x), so a test
    sees the step it was drawn at and that rows come top first. Made
    without render_mode, it draws nothing (None), as Gymnasium envs do."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, render_mode=None):
        super().__init__()
        self.render_mode = render_mode
        self.renders = 0

    @staticmethod
    def expected_frame(t):
        frame = np.zeros((6, 5, 3), np.uint8)
        frame[:, :, 0] = t
        frame[:, :, 1] = np.arange(6)[:, None]
        frame[:, :, 2] = np.arange(5)[None, :]
        return frame

    def render(self):
        self.renders += 1
        if self.render_mode != "rgb_array":
            return None
        return self.expected_frame(self.t)


class PainterWithAlpha(Painter):
    """RGBA frames (the alpha channel 255), and no render_mode: it always
    draws."""

    def __init__(self):
        super().__init__("rgb_array")
        del self.render_mode

    def render(self):
        rgb = self.expected_frame(self.t)
        return np.concatenate([rgb, np.full((6, 5, 1), 255, np.uint8)], axis=2)


class BadPainter(Painter):
    """render() misbehaves by the seed of the instance's first reset: seed 1
    returns None, 2 a [6, 5] frame, 3 a float frame, 4 raises, 5 floats
    with NaN, 6 a string; others draw as Painter."""

    def reset(self, seed=None, options=None):
        if seed is not None:
            self.kind = seed
        return super().reset(seed, options)

    def render(self):
        kind = getattr(self, "kind", None)
        if kind == 1:
            return None
        if kind == 2:
            return np.zeros((6, 5), np.uint8)
        if kind == 3:
            return np.zeros((6, 5, 3), np.float32)
        if kind == 4:
            raise RuntimeError("the renderer lost its GL context")
        if kind == 5:
            return np.full((6, 5, 3), np.nan)
        if kind == 6:
            return "frame"
        return super().render()


def painter(render_mode=None):
    return Painter(render_mode)


def painter_with_alpha():
    return PainterWithAlpha()


def bad_painter(render_mode=None):
    return BadPainter(render_mode)


class ShortEpisodes(Painter):
    """Painter whose episodes end by themselves: terminated at step 3. Its
    observation [t, resets] says how far into its episode it was stepped
    and how often it was reset, its frame the step it was drawn at
    (tests/python/row_control_test.py)."""

    def step(self, action):
        obs, reward, _, truncated, info = super().step(action)
        return obs, reward, self.t >= 3, truncated, info


def short_episodes(render_mode=None):
    return ShortEpisodes(render_mode)


class Blind(Counter):
    """A Gymnasium-style env that declares no RGB frames: the server makes
    it without render_mode and it does not render."""

    metadata = {"render_modes": ["human"]}

    def __init__(self, render_mode=None):
        super().__init__()
        self.render_mode = render_mode

    def render(self):
        raise AssertionError("never asked")


# Multi-agent envs (PettingZoo's parallel API by duck typing; proto/env.proto,
# "Multi-agent envs").

class Tag:
    """Two agents of different spaces. The runner observes [t, its last
    action, resets] and plays Discrete(4); the chaser observes
    [[t, action[0]], [action[1], resets]] and plays a [2] box. The runner
    terminates at step 3 and leaves; the chaser goes on alone and is
    terminated at step 5, ending the episode. Rewards: the runner 1, the
    chaser 2. The global state is [t, agents live]."""

    fail_at = None  # the step where a misbehaving subclass misbehaves

    def __init__(self):
        self.possible_agents = ["runner", "chaser"]
        self.agents = []
        self.state_space = Box(None, None, (2,), np.float32)
        self.t = 0
        self.resets = 0

    def observation_space(self, agent):
        return Box(None, None, (3,) if agent == "runner" else (2, 2), np.float32)

    def action_space(self, agent):
        return Discrete(4) if agent == "runner" else Box(-1.0, 1.0, (2,), np.float32)

    def state(self):
        return np.array([self.t, len(self.agents)], np.float32)

    def reset(self, seed=None, options=None):
        self.t = 0
        self.resets += 1
        self.agents = list(self.possible_agents)
        return {"runner": np.array([0, -1, self.resets], np.float32),
                "chaser": np.array([[0, 0], [0, self.resets]], np.float32)}, {a: {} for a in self.agents}

    def step(self, actions):
        assert sorted(actions) == sorted(self.agents), (actions, self.agents)
        self.t += 1
        if self.t == self.fail_at:
            return self.misbehave(actions)
        obs, rewards, terms, truncs = {}, {}, {}, {}
        if "runner" in actions:
            obs["runner"] = np.array([self.t, actions["runner"], self.resets], np.float32)
            rewards["runner"], terms["runner"], truncs["runner"] = 1.0, self.t >= 3, False
        if "chaser" in actions:
            a = actions["chaser"]
            obs["chaser"] = np.array([[self.t, a[0]], [a[1], self.resets]], np.float32)
            rewards["chaser"], terms["chaser"], truncs["chaser"] = 2.0, self.t >= 5, False
        self.agents = [a for a in self.agents if not terms[a]]
        return obs, rewards, terms, truncs, {a: {} for a in obs}


class Swarm:
    """Three agents of one space: agent_k observes [t, k, its last action]
    and plays Discrete(2); agent_k leaves (truncated) after step k + 2, so
    the episode ends at step 4. Its reward is its action."""

    def __init__(self):
        self.possible_agents = ["agent_0", "agent_1", "agent_2"]
        self.agents = []
        self.t = 0

    def observation_space(self, agent):
        return Box(None, None, (3,), np.float32)

    def action_space(self, agent):
        return Discrete(2)

    def reset(self, seed=None, options=None):
        self.t = 0
        self.agents = list(self.possible_agents)
        return {a: np.array([0, k, 0], np.float32) for k, a in enumerate(self.agents)}, {}

    def step(self, actions):
        self.t += 1
        obs = {a: np.array([self.t, int(a[-1]), actions[a]], np.float32) for a in actions}
        rewards = {a: float(actions[a]) for a in actions}
        truncs = {a: self.t >= int(a[-1]) + 2 for a in actions}
        terms = {a: False for a in actions}
        self.agents = [a for a in self.agents if not truncs[a]]
        return obs, rewards, terms, truncs, {}


class OmitsLiveAgent(Tag):
    fail_at = 2

    def misbehave(self, actions):
        return ({"chaser": np.zeros((2, 2), np.float32)}, {"chaser": 0.0}, {"chaser": False}, {"chaser": False}, {})


class UnknownAgent(Tag):
    fail_at = 2

    def misbehave(self, actions):
        obs = {"runner": np.zeros(3, np.float32), "chaser": np.zeros((2, 2), np.float32),
               "ghost": np.zeros(3, np.float32)}
        flags = {a: False for a in obs}
        return obs, {a: 0.0 for a in obs}, flags, dict(flags), {}


class ChaserChangesShape(Tag):
    fail_at = 2

    def misbehave(self, actions):
        obs = {"runner": np.zeros(3, np.float32), "chaser": np.zeros(3, np.float32)}
        flags = {a: False for a in obs}
        return obs, {a: 0.0 for a in obs}, flags, dict(flags), {}


class ChaserChangesDtype(Tag):
    fail_at = 2

    def misbehave(self, actions):
        obs = {"runner": np.zeros(3, np.float32), "chaser": np.array([["a", "b"], ["c", "d"]])}
        flags = {a: False for a in obs}
        return obs, {a: 0.0 for a in obs}, flags, dict(flags), {}


class ListsNotDicts(Tag):
    fail_at = 2

    def misbehave(self, actions):
        return [np.zeros(3, np.float32), np.zeros((2, 2), np.float32)], [0.0, 0.0], [False, False], [False, False], {}


class NanRewardForRunner(Tag):
    fail_at = 2

    def misbehave(self, actions):
        obs = {"runner": np.zeros(3, np.float32), "chaser": np.zeros((2, 2), np.float32)}
        flags = {a: False for a in obs}
        return obs, {"runner": float("nan"), "chaser": 0.0}, flags, dict(flags), {}


class RaisesInMultiAgentStep(Tag):
    fail_at = 2

    def misbehave(self, actions):
        raise RuntimeError("the swarm diverged")


def tag():
    return Tag()


def swarm():
    return Swarm()


def omits_live_agent():
    return OmitsLiveAgent()


def unknown_agent():
    return UnknownAgent()


def chaser_changes_shape():
    return ChaserChangesShape()


def chaser_changes_dtype():
    return ChaserChangesDtype()


def lists_not_dicts():
    return ListsNotDicts()


def nan_reward_for_runner():
    return NanRewardForRunner()


def raises_in_multi_agent_step():
    return RaisesInMultiAgentStep()


class SquadChaos:
    """Three agents of different spaces: the scout observes [2] and plays
    Discrete(3), the tank observes [2, 2] and plays a [2] box, the medic
    observes [1] and plays Discrete(2); the global state is [t, agents
    live, resets]. Each reset and step draws from the instance's own
    generator (seeded by reset(seed=...)) whether to behave, to end one
    agent's part or the episode, or to misbehave in one of the ways the
    server names, so two servers whose streams are driven alike see the
    same sequence (tests/python/multi_agent_test.py). A reward is its
    agent's action summed, plus t: a test sees that actions arrive. Made
    with render_mode="rgb_array", render() draws a [4, 3, 3] frame of (t,
    resets, agents live), and raises at every fourth step of an episode."""

    metadata = {"render_modes": ["rgb_array"]}
    SHAPES = {"scout": (2,), "tank": (2, 2), "medic": (1,)}
    OUTCOMES = ("ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "leaves", "leaves", "ends", "raises",
                "omits_live_agent", "unknown_agent", "nan_reward", "string_reward", "wrong_shape", "int_flag",
                "lists", "state_raises")

    def __init__(self, render_mode=None):
        self.render_mode = render_mode
        self.possible_agents = ["scout", "tank", "medic"]
        self.agents = []
        self.state_space = Box(None, None, (3,), np.float32)
        self.rng = np.random.default_rng(0)
        self.t = 0
        self.resets = 0
        self.state_fails = False

    def observation_space(self, agent):
        return Box(None, None, self.SHAPES[agent], np.float32)

    def action_space(self, agent):
        return Box(-1.0, 1.0, (2,), np.float32) if agent == "tank" else Discrete(3 if agent == "scout" else 2)

    def state(self):
        if self.state_fails:
            raise RuntimeError("the squad lost its global view")
        return np.array([self.t, len(self.agents), self.resets], np.float32)

    def observation(self, agent):
        return self.rng.uniform(-2, 2, self.SHAPES[agent]).astype(np.float32)

    def reset(self, seed=None, options=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.t = 0
        self.resets += 1
        self.state_fails = False
        if self.rng.random() < 0.05:
            raise ValueError("reset failed")
        self.agents = list(self.possible_agents)
        return {a: self.observation(a) for a in self.agents}, {}

    def step(self, actions):
        assert sorted(actions) == sorted(self.agents), (actions, self.agents)
        self.t += 1
        outcome = self.OUTCOMES[self.rng.integers(len(self.OUTCOMES))]
        victim = self.agents[self.rng.integers(len(self.agents))]
        obs = {a: self.observation(a) for a in self.agents}
        rewards = {a: float(np.sum(actions[a])) + self.t for a in self.agents}
        terms = {a: False for a in self.agents}
        truncs = dict(terms)
        if outcome == "leaves":
            (terms if self.rng.random() < 0.5 else truncs)[victim] = True
        elif outcome == "ends":
            terms = {a: True for a in self.agents}
        elif outcome == "raises":
            raise RuntimeError("the squad diverged")
        elif outcome == "omits_live_agent":
            del rewards[victim]
        elif outcome == "unknown_agent":
            obs["ghost"] = np.zeros(2, np.float32)
        elif outcome == "nan_reward":
            rewards[victim] = float("nan")
        elif outcome == "string_reward":
            rewards[victim] = "plenty"
        elif outcome == "wrong_shape":
            obs[victim] = np.zeros(5, np.float32)
        elif outcome == "int_flag":
            truncs[victim] = 0
        elif outcome == "lists":
            return list(obs.values()), list(rewards.values()), list(terms.values()), list(truncs.values()), {}
        elif outcome == "state_raises":
            self.state_fails = True
        self.agents = [a for a in self.agents if not (terms[a] or truncs[a])]
        return obs, rewards, terms, truncs, {}

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        if self.t % 4 == 3:
            raise RuntimeError("the renderer lost its GL context")
        frame = np.zeros((4, 3, 3), np.uint8)
        frame[:, :, 0], frame[:, :, 1], frame[:, :, 2] = self.t, self.resets, len(self.agents)
        return frame


def squad_chaos(render_mode=None):
    return SquadChaos(render_mode)


# Action masks (proto/env.proto, EnvsOpened.action_mask): a Dict of
# "observation" and "action_mask", served flat with the mask last.

class Dict:
    def __init__(self, spaces):
        self.spaces = dict(spaces)


class MultiBinary:
    def __init__(self, n):
        self.n, self.shape, self.dtype = n, (n,), np.dtype(np.int8)


# What each instance of MaskChaos does, by the seed of its first reset.
MASK_CHAOS = ("good", "not_a_dict", "no_mask", "short_mask", "string_mask", "mask_of_two", "allows_nothing",
              "terminates_allowing_nothing", "truncates_allowing_nothing", "next_reset_allows_nothing",
              "first_reset_allows_nothing")


class MaskChaos:
    """A Dict observation: "observation" a [2, 2] float Box in [-1, 100],
    [[t, reset count], [kind, 7]], and "action_mask" over Discrete(3)
    allowing every action but t % 3 (a bool array on odd steps, a list of
    ints on even ones). Instance `kind` (the seed of its first reset,
    MASK_CHAOS's index) misbehaves in its first episode as MASK_CHAOS
    names; "terminates_..." and "truncates_..." end that episode at step 2
    on a mask that allows nothing, which a final observation may. Episodes
    last 5 steps."""

    def __init__(self):
        self.observation_space = Dict({"observation": Box(-1.0, 100.0, (2, 2), np.float32),
                                       "action_mask": Box(0, 1, (3,), np.int8)})
        self.action_space = Discrete(3)
        self.kind = "good"
        self.t = self.resets = 0

    def observation(self, mask=None):
        if mask is None:
            mask = [0 if a == self.t % 3 else 1 for a in range(3)]
            mask = np.array(mask, np.bool_) if self.t % 2 else mask
        return {"observation": np.array([[self.t, self.resets], [MASK_CHAOS.index(self.kind), 7]], np.float32),
                "action_mask": mask}

    def reset(self, seed=None, options=None):
        if seed is not None:
            self.kind = MASK_CHAOS[seed]
        self.t = 0
        self.resets += 1
        if (self.kind, self.resets) in (("first_reset_allows_nothing", 1), ("next_reset_allows_nothing", 2)):
            return self.observation([0, 0, 0]), {}
        return self.observation(), {}

    def step(self, action):
        self.t += 1
        obs, ended = self.observation(), self.t >= 5
        if self.t != 2 or self.resets != 1:
            return obs, 1.0, ended, False, {}
        kind = self.kind
        if kind == "not_a_dict":
            obs = np.zeros(7, np.float32)
        elif kind == "no_mask":
            del obs["action_mask"]
        elif kind == "short_mask":
            obs["action_mask"] = np.ones(2, np.int8)
        elif kind == "string_mask":
            obs["action_mask"] = np.array(["1", "0", "1"])
        elif kind == "mask_of_two":
            obs["action_mask"] = [1, 2, 0]
        elif kind in ("allows_nothing", "terminates_allowing_nothing", "truncates_allowing_nothing"):
            obs["action_mask"] = np.zeros(3, np.int8)
        return (obs, 1.0, kind in ("terminates_allowing_nothing", "next_reset_allows_nothing"),
                kind == "truncates_allowing_nothing", {})


def mask_chaos():
    return MaskChaos()


class MaskedUint8:
    """A uint8 [2] "observation" (the step count, 255) and a MultiBinary(2)
    mask allowing action t % 2 only; never ends by itself."""

    def __init__(self):
        self.observation_space = Dict({"action_mask": MultiBinary(2),
                                       "observation": Box(0, 255, (2,), np.uint8)})
        self.action_space = Discrete(2)
        self.t = 0

    def observation(self):
        mask = np.zeros(2, np.int8)
        mask[self.t % 2] = 1
        return {"observation": np.array([self.t, 255], np.uint8), "action_mask": mask}

    def reset(self, seed=None, options=None):
        self.t = 0
        return self.observation(), {}

    def step(self, action):
        self.t += 1
        return self.observation(), 1.0, False, False, {}


def masked_uint8():
    return MaskedUint8()


class MaskBesideOtherKeys(MaskedUint8):
    """MaskedUint8 with a float32 "goal" of (0.25, 0.5) too: a Dict of flat
    leaves and a mask (DictSpace)."""

    def __init__(self):
        super().__init__()
        self.observation_space.spaces["goal"] = Box(0, 1, (2,), np.float32)

    def observation(self):
        obs = super().observation()
        obs["goal"] = np.array([0.25, 0.5], np.float32)
        return obs


class MaskOfWrongLength(MaskedUint8):
    def __init__(self):
        super().__init__()
        self.observation_space.spaces["action_mask"] = MultiBinary(3)


class MaskWithBoxActions(MaskedUint8):
    def __init__(self):
        super().__init__()
        self.action_space = Box(-1.0, 1.0, (2,), np.float32)


class MaskBesideDiscreteObservation(MaskedUint8):
    def __init__(self):
        super().__init__()
        self.observation_space.spaces["observation"] = Discrete(5)


def mask_beside_other_keys():
    return MaskBesideOtherKeys()


def mask_of_wrong_length():
    return MaskOfWrongLength()


def mask_with_box_actions():
    return MaskWithBoxActions()


def mask_beside_discrete_observation():
    return MaskBesideDiscreteObservation()


class EmptyHandedParty:
    """examples/python/pick_party.py's PickParty, but picker_0's first step
    leaves it live with a mask that allows nothing: the server must name
    the agent and reset the env."""

    def __init__(self):
        import pick_party
        self.env = pick_party.make()
        self.possible_agents = self.env.possible_agents
        self.spec = self.env.spec

    def observation_space(self, agent):
        return self.env.observation_space(agent)

    def action_space(self, agent):
        return self.env.action_space(agent)

    @property
    def agents(self):
        return self.env.agents

    def reset(self, seed=None, options=None):
        return self.env.reset(seed=seed, options=options)

    def step(self, actions):
        obs, rewards, terminations, truncations, infos = self.env.step(actions)
        if "picker_0" in obs and not terminations["picker_0"]:
            obs["picker_0"]["action_mask"][:] = 0
        return obs, rewards, terminations, truncations, infos


def empty_handed_party():
    return EmptyHandedParty()


# Dict and Tuple observations (proto/env.proto, DictSpace): one row each,
# the image leaf first, then the flat leaves as float32.

# What each instance of DictChaos does, by the seed of its first reset.
DICT_CHAOS = ("good", "not_a_dict", "missing_leaf", "extra_leaf", "image_of_floats", "state_of_nan",
              "state_too_long", "image_raises")


class DictChaos:
    """A Dict observation: "image" a uint8 [1, 2, 2] of (t, resets, kind,
    255), and "state" a float32 [2] of (t / 2, -1.5), over Discrete(2).
    Instance `kind` (the seed of its first reset, DICT_CHAOS's index)
    misbehaves at step 2 of its first episode as DICT_CHAOS names. Episodes
    last 5 steps."""

    def __init__(self):
        self.observation_space = Dict({"state": Box(-10.0, 10.0, (2,), np.float32),
                                       "image": Box(0, 255, (1, 2, 2), np.uint8)})
        self.action_space = Discrete(2)
        self.kind = "good"
        self.t = self.resets = 0

    def observation(self):
        image = np.array([[[self.t, self.resets], [DICT_CHAOS.index(self.kind), 255]]], np.uint8)
        return {"state": np.array([self.t / 2, -1.5], np.float32), "image": image}

    def reset(self, seed=None, options=None):
        if seed is not None:
            self.kind = DICT_CHAOS[seed]
        self.t = 0
        self.resets += 1
        return self.observation(), {}

    def step(self, action):
        self.t += 1
        obs, ended = self.observation(), self.t >= 5
        if self.t != 2 or self.resets != 1:
            return obs, 1.0, ended, False, {}
        kind = self.kind
        if kind == "not_a_dict":
            obs = np.zeros(6, np.float32)
        elif kind == "missing_leaf":
            del obs["state"]
        elif kind == "extra_leaf":
            obs["goal"] = np.zeros(2, np.float32)
        elif kind == "image_of_floats":
            obs["image"] = obs["image"].astype(np.float32)
        elif kind == "state_of_nan":
            obs["state"][1] = np.nan
        elif kind == "state_too_long":
            obs["state"] = np.zeros(3, np.float32)
        elif kind == "image_raises":
            raise RuntimeError("camera unplugged")
        return obs, 1.0, ended, False, {}


def dict_chaos():
    return DictChaos()


class Tuple:
    def __init__(self, spaces):
        self.spaces = tuple(spaces)


class TupleOfFloats:
    """A Tuple of a float32 [2] and a float64 scalar over Discrete(2); the
    observation is ((t, 1), t / 4)."""

    def __init__(self):
        self.observation_space = Tuple([Box(-1.0, 9.0, (2,), np.float32), Box(0.0, 1.0, (), np.float64)])
        self.action_space = Discrete(2)
        self.t = 0

    def observation(self):
        return (np.array([self.t, 1], np.float32), np.float64(self.t / 4))

    def reset(self, seed=None, options=None):
        self.t = 0
        return self.observation(), {}

    def step(self, action):
        self.t += 1
        return self.observation(), 0.0, self.t >= 4, False, {}


def tuple_of_floats():
    return TupleOfFloats()


class TwoImages(DictChaos):
    """DictChaos (kind "good") with a second image, "depth" uint8 [2, 2, 2]
    of 10 + t in every pixel, declared after the state."""

    def __init__(self):
        super().__init__()
        self.observation_space.spaces["depth"] = Box(0, 255, (2, 2, 2), np.uint8)

    def observation(self):
        obs = super().observation()
        obs["depth"] = np.full((2, 2, 2), 10 + self.t, np.uint8)
        return obs


class ImagesOfTwoSizes(DictChaos):
    def __init__(self):
        super().__init__()
        self.observation_space.spaces["depth"] = Box(0, 255, (1, 3, 3), np.uint8)


class MaskBesideImage(DictChaos):
    """DictChaos (kind "good") with an "action_mask" allowing action t % 2
    only, and none at all from step 3 on."""

    def __init__(self):
        super().__init__()
        self.observation_space.spaces["action_mask"] = MultiBinary(2)

    def observation(self):
        obs = super().observation()
        mask = np.zeros(2, np.int8)
        if self.t < 3:
            mask[self.t % 2] = 1
        obs["action_mask"] = mask
        return obs


class NestedDict(DictChaos):
    def __init__(self):
        super().__init__()
        self.observation_space.spaces["arm"] = Dict({"joints": Box(-1.0, 1.0, (3,), np.float32)})


class RankFourLeaf(DictChaos):
    def __init__(self):
        super().__init__()
        self.observation_space.spaces["video"] = Box(0, 255, (2, 1, 2, 2), np.uint8)


def two_images():
    return TwoImages()


def images_of_two_sizes():
    return ImagesOfTwoSizes()


def mask_beside_image():
    return MaskBesideImage()


def nested_dict():
    return NestedDict()


def rank_four_leaf():
    return RankFourLeaf()
