#!/usr/bin/env bash
# Debian packages the test suite needs. Idempotent; run as root (CI is root).
# Tests that need a package that is still missing skip themselves loudly.
set -euo pipefail
pkgs=(diffutils zstd)
# zstd: tests compare sizes against the zstd CLI (--patch-from)
# FUSE mount tests (libfuse-dev/libfuse2 for the @cocalc/fuse-native addon, fuse3 for
# fusermount, attr for getfattr in the xattr tests)
pkgs+=(fuse3 libfuse2 libfuse-dev attr)
# dashboard browser tests (test/dashboard): playwright-core drives Debian's Chromium
pkgs+=(chromium)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-system-deps: not root; missing: ${missing[*]} (tests needing them will be skipped)" >&2
    exit 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "install-system-deps: ok"
