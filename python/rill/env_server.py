"""Serves any Gymnasium-API env over rill.v1.EnvService (proto/env.proto).

    PYTHONPATH=python python3 -m rill.env_server --factory=MODULE:CALLABLE \
        --address=HOST:PORT [--processes=K] [--max_episode_steps=T]

CALLABLE() returns one env: reset(seed=...) -> (obs, info), step(action) ->
(obs, reward, terminated, truncated, info), observation_space and
action_space (rill.spaces says what they need), optionally
spec.max_episode_steps. An observation_space that is a Dict of
"observation" (a Box) and "action_mask" (one element per action of a
Discrete action space) is served flat, the mask last, and announced in
EnvsOpened.action_mask; each observation dict is checked (the mask's
length, 0 or 1 in each element, and at least one 1 where the agent must
act from it) and flattened (rill.spaces). Or a multi-agent env in the
shape of PettingZoo's parallel API (it has possible_agents;
rill.multi_agent says what else it needs), served with proto/env.proto's
multi-agent tensors. Each actor stream gets its own N instances, stepped
in this process or, with --processes=K, in K worker processes, each
stepping a consecutive range of them (single- and multi-agent envs
alike), with the same answers. Port 0 binds a free port; the bound
address is printed as "listening on HOST:PORT".

A client on this host may ask for shared memory at open (the C++ actors do
for a loopback address): its stream's steps then go through a region
shared with it (rill.shared_region; proto/env.proto, "Shared memory"),
with the same answers and errors, and the gRPC stream carries only the
open and the final status.

Row control (proto/env.proto, "Row control"; single-agent streams, which
announce it in EnvsOpened.row_control): a step may carry step_mask, the
instances to step, and defer_resets, which leaves an instance whose
episode ended at its final state until a reset request names it (a render
draws that state); a reset request resets the instances it names and is
answered with their first observations. A multi-agent stream refuses all
three with INVALID_ARGUMENT.

Rendering (rill.render): a CALLABLE that takes a `render_mode` parameter
(a Gymnasium-style env class, or a function passing it on) is called with
render_mode="rgb_array"; an env so made, or one with a render() and no
render_mode at all, renders: the server announces its camera, "default",
and answers a render request with what render() returns, an RGB array
[H, W, 3] (or [H, W, 4]; the alpha is dropped) of uint8, at the env's own
size. Anything else render() does (raise, return None or another shape or
dtype) is answered as that instance's error; the stream goes on.
"""

import argparse
import concurrent.futures
import logging
import math
import signal
import sys
import threading

import grpc
import numpy as np
from google.protobuf.message import DecodeError

from rill import multi_agent, shared_region, tensors, wire
from rill._proto import env_pb2
from rill.env_batch import FactoryError, ProcessEnvBatch
from rill.spaces import all_finite

METHOD = "/rill.v1.EnvService/Connect"
MAX_ENVS = 4096
MAX_MESSAGE_BYTES = 256 << 20

log = logging.getLogger("rill.env_server")


