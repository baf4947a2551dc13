#!/usr/bin/env bash
# Installs what is missing, builds `rill` and runs the local multi-process
# demo: SAC on Pendulum-v1 with 2 actors for 20,000 env steps, a progress
# line every few seconds, a summary JSON at the end. Extra flags go to
# `rill launch` (e.g. --max_env_steps=50000 --num_actors=4); --prometheus
# also runs Prometheus with the run's dashboard (add --prometheus_linger=10m
# to keep it up after the run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
echo "building rill ..."
bazel build //:rill 2>&1 | grep -v -E 'linux-sandbox|^\s*$' | tail -3
mkdir -p .rill-runs
exec bazel-bin/rill launch --config=deploy/configs/pendulum_sac.textpb \
  --summary_json=.rill-runs/demo-summary.json "$@"
