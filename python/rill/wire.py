"""EnvResponse{stepped} bytes written directly, and EnvRequest{step} bytes
read directly, for the env server's hot path.

Building an EnvsStepped with protobuf costs ~20 us a message (five Tensor
messages, their fields, then serialization), a good share of the server's
own work per step. The message's layout for one stream is fixed except for
its payloads: the observations, rewards, terminated and truncated tensors
have the same dtype, shape and byte length every step, so their protobuf
encoding is a constant prefix followed by the array's bytes. SteppedEncoder
precomputes those prefixes once per stream and joins them with the arrays'
bytes (~1 us), writing exactly the bytes protobuf's own SerializeToString
writes (tests/python/wire_test.py compares them). The field numbers come
from the generated descriptors; field types this encoding does not expect
(an edited proto/env.proto) are refused at import.

A step request of the stream's action tensor is likewise a constant prefix
and the actions' bytes (step_request_prefix); one that is not (any other
encoding, a wrong dtype or shape, another kind of message) goes through
protobuf's parser and the server's checks.
"""

import sys

import numpy as np
from google.protobuf.descriptor import FieldDescriptor as _FD

from rill import tensors
from rill._proto import env_pb2, tensor_pb2

_F = env_pb2.EnvsStepped.DESCRIPTOR.fields_by_name
_T = tensor_pb2.Tensor.DESCRIPTOR.fields_by_name


def _expect(field, kind, label=_FD.LABEL_OPTIONAL):
    if field.type != kind or field.label != label:
        raise ImportError("rill.wire: proto field %s changed its type; update python/rill/wire.py"
                          % field.full_name)
    return field.number


_LENGTH_DELIMITED = 2
_VARINT = 0


def _tag(number, wire_type):
    return _varint(number << 3 | wire_type)


def _varint(value):
    """Protobuf's base-128 varint (negative int32/int64 as 10 bytes)."""
    value &= 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


# The varints of 0 .. 16383 (one and two bytes), looked up rather than
# computed.
_SHORT_VARINTS = ([bytes((n,)) for n in range(1 << 7)]
                  + [bytes((n & 0x7F | 0x80, n >> 7)) for n in range(1 << 7, 1 << 14)])


def _length(n):
    """The varint of a length or index (n >= 0)."""
    return _SHORT_VARINTS[n] if 0 <= n < 16384 else _varint(n)


_STEPPED = _tag(_expect(env_pb2.EnvResponse.DESCRIPTOR.fields_by_name["stepped"], _FD.TYPE_MESSAGE),
                _LENGTH_DELIMITED)
_OBSERVATIONS, _REWARDS, _TERMINATED, _TRUNCATED, _FINAL_OBSERVATIONS = (
    _tag(_expect(_F[name], _FD.TYPE_MESSAGE), _LENGTH_DELIMITED)
    for name in ("observations", "rewards", "terminated", "truncated", "final_observations"))
_FINAL_INDICES = _tag(_expect(_F["final_indices"], _FD.TYPE_INT32, _FD.LABEL_REPEATED), _LENGTH_DELIMITED)
_ERRORS = _tag(_expect(_F["errors"], _FD.TYPE_MESSAGE, _FD.LABEL_REPEATED), _LENGTH_DELIMITED)
_DTYPE = _tag(_expect(_T["dtype"], _FD.TYPE_ENUM), _VARINT)
_SHAPE = _tag(_expect(_T["shape"], _FD.TYPE_INT64, _FD.LABEL_REPEATED), _LENGTH_DELIMITED)
_DATA = _tag(_expect(_T["data"], _FD.TYPE_BYTES), _LENGTH_DELIMITED)

_STEP = _tag(_expect(env_pb2.EnvRequest.DESCRIPTOR.fields_by_name["step"], _FD.TYPE_MESSAGE), _LENGTH_DELIMITED)
_ACTIONS = _tag(_expect(env_pb2.StepEnvs.DESCRIPTOR.fields_by_name["actions"], _FD.TYPE_MESSAGE),
                _LENGTH_DELIMITED)

_FLOAT32 = np.dtype(np.float32)
_BOOL = np.dtype(np.bool_)
# Arrays' bytes are the wire's little-endian bytes only on such a host;
# elsewhere every message takes the protobuf path (tensors.to_tensor).
_NATIVE_IS_WIRE = sys.byteorder == "little"


def _tensor_head(dtype, shape):
    """A Tensor's encoding up to its data field's bytes: dtype, packed
    shape, the data tag and length (fields at their defaults left out, as
    protobuf does)."""
    code = tensors.dtype_code(dtype)
    packed = b"".join(_varint(d) for d in shape)
    nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
    return ((_DTYPE + _varint(code) if code else b"")
            + (_SHAPE + _varint(len(packed)) + packed if packed else b"")
            + (_DATA + _varint(nbytes) if nbytes else b"")), nbytes


