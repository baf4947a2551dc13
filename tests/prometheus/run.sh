#!/usr/bin/env bash
# The Prometheus checks of CI (issue 14), for real:
#   1. deploy/prometheus/rules.yml passes `promtool check rules`, and its unit
#      tests rules_test.yml (every alert firing and quiet) `promtool test rules`;
#   2. headless chromium reports a planted JavaScript error (fixtures/
#      js_error.html), which proves check 5 can fail;
#   3. a short `rill launch --prometheus` (Pendulum SAC, 2 actors, 1 s
#      scrapes) starts Prometheus, whose targets are every process, one job
#      per role, labelled replay-0, learner, actor-0, actor-1, evaluator;
#   4. every PromQL expression of consoles/rill.html and every recording rule
#      of rules.yml returns a non-empty result from that Prometheus
#      (check_queries.py reads them from the files); the planted misspelled
#      metric of fixtures/misspelled_metric.html is reported empty;
#   5. the dashboard renders (HTTP 200), every script, stylesheet and icon it
#      links answers 200 (no 404 is allowed), and headless chromium loads it
#      with no JavaScript console message;
#   6. Ctrl-C (SIGINT) stops the run and Prometheus cleanly, exit 0, its data
#      kept in <run_dir>/prometheus/data.
# Prints one line per check, `PASS <name>` or `FAIL <name>: <why>` (other
# lines are details), and exits non-zero if any failed. Kills what it started
# and removes its temporary folder, on failure and on Ctrl-C too. Takes about
# a minute.
#
# Needs tools/setup.sh's packages (prometheus, chromium) and builds //:rill.
# Run it from anywhere: bash tests/prometheus/run.sh
set -uo pipefail
cd "$(dirname "$0")/../.."

# How long the launched processes and Prometheus may take to get ready, and
# the expressions to fill.
readonly READY_DEADLINE_S=${RILL_PROMETHEUS_READY_DEADLINE_S:-90}
readonly QUERY_DEADLINE_S=${RILL_PROMETHEUS_QUERY_DEADLINE_S:-45}
readonly EXPECTED_TARGETS="actor/actor-0 actor/actor-1 evaluator/evaluator learner/learner replay/replay-0"

failures=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; failures=$((failures + 1)); }
now() { date +%s; }
started=$(now)

work="$(mktemp -d "${TMPDIR:-/tmp}/rill-prometheus.XXXXXX")"
launch_pid=""