class StreamError(Exception):
    """Ends one stream with a gRPC status naming the problem."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def parse_request(data):
    """The EnvRequest serialized in `data`."""
    try:
        return env_pb2.EnvRequest.FromString(data)
    except DecodeError as error:
        raise StreamError(grpc.StatusCode.INVALID_ARGUMENT, "a message that is no rill.v1.EnvRequest: %s"
                          % error) from None


class Steps:
    """Answers the steps, renders and resets of one stream: a serialized
    request in, the serialized EnvResponse out, or a StreamError that ends
    the stream."""

    def __init__(self, stream, batch, num_envs):
        self.stream, self.batch, self.num_envs = stream, batch, num_envs
        self.action_shape = (num_envs,) + tuple(batch.action_space.shape)
        self.wire_dtype = batch.action_space.wire_dtype()
        self.discrete = batch.action_space.discrete
        # A step request whose actions have exactly the stream's dtype and
        # shape is this prefix and then their bytes (None: always parse).
        self.prefix = wire.step_request_prefix(self.wire_dtype, self.action_shape)
        self.offset = len(self.prefix or b"")
        self.request_bytes = self.offset + self.wire_dtype.itemsize * math.prod(self.action_shape)
        self.encode = wire.SteppedEncoder(num_envs, batch.observation_space.shape,
                                          batch.observation_space.dtype).encode

    def __call__(self, request):
        if self.prefix is not None and len(request) == self.request_bytes and request.startswith(self.prefix):
            actions = np.frombuffer(request, self.wire_dtype, offset=self.offset)
            # Discrete actions go on as Python ints (EnvBatch.step's form).
            actions = actions.tolist() if self.discrete else actions.reshape(self.action_shape)
        else:
            # Anything else: parsed, and what is wrong with it named.
            return self._answer(request, self.encode)
        return self.encode(*self.step(actions))

    def _answer(self, request, encode):
        """A serialized request's answer: a render's, a reset's, or `encode`
        of the step it asks for; FAILED_PRECONDITION for any other kind."""
        request = parse_request(request)
        kind = request.WhichOneof("kind")
        if kind == "render":
            return self.render(request.render)
        if kind == "reset":
            observations, errors = self.reset(request.reset)
            return reset_answer(observations, errors)
        if kind != "step":
            raise StreamError(grpc.StatusCode.FAILED_PRECONDITION,
                              "a stream opens once; then every message is a step, a render or a reset (got %s)"
                              % kind)
        step_mask, defer_resets = self._row_control(request.step)
        actions = self._actions(request.step.actions, self.action_shape, self.wire_dtype)
        return encode(*self.step(actions, step_mask, defer_resets))

    def step(self, actions, step_mask=None, defer_resets=False):
        """One step of the batch with `actions` (the stream's shape and
        dtype; Python ints for a discrete space), step_mask ([N] bool or
        None) and defer_resets: EnvBatch.step's outputs. A NaN in the row
        of an instance the mask leaves out is no one's business."""
        if not self.discrete and not all_finite(actions) and (step_mask is None
                                                              or not all_finite(actions[step_mask])):
            raise StreamError(grpc.StatusCode.INVALID_ARGUMENT, "step.actions holds NaN or infinity")
        result = self.batch.step(actions, step_mask, defer_resets)
        for index, field, text in result[6]:
            log.warning("stream %d env %d: %s: %s", self.stream, index, field, text)
        return result

    def reset(self, request):
        """Resets the instances a ResetEnvs names (checked: ascending, each
        in 0..N-1, each once; INVALID_ARGUMENT otherwise): their first
        observations and the resets that failed, as EnvBatch.reset_some."""
        indices = list(request.env_indices)
        for k, index in enumerate(indices):
            if not 0 <= index < self.num_envs:
                raise StreamError(grpc.StatusCode.INVALID_ARGUMENT, "reset.env_indices: %d is out of range (0..%d)"
                                  % (index, self.num_envs - 1))
            if k and index <= indices[k - 1]:
                raise StreamError(grpc.StatusCode.INVALID_ARGUMENT,
                                  "reset.env_indices names %d twice" % index if index == indices[k - 1] else
                                  "reset.env_indices are not ascending: %d after %d" % (index, indices[k - 1]))
        observations, errors = self.batch.reset_some(indices)
        for index, field, text in errors:
            log.warning("stream %d env %d: %s: %s", self.stream, index, field, text)
        return observations, errors

    def _row_control(self, step):
        """(step_mask as an [N] bool array or None, defer_resets) of a
        StepEnvs; a StreamError naming a mask of another shape or dtype."""
        if not step.HasField("step_mask"):
            return None, step.defer_resets
        try:
            step_mask = tensors.from_tensor(step.step_mask)
        except ValueError as error:
            raise StreamError(grpc.StatusCode.INVALID_ARGUMENT, "step.step_mask: %s" % error) from None
        if step_mask.shape != (self.num_envs,) or step_mask.dtype != np.bool_:
            raise StreamError(grpc.StatusCode.INVALID_ARGUMENT,
                              "step.step_mask has dtype %s and shape %s; this stream takes bool [%d]"
                              % (step_mask.dtype.name, list(step_mask.shape), self.num_envs))
        return step_mask, step.defer_resets

    def _region_actions(self, region):
        """The actions in the region: a copy (they stay put while the batch
        steps) in the form a gRPC step gives the batch."""
        return region.actions.tolist() if self.discrete else np.array(region.actions)

    def serve_region(self, region):
        """Answers the stream's messages through its shared region until the
        client closes it (proto/env.proto, "Shared memory" and "Row
        control"): a plain step (no message), a step message that carries
        row control and no actions (the actions are in the region, and so
        is the answer's tensors), a reset (its first observations go to
        those instances' rows of the region), or any other message, which
        is answered as over gRPC."""
        for request in region.requests():
            if request is None:
                result = self.step(self._region_actions(region))
                region.write(*result[:4], result[5])
                answer = shared_region.stepped_extras(result[4], result[6])
            else:
                answer = self._region_answer(region, request)
            try:
                region.answer(answer)
            except OSError:  # the client went away mid-step: the stream is over
                return

    def _region_answer(self, region, data):
        """The answer to a serialized request through the region."""
        request = parse_request(data)
        kind = request.WhichOneof("kind")
        if kind == "step" and not request.step.HasField("actions"):
            step_mask, defer_resets = self._row_control(request.step)
            result = self.step(self._region_actions(region), step_mask, defer_resets)
            region.write(*result[:4], result[5])
            return shared_region.stepped_extras(result[4], result[6])
        if kind == "reset":
            observations, errors = self.reset(request.reset)
            region.observations[list(request.reset.env_indices)] = observations
            return reset_answer(None, errors)
        if kind == "render":
            return self.render(request.render)
        return self(data)  # a step carrying its actions, or a kind the stream refuses

    def render(self, request):
        """The serialized EnvResponse{rendered} for a RenderEnv: the
        instance's frame, or why there is none."""
        index = request.env_index
        if not 0 <= index < self.num_envs:
            frame, error = None, "render.env_index %d is out of range (0..%d)" % (index, self.num_envs - 1)
        else:
            frame, error = self.batch.render(index, request.width, request.height, request.camera)
        rendered = env_pb2.EnvRendered(env_index=index)
        if error is not None:
            log.warning("stream %d: render: %s", self.stream, error)
            rendered.error = error
        else:
            tensors.to_tensor(frame, rendered.frame)
        return env_pb2.EnvResponse(rendered=rendered).SerializeToString()

    @staticmethod
    def _actions(tensor, action_shape, wire_dtype):
        """step.actions as an array of the stream's shape and dtype, or the
        StreamError that names what is wrong with it."""
        try:
            actions = tensors.from_tensor(tensor)
        except ValueError as error:
            raise StreamError(grpc.StatusCode.INVALID_ARGUMENT, "step.actions: %s" % error) from None
        if actions.shape != action_shape or actions.dtype != wire_dtype:
            raise StreamError(grpc.StatusCode.INVALID_ARGUMENT,
                              "step.actions has dtype %s and shape %s; this stream takes %s %s"
                              % (actions.dtype.name, list(actions.shape), wire_dtype.name, list(action_shape)))
        return actions


