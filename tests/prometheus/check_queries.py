#!/usr/bin/env python3
"""Asks a live Prometheus for every PromQL expression of Rill's dashboard and
every recording rule, and says which come back empty.

The expressions are read from the files, not copied here: from console
templates, the strings of PromConsole.Graph({expr: "..."} or expr: ["...",
...]) and the first argument of (args "..."); from a rules file, each
`- record: NAME` (the recorded series is queried by its name, which is empty
unless the rule evaluates and its expression has data); from a Grafana
dashboard (JSON), the `expr` of every panel's targets, rows' panels included,
with its template variables ($job, ${job}, [[job]]) replaced by `.*` (what
"All" with a regex matcher selects) and $__rate_interval, $__interval and
$__range by 1m. A variable not defined by the dashboard stays as written, so
Prometheus rejects the expression and the check reports it.

Prints one line per check, `PASS <name> (...)` or `FAIL <name>: <why>`, with
indented detail lines, and exits 1 if any failed:
  --console FILE   every expression of FILE returns a non-empty result;
  --rules FILE     every recording rule of FILE does;
  --grafana FILE   every expression of the Grafana dashboard FILE does, and
                   every label_values() variable has values, or an allValue
                   (such as .*) that selects everything without them;
  --expect-empty FILE   a fixture with a planted mistake (a console template,
                   or a Grafana dashboard when FILE ends in .json): at least
                   one of its expressions must be reported empty (proves the
                   check can fail).
Retries until --deadline seconds have passed, since rates need two scrapes and
the evaluator's first round takes a few seconds. Standard library only.
"""
import argparse
import json
import math
import re
import sys
import time
import urllib.parse
import urllib.request


def read_js_string(text, i):
    """The double-quoted JS string starting at text[i] and the index after it."""
    assert text[i] == '"'
    out, i = [], i + 1
    while text[i] != '"':
        if text[i] == "\\":
            i += 1
        out.append(text[i])
        i += 1
    return "".join(out), i + 1


def console_expressions(path):
    text = open(path, encoding="utf-8").read()
    found = []
    for match in re.finditer(r"\bexpr:\s*", text):
        i = match.end()
        if text[i] == '"':
            found.append(read_js_string(text, i)[0])
        elif text[i] == "[":
            i += 1
            while True:
                while text[i] in " \t\r\n,":
                    i += 1
                if text[i] == "]":
                    break
                expr, i = read_js_string(text, i)
                found.append(expr)
    # Go template string literals: (args "EXPR" ...).
    for match in re.finditer(r'\(args\s+"((?:[^"\\]|\\.)*)"', text):
        found.append(match.group(1).replace('\\"', '"'))
    return list(dict.fromkeys(found))  # in file order, each once


def recording_rules(path):
    return re.findall(r"^\s*-\s*record:\s*(\S+)\s*$", open(path, encoding="utf-8").read(), re.M)


# Grafana's interval variables, replaced by the rules' rate window.
INTERVAL_VARIABLES = {"__rate_interval", "__interval", "__range"}


def substitute_variables(expr, names):
    """expr with Grafana template variables NAMES replaced by .* and interval
    variables by 1m; any other $name is left for Prometheus to reject."""
    def replace(match):
        name = next(g for g in match.groups() if g)
        if name in INTERVAL_VARIABLES:
            return "1m"
        return ".*" if name in names else match.group(0)
    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)", replace, expr)


def grafana_panels(panels):
    for panel in panels:
        yield panel
        yield from grafana_panels(panel.get("panels", []))  # a row's panels


def grafana_variables(dashboard):
    return dashboard.get("templating", {}).get("list", [])


def grafana_expressions(path):
    dashboard = json.load(open(path, encoding="utf-8"))
    names = {v["name"] for v in grafana_variables(dashboard)}
    found = [substitute_variables(target["expr"], names)
             for panel in grafana_panels(dashboard.get("panels", []))
             for target in panel.get("targets", []) if "expr" in target]
    return list(dict.fromkeys(found))


def grafana_variable_queries(path):
    """[(name, (label, selector or None), allValue or None)] of every
    label_values() query variable of the dashboard."""
    dashboard = json.load(open(path, encoding="utf-8"))
    names = {v["name"] for v in grafana_variables(dashboard)}
    found = []
    for variable in grafana_variables(dashboard):
        text = variable.get("query")
        text = text.get("query", "") if isinstance(text, dict) else text or ""
        match = re.fullmatch(r"\s*label_values\((?:(.*),)?\s*(\w+)\s*\)\s*", text, re.S)
        if variable.get("type") != "query" or not match:
            continue
        selector = substitute_variables(match.group(1), names) if match.group(1) else None
        found.append((variable["name"], (match.group(2), selector), variable.get("allValue")))
    return found


def label_values(url, label, selector):
    """LABEL's values on SELECTOR's series, the request Grafana makes for
    label_values(SELECTOR, LABEL); raises with Prometheus' error."""
    params = [("match[]", selector)] if selector else []
    request = "%s/api/v1/label/%s/values?%s" % (url, label, urllib.parse.urlencode(params))
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            body = json.load(response)
    except urllib.error.HTTPError as error:
        body = json.load(error)
    if body.get("status") != "success":
        raise ValueError(body.get("error", "query failed"))
    return [value for value in body["data"] if value]


