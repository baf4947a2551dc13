#!/usr/bin/env bash
# Installs every Debian package Rill needs to build, test and run, and
# nothing when they are all present. Safe to run again and again.
set -euo pipefail

PACKAGES=(
  bazel-bootstrap          # Bazel 4, builds offline with the stubs in third_party/
  g++ pkg-config python3
  clang-14 libomp-14-dev   # `--config=tsa`: clang's thread-safety analysis (OpenMP for the learner's -fopenmp)
  # `--config=tsan`: clang's ThreadSanitizer runtime, and what
  # third_party/tsan/build_absl.sh needs to rebuild Debian's Abseil with it.
  libclang-rt-14-dev cmake ninja-build dpkg-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libssl-dev               # common/tls checks certificates and keys with libcrypto
  libzstd-dev              # replay tables' compressed columns (replay/column_codec.h)
  openssl                  # `rill launch --tls` makes its throwaway CA with it; tests/tls_test
  libabsl-dev
  libtorch-dev
  libgloo-dev              # the headers of c10d's ProcessGroupGloo (data-parallel learner ranks: learner/learner_group.h)
  libopenblas0-openmp      # without it LibTorch falls back to reference BLAS (~15x slower)
  libblas-dev              # cblas.h and libblas.so: the actors' policies call OpenBLAS's cblas_sgemm directly
  libdnnl-dev              # oneDNN (libdnnl.so.2, which LibTorch links too): the actors' convolutional torsos
  prometheus-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libmujoco-dev            # MuJoCo 2.2 physics for the locomotion envs (envs/mujoco/)
  # MuJoCo's renderer, headless on a CPU (envs/mujoco/renderer.h): EGL on
  # Mesa's surfaceless platform, the llvmpipe driver, and libGL, which
  # MuJoCo loads OpenGL's functions from. Loaded at run time only when an
  # env renders (rill render, videos): the build links none of them.
  libegl1 libegl-mesa0 libgl1-mesa-dri libgl1
  iproute2 procps curl     # tests: network namespaces, process checks, metric scrapes
  python3-torch            # tests: the exported TorchScript policy runs in Python (torch.jit.load)
  python3-onnx             # tests/onnx: onnx.checker checks the exported ONNX policies
  # tests/k8s: the image built and run with podman (runc, not the crun it
  # defaults to; catatonit for `podman kube play`'s pod infra containers) on
  # a debootstrapped bookworm base; python3-grpcio asks a shard in the image
  # for grpc.health.v1. kubectl (with kustomize) and nodejs/npm come with the
  # machine; tests/k8s/run.sh says so when they are missing.
  podman runc catatonit debootstrap python3-grpcio
  prometheus chromium      # `rill launch --prometheus` and tests/prometheus (promtool, headless chromium)
  ffmpeg                   # rill render and the evaluator's videos encode H.264 MP4 with it (common/video_writer.h)
  python3-matplotlib       # the plots `rill launch` draws at the end of every run (cli/plot_run.py)
  # python/rill: the env server for users' Python envs (its message classes
  # come from proto/ through protoc, above), and what installs it offline
  # from the checkout (python/pyproject.toml; tests/python/install_test.py):
  # a venv that sees these packages, pip, setuptools and wheel.
  python3-grpcio python3-protobuf python3-numpy
  python3-venv python3-pip python3-setuptools python3-wheel
)

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install packages" >&2; exit 1; }
  SUDO="sudo"
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

# LibTorch must pick the OpenMP OpenBLAS, not the reference BLAS.
if command -v update-alternatives >/dev/null; then
  lib=$(ls /usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3 2>/dev/null || true)
  if [ -n "$lib" ]; then
    $SUDO update-alternatives --set libblas.so.3-x86_64-linux-gnu "$lib" >/dev/null 2>&1 || true
  fi
fi
echo "setup: done"
