#!/usr/bin/env bash
# Clang's thread-safety analysis (one PASS or FAIL line each):
#   - every source file of //... builds under --config=tsa (.bazelrc): clang
#     with -Wthread-safety and -Wthread-safety-beta as errors, so any access
#     that breaks an ABSL_GUARDED_BY, ABSL_EXCLUSIVE_LOCKS_REQUIRED,
#     ABSL_LOCKS_EXCLUDED or lock-order annotation fails it. The config's
#     toolchain checks without generating code (clang -fsyntax-only), so it
#     builds objects only (--output_groups=compilation_outputs), no links;
#   - the same build refuses a planted package that reads a guarded member
#     without its lock (fixtures/planted.cc), naming the member and the
#     mutex, so the analysis is known to be on.
set -uo pipefail
cd "$(dirname "$0")/../.."

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
tsa=(bazel build --config=tsa --output_groups=compilation_outputs)

# 1. The whole tree.
if "${tsa[@]}" //... 2>&1 | grep -v -E 'linux-sandbox|^\s*$'; [ "${PIPESTATUS[0]}" -eq 0 ]; then
  pass "thread-safety analysis of //... (bazel build --config=tsa)"
else
  fail "thread-safety analysis of //... (bazel build --config=tsa)" "see the errors above"
fi

# 2. A planted violation.
planted=common/zz_planted_tsa
cleanup() { rm -rf "$planted"; }
trap cleanup EXIT
mkdir -p "$planted"
cp tests/tsa/fixtures/planted_BUILD.bazel "$planted/BUILD.bazel"
cp tests/tsa/fixtures/planted.cc "$planted/planted.cc"
out=$("${tsa[@]}" --noshow_progress "//$planted:planted" 2>&1)
rc=$?
cleanup
if [ "$rc" -ne 0 ] && echo "$out" | grep -q "reading variable 'value_' requires holding mutex 'mu_'"; then
  pass "thread-safety analysis refuses a planted unguarded read"
else
  fail "thread-safety analysis refuses a planted unguarded read" \
    "exit $rc: $(echo "$out" | grep -v '^INFO\|^Loading' | head -10)"
fi
