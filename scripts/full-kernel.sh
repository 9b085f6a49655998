#!/usr/bin/env bash
# Prints lib/modules/<release> of a real, full-size Debian kernel for the
# full-size index checks (test/kmod/index-bin.test.ts, FSB_FULL_KERNEL): the
# newest linux-image-6.1.0-*-amd64 that apt knows, downloaded, unpacked and
# indexed with depmod once into the test cache shared with the system suite.
set -euo pipefail
cache=${FSBLACKLIST_TEST_CACHE:-/var/cache/fsblacklist-test}/full-kernel
mkdir -p "$cache"
find_package() { apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' | awk '{print $1}' | sort -V | tail -1; }
pkg=$(find_package)
if [ -z "$pkg" ]; then
  apt-get update -qq
  pkg=$(find_package)
fi
[ -n "$pkg" ] || { echo "full-kernel: apt knows no linux-image-6.1.0-*-amd64" >&2; exit 1; }
dir="$cache/$pkg"
if [ ! -f "$dir/.ready" ]; then
  rm -rf "$dir" && mkdir -p "$dir"
  (cd "$cache" && rm -f "${pkg}"_*.deb && apt-get download -qq "$pkg" >&2)
  dpkg-deb -x "$cache/${pkg}"_*.deb "$dir"
  release=${pkg#linux-image-}
  depmod -b "$dir" "$release"
  touch "$dir/.ready"
fi
echo "$dir"/lib/modules/*
