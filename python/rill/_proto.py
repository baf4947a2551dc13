"""The rill.v1 message classes, generated from the repository's proto/ files.

The .proto files are the one source, compiled by rill._protoc; nothing
generated is checked in or edited by hand. An installed rill (pip install
./python, docs/own-env.md, "Your own environment, served over gRPC")
carries them, compiled at install, as rill._generated. Run from a checkout
(PYTHONPATH=python), rill compiles them on first import into a cache folder
named by a hash of the .proto files, so an edited proto regenerates: the
folder is $RILL_PROTO_CACHE, else $XDG_CACHE_HOME/rill/python-protos, else
~/.cache/rill/python-protos (or the temp folder where there is no home).
"""

import hashlib
import importlib
import importlib.util
import os
import shutil
import sys
import tempfile

from rill import _protoc

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_PACKAGE = _protoc.PACKAGE


def _cache_root():
    if os.environ.get("RILL_PROTO_CACHE"):
        return os.environ["RILL_PROTO_CACHE"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isdir(os.path.dirname(base)) or not os.access(os.path.dirname(base), os.W_OK):
        base = tempfile.gettempdir()
    return os.path.join(base, "rill", "python-protos")


def _generate():
    """The cache folder holding the checkout's compiled package."""
    digest = hashlib.sha256(_protoc.LAYOUT.encode())
    for path in _protoc.sources(_ROOT):
        if not os.path.isfile(path):
            raise ImportError("rill: %s is missing: install rill (python3 -m pip install ./python from a "
                              "Rill checkout) or run from a checkout with PYTHONPATH=python" % path)
        with open(path, "rb") as f:
            digest.update(f.read())
    out = os.path.join(_cache_root(), digest.hexdigest()[:16])
    if not os.path.isfile(os.path.join(out, "env_pb2.py")):
        os.makedirs(os.path.dirname(out), exist_ok=True)
        staging = tempfile.mkdtemp(prefix=".staging-", dir=os.path.dirname(out))
        try:
            _protoc.compile_package(_ROOT, staging)
            try:
                os.rename(staging, out)  # atomic: a racing process's copy is as good
            except OSError:
                pass
        except _protoc.ProtocError as error:
            raise ImportError("rill: %s" % error) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return out


def _load_from_checkout():
    """Imports the cache folder as rill._generated."""
    out = _generate()
    spec = importlib.util.spec_from_file_location(_PACKAGE, os.path.join(out, "__init__.py"),
                                                  submodule_search_locations=[out])
    package = importlib.util.module_from_spec(spec)
    sys.modules[_PACKAGE] = package
    spec.loader.exec_module(package)


if _PACKAGE not in sys.modules and importlib.util.find_spec(_PACKAGE) is None:
    _load_from_checkout()
tensor_pb2 = importlib.import_module(_PACKAGE + ".tensor_pb2")
env_pb2 = importlib.import_module(_PACKAGE + ".env_pb2")
