"""A repository of the system's C++ libraries, described by pkg-config.

Headers live in /usr/include, which the compiler searches already; each
target here carries only the link flags. LibTorch has its own rule
(third_party/libtorch), since it may come from elsewhere.
"""

_PKG_CONFIG = {
    "grpc": ["grpc++", "protobuf"],
    "protobuf": ["protobuf"],
    "prometheus": ["prometheus-cpp-core"],
    # libcrypto only: common/tls checks certificates and keys at start-up
    # (gRPC itself links the same OpenSSL for the handshakes).
    "openssl": ["libcrypto"],
    "absl": [
        "absl_flags_parse",
        "absl_flags",
        "absl_flags_usage",
        "absl_status",
        "absl_statusor",
        "absl_strings",
        "absl_str_format",
        "absl_synchronization",
        "absl_time",
        "absl_random_random",
        "absl_hash",
        "absl_raw_hash_set",
        "absl_cord",
    ],
}

def _pkg_config_libs(ctx, packages):
    result = ctx.execute(["pkg-config", "--libs"] + packages)
    if result.return_code != 0:
        fail("pkg-config --libs %s failed (run tools/setup.sh): %s" %
             (" ".join(packages), result.stderr))
    return result.stdout.strip().split(" ")

def _system_libs_impl(ctx):
    rules = ['package(default_visibility = ["//visibility:public"])', ""]
    for name, packages in _PKG_CONFIG.items():
        flags = [f for f in _pkg_config_libs(ctx, packages) if f]
        rules.append("cc_library(name = %r, linkopts = %r)" % (name, flags + ["-lpthread"]))
    # libblas.so.3: OpenBLAS through Debian's alternatives (tools/setup.sh
    # selects it); the actors' policies call its cblas_sgemm.
    rules.append("""cc_library(
    name = "blas",
    linkopts = ["-lblas", "-lpthread"],
)""")
    rules.append("""cc_library(
    name = "gtest_main",
    linkopts = ["-lgmock_main", "-lgmock", "-lgtest", "-lpthread"],
)""")
    rules.append("""cc_library(
    name = "gtest",
    linkopts = ["-lgmock", "-lgtest", "-lpthread"],
)""")
    # Debian's libmujoco-dev ships no pkg-config file; headers are in
    # /usr/include/mujoco (included as "mujoco/mujoco.h").
    rules.append("""cc_library(
    name = "mujoco",
    linkopts = ["-lmujoco", "-lpthread"],
)""")
    # Debian's libzstd-dev (tools/setup.sh): the codec of replay tables'
    # compressed columns (replay/column_codec.h). A plain -lzstd rather than
    # pkg-config, so that a machine without the package fails only the
    # targets that link it, naming the missing library.
    rules.append("""cc_library(
    name = "zstd",
    linkopts = ["-lzstd"],
)""")
    # Debian's libdnnl-dev (tools/setup.sh): oneDNN, whose convolutions run
    # the actors' convolutional torsos (policies/blas_torso.h); LibTorch
    # links the same libdnnl.so.2. Its CPU runtime is OpenMP (libgomp), whose
    # thread count BlasTorso sets, hence -lgomp. No pkg-config file ships.
    rules.append("""cc_library(
    name = "dnnl",
    linkopts = ["-ldnnl", "-lgomp", "-lpthread"],
)""")
    rules.append("""cc_library(
    name = "benchmark",
    linkopts = ["-lbenchmark", "-lpthread"],
)""")
    ctx.file("WORKSPACE", 'workspace(name = "%s")\n' % ctx.name)
    ctx.file("BUILD.bazel", "\n".join(rules) + "\n")

system_libs = repository_rule(
    implementation = _system_libs_impl,
    local = True,
    environ = ["PKG_CONFIG_PATH"],
)
