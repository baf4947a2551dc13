"""The console commands an installed rill provides (python/pyproject.toml):
each runs the module's main with the working directory first on sys.path,
as `python3 -m` does, so --factory=MODULE:CALLABLE finds a MODULE beside
the user as it would under `python3 -m rill.env_server`."""

import os
import sys


def env_server():
    """rill-env-server: rill.env_server's command line."""
    sys.path.insert(0, os.getcwd())
    from rill import env_server as module
    return module.main()


def bench_env_server():
    """rill-bench-env-server: rill.bench_env_server's command line."""
    sys.path.insert(0, os.getcwd())
    from rill import bench_env_server as module
    return module.main()
