# Rill's package graph, floor by floor from the ground up. A package may
# depend on the packages of lower floors only: never on one above it, nor on
# a neighbour of its own floor (actor and learner know nothing of each
# other). Each package's BUILD.bazel sets
#
#     package(default_visibility = visible_above("//envs"))
#
# so that a dependency that points down the graph builds and one that points
# up or sideways fails with Bazel's visibility error, naming both targets.
# tools/check_layers.py checks the whole graph (`bazel query`) against the
# same table; tests/layers/run.sh plants an upward dependency and shows that
# both checks refuse it.
#
# A new package takes a floor here, and a test package (tests/) sits above
# every floor.

FLOORS = [
    # 1: the rill.v1 protos.
    ["//proto"],
    # 2: status, gRPC, metrics, TLS, process and file helpers, tensor codec.
    ["//common"],
    # 3: environments and their spaces; the versioned parameter stream;
    # the replay service (core, durability, server, client).
    ["//envs", "//parameters", "//replay"],
    # 4: what actors run (no LibTorch); item kinds and builders.
    ["//policies", "//items"],
    # 5: the actor loop and evaluator; the learner (LibTorch).
    ["//actor", "//learner"],
    # 6: the experiment config: loading, defaults, cross-cutting rules.
    ["//experiment"],
    # 7: the flags shared by the entry points; the TLS setting from them.
    ["//flags"],
    # 8: every process's entry point; every `rill bench`.
    ["//roles", "//bench"],
    # 9: the product a user runs: the `rill` CLI's dispatch, the launcher and
    # its parts, sweeps, the report page, each binary's main() (developer
    # scripts live in tools/, which is no package).
    ["//cli"],
    # 10: the binaries (//:rill, //:rill-replay, //:rill-actor).
    ["//"],
]

# Above every floor: tests that start processes.
TEST_PACKAGES = ["//tests"]

# Data any package may read (the shipped configs, manifests, dashboards);
# they depend on nothing.
DATA_PACKAGES = ["//deploy", "//python", "//examples"]

def _subpackages(package):
    return "//:__pkg__" if package == "//" else package + ":__subpackages__"

def visible_above(package):
    """The visibility of `package`: itself, every floor above it, the tests."""
    for index, floor in enumerate(FLOORS):
        if package in floor:
            visible = [_subpackages(package)]
            for higher in FLOORS[index + 1:]:
                visible += [_subpackages(p) for p in higher]
            return visible + [_subpackages(p) for p in TEST_PACKAGES]
    fail("package %s has no floor in //:layers.bzl" % package)
