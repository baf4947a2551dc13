#!/usr/bin/env bash
# The ONNX export checks of CI (`rill export --format=onnx`,
# policies/onnx_export.h), for real:
#   1. //tests/onnx:write_cases writes a case per policy kind (at least
#      MIN_CASES folders): its model.onnx, 1,000 observations (and core
#      states), and the deterministic actions of the actors' own forward
#      ("rill") and of the TorchScript export ("torchscript");
#   2. every model passes onnx.checker with full_check (python3-onnx), is IR
#      version 8 on opset 17 of the default domain only, and its inputs and
#      outputs are case.json's, batch dimension symbolic (check_models.py);
#   3. ONNX Runtime (npm onnxruntime-node, CPU, the exact version below,
#      installed once into ~/.cache/rill-npm) runs every model, and every
#      output matches both references: float32 within case.json's tolerance
#      and no NaN, discrete actions exactly except in tied rows; again at
#      batch 1 and 7 (run_models.cjs);
#   4. a tiny MADDPG run's checkpoint exported by `rill export` to ONNX and
#      TorchScript passes checks 2 and 3 against its TorchScript.
# Prints one line per check, `PASS <name>` or `FAIL <name>: <why>` (a line
# per case from checks 2 and 3; other lines are details), and exits non-zero
# if any failed. Removes its temporary folder, on failure and on Ctrl-C too.
#
# Needs tools/setup.sh's packages (python3-onnx), Node.js with npm (the
# machine ships them), and builds //tests/onnx:write_cases. Run it from
# anywhere: bash tests/onnx/run.sh
set -uo pipefail
cd "$(dirname "$0")/../.."

# Fewer folders than this means write_cases lost a policy kind (it writes 10).
readonly MIN_CASES=8
# ONNX Runtime, installed once into NPM_DIR (not the repository). It pins
# onnxruntime-common to its own version; its one other dependency, tar, only
# serves its install script, which --ignore-scripts skips: that script only
# downloads the CUDA binaries from github.com (unreachable here, and unused:
# the CPU binaries ship in the package).
readonly ONNXRUNTIME_VERSION=1.20.1
readonly NPM_DIR=${RILL_NPM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rill-npm}/onnxruntime-node-$ONNXRUNTIME_VERSION

failures=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; failures=$((failures + 1)); }
now() { date +%s; }
started=$(now)

work="$(mktemp -d "${TMPDIR:-/tmp}/rill-onnx.XXXXXX")"
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

for tool in node npm bazel; do
  command -v "$tool" >/dev/null || fail "tools" "$tool not found: Node.js with npm comes with the machine, bazel with tools/setup.sh"
done
/usr/bin/python3 -c 'import onnx' 2>/dev/null || fail "tools" "/usr/bin/python3 cannot import onnx: run tools/setup.sh (python3-onnx)"
[ "$failures" -eq 0 ] || exit 1

