"""The rill.v1 message classes, generated from the repository's proto/ files.

The .proto files are the one source: on first import, protoc (Debian's
protobuf-compiler, which the C++ build uses too) writes the Python modules
into a cache folder named by a hash of the .proto files, so an edited proto
regenerates and nothing generated is checked in or edited by hand. The
folder is $RILL_PROTO_CACHE, else $XDG_CACHE_HOME/rill/python-protos, else
~/.cache/rill/python-protos (or the temp folder where there is no home).
"""

import hashlib
import importlib
import os
import shutil
import subprocess
import sys
import tempfile

_PROTOS = ("tensor.proto", "env.proto")
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _cache_root():
    if os.environ.get("RILL_PROTO_CACHE"):
        return os.environ["RILL_PROTO_CACHE"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isdir(os.path.dirname(base)) or not os.access(os.path.dirname(base), os.W_OK):
        base = tempfile.gettempdir()
    return os.path.join(base, "rill", "python-protos")


def _generate():
    sources = [os.path.join(_ROOT, "proto", name) for name in _PROTOS]
    digest = hashlib.sha256()
    for path in sources:
        if not os.path.isfile(path):
            raise ImportError("rill: %s is missing (run from a Rill checkout: PYTHONPATH=python)" % path)
        with open(path, "rb") as f:
            digest.update(f.read())
    out = os.path.join(_cache_root(), digest.hexdigest()[:16])
    if not os.path.isfile(os.path.join(out, "proto", "env_pb2.py")):
        protoc = shutil.which("protoc")
        if protoc is None:
            raise ImportError("rill: protoc is not on PATH; install Debian's protobuf-compiler")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        staging = tempfile.mkdtemp(prefix=".staging-", dir=os.path.dirname(out))
        try:
            subprocess.run([protoc, "-I" + _ROOT, "--python_out=" + staging]
                           + [os.path.join("proto", name) for name in _PROTOS],
                           cwd=_ROOT, check=True, capture_output=True, text=True)
            try:
                os.rename(staging, out)  # atomic: a racing process's copy is as good
            except OSError:
                pass
        except subprocess.CalledProcessError as error:
            raise ImportError("rill: protoc failed on proto/: %s" % error.stderr.strip()) from error
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return out


_out = _generate()
if _out not in sys.path:
    sys.path.insert(0, _out)
tensor_pb2 = importlib.import_module("proto.tensor_pb2")
env_pb2 = importlib.import_module("proto.env_pb2")
