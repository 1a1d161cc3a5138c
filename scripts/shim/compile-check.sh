#!/bin/bash
# Compile-check commaware's Xen patches without a full Xen build.
#
#   scripts/shim/compile-check.sh [debug|release] [extra.patch ...]
#
# Clones the pristine tree (build/xen-src/xen-4.17*, tag "pristine") into
# build/shim-test (its own throw-away copy: never build/xen-work), applies
# xen-patches/series in order with `patch -p1 -F0` (plus any extra patches
# named, from xen-patches/), checks that the two ABI headers the patches
# install are byte-identical to their master copies in include/, configures
# like scripts/xen/build.sh (scripts/xen/xen.config + CONFIG_SCHED_COMMAWARE=y,
# optionally CONFIG_DEBUG off), generates the headers Xen's objects need
# (this runs Xen's public header checks, headers.chk/headers++.chk, over
# sched_commaware.h), and compiles only common/sched/ (the shim, the Rust
# object copied in, built_in.o) and the objects the patches touch.  Any
# compiler warning fails (Xen builds with -Werror anyway).  About a minute
# on two cores, niced.
#
# Environment: RUST_OBJ (default build/rust/commaware-rs.o, `make rust-obj`).
set -euo pipefail
unset MAKEFLAGS CFLAGS CPPFLAGS LDFLAGS

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CFG=${1:-debug}
[ $# -gt 0 ] && shift
P=$ROOT/xen-patches
T=$ROOT/build/shim-test
RUST_OBJ=${RUST_OBJ:-$ROOT/build/rust/commaware-rs.o}
SRC=$(find "$ROOT/build/xen-src" -mindepth 1 -maxdepth 1 -type d -name 'xen-4.17*' | sort | tail -n1)

log() { printf 'shim-check: %s\n' "$*"; }
die() { printf 'shim-check: error: %s\n' "$*" >&2; exit 1; }

[ -n "$SRC" ] || die "no pristine Xen tree under build/xen-src (make xen-fetch)"
[ -f "$RUST_OBJ" ] || die "no Rust object at $RUST_OBJ (make rust-obj)"

rm -rf "$T"
git clone -q "$SRC" "$T"
cd "$T"
for p in $(grep -v '^#' "$P/series" | awk 'NF {print $1}') "$@"; do
    patch -p1 -s --no-backup-if-mismatch -F0 <"$P/$p" || die "$p does not apply"
    log "applied $p"
done
cmp xen/include/public/sched_commaware.h "$ROOT/include/public/sched_commaware.h" ||
    die "xen/include/public/sched_commaware.h differs from include/public/sched_commaware.h"
cmp xen/common/sched/commaware.h "$ROOT/include/commaware.h" ||
    die "xen/common/sched/commaware.h differs from include/commaware.h"
log "ABI header copies identical to their masters"

cp "$ROOT/scripts/xen/xen.config" xen/.config
echo CONFIG_SCHED_COMMAWARE=y >>xen/.config
[ "$CFG" = release ] && sed -i 's/^CONFIG_DEBUG=y/# CONFIG_DEBUG is not set/' xen/.config
nice make -C xen olddefconfig >/dev/null
grep -qx 'CONFIG_SCHED_COMMAWARE=y' xen/.config || die "CONFIG_SCHED_COMMAWARE did not stick"

# What xen/Makefile's $(TARGET) rule does before compiling objects.
cat >"$T/.prep.mk" <<'MK'
.PHONY: shimprep
shimprep: outputmakefile FORCE
	$(Q)$(MAKE) $(build)=tools
	$(Q)$(MAKE) $(build)=. include/xen/compile.h
	$(Q)$(MAKE) $(build)=include all
	$(Q)$(MAKE) $(build)=arch/$(SRCARCH) include
	$(Q)$(MAKE) $(build)=. arch/$(SRCARCH)/include/asm/asm-offsets.h
MK
RS=COMMAWARE_RS_OBJ=$RUST_OBJ
nice make -C xen -f Makefile -f "$T/.prep.mk" -j2 shimprep "$RS" >"$T/prep.log" 2>&1 ||
    { tail -n 30 "$T/prep.log"; die "header generation failed ($T/prep.log)"; }
grep -q sched_commaware xen/include/headers.chk || die "headers.chk did not check sched_commaware.h"
log "$CFG: generated headers; public header checks passed"

nice make -C xen -j2 common/sched/ common/event_channel.o common/domctl.o common/sysctl.o \
    "$RS" >"$T/build.log" 2>&1 || { grep -v '^make' "$T/build.log" | tail -n 40; die "compile failed"; }
! grep -n 'warning' "$T/build.log" || die "compiler warnings"
log "compiled: $(grep -E '^  (CC|LD|COPY)' "$T/build.log" | awk '{print $2}' | tr '\n' ' ')"
if nm xen/common/sched/built_in.o | awk '$1 == "U" && $2 ~ /^cw_/ {print; bad = 1} END {exit !bad}'; then
    die "unresolved cw_* symbols in common/sched/built_in.o"
fi
log "common/sched/built_in.o links the shim and the Rust object: no unresolved cw_* symbol"
