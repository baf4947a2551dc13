"""A client of rill.v1.EnvService (proto/env.proto): opens N instances on one
stream and steps them. What the C++ actor does, for tests, benchmarks and
Python users who want to drive a served env themselves."""

import mmap
import queue
import socket
import struct

import grpc
import numpy as np

from rill import shared_region, tensors
from rill._proto import env_pb2

_MAX_MESSAGE_BYTES = 256 << 20


class EnvStream:
    """One stream: `opened` holds the server's EnvsOpened; step() sends one
    action tensor and returns the EnvsStepped answer with numpy fields;
    render() and reset() (row control) ask for the other answers."""

    def __init__(self, address, num_envs, seeds=None, timeout=30.0, shared_memory=False, take_region=True):
        """shared_memory: ask the server to step through a shared region
        (proto/env.proto); `region` is then the mapping when the server
        granted it (None: gRPC). take_region=False asks and never connects
        (the server's 5 s fallback to gRPC, for tests)."""
        self.channel = grpc.insecure_channel(address, options=[
            ("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", _MAX_MESSAGE_BYTES)])
        self.timeout = timeout
        self.requests = queue.Queue()
        connect = self.channel.stream_stream("/rill.v1.EnvService/Connect",
                                             request_serializer=env_pb2.EnvRequest.SerializeToString,
                                             response_deserializer=env_pb2.EnvResponse.FromString)
        self.responses = connect(iter(self.requests.get, None))
        seeds = list(range(num_envs)) if seeds is None else list(seeds)
        self.send(env_pb2.EnvRequest(open=env_pb2.OpenEnvs(num_envs=num_envs, seeds=seeds,
                                                           shared_memory=shared_memory)))
        self.opened = self.receive().opened
        self.observations = tensors.from_tensor(self.opened.observations)
        self.num_envs = num_envs
        # A multi-agent stream (proto/env.proto, "Multi-agent envs"): step()
        # takes [N, A] float32 actions and also returns the live masks and
        # states; `live` and `states` hold the newest.
        self.multi_agent = len(self.opened.agents) > 0
        if self.multi_agent:
            self.action_width = sum(1 if a.action_space.HasField("discrete") else int(np.prod(a.action_space.box.shape))
                                    for a in self.opened.agents)
            self.live = tensors.from_tensor(self.opened.live)
            self.states = (tensors.from_tensor(self.opened.states) if self.opened.HasField("states")
                           else np.zeros((num_envs, 0), np.float32))
        self.region = self.socket = None
        if self.opened.HasField("shared_memory") and take_region:
            self._take_region(self.opened.shared_memory)

    def _take_region(self, shared):
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.socket.settimeout(self.timeout)
        self.socket.connect("\0" + shared.socket)
        self.socket.sendall(shared.token)
        _, fds, _, _ = socket.recv_fds(self.socket, 1, 1)
        if not fds:
            raise ConnectionError("the env server handed over no shared region")
        self.region = mmap.mmap(fds[0], shared.size)
        socket.close(fds[0])
        observation = self.observations[0]
        if self.multi_agent:
            names = shared_region.MULTI_AGENT_ARRAYS
            arrays = shared_region.region_arrays(
                self.region, self.num_envs, {name: getattr(shared, name + "_offset") for name in names},
                observation.shape, np.float32, (self.action_width,), np.float32, len(self.opened.agents),
                int(np.prod(self.opened.state_space.shape)) if self.opened.HasField("state_space") else 0)
        else:
            names = shared_region.ARRAYS
            space = self.opened.action_space
            discrete = space.HasField("discrete")
            arrays = shared_region.region_arrays(
                self.region, self.num_envs, {name: getattr(shared, name + "_offset") for name in names},
                observation.shape, observation.dtype, () if discrete else tuple(space.box.shape),
                np.int64 if discrete else np.float32)
        self._actions = arrays["actions"]
        self._views = tuple(arrays[name] for name in names[1:])

    def _exchange(self, payload):
        """One message through the region's socket; the answer's bytes."""
        self.socket.sendall(struct.pack("<I", len(payload)) + payload)
        header = self.socket.recv(4, socket.MSG_WAITALL)
        if len(header) < 4:
            raise ConnectionError("the env server closed its shared region")
        length = struct.unpack("<I", header)[0]
        return self.socket.recv(length, socket.MSG_WAITALL) if length else b""

    def send(self, request):
        self.requests.put(request)

    def receive(self):
        """The next answer; grpc.RpcError when the server ended the stream."""
        return next(self.responses)

    def step(self, actions, step_mask=None, defer_resets=False):
        """(observations, rewards, terminated, truncated, final_indices,
        final_observations, errors) for one step of every instance; a
        multi-agent stream's also (..., live, states, final_states).
        step_mask ([N] bool: the instances to step) and defer_resets are
        row control (proto/env.proto), for a server that announces
        opened.row_control; any array is sent as it is, so a test can send
        a wrong one."""
        row_control = None
        if step_mask is not None or defer_resets:
            row_control = env_pb2.StepEnvs(defer_resets=defer_resets)
            if step_mask is not None:
                tensors.to_tensor(np.asarray(step_mask), row_control.step_mask)
        if self.region is not None:
            self._actions[...] = actions
            # A step with row control carries it, and no actions (those
            # are in the region).
            answer = self._exchange(b"" if row_control is None else
                                    env_pb2.EnvRequest(step=row_control).SerializeToString())
            stepped = env_pb2.EnvResponse.FromString(answer).stepped if answer else env_pb2.EnvsStepped()
            views = [view.copy() for view in self._views]
            observations, rewards, terminated, truncated, finals = views[:5]
            self.observations = observations
            result = (observations, rewards, terminated, truncated, list(stepped.final_indices),
                      finals[:len(stepped.final_indices)], list(stepped.errors))
            if self.multi_agent:
                self.live, self.states = views[5], views[6]
                result += (self.live, self.states, views[7][:len(stepped.final_indices)])
            return result
        request = env_pb2.EnvRequest()
        if row_control is not None:
            request.step.CopyFrom(row_control)
        tensors.to_tensor(np.asarray(actions), request.step.actions)
        self.send(request)
        stepped = self.receive().stepped
        self.observations = tensors.from_tensor(stepped.observations)
        result = (self.observations, tensors.from_tensor(stepped.rewards), tensors.from_tensor(stepped.terminated),
                  tensors.from_tensor(stepped.truncated), list(stepped.final_indices),
                  tensors.from_tensor(stepped.final_observations), list(stepped.errors))
        if self.multi_agent:
            self.live = tensors.from_tensor(stepped.live)
            self.states = (tensors.from_tensor(stepped.states) if stepped.HasField("states")
                           else np.zeros((self.num_envs, 0), np.float32))
            final_states = (tensors.from_tensor(stepped.final_states) if stepped.HasField("final_states")
                            else np.zeros((len(stepped.final_indices), 0), np.float32))
            result += (self.live, self.states, final_states)
        return result

    def reset(self, indices):
        """(observations [len(indices), ...], errors): resets the instances
        `indices` (row control: ascending, each once) and gives their first
        observations; `observations` holds them in their rows too."""
        request = env_pb2.EnvRequest(reset=env_pb2.ResetEnvs(env_indices=indices))
        if self.region is not None:
            answer = env_pb2.EnvResponse.FromString(self._exchange(request.SerializeToString())).reset
            # The server wrote them to their rows of the region.
            first = self._views[0][list(indices)].copy()
        else:
            self.send(request)
            answer = self.receive().reset
            first = tensors.from_tensor(answer.observations)
        self.observations = np.array(self.observations)
        self.observations[list(indices)] = first
        return first, list(answer.errors)

    def render(self, index, width, height, camera=""):
        """(frame, error): instance `index`'s current state as a uint8
        [height, width, 3] array at the size the server drew it, and None;
        or None and the server's reason. Steps nothing. The envs render
        when `opened.cameras` is not empty."""
        request = env_pb2.EnvRequest(render=env_pb2.RenderEnv(env_index=index, width=width, height=height,
                                                              camera=camera))
        if self.region is not None:
            rendered = env_pb2.EnvResponse.FromString(self._exchange(request.SerializeToString())).rendered
        else:
            self.send(request)
            rendered = self.receive().rendered
        if rendered.error:
            return None, rendered.error
        return tensors.from_tensor(rendered.frame), None

    def close(self):
        if self.socket is not None:
            self.socket.close()
        self.requests.put(None)
        self.channel.close()
