"""Builds the rill package (pyproject.toml holds its metadata) with the
rill.v1 message classes compiled from the checkout's proto/ by protoc into
rill/_generated (rill._protoc), so an installed rill needs neither the
checkout nor protoc. An editable install (pip install -e) compiles nothing:
its rill runs from the checkout and compiles them on first import, as with
PYTHONPATH=python (rill._proto)."""

import importlib.util
import os

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def load_protoc():
    """rill._protoc from this tree, without importing the rill package."""
    spec = importlib.util.spec_from_file_location("rill_protoc", os.path.join(HERE, "rill", "_protoc.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildPyWithProtos(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        protoc = load_protoc()
        out = os.path.join(self.build_lib, *protoc.PACKAGE.split("."))
        try:
            protoc.compile_package(ROOT, out)
        except protoc.ProtocError as error:
            raise SystemExit("rill: cannot compile proto/ (%s); install from a Rill checkout, with "
                             "Debian's protobuf-compiler" % error) from None


setup(cmdclass={"build_py": BuildPyWithProtos})
