"""c_plugin: an env plugin library in plain C99, built as a user would build
one against Rill's public header alone (//envs/plugin:abi), with warnings as
errors (which also checks that the header is plain C)."""

def c_plugin(name, src, defines = [], copts = [], **kwargs):
    """A shared library `name` (lib*.so) from the C file `src`.

    Args:
      name: the library's file name, e.g. "libgate.so".
      src: its one C source file.
      defines: -D flags for the compiler, e.g. ["BAD_CASE=2"].
      copts: more compiler flags.
      **kwargs: cc_binary's (testonly, linkopts, visibility).
    """
    native.cc_binary(
        name = name,
        srcs = [src],
        copts = ["-std=c99", "-Wall", "-Werror"] + ["-D" + d for d in defines] + copts,
        linkshared = True,
        deps = ["//envs/plugin:abi"],
        **kwargs
    )