class MultiAgentSteps(Steps):
    """Steps's answers for a stream of multi-agent envs (proto/env.proto,
    "Multi-agent envs"): [N, A] float32 actions in, the multi-agent tensors
    out, through protobuf (no precomputed prefixes)."""

    def __init__(self, stream, batch, num_envs):
        self.stream, self.batch, self.num_envs = stream, batch, num_envs
        self.action_shape = (num_envs, batch.action_width)
        self.wire_dtype = np.dtype(np.float32)

    def __call__(self, request):
        return self._answer(request, multi_agent.stepped_message)

    def _row_control(self, step):
        """A multi-agent stream has no row control: a step that asks for it
        ends the stream."""
        for field, asked in (("step_mask", step.HasField("step_mask")), ("defer_resets", step.defer_resets)):
            if asked:
                raise StreamError(grpc.StatusCode.INVALID_ARGUMENT,
                                  "step.%s: a multi-agent stream has no row control" % field)
        return None, False

    def reset(self, request):
        """A multi-agent stream has no row control: a reset request ends
        the stream."""
        raise StreamError(grpc.StatusCode.INVALID_ARGUMENT, "reset: a multi-agent stream has no row control")

    def step(self, actions, step_mask=None, defer_resets=False):
        """One step of the batch: MultiAgentEnvBatch.step's outputs (never
        row control: _row_control refused it)."""
        # A NaN in a slot the env never sees (an agent that left) is no one's
        # business; a live agent's is checked here, naming the env.
        if not all_finite(actions):
            live = self.batch.live
            for i in range(self.num_envs):
                for agent, is_live in zip(self.batch.agents, live[i]):
                    if is_live and not all_finite(actions[i, agent.action_slice]):
                        raise StreamError(grpc.StatusCode.INVALID_ARGUMENT,
                                          "step.actions of env %d agent %s hold NaN or infinity" % (i, agent.name))
        result = self.batch.step(actions)
        for index, field, agent, text in result[6]:
            log.warning("stream %d env %d%s: %s: %s", self.stream, index, " agent " + agent if agent else "",
                        field, text)
        return result

    def serve_region(self, region):
        for request in region.requests():
            if request is None:
                result = self.step(np.array(region.actions))
                region.write(*result[:4], result[5], result[7], result[8], result[9])
                answer = shared_region.stepped_extras(result[4], result[6])
            else:
                answer = self(request)  # answered as over gRPC; row control refused
            try:
                region.answer(answer)
            except OSError:
                return


