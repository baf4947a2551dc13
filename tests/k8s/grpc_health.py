"""Asks a gRPC server for grpc.health.v1.Health/Check, as a kubelet's native
gRPC probe does, and exits 0 when it answers SERVING.

usage: grpc_health.py HOST:PORT [--timeout SECONDS]

Waits up to the timeout for the server to accept a connection, so that it
can be called right after the server's container starts. tests/k8s/run.sh
uses it on a replay shard running inside the image. Needs only Debian's
python3-grpcio: the request (service "", an empty message) and the reply
(field 1, the status enum) are encoded by hand instead of generated stubs.
"""
import argparse
import sys

import grpc

_STATUS_NAMES = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


def _decode_status(reply: bytes) -> int:
    # HealthCheckResponse { ServingStatus status = 1; }: tag 0x08, then a
    # one-byte varint; an empty message is the default, UNKNOWN.
    if not reply:
        return 0
    if len(reply) < 2 or reply[0] != 0x08:
        raise ValueError(f"unexpected HealthCheckResponse bytes {reply!r}")
    return reply[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("address")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()
    with grpc.insecure_channel(args.address) as channel:
        try:
            grpc.channel_ready_future(channel).result(timeout=args.timeout)
        except grpc.FutureTimeoutError:
            print(f"{args.address}: no connection within {args.timeout:g} s")
            return 1
        check = channel.unary_unary("/grpc.health.v1.Health/Check")
        try:
            reply = check(b"", timeout=5)
        except grpc.RpcError as error:
            print(f"{args.address}: Health/Check failed: {error.code().name} {error.details()}")
            return 1
    status = _decode_status(reply)
    print(f"{args.address}: {_STATUS_NAMES.get(status, status)}")
    return 0 if status == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