def _tensor_field_prefix(tag, dtype, shape):
    """(bytes before the data of a Tensor field `tag`, the data's length)."""
    head, nbytes = _tensor_head(dtype, shape)
    return tag + _varint(len(head) + nbytes) + head, nbytes


def _length_delimited(tag, body):
    return tag + _varint(len(body)) + body


class SteppedEncoder:
    """Serialized EnvResponse{stepped} messages of one stream: `count`
    instances whose observations have `shape` and `dtype`."""

    def __init__(self, count, shape, dtype):
        self.count = count
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.observations, self.observations_bytes = _tensor_field_prefix(
            _OBSERVATIONS, self.dtype, (count,) + self.shape)
        self.rewards, self.rewards_bytes = _tensor_field_prefix(_REWARDS, _FLOAT32, (count,))
        self.terminated, self.flags_bytes = _tensor_field_prefix(_TERMINATED, _BOOL, (count,))
        self.truncated, _ = _tensor_field_prefix(_TRUNCATED, _BOOL, (count,))
        self.row_bytes = int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize
        self.no_finals, _ = _tensor_field_prefix(_FINAL_OBSERVATIONS, self.dtype, (0,) + self.shape)
        self.finals = {}  # number of final observations -> their field's prefix

    def encode(self, observations, rewards, terminated, truncated, final_indices, final_observations, errors):
        """The serialized EnvResponse of one EnvBatch.step result."""
        if not (_NATIVE_IS_WIRE and observations.dtype is self.dtype and observations.nbytes == self.observations_bytes
                and rewards.dtype is _FLOAT32 and rewards.nbytes == self.rewards_bytes
                and terminated.dtype is _BOOL and terminated.nbytes == self.flags_bytes
                and truncated.dtype is _BOOL and truncated.nbytes == self.flags_bytes
                and final_observations.dtype is self.dtype
                and final_observations.nbytes == len(final_indices) * self.row_bytes):
            return self.encode_with_protobuf(observations, rewards, terminated, truncated, final_indices,
                                             final_observations, errors)
        parts = [self.observations, observations.tobytes(), self.rewards, rewards.tobytes(),
                 self.terminated, terminated.tobytes(), self.truncated, truncated.tobytes()]
        if final_indices:
            packed = b"".join([_length(i) for i in final_indices])
            parts += [_FINAL_INDICES, _length(len(packed)), packed]
            prefix = self.finals.get(len(final_indices))
            if prefix is None:
                prefix = self.finals[len(final_indices)] = _tensor_field_prefix(
                    _FINAL_OBSERVATIONS, self.dtype, (len(final_indices),) + self.shape)[0]
            parts += [prefix, final_observations.tobytes()]
        else:
            parts.append(self.no_finals)
        for index, field, text in errors:
            parts.append(_length_delimited(
                _ERRORS, env_pb2.EnvError(env_index=index, field=field, message=text).SerializeToString()))
        body = b"".join(parts)
        return _STEPPED + _length(len(body)) + body

    @staticmethod
    def encode_with_protobuf(observations, rewards, terminated, truncated, final_indices, final_observations,
                             errors):
        """The same bytes through protobuf's own classes (any input)."""
        return stepped_message(observations, rewards, terminated, truncated, final_indices, final_observations,
                               errors).SerializeToString()


def step_request_prefix(dtype, shape):
    """The bytes protobuf writes for EnvRequest{step{actions}} with a Tensor
    of `dtype` and `shape`, up to its data (which follows them to the end),
    or None where that is not how protobuf writes it here (checked against
    protobuf itself): a request is one of these exactly when it starts with
    them and has the data's length after them."""
    prefix, nbytes = _tensor_field_prefix(_ACTIONS, dtype, shape)
    prefix = _STEP + _varint(len(prefix) + nbytes) + prefix
    request = env_pb2.EnvRequest()
    tensors.to_tensor(np.zeros(shape, dtype), request.step.actions)
    return prefix if request.SerializeToString() == prefix + bytes(nbytes) else None


def stepped_message(observations, rewards, terminated, truncated, final_indices, final_observations, errors):
    """The EnvResponse message of one EnvBatch.step result."""
    message = env_pb2.EnvsStepped(final_indices=final_indices)
    tensors.to_tensor(observations, message.observations)
    tensors.to_tensor(rewards, message.rewards)
    tensors.to_tensor(terminated, message.terminated)
    tensors.to_tensor(truncated, message.truncated)
    tensors.to_tensor(final_observations, message.final_observations)
    for index, field, text in errors:
        message.errors.add(env_index=index, field=field, message=text)
    return env_pb2.EnvResponse(stepped=message)
