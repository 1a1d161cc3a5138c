#!/bin/bash
# Build cw-workload (workload/) as a static x86_64 binary for the guests'
# busybox initramfs, and prove that it is static.
#
#   scripts/build-workload.sh          -> build/workload/cw-workload
#
# How: glibc static linking (`-C target-feature=+crt-static`; musl is not
# available here), for this crate only: an explicit --target keeps the flag
# off build scripts, and a separate target dir keeps the workspace's own
# builds from being invalidated. Baseline x86-64 code (no target-cpu=native:
# the guests run under QEMU TCG's default CPU). Symbols stripped.
# The binary resolves no host names (numeric IPs only), so glibc's NSS,
# which a static glibc cannot load, is never used.
#
# Environment: CARGO (default cargo), CARGO_BUILD_JOBS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
target=x86_64-unknown-linux-gnu
tdir=$root/target/workload-static
out=$root/build/workload
bin=$out/cw-workload

unset CARGO_ENCODED_RUSTFLAGS
export RUSTFLAGS="-C target-feature=+crt-static"
export CARGO_PROFILE_RELEASE_STRIP=symbols
export CARGO_PROFILE_RELEASE_LTO=true
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! "${CARGO:-cargo}" build --release -p commaware-workload --bin cw-workload \
        --target "$target" --target-dir "$tdir" -j "${CARGO_BUILD_JOBS:-2}" >"$log" 2>&1; then
    cat "$log" >&2
    echo "build-workload: cargo build failed" >&2
    exit 1
fi
# glibc warns when a static binary links getaddrinfo & co. std links them but
# cw-workload never calls them (addresses are parsed, not resolved).
if grep -q "statically linked applications requires at runtime" "$log"; then
    echo "build-workload: note: glibc's static-NSS link warning (harmless: no name lookups are made)"
fi

mkdir -p "$out"
install -m 0755 "$tdir/$target/release/cw-workload" "$bin"

# --- prove it is static ---
fail() { echo "build-workload: NOT STATIC: $*" >&2; exit 1; }
if readelf -lW "$bin" | grep -q "INTERP"; then fail "has a program interpreter"; fi
if readelf -dW "$bin" | grep -q "(NEEDED)"; then fail "needs shared libraries"; fi
desc=$(file -b "$bin")
case "$desc" in
    *"statically linked"*|*"static-pie linked"*) ;;
    *) fail "file says: $desc" ;;
esac
ldd_out=$(ldd "$bin" 2>&1 || true)
case "$ldd_out" in
    *"not a dynamic executable"*|*"statically linked"*) ;;
    *) fail "ldd says: $ldd_out" ;;
esac
# It runs, with nothing but itself (empty environment, no /etc needed).
env -i "$bin" calibrate --quiet >/dev/null || fail "does not run"

echo "build-workload: $bin"
echo "  file: $desc"
echo "  ldd:  $(echo "$ldd_out" | head -1 | sed 's/^[[:space:]]*//')"
echo "  size: $(stat -c %s "$bin") bytes"
