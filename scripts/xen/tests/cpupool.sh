# cpupool test: a second cpupool running the other scheduler (commaware when
# Pool-0 runs something else, credit when Pool-0 runs commaware) on pCPU 1.
# Guests in both pools ping each other (inter-domain events across pools:
# sched_notify() must ignore those), a guest is moved between pools while
# its peer keeps sending (sched_move_domain() against the notify hook), and
# everything is torn down again.  Then pCPU 1 goes in and out of a fresh
# credit pool CPUPOOL_CYCLES times: each time a pCPU leaves a credit pool,
# credit's tick may fire between schedule_cpu_rm() detaching it and
# csched_deinit_pdata() killing the timer (a panic before
# xen-patches/0005; probabilistic, so many cycles).  Needs a hypervisor
# with CONFIG_SCHED_COMMAWARE=y.

CPUPOOL_CYCLES=30

step xl-info xl info >/dev/null || exit 1
base=$(xen_sched)
if [ "$base" = commaware ]; then other=credit; else other=commaware; fi
echo "Pool-0: $base; second pool: $other"

cat >"$CW_DIR/pool.cfg" <<CFG
name = "cw"
sched = "$other"
cpus = [ "1" ]
CFG
step pool0-release-cpu1 xl cpupool-cpu-remove Pool-0 1 || exit 1
step pool-create-$other xl cpupool-create "$CW_DIR/pool.cfg" || exit 1
xl cpupool-list
pool_sched_ok() { xl cpupool-list | awk '$1 == "cw" { print $3 }' | grep -qx "$other"; }
step pool-runs-$other pool_sched_ok

pinged() { # NAME
    wait_guest "$1" 'GUEST-PING-' 150 || { cat "$(guest_log "$1")"; return 1; }
    grep 'GUEST-PING-' "$(guest_log "$1")"
    grep -q 'GUEST-PING-OK' "$(guest_log "$1")"
}

# g1 and g3 in the new pool, g2 in Pool-0; g1 <-> g2 cross the pools.
step create-g1-in-cw guest_start g1 10.0.0.2 10.0.0.3 ping 'pool = "cw"' || exit 1
step create-g2-in-pool0 guest_start g2 10.0.0.3 10.0.0.2 ping || exit 1
step create-g3-in-cw guest_start g3 10.0.0.4 10.0.0.2 ping 'pool = "cw"' || exit 1
xl list -c 2>/dev/null || xl list
step g1-pings-g2-across-pools pinged g1
step g2-pings-g1-across-pools pinged g2
step g3-pings-g1-same-pool pinged g3

# Move g2 into the new pool and back while dom0 keeps pinging it.
ping -q -c 40 -i 0.2 10.0.0.3 >"$CW_DIR/log/ping-g2-during-moves.log" 2>&1 &
pingpid=$!
step migrate-g2-to-cw xl cpupool-migrate g2 cw
step migrate-g2-to-pool0 xl cpupool-migrate g2 Pool-0
step migrate-g2-to-cw-again xl cpupool-migrate g2 cw
wait $pingpid
tail -n 2 "$CW_DIR/log/ping-g2-during-moves.log"
step g2-answers-after-moves ping -c 2 -W 2 10.0.0.3

step destroy-guests sh -c 'xl destroy g1 && xl destroy g2 && xl destroy g3'
step pool-destroy xl cpupool-destroy cw
step pool0-regains-cpu1 xl cpupool-cpu-add Pool-0 1
only_dom0() { [ "$(xl list | tail -n +2 | wc -l)" = 1 ] || { xl list; return 1; }; }
step only-dom0-left wait_until 20 only_dom0

cat >"$CW_DIR/pool-credit.cfg" <<CFG
name = "cyc"
sched = "credit"
cpus = [ "1" ]
CFG
pool_cycles() {
    n=0
    while [ "$n" -lt "$CPUPOOL_CYCLES" ]; do
        xl cpupool-cpu-remove Pool-0 1 && xl cpupool-create "$CW_DIR/pool-credit.cfg" &&
            xl cpupool-destroy cyc && xl cpupool-cpu-add Pool-0 1 || { echo "cycle $n failed"; return 1; }
        n=$((n + 1))
    done
    echo "$n cycles"
}
step "pcpu-in-and-out-of-a-credit-pool-x$CPUPOOL_CYCLES" pool_cycles
step xen-alive-after-pool-cycles xl info
