#!/usr/bin/env bash
# The package graph's checks (one PASS or FAIL line each):
#   - the whole graph, as bazel query and the sources' includes see it, points
#     down the floors of //:layers.bzl (tools/check_layers.py);
#   - that check refuses a saved graph with an upward and a sideways edge
#     planted in it (fixtures/upward.graph), naming both;
#   - Bazel itself refuses an upward dependency: a package planted in envs/
#     that depends on //learner fails to build with a visibility error;
#   - rill-replay links neither LibTorch nor MuJoCo, and rill-actor no
#     LibTorch (their dynamic dependencies, read with readelf), while rill
#     links both (so the check reads real NEEDED entries).
set -uo pipefail
cd "$(dirname "$0")/../.."

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }

# 1. The live graph.
if out=$(/usr/bin/python3 tools/check_layers.py 2>&1); then
  pass "package graph points down (tools/check_layers.py)"
else
  fail "package graph points down (tools/check_layers.py)" "$(echo "$out" | head -20)"
fi

# 2. The planted graph.
out=$(/usr/bin/python3 tools/check_layers.py --edges tests/layers/fixtures/upward.graph --no_includes 2>&1)
rc=$?
if [ "$rc" -ne 0 ] &&
   echo "$out" | grep -q '//envs:registry (floor 3) -> //learner:learner (floor 5) points upward' &&
   echo "$out" | grep -q '//actor:actor (floor 5) -> //learner/algorithms:spec (floor 5) points sideways'; then
  pass "check_layers refuses a planted upward and sideways edge"
else
  fail "check_layers refuses a planted upward and sideways edge" "exit $rc: $out"
fi

# 3. Bazel's visibility refuses the same kind of edge at build time.
planted=envs/zz_planted_upward
cleanup() { rm -rf "$planted"; }
trap cleanup EXIT
mkdir -p "$planted"
cp tests/layers/fixtures/planted_BUILD.bazel "$planted/BUILD.bazel"
out=$(bazel build --noshow_progress "//$planted:planted" 2>&1)
rc=$?
cleanup
if [ "$rc" -ne 0 ] && echo "$out" | grep -q "target '//learner:learner' is not visible from target '//$planted:planted'"; then
  pass "bazel refuses a dependency from envs/ up to the learner"
else
  fail "bazel refuses a dependency from envs/ up to the learner" "exit $rc: $(echo "$out" | grep -v '^INFO\|^Loading' | head -10)"
fi

# 4. What the lean binaries link.
if ! bazel build --noshow_progress //:rill //:rill-replay //:rill-actor >/dev/null 2>&1; then
  fail "binaries' dynamic dependencies" "bazel build //:rill //:rill-replay //:rill-actor failed"
  exit 1
fi
needed() { readelf -d "bazel-bin/$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
check_needed() {
  local binary="$1" forbidden="$2" libs bad
  libs=$(needed "$binary")
  if [ -z "$libs" ]; then
    fail "$binary links no $forbidden" "readelf found no NEEDED entries"
    return
  fi
  bad=$(echo "$libs" | grep -E "$forbidden" | tr '\n' ' ')
  if [ -z "$bad" ]; then
    pass "$binary links no ${forbidden//|/, } ($(echo "$libs" | wc -l) libraries)"
  else
    fail "$binary links no ${forbidden//|/, }" "it needs $bad"
  fi
}
check_needed rill-replay 'libtorch|libc10|libmujoco'
check_needed rill-actor 'libtorch|libc10'
if needed rill | grep -q libtorch && needed rill | grep -q libmujoco; then
  pass "rill links LibTorch and MuJoCo (the check above reads real NEEDED entries)"
else
  fail "rill links LibTorch and MuJoCo" "readelf shows $(needed rill | tr '\n' ' ')"
fi
