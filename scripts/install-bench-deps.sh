#!/usr/bin/env bash
# Debian packages of the peers that benchmarks compare against (not needed by tests).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
pkgs=(zstd b3sum xdelta3 rsync restic borgbackup nginx time)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "install-bench-deps: ok"
