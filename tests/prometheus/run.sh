#!/usr/bin/env bash
# The Prometheus checks of CI (issue 14), for real:
#   1. deploy/prometheus/rules.yml passes `promtool check rules`, and its unit
#      tests rules_test.yml (every alert firing and quiet) `promtool test rules`;
#   2. headless chromium reports a planted JavaScript error (fixtures/
#      js_error.html), which proves check 5 can fail; deploy/grafana/rill.json
#      type-checks under `tsc --strict` as npm @grafana/schema's Dashboard
#      (and, stricter, its panels as the schema's timeseries and stat options
#      with Prometheus targets), and the planted misspelled field of
#      fixtures/misspelled_field.json is rejected (the exact npm versions
#      below, installed once into ~/.cache/rill-npm); its panels have unique
#      ids and none overlaps another, and the planted overlap of
#      fixtures/overlapping_panels.json is reported;
#   3. a short `rill launch --prometheus` (PPO on CooperativeNavigation-v0,
#      three agents with a policy each, so that the per-agent and per-policy
#      series fill; 2 actors, 1 s
#      scrapes) starts Prometheus, whose targets are every process, one job
#      per role, labelled replay-0, learner, actor-0, actor-1, evaluator;
#   4. every PromQL expression of consoles/rill.html, of the Grafana
#      dashboard deploy/grafana/rill.json (its variables as "All": .*, and
#      $__rate_interval as 1m) and every recording rule of rules.yml returns
#      a non-empty result from that Prometheus, and the dashboard's
#      label_values() variables have values (check_queries.py reads them from
#      the files); the planted misspelled metrics of
#      fixtures/misspelled_metric.html and .json are reported empty;
#      every role's /metrics (the targets the launcher wrote for Prometheus)
#      passes `promtool check metrics` with no lint finding, and the planted
#      findings of fixtures/bad_metrics.txt are reported;
#   5. the dashboard renders (HTTP 200), every script, stylesheet and icon it
#      links answers 200 (no 404 is allowed), its graphs open at the run's
#      own time range (the run's age rounded up to whole minutes, not a fixed
#      default), and headless chromium loads it with no JavaScript console
#      message;
#   6. Ctrl-C (SIGINT) stops the run and Prometheus cleanly, exit 0, its data
#      kept in <run_dir>/prometheus/data.
# Prints one line per check, `PASS <name>` or `FAIL <name>: <why>` (other
# lines are details), and exits non-zero if any failed. Kills what it started
# and removes its temporary folder, on failure and on Ctrl-C too. Takes about
# a minute (a first run also installs the npm packages, from the registry).
#
# Needs tools/setup.sh's packages (prometheus, chromium, nodejs/npm) and
# builds //:rill.
# Run it from anywhere: bash tests/prometheus/run.sh
set -uo pipefail
cd "$(dirname "$0")/../.."

# How long the launched processes and Prometheus may take to get ready, and
# the expressions to fill.
readonly READY_DEADLINE_S=${RILL_PROMETHEUS_READY_DEADLINE_S:-90}
readonly QUERY_DEADLINE_S=${RILL_PROMETHEUS_QUERY_DEADLINE_S:-45}
readonly EXPECTED_TARGETS="actor/actor-0 actor/actor-1 evaluator/evaluator learner/learner replay/replay-0"
# The Grafana schema the dashboard is checked against, and the compiler:
# exact versions, installed once into NPM_DIR (not the repository).
readonly GRAFANA_SCHEMA_VERSION=13.2.3 TYPESCRIPT_VERSION=5.9.3
readonly NPM_DIR=${RILL_NPM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rill-npm}/grafana-schema-$GRAFANA_SCHEMA_VERSION-typescript-$TYPESCRIPT_VERSION

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

for tool in promtool prometheus chromium curl node npm; do
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

