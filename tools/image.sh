#!/usr/bin/env bash
# Builds the one Rill container image (deploy/docker/Dockerfile) from the
# binaries Bazel makes, with docker or podman. The image runs every role;
# deploy/k8s/ refers to it by the name `rill`.
#
# usage: tools/image.sh [--tag NAME] [--engine docker|podman] [--base IMAGE]
#                       [--no-bazel]
#
#   --tag NAME      image name and tag to build (default rill:latest); push it
#                   and point deploy/k8s at it, see deploy/k8s/README.md
#   --engine E      docker or podman (default: $CONTAINER_ENGINE, else docker
#                   when its daemon answers, else podman)
#   --base IMAGE    Debian bookworm image to build on (default: the
#                   Dockerfile's, debian:bookworm-slim); an image that already
#                   holds the runtime libraries is used as it is, with no
#                   network (CI's debootstrapped base, tests/k8s/run.sh)
#   --no-bazel      do not run `bazel build //:rill //:rill-replay //:rill-actor`; take the
#                   binaries already in bazel-bin/
#
# The binaries are linked against Debian bookworm's shared libraries, so
# build them on bookworm (tools/setup.sh) and the image on the same release.
# The build context is a temporary folder holding only the three binaries,
# the stock configs, the Python env server (python/rill, examples/python, its
# .proto files and message classes generated from them) and the Dockerfile.
# Prints the image name as its last line.
set -euo pipefail
cd "$(dirname "$0")/.."

tag="rill:latest"
engine="${CONTAINER_ENGINE:-}"
base=""
run_bazel=1
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) tag="$2"; shift 2 ;;
    --tag=*) tag="${1#*=}"; shift ;;
    --engine) engine="$2"; shift 2 ;;
    --engine=*) engine="${1#*=}"; shift ;;
    --base) base="$2"; shift 2 ;;
    --base=*) base="${1#*=}"; shift ;;
    --no-bazel) run_bazel=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "image.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

if [ -z "$engine" ]; then
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    engine=docker
  elif command -v podman >/dev/null; then
    engine=podman
  else
    echo "image.sh: neither a running docker nor podman found" >&2
    exit 1
  fi
fi
case "$engine" in
  docker|podman) command -v "$engine" >/dev/null || { echo "image.sh: $engine not found" >&2; exit 1; } ;;
  *) echo "image.sh: --engine must be docker or podman, not '$engine'" >&2; exit 2 ;;
esac

if [ "$run_bazel" -eq 1 ]; then
  bazel build //:rill //:rill-replay //:rill-actor
fi
bin=bazel-bin
for binary in rill rill-replay rill-actor; do
  [ -x "$bin/$binary" ] || { echo "image.sh: $bin/$binary missing: run bazel build //:rill //:rill-replay //:rill-actor" >&2; exit 1; }
done

context="$(mktemp -d "${TMPDIR:-/tmp}/rill-image.XXXXXX")"
trap 'rm -rf "$context"' EXIT
cp deploy/docker/Dockerfile "$context/"
cp "$bin/rill" "$bin/rill-replay" "$bin/rill-actor" "$context/"
chmod 0755 "$context/rill" "$context/rill-replay" "$context/rill-actor"
mkdir "$context/configs"
cp deploy/configs/*.textpb "$context/configs/"
# The Python env server, the example envs and the two .proto files it
# reads, with its message classes generated here (by python/rill/_proto.py,
# with this machine's protoc) into the cache folder the image points
# RILL_PROTO_CACHE at.
mkdir -p "$context/python/rill" "$context/examples/python" "$context/proto"
cp python/rill/*.py "$context/python/rill/"
cp examples/python/*.py "$context/examples/python/"
cp proto/env.proto proto/tensor.proto "$context/proto/"
if ! out=$(PYTHONDONTWRITEBYTECODE=1 RILL_PROTO_CACHE="$context/python-protos" PYTHONPATH="$context/python" \
             /usr/bin/python3 -c 'import rill._proto' 2>&1); then
  echo "image.sh: cannot generate the Python env server's message classes (python3 and protoc, see tools/setup.sh): $out" >&2
  exit 1
fi
# Readable by the image's user (the generated folder is made private).
chmod -R a+rX "$context/python" "$context/examples" "$context/proto" "$context/python-protos"

build_args=()
[ -n "$base" ] && build_args+=(--build-arg "BASE_IMAGE=$base")
# Host networking: a base that lacks the runtime libraries fetches them with
# apt, and podman needs no container network set up for it.
"$engine" build --network=host "${build_args[@]}" --tag "$tag" --file "$context/Dockerfile" "$context" >&2
echo "$tag"
