# commaware under load: Pool-0 runs commaware (boot with sched=commaware).
# Two guests ping each other while a third burns CPU; the scheduler's 'r'
# debug-key dump must list its settings and the guests' counters, and with
# the boost feature on, the pinging guests must have been boosted (the
# notify hook reached the scheduler).

have=$(xen_sched)
if [ "$have" != commaware ]; then
    fail commaware-is-pool0-scheduler "xen_scheduler=$have (boot with sched=commaware)"
    exit 1
fi
pass commaware-is-pool0-scheduler

cw_dump() { # the last 'r' dump, from `xl dmesg`
    xl debug-keys r >/dev/null 2>&1 || return 1
    sleep 1
    xl dmesg | awk '/sched_smt_power_savings/ { buf = "" } { buf = buf $0 "\n" } END { printf "%s", buf }'
}
has_settings() { cw_dump | grep -E 'features *='; }
step dump-has-settings has_settings
cw_dump | grep -E 'tslice|ratelimit|boost|features' | head -n 8

pinged() { # NAME
    wait_guest "$1" 'GUEST-PING-' 200 || { cat "$(guest_log "$1")"; return 1; }
    grep 'GUEST-PING-' "$(guest_log "$1")"
    grep -q 'GUEST-PING-OK' "$(guest_log "$1")"
}

step create-burner guest_start g3 10.0.0.4 '' burn || exit 1
step create-g1 guest_start g1 10.0.0.2 10.0.0.3 ping || exit 1
step create-g2 guest_start g2 10.0.0.3 10.0.0.2 ping || exit 1
step g1-pings-g2-under-load pinged g1
step g2-pings-g1-under-load pinged g2
step dom0-pings-g1-under-load ping -c 5 -W 2 10.0.0.2

dump=$(cw_dump)
echo "$dump" | grep -E '^\(XEN\) +\(?d[0-9]+' | head -n 8
d1=$(xl domid g1)
line=$(echo "$dump" | grep -E "[[:space:]]d$d1: " | tail -n 1)
if [ -z "$line" ]; then
    fail dump-lists-g1 "no line for d$d1 in the 'r' dump"
else
    pass dump-lists-g1
    if echo "$dump" | grep -E 'features *=' | grep -qw boost; then
        boosts=$(echo "$line" | sed -n 's/.* boosts=\([0-9]*\)\/.*/\1/p')
        if [ "${boosts:-0}" -gt 0 ]; then
            pass g1-was-boosted
        else
            fail g1-was-boosted "boosts=${boosts:-?} in: $line"
        fi
    else
        pass g1-was-boosted-skipped-boost-off
    fi
fi

step destroy-guests sh -c 'xl destroy g1 && xl destroy g2 && xl destroy g3'
only_dom0() { [ "$(xl list | tail -n +2 | wc -l)" = 1 ] || { xl list; return 1; }; }
step only-dom0-left wait_until 20 only_dom0
