"""The server's end of a stream stepped through shared memory
(proto/env.proto, "Shared memory").

A SharedRegion holds one stream's arrays in a memfd mapped here and, once
its client connects to the region's abstract Unix socket and proves it is
the stream's own (the token of the opened answer), in the client: actions
in, observations, rewards, flags and final observations out. Each step then
costs two short socket messages instead of two gRPC messages, and the
tensors are never serialized: what is left is the env's own stepping.
"""

import math
import mmap
import os
import secrets
import socket
import struct
import sys
import time

import numpy as np

from rill._proto import env_pb2

# How long the server waits for the client to connect before it serves the
# stream over gRPC instead (the protocol's figure).
ACCEPT_SECONDS = 5.0
# How long the server polls for the client's next message before it sleeps
# in recv (spin_seconds): waking costs 50-80 us on a busy host, as much as a
# fast env's whole step.
MIN_SPIN_SECONDS = 100e-6
MAX_SPIN_SECONDS = 1e-3
_ALIGN = 64
_TOKEN_BYTES = 16
_LENGTH = struct.Struct("<I")


def supported():
    """Whether this host can serve a region: Linux (abstract sockets), with
    memfd_create and file descriptor passing."""
    return sys.platform.startswith("linux") and hasattr(os, "memfd_create") and hasattr(socket, "send_fds")


def spin_seconds(recent):
    """How long to poll for a message that has lately taken `recent` seconds
    to come (None: none came yet): a client that comes back within
    MAX_SPIN_SECONDS (an actor whose policy is quick) is waited for awake, a
    quarter longer than it takes, with a margin; a slower one is not worth
    a core, its wake-up small beside its own time."""
    if recent is None or recent > MAX_SPIN_SECONDS:
        return MIN_SPIN_SECONDS
    return min(MAX_SPIN_SECONDS, max(MIN_SPIN_SECONDS, recent * 1.25 + 20e-6))


def _aligned(offset):
    return (offset + _ALIGN - 1) // _ALIGN * _ALIGN


ARRAYS = ("actions", "observations", "rewards", "terminated", "truncated", "final_observations")
# A multi-agent stream's (proto/env.proto, "Multi-agent envs"): ARRAYS, then
# the live masks, the states and the ended envs' final states.
MULTI_AGENT_ARRAYS = ARRAYS + ("live", "states", "final_states")


def region_arrays(buffer, num_envs, offsets, observation_shape, observation_dtype, action_shape, action_dtype,
                  agents=0, state_size=0):
    """The region's arrays over `buffer`, by name (ARRAYS; with `agents`
    K > 0, a multi-agent stream's MULTI_AGENT_ARRAYS, rewards and flags
    [N, K]), each [N, ...] at its byte offset (`offsets`: name -> offset),
    as both ends view it."""
    per_agent = (agents,) if agents else ()
    shapes = {"actions": (action_shape, action_dtype), "observations": (observation_shape, observation_dtype),
              "rewards": (per_agent, np.float32), "terminated": (per_agent, np.bool_),
              "truncated": (per_agent, np.bool_), "final_observations": (observation_shape, observation_dtype),
              "live": (per_agent, np.bool_), "states": ((state_size,), np.float32),
              "final_states": ((state_size,), np.float32)}
    names = MULTI_AGENT_ARRAYS if agents else ARRAYS
    return {name: np.ndarray((num_envs,) + tuple(shapes[name][0]), shapes[name][1], buffer=buffer,
                             offset=offsets[name]) for name in names}


def _receive_exactly(connection, count):
    """`count` bytes from `connection`, or None when it closed first."""
    data = bytearray(count)
    view, got = memoryview(data), 0
    while got < count:
        n = connection.recv_into(view[got:])
        if n == 0:
            return None
        got += n
    return bytes(data)


