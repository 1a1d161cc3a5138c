#!/bin/bash
# Boot the built Xen under QEMU (TCG) with a dom0 that runs boot tests.
#
#   scripts/xen/boot.sh [-s SCHED] [-x "XEN ARGS"] [-t TIMEOUT] [TEST.sh ...]
#
#   -s SCHED    Xen's sched= (default: credit)
#   -x ARGS     extra Xen command-line arguments
#   -t SECS     timeout for the whole run (default: 600)
#   TEST.sh     test scripts run by dom0 in order (default:
#               scripts/xen/tests/smoke.sh, plus tests/cpupool.sh when the
#               hypervisor was built with CONFIG_SCHED_COMMAWARE=y)
#
# Environment: BOOT_DISKS="IMG [IMG...]": raw disk images given to QEMU as
# virtio drives (dom0 sees /dev/vda, /dev/vdb, ... in this order), opened
# with snapshot=on: the run's writes go to a temporary overlay and the image
# stays pristine (the same image may be listed twice: independent overlays).
# BOOT_OUT_DISK=IMG: one more virtio drive, after those, opened for writing
# (a diagnostic's output: hostile.sh writes scheduler traces there when the
# image starts with the marker "CW-OUT-DISK"; make trace-disk makes one).
#
# Exit status 0 only when the run printed COMMAWARE-END, at least one PASS
# and no FAIL.  The serial log is build/logs/serial-last.log; a failed run's
# log is kept as build/logs/failed/serial-<time>.log and its path printed.
# Lines "DATA: <anything>" printed by tests are collected (without the
# prefix) into build/logs/data-last.txt, for benchmarks.
set -euo pipefail
. "$(dirname "$0")/common.sh"

SCHED=credit
XEN_EXTRA=""
TIMEOUT=600
while getopts "s:x:t:h" o; do
    case "$o" in
    s) SCHED=$OPTARG ;;
    x) XEN_EXTRA=$OPTARG ;;
    t) TIMEOUT=$OPTARG ;;
    *) sed -n '2,21p' "$0"; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
if [ $# -eq 0 ]; then
    # Default suite: the smoke test, and the cpupool test when the
    # hypervisor has commaware.
    set -- "$REPO_ROOT/scripts/xen/tests/smoke.sh"
    if grep -qx 'CONFIG_SCHED_COMMAWARE=y' "$XEN_DIST/boot/xen.config" 2>/dev/null; then
        set -- "$@" "$REPO_ROOT/scripts/xen/tests/cpupool.sh"
    fi
fi

XEN="$XEN_DIST/boot/xen"
[ -f "$XEN" ] || die "no hypervisor at $XEN; run make xen"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing; run make xen-fetch"
DISK_ARGS=()
for d in ${BOOT_DISKS:-}; do
    [ -f "$d" ] || die "BOOT_DISKS: no disk image $d"
    case "$d" in *,*) die "BOOT_DISKS: a path with a comma cannot be passed to QEMU's -drive: $d" ;; esac
    DISK_ARGS+=(-drive "file=$d,format=raw,if=virtio,snapshot=on")
done
if [ -n "${BOOT_OUT_DISK:-}" ]; then
    [ -f "$BOOT_OUT_DISK" ] || die "BOOT_OUT_DISK: no disk image $BOOT_OUT_DISK"
    case "$BOOT_OUT_DISK" in *,*) die "BOOT_OUT_DISK: a path with a comma cannot be passed to QEMU's -drive" ;; esac
    DISK_ARGS+=(-drive "file=$BOOT_OUT_DISK,format=raw,if=virtio")
fi

# One boot at a time (QEMU TCG wants both cores, and the logs are shared).
mkdir -p "$BUILD"
exec 9>"$BUILD/.boot.lock"
flock -w 3600 9 || die "another boot.sh holds $BUILD/.boot.lock"

t0=$(date +%s)
DOM0_IMG=$(timed image-build "$REPO_ROOT/scripts/xen/initramfs.sh" "$@" | tail -n 1)
[ -f "$DOM0_IMG" ] || die "initramfs.sh did not produce an image"
KERNEL="$IMAGES/vmlinuz"

XEN_CMDLINE="console=com1 com1=115200,8n1 dom0_mem=512M,max:512M dom0_max_vcpus=2 loglvl=all guest_loglvl=all sched=$SCHED noreboot $XEN_EXTRA"
# cw.test_timeout: dom0-init's cap on each test script (the boot's own).
DOM0_CMDLINE="console=hvc0 earlyprintk=xen loglevel=6 rdinit=/init cw.test_timeout=$TIMEOUT"
case "$DOM0_CMDLINE" in *,*) die "the dom0 command line must not contain commas (QEMU's -initrd separator)" ;; esac

SERIAL="$LOGS/serial-last.log"
mkdir -p "$LOGS"
: >"$SERIAL"

