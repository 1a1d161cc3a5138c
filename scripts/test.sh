#!/bin/bash
# The test command (`make test`, run by .ci/run): every suite, each a named
# stage reported as PASS/FAIL, then one summary line "N passed, N failed".
# A failing stage does not stop the others (their results are still worth
# seeing), but the script exits non-zero if any failed.
#
#   scripts/test.sh [STAGE ...]     (default: all stages, in order; also
#                                   boot-churn-short, 30 churn cycles)
#
# Logs: build/logs/test-<stage>.log; a boot stage also keeps its serial log
# and DATA lines as serial-<stage>.log and data-<stage>.txt.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p build/logs

ALL_STAGES="host-deps rust-tests clippy nostd fuzz rust-obj xen workload boot-commaware boot-cpupool boot-control boot-hostile boot-churn"
STAGES=${*:-$ALL_STAGES}
passed=0
failed=0
failed_names=""

# commaware-ctl and commaware-badpayload into dom0's image (build/dom0-extra).
dom0_tools() {
    cargo build --release --locked -p commaware-ctl &&
        install -D -m 0755 target/release/commaware-ctl build/dom0-extra/usr/sbin/commaware-ctl &&
        install -D -m 0755 target/release/commaware-badpayload build/dom0-extra/usr/sbin/commaware-badpayload
}

# churn_boot CYCLES PAIR_SECS BOOT_TIMEOUT: churn.sh in a commaware boot.
churn_boot() {
    dom0_tools &&
        printf 'CHURN_CYCLES=%s\nCHURN_PAIR_SECS=%s\n' "$1" "$2" >build/churn-env.sh &&
        make boot-test COMMAWARE=y BOOT_SCHED=commaware BOOT_TIMEOUT="$3" \
            BOOT_TESTS="scripts/xen/tests/churn.sh build/churn-env.sh scripts/xen/tests/dmesg-clean.sh"
}

stage_cmd() {
    case "$1" in
    host-deps)      scripts/host-deps.sh ;;
    rust-tests)     cargo test --workspace --locked --no-fail-fast ;;
    clippy)         cargo clippy --workspace --all-targets --locked -- -D warnings ;;
    nostd)          scripts/check-nostd.sh ;;
    fuzz)           scripts/fuzz.sh 30 ;;
    rust-obj)       make rust-obj ;;
    xen)            make xen COMMAWARE=y ;;
    # cw-workload for the guests (and dom0's evsink), linked with the Xen
    # tools' static libraries: after the xen stage.
    workload)       scripts/build-workload.sh ;;
    boot-commaware) make boot-test COMMAWARE=y BOOT_SCHED=commaware BOOT_TESTS="scripts/xen/tests/smoke.sh scripts/xen/tests/commaware.sh scripts/xen/tests/cpupool-commaware-pool0.sh scripts/xen/tests/vchan.sh scripts/xen/tests/dmesg-clean.sh" BOOT_TIMEOUT=900 ;;
    boot-cpupool)   make boot-test COMMAWARE=y BOOT_SCHED=credit BOOT_TESTS="scripts/xen/tests/cpupool.sh scripts/xen/tests/dmesg-clean.sh" ;;
    boot-control)   dom0_tools &&
                    make boot-test COMMAWARE=y BOOT_SCHED=commaware BOOT_TESTS="scripts/xen/tests/control.sh scripts/xen/tests/badpayload.sh scripts/xen/tests/dmesg-clean.sh" BOOT_TIMEOUT=1200 ;;
    boot-hostile)   dom0_tools &&
                    make boot-test COMMAWARE=y BOOT_SCHED=commaware BOOT_TESTS="scripts/xen/tests/hostile.sh scripts/xen/tests/dmesg-clean.sh" BOOT_TIMEOUT=1500 ;;
    # churn.sh's default, 200 create/destroy cycles: ~20 min of cycles under
    # QEMU TCG (5.4 s each measured), in a 27-minute pair run (room for
    # 7.5 s each). boot-churn-short: the same test, 30 cycles or more.
    boot-churn)       churn_boot 200 1600 2500 ;;
    boot-churn-short) churn_boot 30 420 1500 ;;
    *) echo "unknown stage $1 (stages: $ALL_STAGES)"; return 2 ;;
    esac
}

for s in $STAGES; do
    log=build/logs/test-$s.log
    echo "=== stage $s (log: $log)"
    t0=$(date +%s)
    touch build/logs/.stage-start
    # The stage's own exit status decides; its output goes to the log, and
    # the lines worth seeing are streamed from there while it runs.
    stage_cmd "$s" >"$log" 2>&1 &
    pid=$!
    tail -n +1 -F --pid="$pid" "$log" 2>/dev/null |
        grep -E --line-buffered '^(PASS|FAIL|test result|error|=== |\[)|panicked|FAILED' &
    wait "$pid"
    rc=$?
    wait 2>/dev/null
    dt=$(( $(date +%s) - t0 ))
    # A boot stage's serial log and DATA lines, kept past the next boot
    # (the figures the README quotes: counts, ratios, gaps).
    case $s in boot-*)
        for f in serial-last.log:serial-$s.log data-last.txt:data-$s.txt; do
            [ build/logs/${f%%:*} -nt build/logs/.stage-start ] && cp build/logs/${f%%:*} "build/logs/${f#*:}"
        done
    esac
    if [ "$rc" = 0 ]; then
        echo "PASS: $s (${dt}s)"
        passed=$((passed + 1))
    else
        echo "FAIL: $s (exit $rc, ${dt}s; last lines of $log follow)"
        tail -n 40 "$log"
        # The failing steps again, last, where a truncated CI excerpt keeps them.
        grep -E '^(FAIL: |failed> )' "$log" | tail -n 40
        failed=$((failed + 1))
        failed_names="$failed_names $s"
    fi
done

[ -z "$failed_names" ] || echo "failed stages:$failed_names"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
