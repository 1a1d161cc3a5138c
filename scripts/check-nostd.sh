#!/bin/bash
# Prove that commaware-sched and commaware-accounting build without std for
# the host target (the only target whose standard library is installed
# here; see /work/shared/rust-in-xen.md).
#
# tests/nostd is a #![no_std] staticlib, its own workspace, that depends on
# both crates, instantiates every entry point the hypervisor calls, and
# defines its own #[panic_handler]. If either crate (or a dependency, with
# the features resolved for this build) linked std, the build fails with a
# duplicate `panic_impl` lang item. The built archive is then checked to
# hold no std symbol.
#
#   scripts/check-nostd.sh          build and check (exit 0 = no std)
#
# Environment: CARGO, READELF, CARGO_TARGET_DIR (the check builds into
# $CARGO_TARGET_DIR/nostd, default target/nostd), CARGO_BUILD_JOBS.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CARGO=${CARGO:-cargo}
READELF=${READELF:-readelf}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}/nostd
MANIFEST=$ROOT/tests/nostd/Cargo.toml
LIB=$TARGET_DIR/release/libcommaware_nostd_check.a

log() { printf 'check-nostd: %s\n' "$*"; }
die() { printf 'check-nostd: error: %s\n' "$*" >&2; exit 1; }

log "building tests/nostd (no_std staticlib over commaware-sched, commaware-accounting)"
"$CARGO" build --manifest-path "$MANIFEST" --release --target-dir "$TARGET_DIR" \
    || die "commaware-sched/commaware-accounting do not build without std (see the errors above)"

[ -f "$LIB" ] || die "$LIB was not produced"
SYMS=$("$READELF" -sW "$LIB" 2>/dev/null | awk '{print $8}') || die "readelf failed on $LIB"
# Demangled or not, a std path in a symbol name means std code got in.
STD=$(grep -E '^_ZN3std|^_RN[A-Za-z0-9_]*3std|std::' <<<"$SYMS" || true)
if [ -n "$STD" ]; then
    head -5 <<<"$STD" >&2
    die "the no_std archive holds std symbols"
fi
grep -qx 'cw_nostd_exercise' <<<"$SYMS" || die "entry point missing from $LIB"
log "ok: commaware-sched and commaware-accounting build as no_std ($(basename "$LIB"))"
