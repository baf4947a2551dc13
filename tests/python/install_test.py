"""Rill's Python side installed as a user installs it (docs/own-env.md,
"Your own environment, served over gRPC"): pip, offline, from a copy of the checkout
into a throwaway venv that sees Debian's grpcio, protobuf and numpy; then,
with no PYTHONPATH, the installed package and its rill-env-server command."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python"))

from rill.env_client import EnvStream  # noqa: E402

PYTHON = "/usr/bin/python3"


def clean_env(**extra):
    """This process's environment without what would reach the checkout or
    the user's own packages."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    env.update(PYTHONNOUSERSITE="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", **extra)
    return env


def run(argv, **kwargs):
    """argv's completed process; an AssertionError with its output if it failed."""
    process = subprocess.run(argv, capture_output=True, text=True, timeout=120, **kwargs)
    if process.returncode != 0:
        raise AssertionError("%s exited %d: %s" % (" ".join(argv[:4]), process.returncode,
                                                  (process.stderr or process.stdout).strip()[-2000:]))
    return process


class InstallTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="rill-install-test-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        # A copy, as pip builds in the source tree: the checkout's python/
        # gets no build/ or egg-info from the test.
        src = os.path.join(self.tmp, "src")
        shutil.copytree(os.path.join(ROOT, "python"), os.path.join(src, "python"),
                        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "BUILD.bazel"))
        shutil.copytree(os.path.join(ROOT, "proto"), os.path.join(src, "proto"))
        self.venv = os.path.join(self.tmp, "venv")
        try:
            run([PYTHON, "-m", "venv", "--system-site-packages", self.venv], env=clean_env())
        except AssertionError as error:
            raise AssertionError("cannot make a venv (python3-venv, tools/setup.sh): %s" % error) from None
        run([os.path.join(self.venv, "bin", "python"), "-m", "pip", "install", "--no-build-isolation",
             "--no-index", "--no-cache-dir", "--quiet", os.path.join(src, "python")], env=clean_env())
        shutil.rmtree(src)  # the installed package must not need the checkout

    def test_installed_package_serves_an_env_without_pythonpath(self):
        cache = os.path.join(self.tmp, "proto-cache")
        # Imported from the venv, with the message classes compiled at
        # install: nothing is compiled into the cache on first import.
        process = run([os.path.join(self.venv, "bin", "python"), "-c",
                       "import rill, rill._proto as p; print(rill.__file__); print(p.env_pb2.__file__)"],
                      cwd=self.tmp, env=clean_env(RILL_PROTO_CACHE=cache))
        for path in process.stdout.split():
            self.assertTrue(path.startswith(self.venv + os.sep), process.stdout)
        self.assertFalse(os.path.exists(cache), "the installed rill compiled proto/ again")

        # The console command, run where the user's env module is (as
        # `python3 -m` would find it), serves it.
        log = tempfile.TemporaryFile(mode="w+")
        self.addCleanup(log.close)
        server = subprocess.Popen(
            [os.path.join(self.venv, "bin", "rill-env-server"), "--factory=cartpole:make",
             "--address=127.0.0.1:0"],
            cwd=os.path.join(ROOT, "examples", "python"), stdout=subprocess.PIPE, stderr=log, text=True,
            env=clean_env(RILL_PROTO_CACHE=cache))

        def stop():
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            server.stdout.close()
        self.addCleanup(stop)
        line = server.stdout.readline()
        if not line.startswith("listening on "):
            log.seek(0)
            self.fail("rill-env-server did not start: %r %s" % (line, log.read()[-2000:]))
        stream = EnvStream(line.split()[-1], 2, seeds=[1, 2])
        try:
            self.assertEqual(stream.opened.env_id, "cartpole:make")
            self.assertEqual(stream.observations.shape, (2, 4))
            observations, rewards, _, _, _, _, errors = stream.step(np.array([0, 1], np.int64))
            self.assertEqual(errors, [])
            self.assertEqual(observations.shape, (2, 4))
            np.testing.assert_array_equal(rewards, np.ones(2, np.float32))
        finally:
            stream.close()
        self.assertFalse(os.path.exists(cache), "the installed server compiled proto/ again")


if __name__ == "__main__":
    unittest.main()
