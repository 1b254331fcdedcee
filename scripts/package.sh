#!/usr/bin/env bash
# Builds the Debian package from build/ and prints its path:
#   scripts/package.sh            build/package/fairway_VERSION_ARCH.deb
# Builds the four programs first when they are missing or out of date (scripts/build.sh's
# configuration), then runs CPack's DEB generator (cmake/packaging.cmake, docs/PACKAGING.md).
# Needs dpkg-dev (dpkg-shlibdeps) and, for the package's dependencies, the -dev packages of
# scripts/packages.txt. Progress on stderr; only the path on stdout.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build"
out="$build/package"

for tool in cmake cpack dpkg-shlibdeps dpkg-deb; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "package: $tool is missing (scripts/install-deps.sh installs it)" >&2
    exit 1
  fi
done

{
  # The same configuration as scripts/build.sh: re-running it costs seconds and never rebuilds
  # what is up to date.
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j"$(nproc)" --target fairwayd fairwayctl fairway-agent fairway-sim
} >&2

# A package from an earlier version must not be taken for this one.
rm -rf "$out"
mkdir -p "$out"
if ! (cd "$out" && cpack --config "$build/CPackConfig.cmake" -G DEB -B "$out") \
    >"$out/cpack.log" 2>&1; then
  cat "$out/cpack.log" >&2
  echo "package: cpack failed (log above, also in $out/cpack.log)" >&2
  exit 1
fi

shopt -s nullglob
debs=("$out"/fairway_*.deb)
if ((${#debs[@]} != 1)); then
  cat "$out/cpack.log" >&2
  echo "package: expected one fairway_*.deb in $out, found ${#debs[@]}" >&2
  exit 1
fi
echo "${debs[0]}"
