"""A client of rill.v1.EnvService (proto/env.proto): opens N instances on one
stream and steps them. What the C++ actor does, for tests, benchmarks and
Python users who want to drive a served env themselves."""

import queue

import grpc
import numpy as np

from rill import tensors
from rill._proto import env_pb2

_MAX_MESSAGE_BYTES = 256 << 20


class EnvStream:
    """One stream: `opened` holds the server's EnvsOpened; step() sends one
    action tensor and returns the EnvsStepped answer with numpy fields."""

    def __init__(self, address, num_envs, seeds=None, timeout=30.0):
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
        self.send(env_pb2.EnvRequest(open=env_pb2.OpenEnvs(num_envs=num_envs, seeds=seeds)))
        self.opened = self.receive().opened
        self.observations = tensors.from_tensor(self.opened.observations)

    def send(self, request):
        self.requests.put(request)

    def receive(self):
        """The next answer; grpc.RpcError when the server ended the stream."""
        return next(self.responses)

    def step(self, actions):
        """(observations, rewards, terminated, truncated, final_indices,
        final_observations, errors) for one step of every instance."""
        request = env_pb2.EnvRequest()
        tensors.to_tensor(np.asarray(actions), request.step.actions)
        self.send(request)
        stepped = self.receive().stepped
        self.observations = tensors.from_tensor(stepped.observations)
        return (self.observations, tensors.from_tensor(stepped.rewards), tensors.from_tensor(stepped.terminated),
                tensors.from_tensor(stepped.truncated), list(stepped.final_indices),
                tensors.from_tensor(stepped.final_observations), list(stepped.errors))

    def render(self, index, width, height, camera=""):
        """(frame, error): instance `index`'s current state as a uint8
        [height, width, 3] array at the size the server drew it, and None;
        or None and the server's reason. Steps nothing. The envs render
        when `opened.cameras` is not empty."""
        self.send(env_pb2.EnvRequest(render=env_pb2.RenderEnv(env_index=index, width=width, height=height,
                                                              camera=camera)))
        rendered = self.receive().rendered
        if rendered.error:
            return None, rendered.error
        return tensors.from_tensor(rendered.frame), None

    def close(self):
        self.requests.put(None)
        self.channel.close()
