# vchan: direct guest<->guest channels of cw-workload, no dom0 on the data
# path (the XenLoop/XenSocket path; issue 6's hostile-guest event channels).
#
#   1. a request/response pair over libxenvchan (server --transport vchan,
#      client --transport vchan) for ~10 s: both report requests > 0 and no
#      errors;
#   2. evstorm guest -> evsink guest: raw interdomain notifies as fast as
#      possible, the sink counts > 0 events; then evstorm guest -> evsink in
#      dom0 (cw-workload from build/dom0-extra);
#   3. evring: a ring of 3 guests passing one token (donation abuse), every
#      member completes round trips.
#
# Peers find each other through xenstore: after creating a pair, dom0
# writes each guest's peer domid at /local/domain/<id>/data/cw-peer (ring:
# cw-peer = next member, cw-prev = previous). Every guest runs the guest
# role "workload" (cw.wl=...); cw-workload must have been built with Xen
# support (scripts/build-workload.sh after make xen).
#
# DATA lines (one record per line, "vchan" first):
#   vchan sched=S client JSON | server JSON
#   vchan sched=S evstorm JSON | evsink JSON | evstorm-dom0 JSON | evsink-dom0 JSON
#   vchan sched=S evring NAME JSON

S=$(xen_sched)
VD() { data "vchan sched=$S $*"; sleep 0.2; } # paced: the serial line is shared

# set_key DOMID KEY VALUE: dom0 writes the guest's data/KEY.
set_key() { xenstore-write "/local/domain/$1/data/$2" "$3"; }

# json_line NAME MODE: the guest's last JSON report of MODE, CRs removed.
json_line() {
    tr -d '\r' <"$(guest_log "$1")" | grep -F "\"mode\":\"$2\"" | grep '^{.*}$' | tail -n 1
}
has_json() { [ -n "$(json_line "$@")" ]; }
# ended NAME MODE: the guest's cw-workload has reported, or has failed (then
# there is no report to wait for).
ended() { has_json "$@" || grep -q GUEST-WORKLOAD-FAIL "$(guest_log "$1")"; }
# report NAME MODE SECS: wait until it ended; succeed when it reported.
report() { wait_until "$3" ended "$1" "$2" && has_json "$1" "$2"; }
# jnum JSON KEY: a top-level number (the last KEY in the line).
jnum() { echo "$1" | sed -n "s/.*\"$2\":\([0-9.eE+-]*\).*/\1/p"; }
# jpos JSON KEY: KEY is a number > 0.
jpos() {
    jp_v=$(jnum "$1" "$2")
    echo "$2=$jp_v"
    [ -n "$jp_v" ] && awk -v v="$jp_v" 'BEGIN { exit !(v > 0) }'
}
# jhas JSON TEXT: the line contains TEXT.
jhas() { echo "$1" | grep -qF "$2" || { echo "no $2 in: $1"; return 1; }; }
# show NAME: the last lines of a guest's console (after a failed wait).
show() { tail -n 15 "$(guest_log "$1")" | sed "s/^/  $1| /"; }

vc_destroy_all() {
    for vc_d in $(xl list | awk 'NR > 2 { print $1 }'); do xl destroy "$vc_d"; done
    wait_until 30 sh -c '[ "$(xl list | tail -n +2 | wc -l)" = 1 ]'
}

# --- 1. request/response over vchan ----------------------------------------------
vchan_pair() {
    step vchan-server-create workload_guest vsrv 10.0.0.41 server --transport vchan \
        --work-us 200 --duration 240 --tag vchan-srv || return 1
    step vchan-client-create workload_guest vcli 10.0.0.42 client --transport vchan \
        --work-us 100 --duration 10 --warmup 2 --connect-timeout 180 --tag vchan-cli || return 1
    vs=$(xl domid vsrv) vc=$(xl domid vcli)
    step vchan-peers-written sh -c "xenstore-write /local/domain/$vs/data/cw-peer $vc &&
        xenstore-write /local/domain/$vc/data/cw-peer $vs" || return 1
    if ! step vchan-client-report report vcli client 240; then
        show vsrv
        show vcli
        return 1
    fi
    cj=$(json_line vcli client)
    VD "client $cj"
    step vchan-client-transport jhas "$cj" '"transport":"vchan"'
    step vchan-client-requests jpos "$cj" requests
    step vchan-client-p99 jpos "$cj" p99_us
    if step vchan-server-report report vsrv server 60; then
        sj=$(json_line vsrv server)
        VD "server $sj"
        step vchan-server-requests jpos "$sj" requests
        step vchan-server-no-errors jhas "$sj" '"errors":[]'
        step vchan-server-client-left jhas "$sj" '"stopped_by":"clients"'
    else
        show vsrv
    fi
}

