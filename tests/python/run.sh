#!/usr/bin/env bash
# The Python side's tests (python/rill and examples/python), each a real env
# server process on port 0 driven over gRPC: one `PASS <test>` or
# `FAIL <test>: <why>` line per test case, for tools/test.sh.
set -uo pipefail
cd "$(dirname "$0")/../.."
exec /usr/bin/python3 tests/python/run_tests.py "$@"
