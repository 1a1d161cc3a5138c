# Boot smoke test (milestone 1): dom0 is up, `xl info` works and names the
# scheduler asked for on Xen's command line, two PV guests (128 MiB, 1 vCPU)
# ping each other through dom0's bridge, then one is shut down and the other
# destroyed.  Sourced by dom0's /init with /lib/commaware-test.sh loaded.

step xl-info xl info || exit 1
xl info | grep -E '^(xen_version|xen_scheduler|xen_commandline|nr_cpus|free_memory)'

want=$(xen_cmdline_opt sched)
have=$(xen_sched)
if [ -z "$want" ] || [ "$want" = "$have" ]; then
    pass "scheduler-is-${want:-default}"
else
    fail "scheduler-is-$want" "xl info says xen_scheduler=$have"
fi

step xl-list xl list
data "smoke xl_info_nr_cpus=$(xl info | sed -n "s/^nr_cpus *: *//p")"

guest_pinged() { # NAME
    wait_guest "$1" 'GUEST-PING-' 150 || { echo "no ping result in $(guest_log "$1")"; cat "$(guest_log "$1")"; return 1; }
    grep 'GUEST-PING-' "$(guest_log "$1")"
    grep -q 'GUEST-PING-OK' "$(guest_log "$1")"
}

step create-g1 guest_start g1 10.0.0.2 10.0.0.3 ping || exit 1
step create-g2 guest_start g2 10.0.0.3 10.0.0.2 ping || exit 1
xl list
step g1-net-up wait_guest g1 GUEST-NET-UP 90
step g2-net-up wait_guest g2 GUEST-NET-UP 90
step g1-pings-g2 guest_pinged g1
step g2-pings-g1 guest_pinged g2
grep -h 'GUEST-PING' "$(guest_log g1)" "$(guest_log g2)"
step dom0-pings-g1 ping -c 2 -W 2 10.0.0.2

step shutdown-g1 timeout 90 xl shutdown -w g1
step destroy-g2 xl destroy g2
only_dom0() { [ "$(xl list | tail -n +2 | wc -l)" = 1 ] || { xl list; return 1; }; }
step only-dom0-left wait_until 20 only_dom0