# ------------------------------------------------------------ 2. grafana types
# Each dashboard becomes a .ts file holding its JSON twice, inlined as object
# literals (TypeScript checks excess properties, so a misspelled field, only
# in literals): once typed as the schema's Dashboard, once as RillDashboard,
# which also types each panel's options and fieldConfig by its panel type and
# its targets as Prometheus queries. Json<T> accepts an enum's JSON value
# ("list", "thresholds") where the schema has a TypeScript enum
# (LegendDisplayMode.List, FieldColorModeId.Thresholds), in both.
# Prints "FILE(line,col): error ..." for every tsc error, one line each.
grafana_type_errors() {
  local dir="$work/grafana-types" i=0 errors path
  mkdir -p "$dir" && ln -sfn "$NPM_DIR/node_modules" "$dir/node_modules"
  /usr/bin/python3 - "$dir" "$@" <<'EOF'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
header = """import type { Dashboard, DataQuery, DataSourceRef, FieldConfigSource, Panel, RowPanel } from '@grafana/schema';
import type * as stat from '@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen';
import type * as timeseries from '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';
type Json<T> = T extends string ? `${T}` : T extends readonly (infer E)[] ? Json<E>[]
  : T extends object ? { [K in keyof T]: Json<T[K]> } : T;
interface PrometheusQuery extends DataQuery {
  datasource?: DataSourceRef; expr: string; legendFormat?: string; range?: boolean; instant?: boolean; interval?: string;
}
type TypedPanel<P extends string, O, F> = Omit<Panel<O, F>, 'type' | 'options' | 'fieldConfig' | 'targets'> &
  { type: P; options: Json<O>; fieldConfig: Json<FieldConfigSource<F>>; targets: PrometheusQuery[] };
type RillDashboard = Omit<Dashboard, 'panels'> & { panels: Array<RowPanel |
  TypedPanel<'timeseries', timeseries.Options, timeseries.FieldConfig> | TypedPanel<'stat', stat.Options, {}>> };
"""
files = []
for i, path in enumerate(sys.argv[2:]):
    literal = json.dumps(json.load(open(path, encoding="utf-8")), indent=2)
    name = "dashboard%d.ts" % i
    (out / name).write_text("%sexport const schema: Json<Dashboard> = %s;\nexport const strict: RillDashboard = %s;\n"
                            % (header, literal, literal))
    files.append(name)
(out / "tsconfig.json").write_text(json.dumps({"files": files, "compilerOptions": {
    "strict": True, "noEmit": True, "target": "es2022", "module": "esnext", "moduleResolution": "bundler",
    "skipLibCheck": True, "types": []}}))
EOF
  errors=$(cd "$dir" && node node_modules/typescript/bin/tsc -p tsconfig.json 2>&1)
  for path in "$@"; do
    grep "^dashboard$i\.ts" <<<"$errors" | sed "s|^dashboard$i\.ts|$path|"
    i=$((i + 1))
  done
  # What tsc says about no one file (its options, a module not found).
  grep -v '^dashboard[0-9]*\.ts' <<<"$errors" | grep . | sed 's|^|tsc: |'
}

t=$(now)
if [ ! -f "$NPM_DIR/node_modules/typescript/bin/tsc" ] || [ ! -f "$NPM_DIR/node_modules/@grafana/schema/package.json" ]; then
  mkdir -p "$NPM_DIR"
  if ! out=$(npm install --no-save --prefix "$NPM_DIR" --no-audit --no-fund --loglevel=error \
               "@grafana/schema@$GRAFANA_SCHEMA_VERSION" "typescript@$TYPESCRIPT_VERSION" 2>&1); then
    fail "grafana-npm" "npm install into $NPM_DIR: $(grep -v nodedir <<<"$out" | tail -n 1)"
    rm -rf "$NPM_DIR"
  fi
