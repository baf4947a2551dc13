#!/usr/bin/env bash
# The external-LibTorch switch of CI (third_party/libtorch/libtorch.bzl):
#   1. folders RILL_LIBTORCH must refuse are refused before anything
#      compiles, each with a message naming the problem: a relative path, a
#      missing folder, a missing header, a missing library, and a LibTorch
#      built with the pre-C++11 string ABI (a planted libc10.so);
#   2. RILL_LIBTORCH at Debian's own LibTorch folder as PyTorch lays it out
#      (python3-torch's torch/ folder: include/ and lib/, the layout of a
#      CUDA PyTorch install and of the libtorch archive) builds the learner's
#      device choice and its Adam step (checked against torch::optim::Adam)
#      against it, their binaries carry the folder's lib/ as RUNPATH, and the
#      tests pass. Two small targets on purpose: the switch changes where
#      headers and libraries come from, which any file that includes torch
#      shows (with the SAC update's test and the 33 files it compiles, this
#      check took 267 s on 2 cores; with these two, 52 s);
#   3. the checkout's bazel-bin still points where it did (the default
#      build's outputs), not into this script's deleted output base.
# It uses an output base of its own, so the main build's outputs stay on
# Debian's LibTorch; identical compile actions still come from the shared
# disk cache. Prints one line per check, `PASS <name>` or `FAIL <name>: <why>`
# (other lines are details), and exits non-zero if any failed. Removes its
# output base and temporary folders, on failure and on Ctrl-C too.
#
# Needs tools/setup.sh's packages (python3-torch among them). Run it from
# anywhere: bash tests/libtorch/run.sh
set -uo pipefail
cd "$(dirname "$0")/../.."

readonly DEBIAN_TORCH=/usr/lib/python3/dist-packages/torch
readonly TARGETS=(//learner:device_test //learner:flat_adam_test)

failures=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; failures=$((failures + 1)); }

work="$(mktemp -d "${TMPDIR:-/tmp}/rill-libtorch.XXXXXX")"
output_base="$work/output_base"
cleanup() {
  if [ -d "$output_base" ]; then
    bazel --output_base="$output_base" shutdown >/dev/null 2>&1
    chmod -R u+w "$output_base" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Where the checkout's bazel-bin points before the checks (empty: none yet).
bazel_bin_before="$(readlink bazel-bin 2>/dev/null)"

# bazel with RILL_LIBTORCH set to $1 (the rest: its command and arguments).
# --symlink_prefix=/ leaves the checkout's bazel-bin and friends on the
# default build: they would otherwise point into the temporary output base
# this script deletes, and a user's bazel-bin/rill would be gone after
# tools/test.sh.
with_libtorch() {
  local folder="$1" command="$2"
  shift 2
  RILL_LIBTORCH="$folder" bazel --output_base="$output_base" "$command" --symlink_prefix=/ "$@" 2>&1
}

# 1. Refused folders: the build must fail, and its output must name the
# problem.
refused() {
  local name="$1" folder="$2" expected="$3" log
  log=$(with_libtorch "$folder" build //learner:device)
  if [ $? -eq 0 ]; then
    fail "refuses $name" "the build succeeded with RILL_LIBTORCH=$folder"
  elif ! grep -qF -- "$expected" <<<"$log"; then
    echo "$log" | tail -n 20
    fail "refuses $name" "the error does not say '$expected'"
  else
    pass "refuses $name"
  fi
}

mkdir -p "$work/no_headers/lib" "$work/no_libraries" "$work/old_abi/lib"
ln -s "$DEBIAN_TORCH/include" "$work/no_libraries/include"
ln -s "$DEBIAN_TORCH/include" "$work/old_abi/include"
for lib in libtorch.so libtorch_cpu.so; do ln -s "$DEBIAN_TORCH/lib/$lib" "$work/old_abi/lib/$lib"; done
# A C library stands in for a pre-C++11 ABI libc10: no std::__cxx11 name in it.
cp "$(ldconfig -p | awk '/libz\.so\.1 .*x86-64/ {print $NF; exit}')" "$work/old_abi/lib/libc10.so"

refused "a relative path" "torch" "not an absolute path"
refused "a missing folder" "$work/absent" "no such folder"
refused "a folder without headers" "$work/no_headers" "include/torch/csrc/api/include/torch/torch.h is missing"
refused "a folder without libraries" "$work/no_libraries" "lib/libtorch.so is missing"
refused "a pre-C++11 ABI LibTorch" "$work/old_abi" "pre-C++11 ABI"

# 2. Debian's own LibTorch folder, as a PyTorch install lays it out.
if [ ! -f "$DEBIAN_TORCH/include/torch/csrc/api/include/torch/torch.h" ]; then
  fail "builds against RILL_LIBTORCH=$DEBIAN_TORCH" "no LibTorch there (run tools/setup.sh)"
else
  log=$(with_libtorch "$DEBIAN_TORCH" test --test_output=errors "${TARGETS[@]}")
  if [ $? -ne 0 ]; then
    echo "$log" | tail -n 40
    fail "builds and tests against RILL_LIBTORCH=$DEBIAN_TORCH" "bazel test failed"
  else
    pass "builds and tests against RILL_LIBTORCH=$DEBIAN_TORCH"
    bin="$(with_libtorch "$DEBIAN_TORCH" info bazel-bin | tail -n 1)"
    runpath="$(readelf -d "$bin/learner/device_test" | grep -E 'RUNPATH|RPATH')"
    if grep -qF "$DEBIAN_TORCH/lib" <<<"$runpath"; then
      pass "links the folder's lib/ as RUNPATH"
    else
      fail "links the folder's lib/ as RUNPATH" "device_test's dynamic section says: ${runpath:-no RUNPATH}"
    fi
  fi
fi

# 3. The checkout's convenience links are the default build's.
bazel_bin_after="$(readlink bazel-bin 2>/dev/null)"
if [ "$bazel_bin_after" = "$bazel_bin_before" ]; then
  pass "leaves the checkout's bazel-bin where it was (${bazel_bin_after:-none})"
else
  fail "leaves the checkout's bazel-bin where it was" "it moved from ${bazel_bin_before:-none} to $bazel_bin_after"
fi

echo "libtorch checks: $failures failed"
[ "$failures" -eq 0 ]
