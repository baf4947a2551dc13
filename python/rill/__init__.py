"""Rill's Python side: the remote environment server (rill.env_server) and
the client that speaks its protocol (rill.env_client). Needs only Debian's
python3-grpcio, python3-protobuf and python3-numpy, and protoc to generate
the message classes from proto/ on first use (rill._proto)."""