fi
if [ -f "$NPM_DIR/node_modules/@grafana/schema/package.json" ]; then
  errors=$(grafana_type_errors deploy/grafana/rill.json tests/prometheus/fixtures/misspelled_metric.json \
                               tests/prometheus/fixtures/misspelled_field.json)
  good=$(grep -v '^tests/prometheus/fixtures/misspelled_field\.json' <<<"$errors")
  planted=$(grep '^tests/prometheus/fixtures/misspelled_field\.json' <<<"$errors")
  if [ -z "$good" ]; then
    pass "grafana-types (deploy/grafana/rill.json and fixtures/misspelled_metric.json type-check as @grafana/schema@$GRAFANA_SCHEMA_VERSION's Dashboard, tsc $TYPESCRIPT_VERSION --strict, $(($(now) - t)) s)"
  else
    fail "grafana-types" "$(grep -c . <<<"$good") error(s): $(head -n 2 <<<"$good" | tr '\n' ' ')"
    sed 's/^/  /' <<<"$good"
  fi
  # Rejected for the planted field, and for nothing else.
  if [ -n "$planted" ] && ! grep -qv "'\"gridPoss\"' does not exist" <<<"$planted"; then
    pass "grafana-types-reject-misspelled-field ($(head -n 1 <<<"$planted" | sed 's|^tests/prometheus/||; s/ in type .*//'))"
  else
    fail "grafana-types-reject-misspelled-field" "want only errors about \"gridPoss\", got: $(head -n 3 <<<"$planted" | tr '\n' ' ')"
  fi
fi

# Grafana places panels where gridPos says, overlaps included, and tells
# panels apart by id. Prints one line per mistake: "FILE: ...".
grafana_layout_errors() {
  /usr/bin/python3 - "$@" <<'EOF'
import collections, json, sys
for path in sys.argv[1:]:
    panels = json.load(open(path, encoding="utf-8")).get("panels", [])
    for panel in list(panels):
        panels += panel.get("panels", [])  # a collapsed row's panels
    for id_, n in collections.Counter(p.get("id") for p in panels).items():
        if n > 1:
            print("%s: %d panels with id %s" % (path, n, id_))
    boxes = [(p.get("title", ""), p.get("gridPos", {})) for p in panels]
    for i, (title, g) in enumerate(boxes):
        if g.get("x", 0) + g.get("w", 0) > 24:
            print("%s: %r is wider than the 24 columns" % (path, title))
        for other, h in boxes[:i]:
            if (g["x"] < h["x"] + h["w"] and h["x"] < g["x"] + g["w"] and
                    g["y"] < h["y"] + h["h"] and h["y"] < g["y"] + g["h"]):
                print("%s: %r overlaps %r" % (path, title, other))
EOF
}

errors=$(grafana_layout_errors deploy/grafana/rill.json)
if [ -z "$errors" ]; then
  pass "grafana-layout (deploy/grafana/rill.json: $(grep -c '"gridPos"' deploy/grafana/rill.json) panels, unique ids, none overlapping)"
else
  fail "grafana-layout" "$(head -n 3 <<<"$errors" | paste -sd ';')"
fi
planted=$(grafana_layout_errors tests/prometheus/fixtures/overlapping_panels.json)
if grep -q "'Learner losses' overlaps 'Policy lag'" <<<"$planted"; then
  pass "grafana-layout-reports-overlap ($(sed 's|^tests/prometheus/||' <<<"$planted" | paste -sd ';'))"
else
  fail "grafana-layout-reports-overlap" "want 'Learner losses' overlaps 'Policy lag', got: $(paste -sd ';' <<<"$planted")"
fi

# promtool's lint reports planted findings, which proves check 4's lint of
# every role's /metrics can fail.
out=$(promtool check metrics <tests/prometheus/fixtures/bad_metrics.txt 2>&1)
if [ $? -ne 0 ] && grep -q 'rill_fixture_env_steps counter metrics should have "_total" suffix' <<<"$out" &&
   grep -q 'rill_fixture_replay_items no help text' <<<"$out"; then
  pass "promtool-lint-reports-findings (fixtures/bad_metrics.txt: $(paste -sd ';' <<<"$out" | sed 's/;/; /g'))"
