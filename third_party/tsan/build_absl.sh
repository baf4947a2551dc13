#!/usr/bin/env bash
# Builds the installed libabsl-dev's own Debian source package (same version,
# same patches and options, so the same ABI and SONAMEs) with clang-14 and
# -fsanitize=thread, into ~/.cache/rill-tsan-absl/<version>/lib, and prints
# that folder as its last line. Does nothing but print it when it is there.
#
# Why: Debian's libabsl is not instrumented, so ThreadSanitizer cannot see
# absl::Mutex (nor gRPC's locks, which are absl::Mutex too) and reports every
# guarded access as a race. `--config=tsan` runs the tests with this folder
# first on LD_LIBRARY_PATH (third_party/tsan/tsan.bzl), so the process,
# libgrpc included, loads the instrumented absl.
#
# Needs deb.debian.org (apt-get source, with a private deb-src list: the
# system's apt configuration is left alone), cmake, ninja-build, dpkg-dev and
# clang-14 (tools/setup.sh). About 3 minutes on 2 cores, once per version.
set -euo pipefail

version=$(dpkg-query -W -f='${Version}' libabsl-dev)
cache="${RILL_TSAN_ABSL_CACHE:-$HOME/.cache/rill-tsan-absl}/$version"
if [ -f "$cache/.complete" ]; then
  echo "$cache/lib"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial"
cat > "$work/apt/sources.list" <<LIST
deb-src http://deb.debian.org/debian $codename main
deb-src http://deb.debian.org/debian $codename-updates main
deb-src http://deb.debian.org/debian-security $codename-security main
LIST
apt_options=(
  -o "Dir::Etc::SourceList=$work/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$work/apt/lists" -o "Dir::Cache=$work/apt/cache" -o Debug::NoLocking=1
)
echo "tsan absl: fetching Debian's abseil $version source" >&2
apt-get "${apt_options[@]}" update -qq >&2
(cd "$work" && apt-get "${apt_options[@]}" source -qq --download-only "abseil=$version" >&2)
dpkg-source -x "$work"/abseil_*.dsc "$work/src" >&2

echo "tsan absl: building it with -fsanitize=thread" >&2
flags="-O2 -gline-tables-only -fsanitize=thread"
CC=/usr/bin/clang-14 CXX=/usr/bin/clang++-14 cmake -S "$work/src" -B "$work/build" -G Ninja \
  -DCMAKE_CXX_STANDARD=17 -DBUILD_SHARED_LIBS=ON -DCMAKE_BUILD_TYPE=None \
  "-DCMAKE_C_FLAGS=$flags" "-DCMAKE_CXX_FLAGS=$flags" "-DCMAKE_INSTALL_PREFIX=$work/install" >&2
ninja -C "$work/build" install >&2

rm -rf "$cache"
mkdir -p "$cache"
cp -a "$work/install/lib" "$cache/lib"
rm -rf "$cache/lib/cmake" "$cache/lib/pkgconfig"
touch "$cache/.complete"
echo "$cache/lib"