# --- 2. event-channel storm -------------------------------------------------------
ev_storm() {
    step evsink-create workload_guest esink 10.0.0.43 evsink --duration 180 --idle-timeout 3 \
        --tag ev-sink || return 1
    step evstorm-create workload_guest estorm 10.0.0.44 evstorm --duration 5 --tag ev-storm || return 1
    ks=$(xl domid esink) kt=$(xl domid estorm)
    step evstorm-peers-written sh -c "xenstore-write /local/domain/$ks/data/cw-peer $kt &&
        xenstore-write /local/domain/$kt/data/cw-peer $ks" || return 1
    if ! step evstorm-report report estorm evstorm 180; then
        show esink
        show estorm
        return 1
    fi
    tj=$(json_line estorm evstorm)
    VD "evstorm $tj"
    step evstorm-notifies jpos "$tj" notifies
    if step evsink-report report esink evsink 60; then
        kj=$(json_line esink evsink)
        VD "evsink $kj"
        step evsink-events jpos "$kj" events
    else
        show esink
    fi
}

# evstorm guest -> evsink in dom0 (peer 0).
ev_storm_dom0() {
    [ -x /usr/sbin/cw-workload ] || {
        fail evsink-dom0 "no /usr/sbin/cw-workload in dom0 (scripts/build-workload.sh installs it in build/dom0-extra)"
        return 1
    }
    step evstorm0-create workload_guest estorm0 10.0.0.45 evstorm --duration 3 --tag ev-storm0 || return 1
    k0=$(xl domid estorm0)
    set_key "$k0" cw-peer 0
    cw-workload evsink --peer "$k0" --duration 180 --idle-timeout 3 --quiet \
        --json "$CW_DIR/evsink0.json" >/dev/null 2>"$CW_DIR/evsink0.err" &
    vc_sink=$!
    if ! step evstorm0-report report estorm0 evstorm 180; then
        kill "$vc_sink" 2>/dev/null
        show estorm0
        return 1
    fi
    VD "evstorm-dom0 $(json_line estorm0 evstorm)"
    step evsink-dom0-exit wait "$vc_sink"
    k0j=$(cat "$CW_DIR/evsink0.json" 2>/dev/null)
    [ -n "$k0j" ] || sed 's/^/  evsink0| /' "$CW_DIR/evsink0.err"
    VD "evsink-dom0 $k0j"
    step evsink-dom0-events jpos "$k0j" events
}

# --- 3. evring: a ring of 3 -------------------------------------------------------
ev_ring() {
    step evring-r1-create workload_guest r1 10.0.0.46 evring --lead --duration 5 --tag ring-r1 || return 1
    step evring-r2-create workload_guest r2 10.0.0.47 evring --duration 5 --tag ring-r2 || return 1
    step evring-r3-create workload_guest r3 10.0.0.48 evring --duration 5 --tag ring-r3 || return 1
    d1=$(xl domid r1) d2=$(xl domid r2) d3=$(xl domid r3)
    step evring-peers-written sh -c "
        xenstore-write /local/domain/$d1/data/cw-peer $d2 /local/domain/$d1/data/cw-prev $d3 &&
        xenstore-write /local/domain/$d2/data/cw-peer $d3 /local/domain/$d2/data/cw-prev $d1 &&
        xenstore-write /local/domain/$d3/data/cw-peer $d1 /local/domain/$d3/data/cw-prev $d2" ||
        return 1
    for r in r1 r2 r3; do
        if step "evring-$r-report" report "$r" evring 180; then
            rj=$(json_line "$r" evring)
            VD "evring $r $rj"
            step "evring-$r-round-trips" jpos "$rj" round_trips
        else
            show "$r"
        fi
    done
}

vchan_pair || fail vchan-pair "the vchan pair did not complete"
vc_destroy_all
ev_storm || fail evstorm "the event storm did not complete"
vc_destroy_all
ev_storm_dom0 || fail evstorm-dom0 "the storm into dom0 did not complete"
vc_destroy_all
ev_ring || fail evring "the ring did not complete"
vc_destroy_all
step vchan-only-dom0-left sh -c '[ "$(xl list | tail -n +2 | wc -l)" = 1 ]'