def file_expressions(path):
    return grafana_expressions(path) if path.endswith(".json") else console_expressions(path)


def query(url, expr):
    """(number of series, values) or raises with Prometheus' error."""
    request = url + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            body = json.load(response)
    except urllib.error.HTTPError as error:  # 400 for a bad expression
        body = json.load(error)
    if body.get("status") != "success":
        raise ValueError(body.get("error", "query failed"))
    data = body["data"]
    if data["resultType"] == "scalar":
        return [float(data["result"][1])]
    if data["resultType"] == "vector":
        return [float(sample["value"][1]) for sample in data["result"]]
    raise ValueError("unexpected result type " + data["resultType"])


def evaluate(url, exprs):
    """expr -> list of values, or an error string."""
    results = {}
    for expr in exprs:
        try:
            results[expr] = query(url, expr)
        except (ValueError, OSError) as error:
            results[expr] = str(error)
    return results


def missing(results):
    return [e for e, r in results.items() if isinstance(r, str) or not r]


def describe(results, expr):
    r = results[expr]
    if isinstance(r, str):
        return "error: " + r
    if not r:
        return "empty"
    shown = ", ".join("NaN" if math.isnan(v) else "%.4g" % v for v in r[:4])
    return "%d series: %s%s" % (len(r), shown, ", ..." if len(r) > 4 else "")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--console", action="append", default=[])
    parser.add_argument("--rules", action="append", default=[])
    parser.add_argument("--grafana", action="append", default=[])
    parser.add_argument("--expect-empty", action="append", default=[])
    parser.add_argument("--deadline", type=float, default=45)
    args = parser.parse_args()

    checks = []  # (name, expressions)
    for path in args.console:
        checks.append(("console-queries " + path, console_expressions(path)))
    for path in args.rules:
        checks.append(("recording-rules " + path, recording_rules(path)))
    for path in args.grafana:
        checks.append(("grafana-queries " + path, grafana_expressions(path)))
    variables = [(path, grafana_variable_queries(path)) for path in args.grafana]
    failed = 0
    for name, exprs in checks:
        if not exprs:
            print("FAIL %s: no expressions found in the file" % name)
            failed += 1
    everything = sorted({e for _, exprs in checks for e in exprs})

    deadline = time.time() + args.deadline
    while True:
        results = evaluate(args.url, everything)
        if not missing(results) or time.time() >= deadline:
            break
        time.sleep(1)  # the next scrape and rule evaluation

    for name, exprs in checks:
        if not exprs:
            continue
        empty = [e for e in exprs if e in missing(results)]
        for expr in exprs:
            print("  %-5s %s -> %s" % ("ok" if expr not in empty else "EMPTY", expr, describe(results, expr)))
        nan_only = [e for e in exprs if e not in empty and all(math.isnan(v) for v in results[e])]
        note = "; %d only NaN, a histogram with no observations" % len(nan_only) if nan_only else ""
        if empty:
            print("FAIL %s: %d of %d empty: %s" % (name, len(empty), len(exprs), " | ".join(empty)))
            failed += 1
        else:
            print("PASS %s (%d expressions non-empty%s)" % (name, len(exprs), note))

    for path, found in variables:
        name = "grafana-variables " + path
        # Without values, a variable with no allValue makes "All" an empty
        # regex, which selects nothing on any panel.
        bad, unvalued = [], []
        for variable, (label, selector), all_value in found:
            request = "label_values(%s%s)" % (selector + ", " if selector else "", label)
            try:
                values = label_values(args.url, label, selector)
            except (ValueError, OSError) as error:
                values = "error: %s" % error
            if isinstance(values, str) or (not values and not all_value):
                bad.append(variable)
            elif not values:
                unvalued.append(variable)
            shown = values if isinstance(values, str) else ", ".join(values) or "none (All is %s)" % all_value
            print("  %-5s $%s: %s -> %s" % ("ok" if variable not in bad else "EMPTY", variable, request, shown))
        if not found:
            print("FAIL %s: no label_values() variables found in the file" % name)
            failed += 1
        elif bad:
            print("FAIL %s: no values and no allValue, or an error: %s" % (name, " ".join("$" + n for n in bad)))
            failed += 1
        else:
            valued = [n for n, _, _ in found if n not in unvalued]
            note = "; %s none here, whose All (allValue) selects every series" % " ".join(
                "$" + n for n in unvalued) if unvalued else ""
            print("PASS %s (%d label_values() variables: %s with values%s)" % (
                name, len(found), " ".join("$" + n for n in valued) or "none", note))

    for path in args.expect_empty:
        name = "planted-mistake-reported " + path
        exprs = file_expressions(path)
        results = evaluate(args.url, exprs)
        empty = missing(results)
        for expr in exprs:
            print("  %-5s %s -> %s" % ("ok" if expr not in empty else "EMPTY", expr, describe(results, expr)))
        if empty:
            print("PASS %s (reported empty: %s)" % (name, " | ".join(empty)))
        else:
            print("FAIL %s: the planted mistake was not reported empty" % name)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
