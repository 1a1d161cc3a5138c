# demo-pair: the jboss/db benchmark, shortest honest version (make demo).
#
# A request/response pair of PV guests — "app" (cw-workload client) and
# "db" (cw-workload server) — over each transport in DEMO_PAIRS: "tcp"
# (through dom0's bridge and netback) and "vchan" (libxenvchan: a ring
# granted by db, mapped by app, and an interdomain event channel; dom0 is
# not on the path); "vchan-busy" is the vchan pair with a db that also
# does background work (cw-workload server --background: a SCHED_IDLE
# thread burning CPU, so the db's vCPU never blocks and a request preempts
# the background work inside the guest). Credit1 BOOSTs only a vCPU that
# wakes from blocking: the busy db never does, and each request waits for
# the db's next turn; commaware's boost acts on the notification itself,
# within the db's fair-share budget (docs/bench.md, "The busy db").
# Each pair runs first alone (the reference), then with
# CPU-hog guests (cw-workload hog) competing for the same 2 pCPUs.  Every guest runs the guest role
# "workload" (scripts/xen/guest-init), its arguments on its kernel command
# line (cw.wl=...).  Results leave as DATA lines (boot.sh collects them
# into build/logs/data-last.txt); scripts/bench.sh boots this once per
# scheduler and repeat, and scripts/bench-report.py compares.
#
# Settings (defaults below) come from /tests/demo-env.sh when present
# (scripts/bench.sh writes it and passes it as a further "test"):
#   DEMO_IPU           cw-workload --iters-per-us; empty: the calibration
#                      measured first in an otherwise idle guest (always run
#                      and reported, so every boot has the same timeline)
#   DEMO_DURATION      measured seconds of the loaded run (after warm-up)
#   DEMO_REF_DURATION  measured seconds of the no-hog reference (0: skip)
#   DEMO_WARMUP        client warm-up seconds (not measured)
#   DEMO_HOGS          number of hog guests
#   DEMO_APP_WORK_US   app CPU per response;  DEMO_DB_WORK_US: db per request
#   DEMO_PAIRS         pairs to run, in order ("tcp vchan"; also "vchan-busy")
#   DEMO_XL_OPTS       options for `xl sched-commaware -s` applied first under
#                      commaware (experiments, e.g. "--attribution=off")
#
# DATA lines (one record per line, "demo" first):
#   demo sched=S calibrate JSON
#   demo sched=S run=R client JSON | server JSON    (R = PAIR-ref | PAIR-loaded)
#   demo sched=S run=R hog NAME JSON   (rate over the client's measured window)
#   demo sched=S run=R xl-sched LINE   (`xl sched-commaware`, or sched-credit)
#   demo sched=S run=R dump LINE       ('r' debug-key dump, if no sched-commaware)
#   demo sched=S run=R window JSON     (dom0's view of the measured window)
#   demo sched=S run=R cpu JSON        (each domain's CPU seconds from `xl list`
#                                       at the window's start and end, and pCPUs)

DEMO_IPU=""
DEMO_DURATION=25
DEMO_REF_DURATION=15
DEMO_WARMUP=5
DEMO_HOGS=2
DEMO_APP_WORK_US=100
DEMO_DB_WORK_US=200
DEMO_PAIRS="tcp vchan"
DEMO_XL_OPTS=""
[ -f /tests/demo-env.sh ] && . /tests/demo-env.sh

S=$(xen_sched)
pass "demo-scheduler-$S"
D() { data "demo sched=$S $*"; sleep 0.2; } # paced: the serial line is shared
if [ -n "$DEMO_XL_OPTS" ] && [ "$S" = commaware ]; then
    # shellcheck disable=SC2086 # word splitting wanted
    step "demo-xl-opts" xl sched-commaware -s $DEMO_XL_OPTS
    D "xl-opts $DEMO_XL_OPTS"
fi

# json_line NAME MODE TAG: the guest's JSON report (last one), CRs removed.
json_line() {
    tr -d '\r' <"$(guest_log "$1")" | grep -F "\"mode\":\"$2\"" | grep -F "\"tag\":\"$3\"" |
        grep -vF '"event":' | grep '^{.*}$' | tail -n 1
}
has_json() { [ -n "$(json_line "$@")" ]; }
# hog_intervals NAME: the number of interval records in its console log.
hog_intervals() { tr -d '\r' <"$(guest_log "$1")" | grep -cF '"event":"interval"'; }
# hog_window NAME FROM TO: mean/min/max iters_per_s of interval records FROM+1..TO.
hog_window() {
    tr -d '\r' <"$(guest_log "$1")" | grep -F '"event":"interval"' |
        sed -n 's/.*"iters_per_s":\([0-9.eE+-]*\).*"cpu_share_est":\([0-9.eE+-]*\).*/\1 \2/p' |
        awk -v a="$2" -v b="$3" -v n="$1" '
            NR > a && NR <= b { k++; s += $1; c += $2; if (k == 1 || $1 < mn) mn = $1; if ($1 > mx) mx = $1 }
            END { printf "{\"hog\":\"%s\",\"intervals\":%d,\"iters_per_s\":%.1f,\"min\":%.1f,\"max\":%.1f,\"cpu_share_est\":%.4f}\n",
                      n, k, (k ? s / k : 0), mn, mx, (k ? c / k : 0) }'
}

