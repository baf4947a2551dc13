"""A room warmed by an electric water radiator, in numpy, behind Gymnasium's
env API: keep the room at the thermostat's schedule through 12 winter
hours, paying for the electricity. Heat bought now reaches the room over
the next hour, and the room cools only slowly, so the thermostat shows the
next setpoint up to 2 hours ahead: a controller that acts before a change
does much better than one that reacts to it.

Dynamics, two lumped heat capacities (Euler steps of 1 minute, 5 per env
step of 5 minutes):
    radiator  C_h dT_h/dt = P u - K_h (T_h - T_room)
    room      C_r dT_room/dt = K_h (T_h - T_room) - UA (T_room - T_out)
with P = 5 kW, C_h = 0.2 kWh/K, K_h = 0.3 kW/K, C_r = 0.5 kWh/K and
UA = 0.1 kW/K. Outside, T_out follows a sine of one day (mean -5..10 C,
amplitude 0..4 C, any phase). The schedule: the setpoint starts at
19..23 C and changes twice, at a step in 24..60 and at one in 84..120,
each time to 16..23 C.

Action: Box(low=0, high=1, shape=(1,)), the heater's power as a fraction
of P. Observation (float32, kelvin and hours): [setpoint - T_room,
T_h - T_room, T_room - T_out, next setpoint - setpoint (0 while no change
is within 2 hours, and after the last), hours to that change (2 when
none is within 2 hours)]. Reward per step: -(discomfort + 0.6 * kWh
bought), where discomfort is how far T_room is outside setpoint +- 0.5 K
(a 5-minute step at full power costs 0.25). Nothing terminates; episodes
are truncated at 144 steps (12 hours). reset(seed) draws the weather, the
schedule and the start (the room within 1 K of the first setpoint, the
radiator 0..15 K warmer) from the seed alone.

Mean returns over the 100 episodes of seeds 1000..1099
(`python3 examples/python/heated_room.py` measures them):
    heater off                                                    -1042
    uniform random power                                           -663
    proportional thermostat, u = clip(1.0 (setpoint - T_room)),
      the best gain of 0.25..32                                    -52.2
    planner(), which knows the model and aims at the next
      setpoint 1 hour before the change                            -28.4
      (-52.4 when it does not look ahead)
SAC (deploy/configs/heated_room_sac_remote.textpb) reached -30 to -34 in
20,000 env steps (11 runs' final evaluations of 50 episodes each; two of
its policies scored -31.6 and -31.7 on these 100).

    PYTHONPATH=python:examples/python python3 -m rill.env_server --factory=heated_room:make
"""

import math

import numpy as np

from spaces import Box, Spec

STEP_HOURS = 5.0 / 60.0
SUBSTEPS = 5
HEATER_KW = 5.0
RADIATOR_KWH_PER_K = 0.2
RADIATOR_KW_PER_K = 0.3
ROOM_KWH_PER_K = 0.5
WALLS_KW_PER_K = 0.1
PRICE_PER_KWH = 0.6
COMFORT_BAND_K = 0.5
LOOKAHEAD_HOURS = 2.0
MAX_EPISODE_STEPS = 144


