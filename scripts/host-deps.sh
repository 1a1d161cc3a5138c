#!/bin/bash
# Host packages the Rust build needs (Xen's own build dependencies, QEMU and
# the Debian source are installed by scripts/xen/fetch.sh). Idempotent.
set -euo pipefail
need=()
for p in libclang-dev clang pkg-config; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || { echo "need root to apt-get install ${need[*]}"; exit 1; }
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}"
fi
echo "host deps ok"
