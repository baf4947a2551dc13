"""rill_cc_proto: a C++ (and optionally gRPC) library from one .proto file."""

def rill_cc_proto(name, src, deps = [], grpc = False):
    base = src[:-len(".proto")]
    outs = ["%s.pb.h" % base, "%s.pb.cc" % base]
    if grpc:
        outs += ["%s.grpc.pb.h" % base, "%s.grpc.pb.cc" % base]
    cmd = "protoc -I. --cpp_out=$(GENDIR) "
    if grpc:
        cmd += "--grpc_out=$(GENDIR) --plugin=protoc-gen-grpc=$$(command -v grpc_cpp_plugin) "
    cmd += "$(location %s)" % src
    native.genrule(
        name = name + "_gen",
        srcs = [src] + ["//proto:" + d[1:].replace("_cc_proto", ".proto") for d in deps],
        outs = outs,
        cmd = cmd,
    )
    native.cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        deps = deps + ["@system//:grpc" if grpc else "@system//:protobuf"],
    )