class HeatedRoom:
    def __init__(self):
        low = np.array([-np.inf, -np.inf, -np.inf, -7, 0], np.float32)
        high = np.array([np.inf, np.inf, np.inf, 7, LOOKAHEAD_HOURS], np.float32)
        self.observation_space = Box(low, high, (5,), np.float32)
        self.action_space = Box(0.0, 1.0, (1,), np.float32)
        self.spec = Spec(max_episode_steps=MAX_EPISODE_STEPS)
        self.rng = np.random.default_rng()
        self.reset()

    def reset(self, seed=None, options=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        rng = self.rng
        self.outside_mean = rng.uniform(-5.0, 10.0)
        self.outside_amplitude = rng.uniform(0.0, 4.0)
        self.outside_phase = rng.uniform(0.0, 2 * math.pi)
        self.setpoints = (rng.uniform(19.0, 23.0), rng.uniform(16.0, 23.0), rng.uniform(16.0, 23.0))
        self.changes = (int(rng.integers(24, 61)), int(rng.integers(84, 121)))
        self.room = self.setpoints[0] + rng.uniform(-1.0, 1.0)
        self.radiator = self.room + rng.uniform(0.0, 15.0)
        self.t = 0
        return self._observation(), {}

    def _outside(self, hours):
        return self.outside_mean + self.outside_amplitude * math.sin(2 * math.pi * hours / 24.0 + self.outside_phase)

    def _phase(self):
        """How many setpoint changes have happened."""
        return (self.t >= self.changes[0]) + (self.t >= self.changes[1])

    def _observation(self):
        phase = self._phase()
        if phase < 2:
            upcoming = self.setpoints[phase + 1]
            hours = min((self.changes[phase] - self.t) * STEP_HOURS, LOOKAHEAD_HOURS)
            if hours >= LOOKAHEAD_HOURS:
                upcoming = self.setpoints[phase]
        else:
            upcoming, hours = self.setpoints[2], LOOKAHEAD_HOURS
        setpoint = self.setpoints[phase]
        outside = self._outside(self.t * STEP_HOURS)
        return np.array([setpoint - self.room, self.radiator - self.room, self.room - outside,
                         upcoming - setpoint, hours], dtype=np.float32)

    def step(self, action):
        heat = min(max(float(action[0]), 0.0), 1.0)
        dt = STEP_HOURS / SUBSTEPS
        room, radiator = self.room, self.radiator
        for k in range(SUBSTEPS):
            outside = self._outside((self.t + k / SUBSTEPS) * STEP_HOURS)
            to_room = RADIATOR_KW_PER_K * (radiator - room)
            radiator += dt * (HEATER_KW * heat - to_room) / RADIATOR_KWH_PER_K
            room += dt * (to_room - WALLS_KW_PER_K * (room - outside)) / ROOM_KWH_PER_K
        self.room, self.radiator = room, radiator
        self.t += 1
        discomfort = max(abs(room - self.setpoints[self._phase()]) - COMFORT_BAND_K, 0.0)
        reward = -(discomfort + PRICE_PER_KWH * HEATER_KW * heat * STEP_HOURS)
        return self._observation(), reward, False, False, {}


def make():
    return HeatedRoom()


def thermostat(gain):
    """A proportional thermostat: heat in proportion to how far the room is
    below the setpoint."""
    return lambda obs: np.array([min(max(gain * float(obs[0]), 0.0), 1.0)], np.float32)


def planner(lead_hours, gain):
    """A thermostat that knows the model and the schedule: it aims at the
    next setpoint `lead_hours` before the change, and sets the heater so the
    radiator approaches the temperature that holds the room at its aim
    (the walls' loss) plus `gain` K per K the room is short of it."""

    def act(obs):
        short, radiator_above_room, room_above_outside, change, hours = (float(x) for x in obs)
        if hours <= lead_hours:
            short += change
        holding = WALLS_KW_PER_K * (room_above_outside + short) / RADIATOR_KW_PER_K
        wanted = holding + gain * short
        power = RADIATOR_KW_PER_K * wanted + RADIATOR_KWH_PER_K * (wanted - radiator_above_room) / STEP_HOURS
        return np.array([min(max(power / HEATER_KW, 0.0), 1.0)], np.float32)

    return act


def mean_return(policy, episodes=100, first_seed=1000):
    env = make()
    returns = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=first_seed + episode)
        total = 0.0
        for _ in range(MAX_EPISODE_STEPS):
            obs, reward, _, _, _ = env.step(policy(obs))
            total += reward
        returns.append(total)
    return float(np.mean(returns))


def _best(make_policy, grid):
    return max((mean_return(make_policy(*args)), args) for args in grid)


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    print("uniform random heater: %.1f" % mean_return(lambda obs: rng.uniform(0.0, 1.0, 1).astype(np.float32)))
    print("heater off: %.1f" % mean_return(lambda obs: np.zeros(1, np.float32)))
    result, (gain,) = _best(thermostat, [(g,) for g in (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)])
    print("best proportional thermostat: %.1f (gain %g)" % (result, gain))
    result, (lead, gain) = _best(planner, [(lead, g) for lead in (0.5, 1.0, 1.5, 2.0) for g in (0.5, 1.0, 2.0, 4.0)])
    print("best planner: %.1f (lead_hours %g, gain %g)" % (result, lead, gain))
    print("the same without looking ahead: %.1f" % mean_return(planner(0.0, gain)))