log "booting: xen $XEN_CMDLINE"
log "tests: $*"
[ -z "${BOOT_DISKS:-}" ] || log "disks (snapshot=on, dom0 /dev/vd[a-]): ${BOOT_DISKS}"
[ -z "${BOOT_OUT_DISK:-}" ] || log "output disk (written): $BOOT_OUT_DISK"
log "serial log: $SERIAL"
tb=$(date +%s)
qemu-system-x86_64 \
    -machine pc -accel tcg -smp 2 -m 2048 \
    -display none -monitor none -nic none -no-reboot \
    -serial "file:$SERIAL" \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -kernel "$XEN" -append "$XEN_CMDLINE" \
    -initrd "$KERNEL $DOM0_CMDLINE,$DOM0_IMG" \
    ${DISK_ARGS[@]+"${DISK_ARGS[@]}"} \
    </dev/null >"$LOGS/qemu-last.out" 2>&1 &
QPID=$!
cleanup() { kill "$QPID" 2>/dev/null || true; }
trap cleanup EXIT

why=""
last_report=0
while kill -0 "$QPID" 2>/dev/null; do
    sleep 1
    el=$(($(date +%s) - tb))
    if grep -aq 'COMMAWARE-END' "$SERIAL"; then
        # Give QEMU a moment to exit through isa-debug-exit.
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$QPID" 2>/dev/null || break; sleep 1; done
        break
    fi
    if grep -aqE 'Panic on CPU|Reboot in five seconds|Manual reset required' "$SERIAL"; then
        sleep 2
        why="Xen panicked"
        break
    fi
    if grep -aqE 'Kernel panic - not syncing' "$SERIAL"; then
        sleep 2
        why="dom0 kernel panicked"
        break
    fi
    if [ "$el" -ge "$TIMEOUT" ]; then
        why="timeout after ${TIMEOUT}s"
        break
    fi
    if [ $((el - last_report)) -ge 30 ]; then
        last_report=$el
        log "  ... ${el}s: $(grep -acE '^.{0,8}PASS: ' "$SERIAL") passed, $(grep -acE '^.{0,8}FAIL: ' "$SERIAL") failed; last: $(grep -aE '(PASS|FAIL|COMMAWARE-[A-Z]+):' "$SERIAL" | tail -n 1 | tr -d '\r' | cut -c1-80)"
    fi
done
if kill -0 "$QPID" 2>/dev/null; then
    log "stopping QEMU"
    cleanup
    wait "$QPID" 2>/dev/null || true
else
    qrc=0
    wait "$QPID" 2>/dev/null || qrc=$?
    # isa-debug-exit: status (1 << 1) | 1 = 3 for dom0's write of 1.
    log "QEMU exited by itself (status $qrc$([ "$qrc" = 3 ] && echo ': isa-debug-exit'))"
fi
trap - EXIT
tboot=$(($(date +%s) - tb))

# --- results -------------------------------------------------------------------
results=$(tr -d '\r' <"$SERIAL" | grep -aoE '(PASS|FAIL): .*|TIME: .*|COMMAWARE-(RESULT|END).*' || true)
# Lines "DATA: ..." are a test's measurements: kept for the caller.
tr -d '\r' <"$SERIAL" | grep -aoE 'DATA: .*' | sed 's/^DATA: //' >"$LOGS/data-last.txt" || true
npass=$(printf '%s\n' "$results" | grep -c '^PASS: ' || true)
nfail=$(printf '%s\n' "$results" | grep -c '^FAIL: ' || true)
printf '%s\n' "$results" | grep -E '^(PASS|FAIL|TIME): ' >&2 || true
if [ -z "$why" ]; then
    if ! printf '%s\n' "$results" | grep -q '^COMMAWARE-END'; then
        why="no COMMAWARE-END line (dom0 died or hung?)"
    elif [ "$nfail" -gt 0 ]; then
        why="$nfail step(s) failed"
    elif [ "$npass" -eq 0 ]; then
        why="no step passed"
    fi
fi
printf '%s boot sched=%s tests=%s %ds %s\n' "$(date -u +%FT%TZ)" "$SCHED" "$*" "$tboot" "${why:-ok}" >>"$LOGS/timings.txt"
if [ -n "$why" ]; then
    mkdir -p "$LOGS/failed"
    keep="$LOGS/failed/serial-$(date -u +%Y%m%dT%H%M%SZ).log"
    cp "$SERIAL" "$keep"
    log "BOOT TEST FAILED: $why ($npass passed, $nfail failed, boot ${tboot}s)"
    log "serial log kept: $keep"
    # The failed steps, each with the lines its script printed before the
    # FAIL (a step's log tail, "  | ..."): repeated here, beside the verdict,
    # because CI excerpts keep the end of the output.
    tr -d '\r' <"$SERIAL" | grep -aoE '(  \| |FAIL: ).*' |
        awk '/^FAIL: / { for (i = 0; i < n; i++) print ctx[i]; print; n = 0; next }
             { if (n == 12) { for (i = 1; i < 12; i++) ctx[i - 1] = ctx[i]; n = 11 } ctx[n++] = $0 }' |
        tail -n 60 | sed 's/^/failed> /' >&2
    exit 1
fi
log "BOOT TEST OK: $npass passed, 0 failed (boot ${tboot}s, total $(($(date +%s) - t0))s, sched=$SCHED)"
