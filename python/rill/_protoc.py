"""Compiles the rill.v1 message classes from the repository's proto/ files
with protoc (Debian's protobuf-compiler, which the C++ build uses too), for
rill._proto on first import in a checkout and for python/setup.py when the
package is installed. It imports nothing from rill, so setup.py loads it
from the source tree before rill is installed.

The output is a package folder holding tensor_pb2.py and env_pb2.py.
protoc writes env_pb2's import of tensor_pb2 as `from proto import ...`
(the path the .proto files name each other by), and names each module
`proto.X_pb2` (its classes' __module__, which pickle looks them up by):
both are rewritten, so the classes live under rill._generated (PACKAGE)
and no top-level `proto` module is needed, which would shadow another
library's (proto-plus is `proto`).
"""

import os
import re
import shutil
import subprocess
import tempfile

PROTOS = ("tensor.proto", "env.proto")
# Where the compiled package is imported, installed or not (rill._proto).
PACKAGE = "rill._generated"
# Changes when what compile_package writes changes shape, so that a cache
# folder written by an earlier version is not taken for a current one.
LAYOUT = "package-2"

_ABSOLUTE_IMPORT = re.compile(r"^from proto import (\w+_pb2)\b", re.MULTILINE)
_MODULE_NAME = re.compile(r"""(['"])proto\.(\w+_pb2)\1""")
_LEFT_OVER_IMPORT = re.compile(r"^\s*(from|import) proto\b", re.MULTILINE)


class ProtocError(Exception):
    """protoc is missing, failed, or wrote what this module cannot rewrite."""


def sources(root):
    """The .proto files under the checkout at root, in PROTOS' order."""
    return [os.path.join(root, "proto", name) for name in PROTOS]


def compile_package(root, out):
    """Writes the package of message classes into out (replacing whatever
    is there) from root/proto; raises ProtocError."""
    for path in sources(root):
        if not os.path.isfile(path):
            raise ProtocError("%s is missing" % path)
    protoc = shutil.which("protoc")
    if protoc is None:
        raise ProtocError("protoc is not on PATH; install Debian's protobuf-compiler")
    with tempfile.TemporaryDirectory(prefix="rill-protoc-") as staging:
        try:
            subprocess.run([protoc, "-I" + root, "--python_out=" + staging]
                           + [os.path.join("proto", name) for name in PROTOS],
                           cwd=root, check=True, capture_output=True, text=True)
        except subprocess.CalledProcessError as error:
            raise ProtocError("protoc failed on proto/: %s" % error.stderr.strip()) from None
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        for name in PROTOS:
            module = name[:-len(".proto")] + "_pb2.py"
            with open(os.path.join(staging, "proto", module)) as f:
                text = _ABSOLUTE_IMPORT.sub(r"from . import \1", f.read())
                text = _MODULE_NAME.sub(r"\g<1>%s.\2\1" % PACKAGE, text)
            if _LEFT_OVER_IMPORT.search(text):
                raise ProtocError("protoc's %s imports `proto` in a form rill._protoc does not rewrite" % module)
            with open(os.path.join(out, module), "w") as f:
                f.write(text)
    with open(os.path.join(out, "__init__.py"), "w") as f:
        f.write('"""The rill.v1 message classes, compiled by rill._protoc from proto/: do not edit."""\n')
