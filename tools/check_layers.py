#!/usr/bin/env python3
"""Checks Rill's package graph against the floors of //:layers.bzl.

Every dependency edge between two of Rill's packages must point down: from
a package to one on a lower floor. An edge to a package of the same floor
(actor -> learner) or of a higher one (envs -> learner) is an error. Two
graphs are checked:

  - Bazel's: the direct dependencies of every target under //... (bazel
    query), or the edges of a saved graph given with --edges FILE, one
    `"//from:target" -> "//to:target"` per line, as `bazel query
    --output=graph --nograph:factored` writes them;
  - the sources': every `#include "pkg/..."` of a .h or .cc file, so a
    header reached through a transitive dependency cannot hide an edge.

Tests (//tests/...) sit above every floor; deployment data (//deploy/...)
may be read by any package. Prints one `PASS <check>` or `FAIL <check>: <why>` line per graph and
exits 1 when either has an edge that points up or sideways.
"""

import argparse
import ast
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOP = 10 ** 6  # the floor of tests and deployment data


def read_floors(layers_bzl):
    """Returns ({package: floor}, test packages, data packages) from layers.bzl."""
    text = open(layers_bzl).read()

    def literal(name):
        match = re.search(r"^%s = \[" % name, text, re.M)
        if not match:
            raise SystemExit("FAIL layering: %s has no %s list" % (layers_bzl, name))
        body = re.sub(r"#[^\n]*", "", text[match.end() - 1:])
        depth = 0
        for end, char in enumerate(body):
            depth += {"[": 1, "]": -1}.get(char, 0)
            if depth == 0:
                return ast.literal_eval(body[:end + 1])
        raise SystemExit("FAIL layering: %s: %s is not closed" % (layers_bzl, name))

    floors = {}
    for index, floor in enumerate(literal("FLOORS")):
        for package in floor:
            floors[package] = index + 1
    return floors, literal("TEST_PACKAGES"), literal("DATA_PACKAGES")


def package_of(label, floors, tests, data=()):
    """The floor package a label belongs to ('//envs' for //envs/classic:x),
    'TOP' for tests, None for labels outside the floors (external
    repositories, third_party stubs, data packages)."""
    if not label.startswith("//"):
        return None
    path = label[2:].split(":", 1)[0]
    for package in data:
        if path == package[2:] or path.startswith(package[2:] + "/"):
            return None
    for test in tests:
        if path == test[2:] or path.startswith(test[2:] + "/"):
            return "TOP"
    if path == "":
        return "//"
    top = "//" + path.split("/", 1)[0]
    if top in floors:
        return top
    if top == "//third_party":
        return None
    return "UNKNOWN:" + top


def check_edges(edges, floors, tests, data):
    """Returns the violations among (from_label, to_label, where) edges."""
    problems = []
    for source, target, where in edges:
        a = package_of(source, floors, tests, data)
        b = package_of(target, floors, tests, data)
        if a is None or b is None or a == b or a == "TOP":
            continue
        for package, label in ((a, source), (b, target)):
            if package.startswith("UNKNOWN:"):
                problems.append("%s: package %s has no floor in //:layers.bzl (%s)" % (where, package[8:], label))
        if a.startswith("UNKNOWN:") or b.startswith("UNKNOWN:"):
            continue
        if b == "TOP":
            problems.append("%s: %s depends on the tests (%s)" % (where, source, target))
            continue
        if floors[b] >= floors[a]:
            direction = "sideways, to its own floor" if floors[b] == floors[a] else "upward"
            problems.append("%s: %s (floor %d) -> %s (floor %d) points %s" %
                            (where, source, floors[a], target, floors[b], direction))
    return problems


def bazel_edges(edges_file):
    if edges_file:
        text = open(edges_file).read()
        where = edges_file
    else:
        result = subprocess.run(
            ["bazel", "query", "--noshow_progress", "--output=graph", "--nograph:factored", "deps(//..., 1)"],
            cwd=ROOT, capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit("FAIL bazel package graph: bazel query failed: %s" % result.stderr.strip()[-2000:])
        text = result.stdout
        where = "bazel query"
    edges = []
    for line in text.splitlines():
        match = re.match(r'\s*"([^"]+)"\s*->\s*"([^"]+)"', line)
        if match:
            edges.append((match.group(1), match.group(2), where))
    return edges


def include_edges(floors, tests):
    """Edges from every source file to the packages it includes."""
    edges = []
    roots = {package[2:] for package in floors if package != "//"}
    for top in sorted(roots | {test[2:] for test in tests}):
        base = os.path.join(ROOT, top)
        for directory, _, files in os.walk(base):
            for name in files:
                if not name.endswith((".h", ".cc")):
                    continue
                path = os.path.join(directory, name)
                rel = os.path.relpath(path, ROOT)
                label = "//%s:%s" % (os.path.dirname(rel), name)
                for number, line in enumerate(open(path, errors="replace"), 1):
                    match = re.match(r'#include "([^"]+)"', line)
                    if not match or "/" not in match.group(1):
                        continue
                    included = match.group(1)
                    if included.split("/", 1)[0] not in roots:
                        continue  # system and generated-elsewhere headers
                    target = "//%s:%s" % (os.path.dirname(included), os.path.basename(included))
                    edges.append((label, target, "%s:%d" % (rel, number)))
    return edges


def report(check, what, edges, floors, tests, data):
    """Prints the check's PASS or FAIL line (and each bad edge); True on PASS."""
    problems = check_edges(edges, floors, tests, data)
    if not problems:
        print("PASS %s (%d %s, every one pointing down)" % (check, len(edges), what))
        return True
    print("FAIL %s: %d edge(s) break the floors of //:layers.bzl" % (check, len(problems)))
    for problem in problems:
        print("  " + problem)
    return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edges", help="check this saved graph instead of asking bazel query")
    parser.add_argument("--layers", default=os.path.join(ROOT, "layers.bzl"))
    parser.add_argument("--no_includes", action="store_true", help="skip the sources' include graph")
    args = parser.parse_args()
    floors, tests, data = read_floors(args.layers)

    edges = bazel_edges(args.edges)
    if not edges:
        print("FAIL bazel package graph: no edges read (%s)" % (args.edges or "bazel query"))
        return 1
    ok = report("bazel package graph", "target edges", edges, floors, tests, data)
    if not args.no_includes:
        ok = report("include graph", "includes between Rill's packages", include_edges(floors, tests),
                    floors, tests, data) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
