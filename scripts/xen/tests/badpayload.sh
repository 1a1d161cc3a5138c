# badpayload test (issue 6, "bad hypercall input"): commaware-badpayload
# (ctl/src/raw.rs; build/dom0-extra/usr/sbin/commaware-badpayload) sends
# XEN_SYSCTL_scheduler_op and XEN_DOMCTL_scheduler_op requests from dom0
# with every field at its boundaries and beyond, reserved bytes set,
# unknown commands and flags, wrong scheduler ids, unknown and reserved
# domids and bogus cpupool ids, and checks each answer against the
# documented ranges: refused with the documented errno and nothing changed,
# or (the valid boundaries) accepted, read back exactly, and undone.
#
# Two idle guests give the domctl real targets: one in a commaware pool
# and one in Pool-0. When Pool-0 runs another scheduler, a commaware pool
# "bp" on pCPU 1 is created, so the Pool-0 guest is a domain under another
# scheduler (commaware's payload must be refused for it). The parameters
# are also compared before/after through xl (libxl's path). Run
# dmesg-clean.sh after it: Xen's log must stay clean.
#
# DATA: badpayload sched=S tried=N rejected=N accepted=N unexpected=N ERRNO=N...

S=$(xen_sched)
if ! command -v commaware-badpayload >/dev/null 2>&1; then
    fail badpayload-tool-present "no commaware-badpayload in dom0: cargo build --release -p commaware-ctl, then install target/release/commaware-badpayload as build/dom0-extra/usr/sbin/commaware-badpayload"
    exit 1
fi
pass badpayload-tool-present

BP_POOL=""
if [ "$S" != commaware ]; then
    cat >"$CW_DIR/bp-pool.cfg" <<CFG
name = "bp"
sched = "commaware"
cpus = [ "1" ]
CFG
    step badpayload-pool0-release-cpu1 xl cpupool-cpu-remove Pool-0 1 || exit 1
    step badpayload-pool-create xl cpupool-create "$CW_DIR/bp-pool.cfg" || exit 1
    BP_POOL='pool = "bp"'
fi
step badpayload-guest-cw guest_start bp1 10.0.0.41 "" idle "$BP_POOL" || exit 1
step badpayload-guest-pool0 guest_start bp2 10.0.0.42 "" idle "cpu_weight = 700
cap = 60" || exit 1
xl list
xl cpupool-list

# Every parameter through libxl: pool-wide lines of every commaware pool,
# and each commaware domain's Name ID Weight Cap Boost Donation Driver.
xl_params() { xl sched-commaware | awk '/^Cpupool/ { print; next } { print $1, $2, $3, $4, $5, $6, $7 }'; }
XL_BEFORE=$(xl_params)
echo "$XL_BEFORE"

BP_LOG=$CW_DIR/log/badpayload-output.log
bp_t0=$(now)
commaware-badpayload -v >"$BP_LOG" 2>&1
bp_rc=$?
bp_dt=$(awk -v a="$bp_t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
head -n 1 "$BP_LOG"
grep '^UNEXPECTED' "$BP_LOG" | head -n 40
summary=$(grep '^badpayload: ' "$BP_LOG" | tail -n 1)
echo "$summary (exit $bp_rc, ${bp_dt}s)"
if [ -n "$summary" ]; then
    data "badpayload sched=$S ${summary#badpayload: } seconds=$bp_dt"
fi
if [ "$bp_rc" = 0 ] && [ -n "$summary" ]; then
    pass badpayload-all-as-documented
else
    tail -n 5 "$BP_LOG" | sed 's/^/  | /'
    fail badpayload-all-as-documented "exit $bp_rc: ${summary:-no summary line}"
fi
tried=$(echo "$summary" | sed -n 's/.* tried=\([0-9]*\).*/\1/p')
step badpayload-tried-enough test "${tried:-0}" -ge 200

same_params() {
    _now=$(xl_params)
    [ "$_now" = "$XL_BEFORE" ] && return 0
    echo "now:"; echo "$_now"; echo "before:"; echo "$XL_BEFORE"
    return 1
}
step badpayload-xl-params-unchanged same_params
step badpayload-xen-alive xl info
step badpayload-guests-alive sh -c 'xl list bp1 && xl list bp2'
step badpayload-destroy-guests sh -c 'xl destroy bp1 && xl destroy bp2'
if [ -n "$BP_POOL" ]; then
    step badpayload-pool-destroy xl cpupool-destroy bp
    step badpayload-pool0-regains-cpu1 xl cpupool-cpu-add Pool-0 1
fi
only_dom0() { [ "$(xl list | tail -n +2 | wc -l)" = 1 ] || { xl list; return 1; }; }
step badpayload-only-dom0-left wait_until 20 only_dom0
