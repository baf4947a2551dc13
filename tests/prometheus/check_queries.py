#!/usr/bin/env python3
"""Asks a live Prometheus for every PromQL expression of Rill's dashboard and
every recording rule, and says which come back empty.

The expressions are read from the files, not copied here: from console
templates, the strings of PromConsole.Graph({expr: "..."} or expr: ["...",
...]) and the first argument of (args "..."); from a rules file, each
`- record: NAME` (the recorded series is queried by its name, which is empty
unless the rule evaluates and its expression has data).

Prints one line per check, `PASS <name> (...)` or `FAIL <name>: <why>`, with
indented detail lines, and exits 1 if any failed:
  --console FILE   every expression of FILE returns a non-empty result;
  --rules FILE     every recording rule of FILE does;
  --expect-empty FILE   a fixture with a planted mistake: at least one of its
                   expressions must be reported empty (proves the check can fail).
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
    parser.add_argument("--expect-empty", action="append", default=[])
    parser.add_argument("--deadline", type=float, default=45)
    args = parser.parse_args()

    checks = []  # (name, expressions)
    for path in args.console:
        checks.append(("console-queries " + path, console_expressions(path)))
    for path in args.rules:
        checks.append(("recording-rules " + path, recording_rules(path)))
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

    for path in args.expect_empty:
        name = "planted-mistake-reported " + path
        exprs = console_expressions(path)
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
