#!/usr/bin/env bash
# Installs what is missing, builds everything and runs every test: unit tests
# beside the code, then the multi-process integration and learning tests in
# tests/, then clang's thread-safety analysis (tests/tsa/run.sh: a
# `--config=tsa` build of the files that lock, and a planted violation) and
# the ThreadSanitizer
# tests (`--config=tsan`), then the package graph's
# checks (tests/layers/run.sh), the Kubernetes checks (tests/k8s/run.sh:
# manifests, image, podman run), the Prometheus checks
# (tests/prometheus/run.sh: rules, dashboard queries against a live run,
# headless chromium), the LibTorch checks (tests/libtorch/run.sh: the
# RILL_LIBTORCH switch), the Python env server's and the ONNX export's
# (tests/onnx/run.sh: onnx.checker and ONNX Runtime). Prints how long each
# part took, then ends with the line "N passed, N failed" (test cases, read
# from the JUnit XML each test target writes, plus one per ThreadSanitizer
# test target and one per thread-safety, layering, Kubernetes, Prometheus,
# LibTorch, Python or ONNX check), and exits non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."

# How long each part took, printed before the last line: CI has a time limit.
run_start=$(date +%s)
part_start=$run_start
parts=()
part_done() {
  local now
  now=$(date +%s)
  parts+=("$1 $((now - part_start)) s")
  part_start=$now
}

bash tools/setup.sh || { echo "0 passed, 1 failed"; exit 1; }
part_done setup

# Sandbox chatter from Bazel 4 is noise; errors still show.
filter() { grep -v -E 'linux-sandbox|^\s*$' || true; }

# A script of checks that prints one `PASS <name>` or `FAIL <name>: <why>`
# line per check; adds its counts to script_passed and script_failed, and
# clears scripts_ok if it failed (a script that died before reporting what
# failed counts as one failure).
script_passed=0
script_failed=0
scripts_ok=1
run_checks() {
  local title="$1" script="$2" log rc passed failed
  echo "== $title ($script)"
  log=$(mktemp)
  bash "$script" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  passed=$(grep -c '^PASS ' "$log")
  failed=$(grep -c '^FAIL ' "$log")
  rm -f "$log"
  part_done "$title"
  if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
  [ "$rc" -eq 0 ] || scripts_ok=0
  script_passed=$((script_passed + passed))
  script_failed=$((script_failed + failed))
}

echo "== build"
bazel build //... 2>&1 | filter
build_ok=${PIPESTATUS[0]}
part_done build

echo "== test"
bazel test //... "$@" 2>&1 | filter
test_rc=${PIPESTATUS[0]}
part_done test

# Clang's thread-safety analysis of every source file that locks or
# includes a header that does, and a planted violation it must refuse
# (--config=tsa in .bazelrc).
run_checks "thread-safety analysis" tests/tsa/run.sh

# ThreadSanitizer (--config=tsan in .bazelrc, third_party/tsan): the replay
# unit tests and the failover and backpressure tests; one check per test
# target. The first run on a machine rebuilds Debian's Abseil with TSAN.
echo "== thread sanitizer (bazel test --config=tsan)"
tsan_log=$(mktemp)
bazel test --config=tsan //replay/... //parameters/... //tests:failover_test //tests:backpressure_test 2>&1 | filter | tee "$tsan_log"
tsan_rc=${PIPESTATUS[0]}
part_done "thread sanitizer"
tsan_passed=$(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' "$tsan_log")
tsan_failed=$(grep -cE '^//[^ ]+ +(\(cached\) )?(FAILED|FLAKY|TIMEOUT|NO STATUS|INCOMPLETE)' "$tsan_log")
rm -f "$tsan_log"
if [ "$tsan_rc" -ne 0 ] && [ "$tsan_failed" -eq 0 ]; then
  tsan_failed=1  # a build error: no test ran
fi

# The package graph: floors of //:layers.bzl, planted upward edges refused,
# what rill-replay and rill-actor link.
run_checks layering tests/layers/run.sh
# The Kubernetes manifests, the image and a podman run of them.
run_checks kubernetes tests/k8s/run.sh
# Prometheus: rules and their unit tests, a `rill launch --prometheus` run,
# its dashboard's queries and headless chromium.
run_checks prometheus tests/prometheus/run.sh
# The RILL_LIBTORCH switch: refused folders, and Debian's own LibTorch folder.
run_checks libtorch tests/libtorch/run.sh
# The Python env server (python/rill): real server processes over gRPC.
run_checks "python env server" tests/python/run.sh
# ONNX export: each policy kind's model through onnx.checker, then ONNX
# Runtime against the actors' forward and the TorchScript export.
run_checks onnx tests/onnx/run.sh

# Count test cases from the XML each test target wrote.
testlogs=$(bazel info bazel-testlogs 2>/dev/null)
passed=0
failed=0
failed_xmls=()
while read -r target; do
  [ -n "$target" ] || continue
  path="${target#//}"
  xml="$testlogs/${path/://}/test.xml"
  if [ ! -f "$xml" ]; then
    failed=$((failed + 1))
    failed_xmls+=("$target -")
    continue
  fi
  read -r t f e < <(python3 - "$xml" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
tests = failures = errors = 0
for s in suites:
    tests += int(s.get("tests", 0)); failures += int(s.get("failures", 0)); errors += int(s.get("errors", 0))
print(tests, failures, errors)
PY
)
  bad=$((f + e))
  if [ "$bad" -gt 0 ]; then failed_xmls+=("$target $xml"); fi
  if [ "$t" -eq 0 ]; then t=1; fi
  passed=$((passed + t - bad))
  failed=$((failed + bad))
done < <(bazel query 'tests(//...)' 2>/dev/null)

if [ "$test_rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1  # a build error or a crash that wrote no XML
fi
passed=$((passed + tsan_passed + script_passed))
failed=$((failed + tsan_failed + script_failed))
# What failed, where the end of CI's output shows it: each failed case and
# the start of its first assertion, read from its target's XML.
if [ "${#failed_xmls[@]}" -gt 0 ]; then
  echo "== failed test cases"
  for entry in "${failed_xmls[@]}"; do
    python3 - "${entry%% *}" "${entry#* }" <<'PY'
import sys, xml.etree.ElementTree as ET
target, path = sys.argv[1], sys.argv[2]
if path == "-":
    print(f"  {target}: wrote no XML (a build error, a crash or a timeout)")
    sys.exit(0)
for case in ET.parse(path).getroot().iter("testcase"):
    problems = case.findall("failure") + case.findall("error")
    if not problems:
        continue
    text = (problems[0].get("message") or problems[0].text or "").strip()
    lines = [line for line in text.splitlines() if line.strip()][:8]
    print(f"  {target} {case.get('classname')}.{case.get('name')}")
    for line in lines:
        print(f"    {line[:300]}")
PY
  done
fi

echo "== time by part"
for part in "${parts[@]}"; do echo "  $part"; done
echo "  all $(($(date +%s) - run_start)) s"
echo "$passed passed, $failed failed"
[ "$test_rc" -eq 0 ] && [ "$build_ok" -eq 0 ] && [ "$tsan_rc" -eq 0 ] && [ "$scripts_ok" -eq 1 ]