# Runs a script that prints its own PASS / FAIL lines, and counts its
# failures; one that printed none but failed (a crash) is one failure.
checks() {
  local name="$1" output rc
  shift
  output=$("$@" 2>&1)
  rc=$?
  echo "$output"
  failures=$((failures + $(grep -c '^FAIL ' <<<"$output")))
  if [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' <<<"$output"; then
    fail "$name" "exit $rc with no FAIL line: $(tail -n 1 <<<"$output")"
  elif ! grep -q '^PASS ' <<<"$output" && ! grep -q '^FAIL ' <<<"$output"; then
    fail "$name" "no result: $(tail -n 1 <<<"$output")"
  fi
}

# ------------------------------------------------------------ onnxruntime-node
ort_loads() { NODE_PATH="$NPM_DIR/node_modules" node -e "require('onnxruntime-node')" 2>&1; }
t=$(now)
if ! ort_loads >/dev/null; then
  rm -rf "$NPM_DIR" && mkdir -p "$NPM_DIR"
  out=$(npm install --no-save --prefix "$NPM_DIR" --ignore-scripts --no-audit --no-fund --loglevel=error \
          "onnxruntime-node@$ONNXRUNTIME_VERSION" 2>&1) || echo "$out" | tail -n 3 | sed 's/^/  /'
fi
if out=$(ort_loads); then
  pass "onnxruntime-node ($ONNXRUNTIME_VERSION in $NPM_DIR, $(($(now) - t)) s)"
  ort_ok=1
else
  fail "onnxruntime-node" "npm install into $NPM_DIR, then require('onnxruntime-node'): $(grep -m 1 -i error <<<"$out")"
  rm -rf "$NPM_DIR"
  ort_ok=""
fi

# ------------------------------------------------------------ 1. write the cases
echo "  building //tests/onnx:write_cases ..."
cases="$work/cases"
written=0
if ! out=$(bazel build //tests/onnx:write_cases 2>&1); then
  fail "build" "bazel build //tests/onnx:write_cases: $(grep -E 'ERROR' <<<"$out" | head -n 3 | tr '\n' ' ')"
else
  t=$(now)
  out=$(bazel-bin/tests/onnx/write_cases "$cases" 2>&1)
  rc=$?
  names=$(for d in "$cases"/*/; do [ -f "$d/case.json" ] && [ -f "$d/model.onnx" ] && basename "$d"; done 2>/dev/null)
  written=$(grep -c . <<<"$names")
  if [ "$rc" -ne 0 ]; then
    fail "write-cases" "exit $rc after $written case(s): $(tail -n 2 <<<"$out" | tr '\n' ' ')"
  elif [ "$written" -lt "$MIN_CASES" ]; then
    fail "write-cases" "$written case folder(s) with case.json and model.onnx, want at least $MIN_CASES: $(paste -sd ' ' <<<"$names")"
  else
    pass "write-cases ($written cases in $(($(now) - t)) s: $(paste -sd ' ' <<<"$names"))"
  fi
fi

# ------------------------------------------------------------ 2. onnx.checker, 3. ONNX Runtime
if [ "$written" -gt 0 ]; then
  checks "check-models" /usr/bin/python3 tests/onnx/check_models.py "$cases"
  if [ -n "$ort_ok" ]; then
    checks "run-models" env NODE_PATH="$NPM_DIR/node_modules" node tests/onnx/run_models.cjs "$cases"
  fi
fi

# ------------------------------------------------------------ 4. a trained run through the CLI
# tests/configs' tiny MADDPG run (cooperative navigation's three agents as
# one joint row, 1,200 env steps), `rill export` of its checkpoint to
# ONNX and to TorchScript, and ONNX Runtime against the TorchScript on
# 1,000 rows (trained_case.py writes them).
echo "  building //:rill and training the tiny MADDPG run ..."
team="$work/trained_maddpg"
mkdir -p "$team"
if ! out=$(bazel build //:rill 2>&1); then
  fail "trained-export" "bazel build //:rill: $(grep -E 'ERROR' <<<"$out" | head -n 3 | tr '\n' ' ')"
elif ! bazel-bin/rill launch --config=tests/configs/tiny_cooperative_navigation_maddpg.textpb --max_env_steps=1200 \
       --run_dir="$work/maddpg_run" >"$work/launch.log" 2>&1; then
  fail "trained-export" "the tiny MADDPG run failed: $(tail -n 2 "$work/launch.log" | tr '\n' ' ')"
elif ! exported=$(bazel-bin/rill export --checkpoint_dir="$work/maddpg_run" --out="$team/model.onnx" 2>&1 &&
                  bazel-bin/rill export --checkpoint_dir="$work/maddpg_run" --out="$work/team.pt" 2>&1); then
  fail "trained-export" "rill export: $(tail -n 1 <<<"$exported")"
elif ! out=$(/usr/bin/python3 tests/onnx/trained_case.py "$work/team.pt" "$team" 2>&1); then
  fail "trained-export" "trained_case.py: $(tail -n 1 <<<"$out")"
else
  pass "trained-export (a MADDPG checkpoint to ONNX and TorchScript: $(grep -o '[0-9]* agents ([^)]*)' <<<"$exported" | head -n 1))"
  checks "check-trained" /usr/bin/python3 tests/onnx/check_models.py "$team"
  if [ -n "$ort_ok" ]; then
    checks "run-trained" env NODE_PATH="$NPM_DIR/node_modules" node tests/onnx/run_models.cjs "$team"
  fi
fi

echo "  tests/onnx/run.sh took $(($(now) - started)) s"
[ "$failures" -eq 0 ]