def reset_answer(observations, errors):
    """The serialized EnvResponse{reset}: the first observations (None
    through a shared region, where they are in its rows) and the resets
    that failed, as (index, field, message)."""
    answer = env_pb2.EnvsReset()
    if observations is not None:
        tensors.to_tensor(observations, answer.observations)
    for index, field, text in errors:
        answer.errors.add(env_index=index, field=field, message=text)
    return env_pb2.EnvResponse(reset=answer).SerializeToString()


class EnvService:
    """One stream: open N instances, then answer each step in order."""

    def __init__(self, factory_spec, processes, max_episode_steps, row_control=True):
        self.factory_spec = factory_spec
        # Whether opened answers announce row control (--no_row_control: as
        # servers before it, for testing clients).
        self.row_control = row_control
        self.processes = processes
        self.max_episode_steps = max_episode_steps
        self.multi_agent = None  # whether the factory's envs are, once known (--processes > 1)
        self.streams = 0
        self.lock = threading.Lock()

    def connect(self, requests, context):
        with self.lock:
            self.streams += 1
            stream = self.streams
        batch = region = None
        try:
            first = next(requests, None)
            if first is None:
                return
            first = parse_request(first)
            if first.WhichOneof("kind") != "open":
                raise StreamError(grpc.StatusCode.FAILED_PRECONDITION,
                                  "the first message of a stream must be open (got %s)" % first.WhichOneof("kind"))
            batch = self._open(first.open)
            region = self._region(stream, batch, first.open)
            yield self._opened(stream, batch, first.open, region)
            steps = MultiAgentSteps if isinstance(batch, multi_agent.MultiAgentBatch) else Steps
            step = steps(stream, batch, first.open.num_envs)
            if region is not None:
                if region.accept():
                    if not context.add_callback(region.shutdown):  # a cancelled stream ends the loop
                        return
                    log.info("stream %d: stepping through shared memory", stream)
                    step.serve_region(region)
                    return
                log.warning("stream %d: its client did not take its shared region within %.0f s; stepping over "
                            "gRPC", stream, shared_region.ACCEPT_SECONDS)
                region.close()
                region = None
            for request in requests:
                yield step(request)
        except StreamError as error:
            log.warning("stream %d: %s", stream, error)
            context.abort(error.code, str(error))
        except FactoryError as error:
            log.error("stream %d: %s", stream, error)
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(error))
        except RuntimeError as error:  # a worker process died
            log.error("stream %d: %s", stream, error)
            context.abort(grpc.StatusCode.INTERNAL, str(error))
        finally:
            if region is not None:
                region.close()
            if batch is not None:
                batch.close()

    @staticmethod
    def _region(stream, batch, request):
        """The stream's SharedRegion when its client asked for one and this
        host can make it, else None (the stream goes over gRPC)."""
        if not request.shared_memory or not shared_region.supported():
            return None
        try:
            if isinstance(batch, multi_agent.MultiAgentBatch):
                return shared_region.SharedRegion(request.num_envs, (batch.obs_width,), np.float32,
                                                  (batch.action_width,), np.float32, len(batch.agents),
                                                  batch.state_size)
            action = batch.action_space
            return shared_region.SharedRegion(request.num_envs, batch.observation_space.shape,
                                              batch.observation_space.dtype,
                                              () if action.discrete else tuple(action.shape), action.wire_dtype())
        except OSError as error:
            log.warning("stream %d: no shared region (%s); stepping over gRPC", stream, error)
            return None

    def _opened(self, stream, batch, request, region):
        """The serialized EnvsOpened answer to `request` (an OpenEnvs)."""
        opened = env_pb2.EnvsOpened(env_id=self.factory_spec, max_episode_steps=batch.max_episode_steps,
                                    cameras=batch.cameras)
        if isinstance(batch, multi_agent.MultiAgentBatch):
            observations, errors, live, states = batch.reset_all(list(request.seeds))
            batch.opened_fields(opened)
            tensors.to_tensor(live, opened.live)
            if batch.state_size:
                tensors.to_tensor(states, opened.states)
        else:
            observations, errors = batch.reset_all(list(request.seeds))
            opened.observation_space.CopyFrom(batch.observation_space.message())
            opened.action_space.CopyFrom(batch.action_space.message())
            opened.row_control = self.row_control
            opened.action_mask = batch.observation_space.action_mask
            errors = [(index, field, "", text) for index, field, text in errors]
        tensors.to_tensor(observations, opened.observations)
        if region is not None:
            opened.shared_memory.CopyFrom(region.message())
        for index, field, agent, text in errors:
            log.warning("stream %d env %d%s: %s: %s", stream, index, " agent " + agent if agent else "", field, text)
        multi_agent.add_errors(opened.errors, errors)
        log.info("stream %d: %d envs of %s", stream, request.num_envs, self.factory_spec)
        return env_pb2.EnvResponse(opened=opened).SerializeToString()

    def _open(self, request):
        if not 1 <= request.num_envs <= MAX_ENVS:
            raise StreamError(grpc.StatusCode.INVALID_ARGUMENT,
                              "open.num_envs %d is out of range (1..%d)" % (request.num_envs, MAX_ENVS))
        if len(request.seeds) != request.num_envs:
            raise StreamError(grpc.StatusCode.INVALID_ARGUMENT,
                              "open.seeds has %d seeds for %d envs" % (len(request.seeds), request.num_envs))
        if self.processes > 1:
            if self.multi_agent is None:
                probe = multi_agent.open_batch(self.factory_spec, 1, self.max_episode_steps)
                self.multi_agent = isinstance(probe, multi_agent.MultiAgentBatch)
                probe.close()
            spread = multi_agent.MultiAgentProcessBatch if self.multi_agent else ProcessEnvBatch
            return spread(self.factory_spec, request.num_envs, self.processes, self.max_episode_steps)
        return multi_agent.open_batch(self.factory_spec, request.num_envs, self.max_episode_steps)


