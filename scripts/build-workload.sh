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
# Xen support (cargo feature `xen`: the vchan transport and the evstorm/
# evsink/evring modes) is on when Xen's static tool libraries have been built
# (make xen: build/xen-work/tools/libs/*/libxen*.a); otherwise the binary is
# built without it and those modes exit with an error saying so. Force with
# CW_XEN=y|n. The binary is also installed as build/dom0-extra/usr/sbin/
# cw-workload, so dom0's image has it (evsink in dom0).
#
# Environment: CARGO (default cargo), CARGO_BUILD_JOBS (default 2), CW_XEN.
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
xen_libs=$root/build/xen-work/tools/libs
features=()
case "${CW_XEN:-auto}" in
y) features=(--features xen) ;;
n) ;;
auto)
    have=1
    for l in vchan store gnttab evtchn toolcore toollog; do
        [ -f "$xen_libs/$l/libxen$l.a" ] || have=0
    done
    [ -f "$root/build/xen-work/tools/include/libxenvchan.h" ] || have=0
    [ "$have" = 1 ] && features=(--features xen)
    ;;
*) echo "build-workload: CW_XEN must be y, n or unset" >&2; exit 2 ;;
esac
if [ ${#features[@]} -gt 0 ]; then
    echo "build-workload: with Xen support (vchan, evstorm/evsink/evring): static libs from $xen_libs"
else
    echo "build-workload: WITHOUT Xen support (no static Xen tool libs in $xen_libs; run make xen):" \
        "--transport vchan and the ev* modes will fail with an error"
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! "${CARGO:-cargo}" build --release -p commaware-workload --bin cw-workload \
        --target "$target" --target-dir "$tdir" -j "${CARGO_BUILD_JOBS:-2}" \
        ${features[@]+"${features[@]}"} >"$log" 2>&1; then
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

# dom0's image takes executables from this overlay (scripts/xen/initramfs.sh).
install -D -m 0755 "$bin" "$root/build/dom0-extra/usr/sbin/cw-workload"

echo "build-workload: $bin"
echo "  file: $desc"
echo "  ldd:  $(echo "$ldd_out" | head -1 | sed 's/^[[:space:]]*//')"
echo "  size: $(stat -c %s "$bin") bytes"
