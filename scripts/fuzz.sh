#!/bin/bash
# Fuzz the scheduling core and the hypercall payloads (cargo-fuzz/libFuzzer).
#
#   scripts/fuzz.sh [SECONDS] [TARGET ...]   (default: 30 s each, every target)
#
# Targets (fuzz/fuzz_targets/, logic in fuzz/src/):
#   core_events  arbitrary event sequences and parameter changes on a real
#                Core, Core::check and a model of Xen's view after every step
#   payloads     arbitrary sysctl/domctl payloads through commaware::payload
#                and the C ABI (cw_adjust_global, cw_adjust)
#
# Each target is built and run for SECONDS (-max_total_time), starting from
# its checked-in seeds (fuzz/corpus/<target>/seed-*) plus whatever corpus
# earlier runs left there (git-ignored). Exits non-zero if any target
# crashes; the input is in fuzz/artifacts/<target>/ (reproduce with
# `cargo fuzz run ... <file>`, minimise with `cargo fuzz tmin`, read it with
# `cargo run --example decode -- <file>` in fuzz/). Prints each target's
# executions (libFuzzer's stat::number_of_executed_units) and the total.
#
# Toolchain: only stable is assumed. cargo-fuzz's coverage instrumentation
# is stable rustc flags (-Cpasses=sancov-module, -Cllvm-args=-sanitizer-
# coverage-{level=4,inline-8bit-counters,pc-table,trace-compares}); only
# AddressSanitizer needs a nightly flag (-Zsanitizer=address), which stable
# rustc accepts under RUSTC_BOOTSTRAP=1 (its ASan runtime ships with the
# stable toolchain). The variable is set for both targets so that their
# builds share one cache (it is part of cargo's fingerprint); the fuzz
# crate is its own workspace, no other build sees it. cargo-fuzz is
# installed from crates.io if missing; libFuzzer itself is C++ compiled by
# libfuzzer-sys (needs g++ or clang++), and bindgen (the root crate's build
# script) needs libclang: both are installed with apt if missing (root).
#
# Sanitizers: core_events runs without ASan (-s none): the core is
# #![forbid(unsafe_code)], so ASan finds nothing there, and it costs ~3x in
# executions; what it looks for is panics, arithmetic overflow (built with
# debug assertions, -a) and broken invariants. payloads runs with ASan:
# it goes through src/ffi.rs, the crate's only unsafe code.
#
# Environment: FUZZ_JOBS (parallel libFuzzer jobs per target, default 1),
# FUZZ_ARGS (extra libFuzzer flags).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SECONDS_EACH=${1:-30}
shift || true
TARGETS=${*:-core_events payloads}
case "$SECONDS_EACH" in ''|*[!0-9]*) echo "usage: $0 [SECONDS] [TARGET ...]" >&2; exit 2 ;; esac

export RUSTC_BOOTSTRAP=1
export CARGO_TERM_COLOR=never
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

# ---- what the build needs ------------------------------------------------
need=()
command -v c++ >/dev/null 2>&1 || need+=(g++)
ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 || ls /usr/lib/*/libclang*.so* >/dev/null 2>&1 || need+=(libclang-dev)
if [ ${#need[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || { echo "fuzz.sh: need root to apt-get install ${need[*]}" >&2; exit 1; }
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}"
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

# ---- run -------------------------------------------------------------------
mkdir -p build/logs
cd fuzz
total=0
failed=""
summary=""
for t in $TARGETS; do
    case "$t" in
    core_events) flags=(-O -a -s none); lib=(-max_len=2048 -len_control=10) ;;
    payloads)    flags=(-O -a);         lib=(-max_len=1024 -use_value_profile=1) ;;
    *) echo "fuzz.sh: unknown target $t (core_events, payloads)" >&2; exit 2 ;;
    esac
    log=$ROOT/build/logs/fuzz-$t.log
    echo "=== fuzz $t: ${SECONDS_EACH}s (log: $log)"
    cargo fuzz build "${flags[@]}" "$t"
    mkdir -p "corpus/$t"
    jobs=()
    [ "${FUZZ_JOBS:-1}" = 1 ] || jobs=(-jobs="$FUZZ_JOBS" -workers="$FUZZ_JOBS")
    rc=0
    # shellcheck disable=SC2086
    cargo fuzz run "${flags[@]}" "$t" "corpus/$t" -- \
        -max_total_time="$SECONDS_EACH" -print_final_stats=1 "${jobs[@]}" \
        "${lib[@]}" ${FUZZ_ARGS:-} >"$log" 2>&1 || rc=$?
    if [ ${#jobs[@]} -gt 0 ]; then cat fuzz-*.log >>"$log" 2>/dev/null || true; rm -f fuzz-*.log; fi
    execs=$(grep -h '^stat::number_of_executed_units:' "$log" | awk '{s += $2} END {print s + 0}')
    total=$((total + execs))
    if [ "$rc" != 0 ]; then
        grep -hE -A1 'panicked at' "$log" | head -4 || true
        grep -hE 'ERROR: libFuzzer|^SUMMARY' "$log" | head -2 || true
        grep -h 'Test unit written to' "$log" | head -1 || true
        echo "FAIL: $t crashed after $execs executions (exit $rc; $log)"
        failed="$failed $t"
    else
        echo "PASS: $t, $execs executions in ${SECONDS_EACH}s, no crash"
    fi
    summary="$summary $t=$execs"
done
echo "fuzz executions:$summary total=$total"
[ -z "$failed" ] || { echo "fuzz: crashed:$failed"; exit 1; }
