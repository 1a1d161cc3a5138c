#!/bin/bash
# make demo: credit vs commaware on a communicating pair, booted for real.
#
#   scripts/demo.sh            (as root on Debian 12; `make demo` runs it)
#
#  1. builds what it needs: the Rust object and patched Xen and tools
#     (make rust-obj, make xen COMMAWARE=y, which fetches the source, build
#     deps and QEMU first when missing), cw-workload for the guests
#     (scripts/build-workload.sh), the simulator;
#  2. boots the patched Xen under QEMU TCG twice, sched=credit then
#     sched=commaware, same images and guests, each running
#     scripts/xen/tests/demo-pair.sh: the app/db pair alone (reference),
#     then with DEMO_HOGS CPU-hog guests on the same 2 pCPUs.  The first
#     boot calibrates cw-workload in an idle guest; the second reuses that
#     --iters-per-us, so both do identical work;
#  3. runs commaware-sim compare on scenarios/demo-tcg.toml (and its no-hog
#     twin), the booted setup mirrored, plus copies with dom0's per-packet
#     cost fitted to the measured no-hog latency;
#  4. prints the comparison (scripts/demo-report.py) and writes
#     build/results/demo/: results.json, table.txt, latency-cdf.svg, the
#     DATA lines and serial logs of both boots, the simulator's outputs.
#
# Environment: DEMO_DURATION (25 s measured, loaded), DEMO_REF_DURATION
# (15 s, no hogs; 0 skips it), DEMO_WARMUP (5 s), DEMO_HOGS (2),
# DEMO_APP_WORK_US (100), DEMO_DB_WORK_US (200), DEMO_IPU (skip the
# calibration and use this), DEMO_BOOT_TIMEOUT (900 s per boot),
# DEMO_SKIP_BUILD=1 (use what is built).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/build/results/demo
LOGS=$ROOT/build/logs
T0=$(date +%s)
log() { printf '[demo %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

: "${DEMO_DURATION:=25}" "${DEMO_REF_DURATION:=15}" "${DEMO_WARMUP:=5}" "${DEMO_HOGS:=2}"
: "${DEMO_APP_WORK_US:=100}" "${DEMO_DB_WORK_US:=200}" "${DEMO_IPU:=}" "${DEMO_BOOT_TIMEOUT:=900}"

# --- 1. build -----------------------------------------------------------------
if [ "${DEMO_SKIP_BUILD:-0}" != 1 ]; then
    # As make test does: apt packages for bindgen, the Rust object (the
    # scheduler core linked into Xen), then Xen with commaware (make xen
    # fetches Debian's source, its build deps and QEMU first when missing).
    log "host packages (scripts/host-deps.sh), Rust object (make rust-obj)"
    scripts/host-deps.sh
    make --no-print-directory rust-obj
    log "building patched Xen and tools (make xen COMMAWARE=y)"
    make --no-print-directory xen COMMAWARE=y
    log "building cw-workload"
    scripts/build-workload.sh
    log "building the simulator"
    cargo build -q --release -p commaware-sim
fi
SIM=${CARGO_TARGET_DIR:-$ROOT/target}/release/commaware-sim
[ -x "$SIM" ] || { echo "error: no $SIM (cargo build --release -p commaware-sim)" >&2; exit 1; }
[ -x build/workload/cw-workload ] || { echo "error: no build/workload/cw-workload" >&2; exit 1; }
grep -qx 'CONFIG_SCHED_COMMAWARE=y' build/xen-dist/boot/xen.config 2>/dev/null ||
    { echo "error: build/xen-dist has no CONFIG_SCHED_COMMAWARE=y hypervisor (make xen)" >&2; exit 1; }

rm -rf "$OUT"
mkdir -p "$OUT"
T_BUILD=$(($(date +%s) - T0))

# --- 2. two boots ---------------------------------------------------------------
env_file() { # SCHED IPU -> path of a demo-env.sh for that boot
    local d="$OUT/env-$1"
    mkdir -p "$d"
    {
        echo "DEMO_DURATION=$DEMO_DURATION"
        echo "DEMO_REF_DURATION=$DEMO_REF_DURATION"
        echo "DEMO_WARMUP=$DEMO_WARMUP"
        echo "DEMO_HOGS=$DEMO_HOGS"
        echo "DEMO_APP_WORK_US=$DEMO_APP_WORK_US"
        echo "DEMO_DB_WORK_US=$DEMO_DB_WORK_US"
        echo "DEMO_IPU=$2"
    } >"$d/demo-env.sh"
    echo "$d/demo-env.sh"
}

boot() { # SCHED IPU
    local s=$1 rc=0 tb la
    tb=$(date +%s)
    la=$(cut -d' ' -f1 /proc/loadavg)
    log "boot $s: pair alone ${DEMO_REF_DURATION}s, then with $DEMO_HOGS hogs ${DEMO_DURATION}s (warm-up ${DEMO_WARMUP}s each)"
    scripts/xen/boot.sh -s "$s" -t "$DEMO_BOOT_TIMEOUT" scripts/xen/tests/demo-pair.sh "$(env_file "$s" "$2")" ||
        rc=$?
    cp "$LOGS/data-last.txt" "$OUT/data-$s.txt" 2>/dev/null || : >"$OUT/data-$s.txt"
    cp "$LOGS/serial-last.log" "$OUT/serial-$s.log" 2>/dev/null || true
    # The host's load around the boot: QEMU TCG shares the machine's cores,
    # so other work on the host skews one boot against the other.
    echo "$s rc=$rc seconds=$(($(date +%s) - tb)) load_before=$la load_after=$(cut -d' ' -f1 /proc/loadavg)" >>"$OUT/boots.txt"
    [ "$rc" = 0 ] || log "boot $s: FAILED (rc=$rc); the report shows what was collected"
}

boot credit "$DEMO_IPU"
IPU=$DEMO_IPU
if [ -z "$IPU" ]; then
    IPU=$(sed -n 's/^demo sched=credit calibrate .*"iters_per_us":\([0-9.]*\).*/\1/p' "$OUT/data-credit.txt" | tail -n 1)
    [ -n "$IPU" ] || log "no calibration from the credit boot: the commaware boot calibrates itself"
fi
boot commaware "$IPU"

# --- 3. the simulator on the same setup ---------------------------------------------
log "commaware-sim compare scenarios/demo-tcg.toml (and demo-tcg-nohogs.toml)"
for sc in demo-tcg demo-tcg-nohogs; do
    "$SIM" compare "scenarios/$sc.toml" -o "$OUT/sim-$sc.json" >"$OUT/sim-$sc.txt"
done
# The same scenarios with dom0's per-packet cost fitted to the measured
# no-hog median under credit: p50 = db work + 2 packets through dom0
# (request and reply), so packet_cost_us = (p50 - db work) / 2.  This lumps
# every unmodelled cost (guest network stacks, TCG) into netback.
PC=$(python3 scripts/demo-report.py --fit-packet-cost "$OUT" 2>/dev/null || true)
if [ -n "$PC" ]; then
    for sc in demo-tcg demo-tcg-nohogs; do
        sed "s/^packet_cost_us = .*/packet_cost_us = $PC    # fitted by scripts\/demo.sh to the measured no-hog p50/" \
            "scenarios/$sc.toml" >"$OUT/$sc-fitted.toml"
        "$SIM" compare "$OUT/$sc-fitted.toml" -o "$OUT/sim-$sc-fitted.json" >"$OUT/sim-$sc-fitted.txt" ||
            log "simulator refused $OUT/$sc-fitted.toml"
    done
fi

# --- 4. report ---------------------------------------------------------------------
echo "total_seconds=$(($(date +%s) - T0)) build_seconds=$T_BUILD" >>"$OUT/boots.txt"
python3 scripts/demo-report.py "$OUT"
log "done in $(($(date +%s) - T0)) s: $OUT/{table.txt,results.json,latency-cdf.svg}"