class SharedRegion:
    """One stream's region: N instances of the given observation and action
    layouts (shapes without N, numpy dtypes)."""

    def __init__(self, num_envs, observation_shape, observation_dtype, action_shape, action_dtype, agents=0,
                 state_size=0):
        """agents: K > 0 for a multi-agent stream ([N, K] rewards, flags and
        live masks; [N, state_size] states)."""
        obs_bytes = math.prod(observation_shape) * np.dtype(observation_dtype).itemsize
        action_bytes = math.prod(action_shape) * np.dtype(action_dtype).itemsize
        n = num_envs
        k = max(agents, 1)
        layout = {}
        offset = 0
        sizes = (n * action_bytes, n * obs_bytes, n * k * 4, n * k, n * k, n * obs_bytes, n * k, n * state_size * 4,
                 n * state_size * 4)
        self.array_names = MULTI_AGENT_ARRAYS if agents else ARRAYS
        for name, size in zip(self.array_names, sizes):
            layout[name] = offset
            offset = _aligned(offset + size)
        self.size = max(offset, _ALIGN)
        self.layout = layout
        self.fd = os.memfd_create("rill-env-stream", os.MFD_CLOEXEC)
        self.listener = self.connection = self.buffer = None
        try:
            os.ftruncate(self.fd, self.size)
            self.buffer = mmap.mmap(self.fd, self.size)
            self.__dict__.update(region_arrays(self.buffer, n, layout, observation_shape, observation_dtype,
                                               action_shape, action_dtype, agents, state_size))
            self.token = secrets.token_bytes(_TOKEN_BYTES)
            self.name = "rill-env-%d-%s" % (os.getpid(), secrets.token_hex(8))
            self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.listener.bind("\0" + self.name)
            self.listener.listen(4)
        except Exception:
            self.close()
            raise

    def message(self):
        """The opened answer's SharedMemory."""
        return env_pb2.SharedMemory(
            socket=self.name, token=self.token, size=self.size, actions_offset=self.layout["actions"],
            observations_offset=self.layout["observations"], rewards_offset=self.layout["rewards"],
            terminated_offset=self.layout["terminated"], truncated_offset=self.layout["truncated"],
            final_observations_offset=self.layout["final_observations"], live_offset=self.layout.get("live", 0),
            states_offset=self.layout.get("states", 0), final_states_offset=self.layout.get("final_states", 0))

    def accept(self, timeout=ACCEPT_SECONDS):
        """Waits for the stream's client: True once it holds the region,
        False when none proved itself within `timeout` (connections with
        another token are closed and waited past)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.listener.settimeout(left)
            try:
                connection, _ = self.listener.accept()
            except (socket.timeout, OSError):
                return False
            connection.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                token = _receive_exactly(connection, _TOKEN_BYTES)
                if token == self.token:
                    socket.send_fds(connection, [b"\x01"], [self.fd])
                    connection.settimeout(None)
                    self.connection = connection
                    self.listener.close()
                    self.listener = None
                    return True
            except OSError:
                pass
            connection.close()

    def requests(self):
        """The client's messages until it closes the socket: None for a step
        (its actions are in the region), else a serialized EnvRequest."""
        connection, header = self.connection, bytearray(_LENGTH.size)
        clock, peek, pause = time.perf_counter, socket.MSG_DONTWAIT | socket.MSG_PEEK, os.sched_yield
        recent = None  # how long the client's messages have lately taken to come
        while True:
            # A message that comes within the spin is taken without sleeping
            # in recv; the poll gives the core away when another thread
            # wants it (the client may share it).
            waited_from = clock()
            until = waited_from + spin_seconds(recent)
            try:
                while clock() < until:
                    try:
                        if connection.recv(1, peek):
                            break
                    except BlockingIOError:
                        pause()
                        continue
                    break  # b"": closed; the blocking read below says so
                got = connection.recv_into(header, _LENGTH.size, socket.MSG_WAITALL)
            except OSError:
                return
            took = clock() - waited_from
            recent = took if recent is None else recent + (took - recent) / 8
            if got < _LENGTH.size:
                return
            length = _LENGTH.unpack(header)[0]
            if length == 0:
                yield None
                continue
            try:
                data = _receive_exactly(connection, length)
            except OSError:
                return
            if data is None:
                return
            yield data

    def write(self, observations, rewards, terminated, truncated, final_observations, live=None, states=None,
              final_states=None):
        """A step's tensors into the region (a multi-agent stream's live
        masks, states and final states too)."""
        self.observations[...] = observations
        self.rewards[...] = rewards
        self.terminated[...] = terminated
        self.truncated[...] = truncated
        if len(final_observations):
            self.final_observations[:len(final_observations)] = final_observations
        if live is not None:
            self.live[...] = live
            self.states[...] = states
            if len(final_states):
                self.final_states[:len(final_states)] = final_states

    def answer(self, payload):
        """Sends one message (b"": a step with nothing but its tensors)."""
        self.connection.sendall(_LENGTH.pack(len(payload)) + payload)

    def shutdown(self):
        """Ends requests() from another thread (the stream was cancelled,
        or the server stops)."""
        connection = self.connection
        if connection is not None:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        for held in (self.connection, self.listener):
            if held is not None:
                held.close()
        self.connection = self.listener = None
        # The arrays view the mapping: drop them before closing it.
        for name in MULTI_AGENT_ARRAYS:
            self.__dict__.pop(name, None)
        if self.buffer is not None:
            try:
                self.buffer.close()
            except BufferError:
                pass  # a view still alive: the mapping goes with it
            self.buffer = None
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def stepped_extras(final_indices, errors):
    """The serialized answer to a region step: EnvResponse{stepped} with only
    final_indices and errors (the tensors are in the region); b"" when it
    has neither. Errors are (index, field, message), or a multi-agent
    stream's (index, field, agent, message)."""
    if not final_indices and not errors:
        return b""
    stepped = env_pb2.EnvsStepped(final_indices=final_indices)
    for error in errors:
        index, field, text = error[0], error[1], error[-1]
        stepped.errors.add(env_index=index, field=field, message=text, agent=error[2] if len(error) == 4 else "")
    return env_pb2.EnvResponse(stepped=stepped).SerializeToString()