destroy_all() {
    for dp_d in $(xl list | awk 'NR > 2 { print $1 }'); do xl destroy "$dp_d"; done
    wait_until 30 sh -c '[ "$(xl list | tail -n +2 | wc -l)" = 1 ]'
}

counters() { # RUN
    if xl help 2>&1 | grep -q 'sched-commaware' && [ "$S" = commaware ]; then
        xl sched-commaware 2>/dev/null | while IFS= read -r l; do D "run=$1 xl-sched $l"; done
    elif [ "$S" = commaware ]; then
        xl debug-keys r >/dev/null 2>&1
        sleep 1
        xl dmesg | awk '/sched_smt_power_savings/ { buf = "" } { buf = buf $0 "\n" } END { printf "%s", buf }' |
            while IFS= read -r l; do D "run=$1 dump $l"; done
    else
        xl sched-credit 2>/dev/null | while IFS= read -r l; do D "run=$1 xl-sched $l"; done
    fi
}

IPU_ARG=""
# --- calibration (identical work in every boot) --------------------------------
# Measured in every boot, so that both boots follow the same timeline and the
# report can compare the emulated CPU's speed between boots; used only when
# DEMO_IPU is not given (the first boot's value is given to the second).
step demo-calibrate-guest workload_guest cal 10.0.0.30 calibrate --tag demo-cal || exit 1
if step demo-calibrated wait_until 120 has_json cal calibrate demo-cal; then
    j=$(json_line cal calibrate demo-cal)
    D "calibrate $j"
    [ -n "$DEMO_IPU" ] || DEMO_IPU=$(echo "$j" | sed -n 's/.*"iters_per_us":\([0-9.]*\).*/\1/p')
fi
xl destroy cal
if [ -n "$DEMO_IPU" ]; then
    IPU_ARG="--iters-per-us $DEMO_IPU"
    pass "demo-iters-per-us-$DEMO_IPU"
else
    fail demo-iters-per-us "no calibration: each process calibrates itself"
fi

# cpu_json: every domain's CPU seconds so far (`xl list`'s Time(s), from
# Xen's per-vCPU runstate accounting: the same under both schedulers).
cpu_json() {
    xl list | awk -v t="$(now)" 'NR > 1 { printf "%s\"%s\":%s", (n++ ? "," : ""), $1, $NF }
        BEGIN { printf "{\"t\":%s,\"cpu\":{", t } END { printf "}}" }'
}

# vchan_link DB APP: each side learns the other's domid (the guests wait
# for data/cw-peer in their own xenstore area; cw-workload --transport vchan).
vchan_link() {
    dp_d=$(xl domid "$1") && dp_a=$(xl domid "$2") || return 1
    xenstore-write "/local/domain/$dp_d/data/cw-peer" "$dp_a" &&
        xenstore-write "/local/domain/$dp_a/data/cw-peer" "$dp_d"
}

# pair_connected PAIR RUN: the client is talking to the server.  TCP: the
# server logged the connection.  vchan: the server offered the channel and
# the client started (libxenvchan's client connects at once to an offered
# channel; the server logs no connection line).
pair_connected() {
    case "$1" in
    tcp) grep -q 'connection 1 from' "$(guest_log "db-$2")" ;;
    *) grep -q 'vchan offered' "$(guest_log "db-$2")" && grep -q 'GUEST-WORKLOAD-START' "$(guest_log "app-$2")" ;;
    esac
}