def serve(factory_spec, address, processes=1, max_episode_steps=0, max_streams=256, row_control=True):
    """Starts the server; returns (server, bound address)."""
    service = EnvService(factory_spec, processes, max_episode_steps, row_control)
    handler = grpc.method_handlers_generic_handler("rill.v1.EnvService", {
        "Connect": grpc.stream_stream_rpc_method_handler(
            service.connect,
            # connect reads serialized EnvRequests and yields serialized
            # EnvResponses: the common ones it reads and writes itself.
            request_deserializer=None, response_serializer=None),
    })
    options = [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
               ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
               ("grpc.so_reuseport", 0)]
    server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=max_streams), options=options,
                         maximum_concurrent_rpcs=max_streams)
    server.add_generic_rpc_handlers((handler,))
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError("--address %r is not HOST:PORT" % address)
    bound = server.add_insecure_port(address)
    if bound == 0:
        raise OSError("cannot bind %s (in use, or not an address of this host)" % address)
    server.start()
    return server, "%s:%d" % (host, bound)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m rill.env_server", description=__doc__.split("\n\n")[0])
    parser.add_argument("--factory", required=True, help="MODULE:CALLABLE returning one env")
    parser.add_argument("--address", default="127.0.0.1:0", help="HOST:PORT to serve on; port 0 picks one")
    parser.add_argument("--processes", type=int, default=1,
                        help="worker processes per stream that step its envs (1: in this process)")
    parser.add_argument("--max_episode_steps", type=int, default=0,
                        help="truncate episodes after this many steps (0: the env's spec, else none)")
    parser.add_argument("--no_row_control", dest="row_control", action="store_false",
                        help="announce no row control (proto/env.proto), as servers before it did: for "
                             "testing clients")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[env_server] %(levelname).1s %(asctime)s %(message)s")
    if args.processes < 1:
        parser.error("--processes %d must be >= 1" % args.processes)
    if args.max_episode_steps < 0:
        parser.error("--max_episode_steps %d must be >= 0" % args.max_episode_steps)
    try:
        # Fail at start-up, not at the first stream, on a factory that cannot
        # be loaded or makes an env whose spaces the protocol cannot carry.
        probe = multi_agent.open_batch(args.factory, 1, args.max_episode_steps)
        probe.close()
        server, bound = serve(args.factory, args.address, args.processes, args.max_episode_steps,
                              row_control=args.row_control)
    except (FactoryError, ValueError, OSError) as error:
        print("rill.env_server: %s" % error, file=sys.stderr)
        return 2
    print("listening on %s" % bound, flush=True)
    log.info("%s: %s", args.factory, "renders RGB frames (render_mode=\"rgb_array\")" if probe.cameras
             else "does not render (no render(), or made without render_mode=\"rgb_array\")")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.stop(grace=2).wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
