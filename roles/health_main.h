// `rill health --port=PORT` (also `rill-replay health`): asks the gRPC server
// on this machine's 127.0.0.1:PORT for grpc.health.v1 and exits 0 when it is
// SERVING. It is the Kubernetes probe of servers that speak TLS, which the
// kubelet's own gRPC probe cannot (deploy/k8s/components/tls): with
// --tls_cert/--tls_key/--tls_ca it dials with TLS as any peer would, so the
// server's certificate must name IP:127.0.0.1. Flags: --port (required) and
// --health_timeout (deadline of the call, default 3 s, defined in
// health_main.cc). Runs on the calling thread.
#ifndef RILL_ROLES_HEALTH_MAIN_H_
#define RILL_ROLES_HEALTH_MAIN_H_

namespace rill::roles {

// Exit code: 0 when SERVING; 2 without a --port in 1..65535; 1 when the
// server cannot be reached, refuses the connection (TLS) or is not serving
// (the reason, naming the address, on stderr).
int HealthMain();

}  // namespace rill::roles

#endif  // RILL_ROLES_HEALTH_MAIN_H_