# run_pair PAIR LOAD DURATION HOGS: one measured run of transport PAIR
# (tcp|vchan), LOAD = ref|loaded (guests created and destroyed).
run_pair() {
    dp_pair=$1 dp_run=$1-$2 dp_dur=$3 dp_hogs=$4
    dp_base=0
    [ "$dp_hogs" -gt 0 ] && dp_base=10
    dp_db_ip=10.0.0.$((dp_base + 2))
    dp_app_ip=10.0.0.$((dp_base + 3))
    case "$dp_pair" in
    tcp)
        dp_srv="--listen 0.0.0.0:7000"
        dp_cli="--connect $dp_db_ip:7000"
        ;;
    vchan)
        dp_srv="--transport vchan"
        dp_cli="--transport vchan"
        ;;
    vchan-busy)
        dp_srv="--transport vchan --background"
        dp_cli="--transport vchan"
        ;;
    *) fail "demo-$dp_run" "unknown pair '$dp_pair' (tcp|vchan|vchan-busy)"; return 1 ;;
    esac
    dp_t0=$(now)
    i=1
    while [ "$i" -le "$dp_hogs" ]; do
        step "demo-$dp_run-hog$i-create" workload_guest "hog$i-$dp_run" "10.0.0.$((20 + i))" \
            hog --duration 3600 --report-every 1 --tag "demo-hog$i-$dp_run" $IPU_ARG || return 1
        i=$((i + 1))
    done
    step "demo-$dp_run-db-create" workload_guest "db-$dp_run" "$dp_db_ip" \
        server $dp_srv --work-us "$DEMO_DB_WORK_US" --clients 1 --duration 900 \
        --tag "demo-db-$dp_run" $IPU_ARG || return 1
    step "demo-$dp_run-app-create" workload_guest "app-$dp_run" "$dp_app_ip" \
        client $dp_cli --work-us "$DEMO_APP_WORK_US" --duration "$dp_dur" \
        --warmup "$DEMO_WARMUP" --connect-timeout 240 --json /tmp/app.json \
        --tag "demo-app-$dp_run" $IPU_ARG || return 1
    if [ "$dp_pair" != tcp ]; then
        step "demo-$dp_run-vchan-link" vchan_link "db-$dp_run" "app-$dp_run" || return 1
    fi
    # Hogs, db and app boot together (the client retries its connect).
    # The window: the client's connection (the server logs it) + warm-up,
    # until its report appears (dom0 polls every 0.5 s).
    step "demo-$dp_run-connected" wait_until 300 pair_connected "$dp_pair" "$dp_run" || {
        tail -n 20 "$(guest_log "db-$dp_run")"
        tail -n 20 "$(guest_log "app-$dp_run")"
        return 1
    }
    dp_tc=$(now)
    sleep "$DEMO_WARMUP"
    dp_ts=$(now)
    dp_cpu0=$(cpu_json)
    dp_n1=""
    i=1
    while [ "$i" -le "$dp_hogs" ]; do dp_n1="$dp_n1 $(hog_intervals "hog$i-$dp_run")"; i=$((i + 1)); done
    # Every hog must already be burning when the measured window opens.
    i=1
    while [ "$i" -le "$dp_hogs" ]; do
        if [ "$(echo $dp_n1 | cut -d' ' -f$i)" -gt 0 ]; then
            pass "demo-$dp_run-hog$i-burning-at-window-start"
        else
            fail "demo-$dp_run-hog$i-burning-at-window-start" "no interval record from hog$i yet"
        fi
        i=$((i + 1))
    done
    # Quiet in dom0 during the window (its CPU is part of what is measured);
    # the CPU snapshot closes a second before the client's window does, so
    # that it covers only time when the pair was exchanging.
    sleep $((dp_dur > 1 ? dp_dur - 1 : 0))
    dp_cpu1=$(cpu_json)
    step "demo-$dp_run-client-report" wait_until $((dp_dur + 120)) has_json "app-$dp_run" client "demo-app-$dp_run" || {
        tail -n 20 "$(guest_log "app-$dp_run")"
        return 1
    }
    dp_te=$(now)
    dp_n2=""
    i=1
    while [ "$i" -le "$dp_hogs" ]; do dp_n2="$dp_n2 $(hog_intervals "hog$i-$dp_run")"; i=$((i + 1)); done
    counters "$dp_run"
    D "run=$dp_run window {\"pair\":\"$dp_pair\",\"hogs\":$dp_hogs,\"duration_s\":$dp_dur,\"warmup_s\":$DEMO_WARMUP,\"iters_per_us\":\"${DEMO_IPU}\",\"app_work_us\":$DEMO_APP_WORK_US,\"db_work_us\":$DEMO_DB_WORK_US,\"t_start\":$dp_t0,\"t_connected\":$dp_tc,\"t_window_start\":$dp_ts,\"t_window_end\":$dp_te}"
    D "run=$dp_run cpu {\"pcpus\":$(xl info | awk -F': ' '/^nr_cpus/ { print $2 + 0 }'),\"start\":$dp_cpu0,\"end\":$dp_cpu1}"
    D "run=$dp_run client $(json_line "app-$dp_run" client "demo-app-$dp_run")"
    wait_until 30 has_json "db-$dp_run" server "demo-db-$dp_run" &&
        D "run=$dp_run server $(json_line "db-$dp_run" server "demo-db-$dp_run")"
    i=1
    while [ "$i" -le "$dp_hogs" ]; do
        dp_a=$(echo $dp_n1 | cut -d' ' -f$i)
        dp_b=$(echo $dp_n2 | cut -d' ' -f$i)
        D "run=$dp_run hog hog$i $(hog_window "hog$i-$dp_run" "$dp_a" "$dp_b")"
        i=$((i + 1))
    done
    grep -h GUEST-WORKLOAD-FAIL /var/log/xen/console/guest-*-"$dp_run".log 2>/dev/null
    destroy_all
    pass "demo-$dp_run-done"
}

for dp_p in $DEMO_PAIRS; do
    if [ "$DEMO_REF_DURATION" -gt 0 ]; then
        run_pair "$dp_p" ref "$DEMO_REF_DURATION" 0 || fail "demo-$dp_p-ref" "the reference run did not complete"
        destroy_all
    fi
    run_pair "$dp_p" loaded "$DEMO_DURATION" "$DEMO_HOGS" || fail "demo-$dp_p-loaded" "the loaded run did not complete"
    destroy_all
done
step demo-only-dom0-left sh -c '[ "$(xl list | tail -n +2 | wc -l)" = 1 ]'