else
  fail "promtool-lint-reports-findings" "want the 2 planted findings of fixtures/bad_metrics.txt, got: $(tr '\n' ' ' <<<"$out")"
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
  launch_started=$t
  bazel-bin/rill launch --config=deploy/configs/cooperative_navigation_policies.textpb --num_actors=2 --max_env_steps=100000000 \
    --run_dir="$work/run" --prometheus --progress_every=10s >"$work/launch.out" 2>&1 &
  launch_pid=$!
  deadline=$(($(now) + READY_DEADLINE_S))
  while [ "$(now)" -lt "$deadline" ] && kill -0 "$launch_pid" 2>/dev/null &&
        ! grep -q '^all processes ready' "$work/launch.out"; do
    sleep 0.5
  done
  url=$(sed -n 's|^prometheus: \(http://127\.0\.0\.1:[0-9]*\)/consoles/rill\.html$|\1|p' "$work/launch.out" | head -n 1)
  launch_ready=$(now)
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
             --grafana deploy/grafana/rill.json \
             --expect-empty tests/prometheus/fixtures/misspelled_metric.html \
             --expect-empty tests/prometheus/fixtures/misspelled_metric.json 2>&1)
  echo "$output"
  failures=$((failures + $(grep -c '^FAIL ' <<<"$output")))
  if ! grep -q '^\(PASS\|FAIL\) ' <<<"$output"; then fail "check-queries" "no result: $(tail -n 1 <<<"$output")"; fi

  # Every role's /metrics, as Prometheus scrapes it (the targets files the
  # launcher wrote), through promtool's lint: names, units, _total on
  # counters, HELP texts. Read after the queries, so that metrics a process
  # registers on first use have appeared.
  findings=""
  scraped=()
  while read -r job instance address; do
    scraped+=("$job/$instance")
    if ! body=$(curl -sf --max-time 5 "http://$address/metrics"); then
      findings+="$job/$instance: /metrics at $address did not answer"$'\n'
    elif ! lint=$(promtool check metrics <<<"$body" 2>&1); then
      findings+="$(sed "s|^|$job/$instance: |" <<<"$lint")"$'\n'
    fi
  done < <(/usr/bin/python3 -c '
import json, pathlib, sys
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.json")):
    for group in json.loads(path.read_text()):
        for address in group["targets"]:
            print(path.stem, group["labels"].get("instance", address), address)' "$work/run/prometheus/targets")
  if [ "${#scraped[@]}" -eq 0 ]; then
    fail "promtool-check-metrics" "no targets in $work/run/prometheus/targets"
  elif [ -z "$findings" ]; then
    pass "promtool-check-metrics (${scraped[*]}: no lint finding)"
  else
    fail "promtool-check-metrics" "$(grep -c . <<<"$findings") lint finding(s): $(head -n 3 <<<"$findings" | paste -sd ';')"
    sed '/^$/d; s/^/  /' <<<"$findings"
  fi

  # ---------------------------------------------------------- 5. dashboard
  page="$work/rill.html"
  rendered=$(now)
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
    # The run's processes started between the launch and its "all processes
    # ready" line; the range covers them, rounded up to whole minutes, where
    # a fixed default (or the 0 of no data) falls outside.
    range_s=$(sed -n 's/.*rillRunSeconds = Number( *\([0-9.e+]*\) *);.*/\1/p' "$page" | head -n 1)
    low=$((rendered - launch_ready - 1)) high=$((rendered + 1 - launch_started + 60))
    if [ -z "$range_s" ]; then
      fail "console-opens-at-run-range" "no rillRunSeconds in the page (deploy/prometheus/console_libraries/rill.lib's rill_run_range)"
    elif awk -v r="$range_s" -v low="$low" -v high="$high" 'BEGIN { exit !(r > 0 && r >= low && r < high) }'; then
      pass "console-opens-at-run-range (the last ${range_s} s; the run had started $((rendered - launch_started)) s before)"
    else
      fail "console-opens-at-run-range" "the page opens at the last ${range_s} s, want the run's age rounded up to a minute, in [$low, $high) s"
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
