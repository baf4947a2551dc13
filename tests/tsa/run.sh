#!/usr/bin/env bash
# Clang's thread-safety analysis (one PASS or FAIL line each):
#   - every source file that can break a lock annotation builds under
#     --config=tsa (.bazelrc): clang with -Wthread-safety and
#     -Wthread-safety-beta as errors, so any access that breaks an
#     ABSL_GUARDED_BY, ABSL_EXCLUSIVE_LOCKS_REQUIRED, ABSL_LOCKS_EXCLUDED or
#     lock-order annotation fails it. Those are the files that lock, hold a
#     mutex or an annotation themselves, or include a header of the tree that
#     does (the analysis of a header's inline code runs in the files that
#     include it); the rest (most LibTorch code) cannot break one, and
#     parsing them cost CI 12 to 26 minutes. The set is found afresh on
#     every run, so new locking code is in it. The config's toolchain checks
#     without generating code (clang -fsyntax-only), so it builds objects
#     only (--output_groups=compilation_outputs, --compile_one_dependency:
#     the targets that hold those files), no links;
#   - the same build refuses a planted package that reads a guarded member
#     without its lock (fixtures/planted.cc), naming the member and the
#     mutex, so the analysis is known to be on.
set -uo pipefail
cd "$(dirname "$0")/../.."

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
tsa=(bazel build --config=tsa --output_groups=compilation_outputs)

# 1. Every file that locks or includes a header that does.
locking='absl::Mutex|absl::CondVar|MutexLock|ABSL_[A-Z_]*GUARDED_BY|ABSL_[A-Z_]*LOCKS_[A-Z_]*|ABSL_[A-Z_]*ACQUIRE[A-Z_]*|ABSL_[A-Z_]*RELEASE[A-Z_]*'
mapfile -t annotated < <(git ls-files '*.h' | grep -v '^third_party/' | xargs grep -lE "$locking")
cc_files() { git ls-files '*.cc' | grep -v -E '^(third_party|tests/tsa)/'; }
mapfile -t sources < <({ cc_files | xargs grep -lE "$locking"
                         cc_files | xargs grep -lF -f <(printf '#include "%s"\n' "${annotated[@]}"); } | sort -u)
title="thread-safety analysis of the ${#sources[@]} source files that lock or include a header that does"
if [ "${#sources[@]}" -lt 20 ]; then
  fail "$title" "too few files found (${#sources[@]}): the selection itself is broken"
elif "${tsa[@]}" --compile_one_dependency "${sources[@]}" 2>&1 | grep -v -E 'linux-sandbox|^\s*$'; \
     [ "${PIPESTATUS[0]}" -eq 0 ]; then
  pass "$title (bazel build --config=tsa)"
else
  fail "$title (bazel build --config=tsa)" "see the errors above"
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
