# cpupool test with Pool-0 under commaware (boot with sched=commaware): the
# reverse of cpupool.sh's usual setup.  pCPU 1 leaves Pool-0 for a credit
# cpupool, a guest is moved into that pool and back (while dom0 pings it),
# the credit pool is destroyed with the guest back in Pool-0, and pCPU 1
# rejoins Pool-0; twice.  A use-after-free here used to panic a debug Xen
# (xmalloc poison check) in cpupool-destroy (control.sh's crp steps).

have=$(xen_sched)
if [ "$have" != commaware ]; then
    fail cpc-pool0-is-commaware "xen_scheduler=$have (boot with sched=commaware)"
    exit 1
fi
pass cpc-pool0-is-commaware

cat >"$CW_DIR/cpc.cfg" <<CFG
name = "cpc"
sched = "credit"
cpus = [ "1" ]
CFG

step cpc-create-g1 guest_start g1 10.0.0.2 || exit 1
step cpc-g1-up wait_guest g1 'GUEST-NET-UP' 150

for round in 1 2; do
    step cpc-$round-release-cpu1 xl cpupool-cpu-remove Pool-0 1 || exit 1
    step cpc-$round-create xl cpupool-create "$CW_DIR/cpc.cfg" || exit 1
    ping -q -c 20 -i 0.2 10.0.0.2 >"$CW_DIR/log/cpc-ping-$round.log" 2>&1 &
    pingpid=$!
    step cpc-$round-migrate-g1-to-credit xl cpupool-migrate g1 cpc
    sleep 1
    step cpc-$round-migrate-g1-to-pool0 xl cpupool-migrate g1 Pool-0
    wait $pingpid
    xl cpupool-list -c
    step cpc-$round-destroy xl cpupool-destroy cpc
    step cpc-$round-cpu1-back xl cpupool-cpu-add Pool-0 1
    step cpc-$round-g1-answers ping -c 2 -W 2 10.0.0.2
done

step cpc-destroy-g1 xl destroy g1
only_dom0() { [ "$(xl list | tail -n +2 | wc -l)" = 1 ] || { xl list; return 1; }; }
step cpc-only-dom0-left wait_until 20 only_dom0
