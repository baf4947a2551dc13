"""A second auto-configured C++ toolchain, with clang-14 as the compiler.

The default build keeps Bazel's @local_config_cc (gcc). `--config=tsa` in
.bazelrc points --crosstool_top at this repository instead, so both
toolchains live side by side: switching configs re-runs no repository rule
(as `--repo_env=CC=clang` would) and, with the config's own
--platform_suffix, evicts none of the gcc outputs. Bazel's own cc_configure
does the work (include folders, supported flags, cc_wrapper.sh); only the
compiler is overridden. The repository is fetched on first use, so a
default build needs no clang installed.
"""

load("@bazel_tools//tools/cpp:cc_configure.bzl", "cc_autoconf_impl")

def _clang_toolchain_impl(repository_ctx):
    clang = repository_ctx.path(repository_ctx.attr.compiler)
    if not clang.exists:
        fail("%s not found: run tools/setup.sh (Debian package clang-14)" % clang)
    cc_autoconf_impl(repository_ctx, overriden_tools = {"gcc": str(clang)})

clang_toolchain = repository_rule(
    implementation = _clang_toolchain_impl,
    attrs = {"compiler": attr.string(default = "/usr/bin/clang-14")},
    configure = True,
)
