"""numpy arrays <-> rill.v1.Tensor (dtype, shape, raw little-endian bytes)."""

import numpy as np

from rill._proto import tensor_pb2

_TO_NUMPY = {
    tensor_pb2.DTYPE_FLOAT32: np.dtype("<f4"),
    tensor_pb2.DTYPE_FLOAT64: np.dtype("<f8"),
    tensor_pb2.DTYPE_INT32: np.dtype("<i4"),
    tensor_pb2.DTYPE_INT64: np.dtype("<i8"),
    tensor_pb2.DTYPE_UINT8: np.dtype("u1"),
    tensor_pb2.DTYPE_BOOL: np.dtype("?"),
}
_FROM_NUMPY = {dtype: code for code, dtype in _TO_NUMPY.items()}


def dtype_code(dtype):
    """The rill.v1.DType of a numpy dtype; ValueError for one the wire lacks."""
    dtype = np.dtype(dtype).newbyteorder("<") if np.dtype(dtype).byteorder == ">" else np.dtype(dtype)
    code = _FROM_NUMPY.get(dtype)
    if code is None:
        raise ValueError("dtype %s has no rill.v1.DType" % dtype)
    return code


def to_tensor(array, out=None):
    """The Tensor of `array` (copied once into the message's bytes)."""
    if type(array) is not np.ndarray:
        array = np.asarray(array)
    tensor = out if out is not None else tensor_pb2.Tensor()
    dtype = array.dtype
    # A native little-endian dtype of the wire (the common case) is a key of
    # _FROM_NUMPY as it is; anything else goes through dtype_code.
    code = _FROM_NUMPY.get(dtype) if dtype.byteorder != ">" else None
    if code is None:
        code = dtype_code(dtype)
        if dtype.byteorder == ">":
            array = array.astype(dtype.newbyteorder("<"))
    tensor.dtype = code
    if out is not None:
        del tensor.shape[:]
    tensor.shape.extend(array.shape)
    tensor.data = array.tobytes()  # C order, whatever the array's strides
    return tensor


def from_tensor(tensor):
    """A read-only numpy view of the Tensor's bytes; ValueError when they do
    not match its dtype and shape."""
    dtype = _TO_NUMPY.get(tensor.dtype)
    if dtype is None:
        raise ValueError("tensor dtype %s is not one Rill knows" % tensor_pb2.DType.Name(tensor.dtype)
                         if tensor.dtype in tensor_pb2.DType.values() else "tensor dtype %d is unknown" % tensor.dtype)
    shape = tuple(tensor.shape)
    size = 1
    for d in shape:
        if d < 0:
            raise ValueError("tensor shape %s has a negative dimension" % (list(shape),))
        size *= d
    expected = size * dtype.itemsize
    data = tensor.data
    if len(data) != expected:
        raise ValueError("tensor of dtype %s and shape %s needs %d bytes, has %d"
                         % (dtype.name, list(shape), expected, len(data)))
    return np.frombuffer(data, dtype=dtype).reshape(shape)