cleanup() {
  if [ -n "$launch_pid" ] && kill -0 "$launch_pid" 2>/dev/null; then
    # The launcher stops its children and Prometheus; they also get SIGTERM
    # from the kernel when it dies.
    kill -INT "$launch_pid" 2>/dev/null
    for _ in $(seq 1 60); do kill -0 "$launch_pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$launch_pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Headless chromium on URL; prints its JavaScript console lines (empty when
# none) and leaves a screenshot at $2.
chromium_console() {
  timeout 60 chromium --headless --no-sandbox --disable-gpu --virtual-time-budget=10000 \
    --enable-logging=stderr --window-size=1280,3000 --user-data-dir="$work/chromium" \
    --screenshot="$2" "$1" 2>&1 >/dev/null | grep ':CONSOLE' || true
}

for tool in promtool prometheus chromium curl; do
  command -v "$tool" >/dev/null || fail "tools" "$tool not found: run tools/setup.sh"
done

# ------------------------------------------------------------ 1. rules
if out=$(promtool check rules deploy/prometheus/rules.yml 2>&1); then
  pass "promtool-check-rules ($(grep -o '[0-9]* rules found' <<<"$out"))"
else
  fail "promtool-check-rules" "$(tail -n 3 <<<"$out" | tr '\n' ' ')"
fi
if out=$(promtool test rules deploy/prometheus/rules_test.yml 2>&1); then
  pass "promtool-test-rules ($(grep -c '^  - name:' deploy/prometheus/rules_test.yml) test groups)"
else
  fail "promtool-test-rules" "$(grep -E 'FAILED|name:|alertname:' <<<"$out" | head -n 6 | tr '\n' ' ')"
  echo "$out" | sed 's/^/  /'
fi

# ------------------------------------------------------------ 2. chromium can fail
console=$(chromium_console "file://$PWD/tests/prometheus/fixtures/js_error.html" "$work/js_error.png")
if grep -q 'Uncaught' <<<"$console"; then
  pass "chromium-reports-js-errors (fixtures/js_error.html: $(sed 's/.*CONSOLE[^]]*\] "\([^"]*\)".*/\1/' <<<"$console" | head -n 1))"
else
  fail "chromium-reports-js-errors" "no console error logged for fixtures/js_error.html"
fi

# ------------------------------------------------------------ 3. launch
echo "  building rill ..."
if ! out=$(bazel build //:rill 2>&1); then
  fail "build" "$(grep -E 'ERROR' <<<"$out" | head -n 3 | tr '\n' ' ')"
fi
url=""
if [ -x bazel-bin/rill ]; then
  t=$(now)
  # More steps than the check needs: it ends the run with SIGINT.
  bazel-bin/rill launch --config=deploy/configs/pendulum_sac.textpb --num_actors=2 --max_env_steps=1000000 \
    --run_dir="$work/run" --prometheus --progress_every=10s >"$work/launch.out" 2>&1 &
  launch_pid=$!
  deadline=$(($(now) + READY_DEADLINE_S))
  while [ "$(now)" -lt "$deadline" ] && kill -0 "$launch_pid" 2>/dev/null &&
        ! grep -q '^all processes ready' "$work/launch.out"; do
    sleep 0.5
  done
  url=$(sed -n 's|^prometheus: \(http://127\.0\.0\.1:[0-9]*\)/consoles/rill\.html$|\1|p' "$work/launch.out" | head -n 1)
  if [ -n "$url" ] && grep -q '^all processes ready' "$work/launch.out"; then
    pass "launch-prometheus (dashboard at $url/consoles/rill.html, all ready after $(($(now) - t)) s)"
  else
    fail "launch-prometheus" "no 'prometheus: URL' and 'all processes ready' lines within $READY_DEADLINE_S s: $(tail -n 3 "$work/launch.out" | tr '\n' ' ')"
    url=""
  fi
fi

if [ -n "$url" ]; then
  # Every target up, with its job and instance, once Prometheus has read the
  # targets files and scraped them.
  targets=""
  deadline=$(($(now) + 20))
  while [ "$(now)" -lt "$deadline" ]; do
    targets=$(curl -sf --max-time 5 "$url/api/v1/targets?state=active" | /usr/bin/python3 -c '
import json, sys
for t in json.load(sys.stdin)["data"]["activeTargets"]:
    print("%s/%s %s" % (t["labels"]["job"], t["labels"]["instance"], t["health"]))' 2>/dev/null | sort)
    [ "$(awk '$2 == "up" {print $1}' <<<"$targets" | paste -sd ' ')" = "$EXPECTED_TARGETS" ] && break
    sleep 1
  done
  if [ "$(awk '$2 == "up" {print $1}' <<<"$targets" | paste -sd ' ')" = "$EXPECTED_TARGETS" ]; then
    pass "prometheus-targets ($EXPECTED_TARGETS, all up)"
  else
    fail "prometheus-targets" "want $EXPECTED_TARGETS up, got: $(tr '\n' ',' <<<"$targets")"
  fi

  # ---------------------------------------------------------- 4. queries
  output=$(/usr/bin/python3 tests/prometheus/check_queries.py --url "$url" --deadline "$QUERY_DEADLINE_S" \
             --console deploy/prometheus/consoles/rill.html --rules deploy/prometheus/rules.yml \
             --expect-empty tests/prometheus/fixtures/misspelled_metric.html 2>&1)
  echo "$output"
  failures=$((failures + $(grep -c '^FAIL ' <<<"$output")))
  if ! grep -q '^\(PASS\|FAIL\) ' <<<"$output"; then fail "check-queries" "no result: $(tail -n 1 <<<"$output")"; fi

  # ---------------------------------------------------------- 5. dashboard
  page="$work/rill.html"
  code=$(curl -s --max-time 10 -o "$page" -w '%{http_code}' "$url/consoles/rill.html")
  if [ "$code" != 200 ]; then
    fail "console-renders" "HTTP $code: $(head -c 300 "$page" | tr '\n' ' ')"
  else
    pass "console-renders (HTTP 200, $(wc -c <"$page") bytes)"
    bad=""
    assets=$(grep -oE '(src|href)="/classic/[^"]*"' "$page" | sed 's/^[a-z]*="//; s/"$//' | sort -u)
    for asset in $assets; do
      asset_code=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$url$asset")
      [ "$asset_code" = 200 ] || bad+="$asset ($asset_code) "
    done
    if [ -z "$assets" ]; then
      fail "console-assets" "the page links no /classic/ assets"
    elif [ -z "$bad" ]; then
      pass "console-assets ($(wc -w <<<"$assets") scripts, stylesheets and icons, all 200)"
    else
      fail "console-assets" "$bad"
    fi
  fi
  console=$(chromium_console "$url/consoles/rill.html" "$work/rill.png")
  if [ ! -s "$work/rill.png" ]; then
    fail "console-loads-in-chromium" "no screenshot"
  elif [ -n "$console" ]; then
    fail "console-loads-in-chromium" "$(head -n 3 <<<"$console" | tr '\n' ' ')"
  else
    # The screenshot is the test's output file: kept where a person (or CI)
    # can look at it after the run.
    outputs=${RILL_TEST_OUTPUTS:-$PWD/.test-outputs}
    mkdir -p "$outputs" && cp "$work/rill.png" "$outputs/prometheus-console.png"
    pass "console-loads-in-chromium (no JavaScript console message, screenshot $outputs/prometheus-console.png, $(wc -c <"$work/rill.png") bytes)"
  fi
fi

# ------------------------------------------------------------ 6. stop
if [ -n "$launch_pid" ]; then
  port=${url##*:}
  kill -INT "$launch_pid" 2>/dev/null
  deadline=$(($(now) + 60))
  while [ "$(now)" -lt "$deadline" ] && kill -0 "$launch_pid" 2>/dev/null; do sleep 0.5; done
  if kill -0 "$launch_pid" 2>/dev/null; then
    fail "clean-stop" "rill launch still running 60 s after SIGINT"
  else
    wait "$launch_pid"
    rc=$?
    launch_pid=""
    listening=""
    [ -n "$port" ] && ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && listening=1
    if [ "$rc" -ne 0 ]; then
      fail "clean-stop" "rill launch exited $rc: $(tail -n 3 "$work/launch.out" | tr '\n' ' ')"
    elif [ -n "$listening" ]; then
      fail "clean-stop" "port $port still listening after the launcher ended"
    elif ! grep -q '^prometheus stopped; its data stays in ' "$work/launch.out" ||
         [ ! -d "$work/run/prometheus/data/wal" ]; then
      fail "clean-stop" "no 'prometheus stopped' line or no data kept: $(tail -n 3 "$work/launch.out" | tr '\n' ' ')"
    elif ! grep -q 'See you next time' "$work/run/logs/prometheus.log"; then
      fail "clean-stop" "prometheus did not shut down cleanly: $(tail -n 2 "$work/run/logs/prometheus.log" | tr '\n' ' ')"
    else
      pass "clean-stop (exit 0, prometheus shut down, $(du -sh "$work/run/prometheus/data" | cut -f1) of data kept)"
    fi
  fi
fi

echo "  tests/prometheus/run.sh took $(($(now) - started)) s"
[ "$failures" -eq 0 ]
