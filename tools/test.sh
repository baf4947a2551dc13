#!/usr/bin/env bash
# Installs what is missing, builds everything and runs every test: unit tests
# beside the code, then the multi-process integration and learning tests in
# tests/. Ends with the line "N passed, N failed" (test cases, read from the
# JUnit XML each test target writes), and exits non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."

bash tools/setup.sh || { echo "0 passed, 1 failed"; exit 1; }

# Sandbox chatter from Bazel 4 is noise; errors still show.
filter() { grep -v -E 'linux-sandbox|^\s*$' || true; }

echo "== build"
bazel build //... 2>&1 | filter
build_ok=${PIPESTATUS[0]}

echo "== test"
bazel test //... "$@" 2>&1 | filter
test_rc=${PIPESTATUS[0]}

# Count test cases from the XML each test target wrote.
testlogs=$(bazel info bazel-testlogs 2>/dev/null)
passed=0
failed=0
while read -r target; do
  [ -n "$target" ] || continue
  path="${target#//}"
  xml="$testlogs/${path/://}/test.xml"
  if [ ! -f "$xml" ]; then
    failed=$((failed + 1))
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
  if [ "$t" -eq 0 ]; then t=1; fi
  passed=$((passed + t - bad))
  failed=$((failed + bad))
done < <(bazel query 'tests(//...)' 2>/dev/null)

if [ "$test_rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1  # a build error or a crash that wrote no XML
fi
echo "$passed passed, $failed failed"
[ "$test_rc" -eq 0 ] && [ "$build_ok" -eq 0 ]
