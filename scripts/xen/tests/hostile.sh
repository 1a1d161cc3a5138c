# hostile: hostile guests against the scheduler (issue 6), one boot per
# scheduler (BOOT_SCHED=commaware and BOOT_SCHED=credit run the same steps;
# the figures are measured and reported under both, not asserted: they are
# timings under QEMU TCG; what is asserted is that everything ran).
#
#   1. Notify storm. A vchan request/response pair (cw-workload client/
#      server, as in demo-pair.sh, the client pacing itself with a think time
#      of HS_THINK_US) next to 2 CPU hogs, measured three times:
#      alone with the hogs ("base"); with an attacker guest running evstorm
#      at an evsink guest ("storm-guest"); with the attacker storming an
#      evsink in dom0 ("storm-dom0": dom0 is the driver domain, whose work
#      for a guest commaware charges to that guest). The attacker wants a
#      whole vCPU (it notifies in a loop), like the hogs.
#      Reported (verdict lines): the attacker's CPU share over the window is
#      within 3 points of its max-min entitlement, read two ways under
#      commaware (see shares(): the CPU its own vCPUs ran, and what it was
#      charged, which adds dom0's work for it); the pair's p99 with the
#      attacker is at most 2x the p99 without (the issue's target).
#      Why the pair thinks: a closed loop with no think time is CPU-bound
#      at its fair share under TCG (each request costs ~1.4 ms of emulated
#      kernel per side), so two more CPU-hungry domains (attacker and sink)
#      lower its share and its p99 grows with or without a storm (measured
#      closed: x4.9-x5.2 under commaware, x6.6-x6.8 under credit). Paced, the pair stays under its share, and
#      its p99 measures what a storm could take from it: how soon a woken
#      receiver runs.
#   2. Donation abuse. evring rings (a ring of 2 and a ring of 3: each member
#      notifies the next and blocks at once, the pattern donation rewards)
#      next to the same 2 hogs. Reported: no ring member or
#      hog gets more than 3 points over its entitlement, and every hog's
#      longest not-running gap stays within credit1's own bound (below).
#
# Shares are in % of the pool (2 pCPUs = 100%, as scripts/bench-report.py
# reads them), from `xl list`'s CPU seconds at the window's start and end
# (Xen's runstate accounting, the same under both schedulers). Entitlement:
# max-min fair share with equal weights (every domain has weight 256): a
# hog or the attacker wants its whole vCPU (50% of the pool); every other
# domain (dom0, the pair, the sink, ring members: they block on their own)
# wants what it used, so it is entitled to that unless it used more than the
# water level, and then to the level. Capacity: the whole pool.
#
# Starvation: each hog reads the clock every ~50 µs of work and records the
# time it did not run (cw-workload hog: gap_max_ms, gaps_over_30ms,
# gaps_over_100ms in every 1 s interval record). The bound is what credit1
# itself guarantees: with N vCPUs runnable on a pCPU, a vCPU may wait (N-1)
# time slices. credit1 does not keep the runnable vCPUs balanced across the
# pCPUs (measured under credit: hog gaps of 112-116 ms with only the pair
# beside the hogs, 145-157 ms in the ring run, where balanced placement
# would give 60 ms), so N cannot assume balance: it is every guest vCPU that
# competes in the ring run (2 hogs + 5 ring members; dom0 is near idle),
# N = 7, bound 6 slices (180 ms with the default 30 ms slice, read from
# `xl sched-<S> -s`). The worst gap of each run is reported under both
# schedulers, so commaware's can be read against credit1's measured one too.
#
# DATA lines (one record per line, "hostile" first; SH = share, % of pool):
#   hostile sched=S config {...}
#   hostile sched=S run=R cpu NAME used=SH entitled=SH greedy=0|1 charged=SH entitled_charged=SH
#   hostile sched=S run=R client JSON | server JSON | evstorm JSON | evsink JSON
#   hostile sched=S run=R hog NAME {"gap_max_ms":..,"gaps_over_30ms":..,..}
#   hostile sched=S run=R attacker {"used":..,"entitled":..,"charged":..,"entitled_charged":..,"boosts":..,"refused":..}
#   hostile sched=S run=R p99-ratio {"p99_base_us":..,"p99_us":..,"ratio":..}
#   hostile sched=S run=ring evring NAME JSON
#   hostile sched=S run=ring gaps {"worst_ms":..,"bound_ms":..,"tslice_ms":..}
#   hostile sched=S run=ring-create hog NAME {...} (as a run's hog record,
#                          over the ring guests' creation and boot)
#   hostile sched=S run=life hog NAME {...} (over the hog's whole life)
#   hostile sched=commaware run=ring xen-wait-max {"hog1_hog2_before_create_ms":"A B","hog1_hog2_before_ms":"A B"}
#                          (the hogs' MaxWait(ms) from xl sched-commaware,
#                          since their creation: before the ring guests are
#                          created, and before the ring window)
#   hostile sched=commaware run=R window-wait-max {"NAME":MS,...}
#                          (every domain's MaxWait(ms) over the window:
#                          reset just before it with commaware-ctl
#                          --reset-wait-max, read just after it)
#   hostile sched=S run=R timeline T:A:D:K ... (storm runs, before the window:
#                          CPU seconds of attacker, dom0, sink each second)
#   hostile sched=S run=R xl-sched LINE     (xl sched-commaware / sched-credit)

HS_W=60        # measured seconds of each window (the client's measured phase)
HS_WARMUP=3    # client warm-up seconds
HS_TOL=3       # points (% of the pool) a domain may be off its entitlement
HS_P99_MAX=2   # p99 with the attacker / without
HS_THINK_US=20000 # the pair's client sleeps this long after each reply (see the top)

S=$(xen_sched)
HD() { data "hostile sched=$S $*"; sleep 0.2; } # paced: the serial line is shared
NPCPU=$(xl info | awk -F': ' '/^nr_cpus/ { print $2 + 0 }')
TSLICE=$(xl "sched-$S" -s 2>/dev/null | sed -n 's/.*tslice=\([0-9]*\)ms.*/\1/p' | head -n 1)
TSLICE=${TSLICE:-30}
RING_VCPUS=7 # hogs 2 + ring of 2 + ring of 3 (see the top)
GAP_BOUND=$(((RING_VCPUS - 1) * TSLICE))
# The figures (shares against entitlement, the p99 ratio, the longest
# not-running gap) are timings under QEMU TCG: measured and reported under
# both schedulers, never asserted (a benchmark reports; a test asserts
# behaviour).  Each verdict leaves as a DATA line for the README's table.
# What this test asserts is behaviour: every guest ran its workload to the
# end, the storm reached its sink through the window, the rings turned,
# and nothing was left running.
judge() { # STEP CMD...: the figure's verdict, reported
    jd_s=$1
    shift
    if "$@" >"$CW_DIR/log/$jd_s.log" 2>&1; then jd_r=holds; else jd_r=violated; fi
    echo "INFO: $jd_s ($S, reported, not asserted): $jd_r: $(tail -n 1 "$CW_DIR/log/$jd_s.log")"
    HD "verdict $jd_s $jd_r $(tail -n 1 "$CW_DIR/log/$jd_s.log" | tr -s ' ')"
}

# json_line NAME MODE: the guest's last JSON report of MODE (not a progress
# record), CRs removed.
json_line() {
    tr -d '\r' <"$(guest_log "$1")" | grep -F "\"mode\":\"$2\"" | grep -vF '"event":' |
        grep '^{.*}$' | tail -n 1
}
has_json() { [ -n "$(json_line "$@")" ]; }
jnum() { echo "$1" | sed -n "s/.*\"$2\":\([0-9.eE+-]*\).*/\1/p"; }
show() { tail -n 15 "$(guest_log "$1")" | tr -d '\r' | sed "s/^/  $1| /"; }
started() { grep -q GUEST-WORKLOAD-START "$(guest_log "$1")"; }
# link A B: dom0 writes each side's peer domid (data/cw-peer).
link() {
    lk_a=$(xl domid "$1") && lk_b=$(xl domid "$2") || return 1
    xenstore-write "/local/domain/$lk_a/data/cw-peer" "$lk_b" &&
        xenstore-write "/local/domain/$lk_b/data/cw-peer" "$lk_a"
}

# snap FILE: every domain's CPU seconds so far, and the time; under
# commaware also each domain's donation-received ms and credits charged for
# others ("cw NAME RECEIVED_MS CHARGED": commaware-ctl stats columns 10, 11).
snap() {
    {
        echo "@t $(now)"
        xl list | awk 'NR > 1 { print $1, $NF }'
        [ "$S" != commaware ] || commaware-ctl stats 2>/dev/null | awk 'NR > 1 && NF >= 12 { print "cw", $1, $10, $11 }'
    } >"$1"
}

# shares RUN GREEDY...: from $CW_DIR/RUN.s0/.s1, each domain's share and
# entitlement ("NAME used entitled greedy charged entitled-charged", % of
# the pool) in $CW_DIR/RUN.sh, and a "cpu" DATA line each. GREEDY: the
# domains that want a whole vCPU.
# Two views. "used" is the CPU each domain's own vCPUs ran (xl list), what
# credit1 charges a domain for. "charged" is what commaware charged it: its
# own running, plus what it paid for others (donation; dom0's work on its
# behalf: attribution), minus what others paid for its running (donations
# it received; for the driver domain, dom0, the attribution refunds: every
# credit charged for others that no donation received accounts for). Under
# credit1 the two are the same. The entitlement is water-filled again on
# the charged demands, so dom0's work for the attacker counts against the
# attacker's share, not dom0's.
shares() {
    sh_run=$1
    shift
    awk -v np="$NPCPU" -v greedy=" $* " -v driver=Domain-0 '
        FNR == 1 { f++ }
        $1 == "@t" { t[f] = $2; next }
        # commaware-ctl stats: received ms, credits charged for others (10 per ms).
        $1 == "cw" && f == 1 { r0[$2] = $3; k0[$2] = $4; next }
        $1 == "cw" && f == 2 { r1[$2] = $3; k1[$2] = $4; next }
        f == 1 { c0[$1] = $2; next }
        f == 2 && ($1 in c0) { n++; name[n] = $1; u[n] = ($2 - c0[$1]) }
        function fill(d, e,   cap, left, level, sat, i, done) {
            # Max-min water-filling: whoever wants no more than the level
            # gets what it wants; the rest share what is left equally.
            cap = 100; left = n
            while (left > 0) {
                level = cap / left; sat = 0
                for (i = 1; i <= n; i++) if (!done[i] && d[i] <= level) {
                    e[i] = d[i]; cap -= d[i]; done[i] = 1; left--; sat = 1
                }
                if (!sat) { for (i = 1; i <= n; i++) if (!done[i]) e[i] = level; break }
            }
        }
        END {
            dt = t[2] - t[1]
            vcpu = 100 / np
            kin = 0; rin = 0
            for (i = 1; i <= n; i++) {
                x = name[i]
                # Seconds paid for others / received from donors in the window.
                pay[i] = (x in k1 && x in k0) ? (k1[x] - k0[x]) / 10000 : 0
                got[i] = (x in r1 && x in r0) ? (r1[x] - r0[x]) / 1000 : 0
                kin += pay[i]; rin += got[i]
            }
            for (i = 1; i <= n; i++) {
                ch[i] = u[i] + pay[i] - got[i] - (name[i] == driver ? kin - rin : 0)
                u[i] = 100 * u[i] / (dt * np)
                ch[i] = 100 * ch[i] / (dt * np)
                g[i] = index(greedy, " " name[i] " ") > 0
                d[i] = g[i] ? vcpu : u[i]
                dc[i] = g[i] ? vcpu : (ch[i] > 0 ? ch[i] : 0)
            }
            fill(d, e)
            fill(dc, ec)
            for (i = 1; i <= n; i++) printf "%s %.2f %.2f %d %.2f %.2f\n", name[i], u[i], e[i], g[i], ch[i], ec[i]
        }' "$CW_DIR/$sh_run.s0" "$CW_DIR/$sh_run.s1" >"$CW_DIR/$sh_run.sh"
    while read -r sh_n sh_u sh_e sh_g sh_c sh_ec; do
        HD "run=$sh_run cpu $sh_n used=$sh_u entitled=$sh_e greedy=$sh_g charged=$sh_c entitled_charged=$sh_ec"
    done <"$CW_DIR/$sh_run.sh"
}
# used RUN NAME / entitled RUN NAME / charged RUN NAME / entitled_charged RUN NAME
used() { awk -v n="$2" '$1 == n { print $2 }' "$CW_DIR/$1.sh"; }
entitled() { awk -v n="$2" '$1 == n { print $3 }' "$CW_DIR/$1.sh"; }
charged() { awk -v n="$2" '$1 == n { print $5 }' "$CW_DIR/$1.sh"; }
entitled_charged() { awk -v n="$2" '$1 == n { print $6 }' "$CW_DIR/$1.sh"; }
# within RUN NAME [charged]: NAME's share (used, or charged) is within
# HS_TOL of its entitlement.
within() {
    awk -v n="$2" -v tol="$HS_TOL" -v view="${3:-used}" '$1 == n { f = 1
        if (view == "charged") { s = $5; e = $6 } else { s = $2; e = $3 }
        d = s - e
        printf "%s: %s %s%%, entitled %s%% of the pool: %+.2f points (tolerance %s)\n", n, view, s, e, d, tol
        exit !(d <= tol && d >= -tol) } END { if (!f) { print n ": not in the window"; exit 1 } }' "$CW_DIR/$1.sh"
}
# no_gain RUN NAME: NAME got at most HS_TOL points more than its entitlement.
no_gain() {
    awk -v n="$2" -v tol="$HS_TOL" '$1 == n { f = 1; d = $2 - $3
        printf "%s: used %s%%, entitled %s%% of the pool: %+.2f points (max +%s)\n", n, $2, $3, d, tol
        exit !(d <= tol) } END { if (!f) { print n ": not in the window"; exit 1 } }' "$CW_DIR/$1.sh"
}

# hog records: interval records so far, and the gaps of records FROM+1..TO.
hog_intervals() { tr -d '\r' <"$(guest_log "$1")" | grep -cF '"event":"interval"'; }
hog_gaps() {
    tr -d '\r' <"$(guest_log "$1")" | grep -F '"event":"interval"' | awk -v a="$2" -v b="$3" '
        function num(k,   s) { s = $0; if (!match(s, "\"" k "\":[0-9.eE+-]*")) return 0
            s = substr(s, RSTART + length(k) + 3, RLENGTH - length(k) - 3); return s + 0 }
        NR > a && NR <= b { k++; m = num("gap_max_ms"); if (m > mx) mx = m
            o30 += num("gaps_over_30ms"); o100 += num("gaps_over_100ms"); tot += num("gap_total_ms")
            sh += num("cpu_share_est") }
        END { printf "{\"intervals\":%d,\"gap_max_ms\":%.3f,\"gaps_over_30ms\":%d,\"gaps_over_100ms\":%d,\"gap_total_ms\":%.1f,\"cpu_share_est\":%.4f}\n",
                  k, mx, o30, o100, tot, (k ? sh / k : 0) }'
}

counters() { # RUN: the scheduler's per-domain table
    xl "sched-$S" 2>/dev/null | while IFS= read -r l; do HD "run=$1 xl-sched $l"; done
}
# cw_row NAME COLUMN: a column of NAME's row in `xl sched-commaware`
# (Name ID Weight Cap Boost Donation Driver Run Wait Boosts Refused
# Donated Received MaxWait).
cw_row() { xl sched-commaware 2>/dev/null | awk -v n="$1" -v c="$2" '$1 == n { print $c }'; }

# hog_wait_max: the hogs' MaxWait(ms) as "HOG1 HOG2" (commaware only).
hog_wait_max() {
    [ "$S" = commaware ] || return 0
    echo $(for h in hog1 hog2; do cw_row "$h" 14; done)
}
# reset_wait_max NAME...: their MaxWait starts again (commaware-ctl).
reset_wait_max() {
    for rw_n in "$@"; do commaware-ctl -d "$rw_n" --reset-wait-max || return 1; done
}
# wait_max_json NAME...: {"NAME":MaxWait(ms),...}
wait_max_json() {
    wm_s=""
    for wm_n in "$@"; do wm_s="$wm_s,\"$wm_n\":$(cw_row "$wm_n" 14)"; done
    echo "{${wm_s#,}}"
}

hs_destroy() { for hs_d in "$@"; do xl destroy "$hs_d" 2>/dev/null; done; }

# Scheduler traces, for diagnosis only: when the boot has an output disk
# (boot.sh BOOT_OUT_DISK, an image starting with "CW-OUT-DISK"), every
# window is traced with xentrace (runstate changes and the
# scheduler's own records: commaware's boosts, refusals, donations;
# credit1's) and written there as a tar with each window's `xl list` and `xl info`;
# scripts/xen/trace-waits.py reads it. Without one, nothing is traced.
TRACE_DEV=""
for td in /dev/vd?; do
    [ -b "$td" ] && [ "$(head -c 11 "$td" 2>/dev/null)" = CW-OUT-DISK ] && TRACE_DEV=$td
done
TRACE_PID=""
trace_start() { # RUN
    [ -n "$TRACE_DEV" ] && command -v xentrace >/dev/null || return 0
    # 0x00023000: class TRC_SCHED, subclasses MIN (runstate) and CLASS.
    xentrace -D -S 256 -e 0x00023000 "$CW_DIR/trace-$1.bin" >"$CW_DIR/log/xentrace-$1.log" 2>&1 &
    TRACE_PID=$!
}
trace_stop() { # RUN
    [ -n "$TRACE_PID" ] || return 0
    kill -INT "$TRACE_PID" 2>/dev/null
    wait "$TRACE_PID" 2>/dev/null
    TRACE_PID=""
    xl list >"$CW_DIR/trace-xl-list-$1.txt"
    xl info >"$CW_DIR/trace-xl-info.txt"
    (cd "$CW_DIR" && tar -cf - trace-*.bin trace-xl-*.txt log/xentrace-*.log) | dd of="$TRACE_DEV" bs=1M conv=fsync 2>/dev/null &&
        echo "INFO: traces written to $TRACE_DEV: $(ls -l "$CW_DIR"/trace-*.bin | awk '{ printf "%s %s; ", $NF, $5 }')"
}

# window RUN HOGS...: the measured window (HS_W - 1 s, inside the client's
# measured phase), hogs' gap records over it.
# Under commaware, every domain's MaxWait is reset just before the window
# and read just after it: Xen's own longest wait of each domain in the
# window (credit1 has no such counter).
window() {
    wn_run=$1
    shift
    for h in "$@"; do eval "wn_a_$h=\$(hog_intervals $h)"; done
    wn_doms=$(xl list | awk 'NR > 1 { print $1 }')
    [ "$S" != commaware ] || step "hostile-$wn_run-wait-max-reset" reset_wait_max $wn_doms
    trace_start "$wn_run"
    snap "$CW_DIR/$wn_run.s0"
    sleep $((HS_W - 1))
    snap "$CW_DIR/$wn_run.s1"
    trace_stop "$wn_run"
    if [ "$S" = commaware ]; then
        wait_max_json $wn_doms >"$CW_DIR/$wn_run.wait-max.json"
        HD "run=$wn_run window-wait-max $(cat "$CW_DIR/$wn_run.wait-max.json")"
    fi
    for h in "$@"; do
        eval "wn_a=\$wn_a_$h"
        hog_gaps "$h" "$wn_a" "$(hog_intervals "$h")" >"$CW_DIR/$wn_run.$h.gaps"
        HD "run=$wn_run hog $h $(cat "$CW_DIR/$wn_run.$h.gaps")"
    done
}

IPU=""
P99_BASE=""
# pair_run RUN ATTACK: a vchan pair next to the hogs; ATTACK = none | guest | dom0.
pair_run() {
    pr_run=$1 pr_att=$2 pr_ip=$3
    pr_srv=srv-$pr_run pr_cli=cli-$pr_run pr_sink_pid=""
    pr_greedy="hog1 hog2"
    pr_smp=""
    if [ "$pr_att" != none ]; then
        pr_greedy="hog1 hog2 atk-$pr_run"
        # Until the window opens: every domain's CPU seconds each second, to
        # see who stopped running if the storm pauses (not in the window: it
        # would load dom0).
        while :; do xl list | awk -v t="$(now)" 'NR > 1 { printf "%s %s %s\n", t, $1, $NF }'; sleep 1; done \
            >"$CW_DIR/$pr_run.timeline" 2>/dev/null &
        pr_smp=$!
        step "hostile-$pr_run-attacker-create" workload_guest "atk-$pr_run" "10.0.0.$((pr_ip + 2))" \
            evstorm --duration 900 --peer-timeout 240 --tag "hs-atk-$pr_run" || return 1
    fi
    if [ "$pr_att" = guest ]; then
        step "hostile-$pr_run-sink-create" workload_guest "sink-$pr_run" "10.0.0.$((pr_ip + 3))" \
            evsink --duration 900 --idle-timeout 15 --peer-timeout 240 --tag "hs-sink-$pr_run" || return 1
        step "hostile-$pr_run-storm-linked" link "atk-$pr_run" "sink-$pr_run" || return 1
        # The sink offers its port once it knows its peer; the storm binds and starts.
        step "hostile-$pr_run-sink-offered" wait_until 240 grep -q 'may notify port' "$(guest_log "sink-$pr_run")" ||
            { show "sink-$pr_run"; show "atk-$pr_run"; return 1; }
    elif [ "$pr_att" = dom0 ]; then
        [ -x /usr/sbin/cw-workload ] || {
            fail "hostile-$pr_run-dom0-sink" "no /usr/sbin/cw-workload in dom0 (scripts/build-workload.sh installs it in build/dom0-extra)"
            return 1
        }
        pr_k=$(xl domid "atk-$pr_run")
        xenstore-write "/local/domain/$pr_k/data/cw-peer" 0
        cw-workload evsink --peer "$pr_k" --duration 900 --idle-timeout 15 --peer-timeout 240 --quiet \
            --json "$CW_DIR/$pr_run.evsink.json" >/dev/null 2>"$CW_DIR/$pr_run.evsink.err" &
        pr_sink_pid=$!
        step "hostile-$pr_run-attacker-started" wait_until 240 started "atk-$pr_run" || { show "atk-$pr_run"; return 1; }
    fi
    step "hostile-$pr_run-server-create" workload_guest "$pr_srv" "10.0.0.$pr_ip" server --transport vchan \
        --work-us 200 --duration 900 --peer-timeout 240 --iters-per-us "$IPU" --tag "hs-srv-$pr_run" || return 1
    step "hostile-$pr_run-client-create" workload_guest "$pr_cli" "10.0.0.$((pr_ip + 1))" client --transport vchan \
        --work-us 100 --think-us "$HS_THINK_US" --duration "$HS_W" --warmup "$HS_WARMUP" \
        --connect-timeout 240 --peer-timeout 240 \
        --iters-per-us "$IPU" --tag "hs-cli-$pr_run" || return 1
    step "hostile-$pr_run-pair-linked" link "$pr_srv" "$pr_cli" || return 1
    # The client starts its warm-up when the channel is up (the server
    # offers it once it knows its peer); the window opens 1 s into the
    # measured phase and closes before it ends.
    step "hostile-$pr_run-vchan-offered" wait_until 240 grep -q 'vchan offered' "$(guest_log "$pr_srv")" ||
        { show "$pr_srv"; show "$pr_cli"; return 1; }
    step "hostile-$pr_run-client-started" wait_until 240 started "$pr_cli" || { show "$pr_cli"; return 1; }
    sleep $((HS_WARMUP + 2))
    if [ -n "$pr_smp" ]; then
        kill "$pr_smp"
        wait "$pr_smp" 2>/dev/null
        pr_smp=""
        # One line: "T:attacker:dom0:sink" CPU seconds per sample.
        HD "run=$pr_run timeline $(awk -v a="atk-$pr_run" -v k="sink-$pr_run" '
            $1 != t { if (t != "") printf "%s:%s:%s:%s ", t, c[a], c["Domain-0"], c[k]; t = $1; delete c }
            { c[$2] = $3 } END { if (t != "") printf "%s:%s:%s:%s\n", t, c[a], c["Domain-0"], c[k] }' "$CW_DIR/$pr_run.timeline")"
    fi
    window "$pr_run" hog1 hog2
    shares "$pr_run" $pr_greedy
    step "hostile-$pr_run-client-report" wait_until $((HS_W + 120)) has_json "$pr_cli" client ||
        { show "$pr_cli"; return 1; }
    pr_cj=$(json_line "$pr_cli" client)
    HD "run=$pr_run client $pr_cj"
    pr_p99=$(jnum "$pr_cj" p99_us)
    step "hostile-$pr_run-client-requests" awk -v r="$(jnum "$pr_cj" requests)" 'BEGIN { print "requests=" r; exit !(r > 0) }'
    counters "$pr_run"
    if [ "$pr_att" = none ]; then
        P99_BASE=$pr_p99
    else
        pr_a="atk-$pr_run"
        pr_b=$(cw_row "$pr_a" 10) pr_r=$(cw_row "$pr_a" 11)
        HD "run=$pr_run attacker {\"used\":$(used "$pr_run" "$pr_a"),\"entitled\":$(entitled "$pr_run" "$pr_a"),\"charged\":$(charged "$pr_run" "$pr_a"),\"entitled_charged\":$(entitled_charged "$pr_run" "$pr_a"),\"boosts\":${pr_b:-null},\"refused\":${pr_r:-null}}"
        judge "hostile-$pr_run-attacker-share" within "$pr_run" "$pr_a"
        [ "$S" != commaware ] || judge "hostile-$pr_run-attacker-charged-share" within "$pr_run" "$pr_a" charged
        HD "run=$pr_run p99-ratio {\"p99_base_us\":${P99_BASE:-null},\"p99_us\":${pr_p99:-null},\"ratio\":$(awk -v a="$P99_BASE" -v b="$pr_p99" 'BEGIN { if (a > 0 && b != "") printf "%.3f", b / a; else printf "null" }')}"
        judge "hostile-$pr_run-p99-ratio" awk -v a="$P99_BASE" -v b="$pr_p99" -v m="$HS_P99_MAX" \
            'BEGIN { if (!(a > 0) || b == "") { print "no p99"; exit 1 }
                     printf "p99 %s us with the attacker, %s us without: %.2fx (max %sx)\n", b, a, b / a, m; exit !(b / a <= m) }'
        # The sink stops after 15 s without events: still running now means
        # the storm reached it through the window (else the window measured
        # an attacker notifying a closed port).
        if [ "$pr_att" = guest ]; then
            step "hostile-$pr_run-storm-through-window" sh -c "! grep -q '\"mode\":\"evsink\"' '$(guest_log "sink-$pr_run")'"
        else
            step "hostile-$pr_run-storm-through-window" kill -0 "$pr_sink_pid"
        fi
        # The storm ends with the attacker; the sink reports after its idle timeout.
        xl destroy "$pr_a"
        if [ "$pr_att" = guest ]; then
            wait_until 40 has_json "sink-$pr_run" evsink
            pr_sj=$(json_line "sink-$pr_run" evsink)
        else
            # A sink that never saw an event would wait out its duration.
            wait_until 40 test -s "$CW_DIR/$pr_run.evsink.json" || kill "$pr_sink_pid" 2>/dev/null
            wait "$pr_sink_pid"
            pr_sj=$(cat "$CW_DIR/$pr_run.evsink.json" 2>/dev/null)
            sed 's/^/  evsink0| /' "$CW_DIR/$pr_run.evsink.err"
        fi
        HD "run=$pr_run evsink $pr_sj"
        # The storm really ran (otherwise the window measured no attack).
        step "hostile-$pr_run-sink-events" awk -v v="$(jnum "$pr_sj" events)" \
            'BEGIN { print "events=" v; exit !(v > 0) }'
    fi
    hs_destroy "$pr_srv" "$pr_cli" "sink-$pr_run"
    wait_until 30 sh -c "! xl list | grep -q -- '-$pr_run '"
}

# ring_run: a ring of 2 (a1 a2) and a ring of 3 (b1 b2 b3) next to the hogs.
ring_run() {
    # The ring's five guests are created and booted next to the running
    # hogs: Xen's MaxWait showed the hogs' longest waits (about a second)
    # fall here, outside every window. Their gap records over this phase
    # (both schedulers: credit1 has no MaxWait) and, when traced, Xen's
    # runstate records tell who ran meanwhile.
    rr_xen_create=$(hog_wait_max)
    for h in hog1 hog2; do eval "rr_c_$h=\$(hog_intervals $h)"; done
    trace_start ring-create
    for m in a1:61:--lead a2:62: b1:63:--lead b2:64: b3:65:; do
        rr_n=${m%%:*} rr_rest=${m#*:}
        step "hostile-ring-$rr_n-create" workload_guest "$rr_n" "10.0.0.${rr_rest%%:*}" evring ${rr_rest#*:} \
            --duration $((HS_W + 30)) --idle-timeout 5 --peer-timeout 240 --tag "hs-ring-$rr_n" || return 1
    done
    set_ring() { # A B [C]: each member's next (cw-peer) and previous (cw-prev)
        sr_ids=""
        for sr in "$@"; do sr_ids="$sr_ids $(xl domid "$sr")" || return 1; done
        set -- $sr_ids
        sr_k=$#
        sr_i=1
        for sr_d in "$@"; do
            sr_next=$(echo "$sr_ids" | awk -v i="$sr_i" -v k="$sr_k" '{ print $(i % k + 1) }')
            sr_prev=$(echo "$sr_ids" | awk -v i="$sr_i" -v k="$sr_k" '{ print $((i + k - 2) % k + 1) }')
            xenstore-write "/local/domain/$sr_d/data/cw-peer" "$sr_next" \
                "/local/domain/$sr_d/data/cw-prev" "$sr_prev" || return 1
            sr_i=$((sr_i + 1))
        done
    }
    step hostile-ring2-linked set_ring a1 a2 || return 1
    step hostile-ring3-linked set_ring b1 b2 b3 || return 1
    for r in a1 a2 b1 b2 b3; do
        step "hostile-ring-$r-started" wait_until 240 started "$r" || { show "$r"; return 1; }
    done
    trace_stop ring-create
    for h in hog1 hog2; do
        eval "rr_c=\$rr_c_$h"
        HD "run=ring-create hog $h $(hog_gaps "$h" "$rr_c" "$(hog_intervals "$h")")"
    done
    # Every member has booted; the lead sends the token once bound.
    sleep 5
    # The scheduler's own view (commaware): MaxWait(ms), the longest a vCPU
    # of the domain waited between becoming runnable and running. The
    # hog's own clock (its gap records) counts stints too short for the
    # guest to get back to its loop (under TCG, about a millisecond) as no
    # run at all. Since the hogs' creation, read before the ring guests'
    # creation and before the window; over the window itself (`window`).
    rr_xen_before=$(hog_wait_max)
    [ "$S" != commaware ] ||
        HD "run=ring xen-wait-max {\"hog1_hog2_before_create_ms\":\"$rr_xen_create\",\"hog1_hog2_before_ms\":\"$rr_xen_before\"}"
    window ring hog1 hog2
    if [ "$S" = commaware ]; then
        # The same read as the window's DATA line, not a later one.
        rr_xw=$(echo $(for h in hog1 hog2; do sed -n "s/.*\"$h\":\([0-9]*\).*/\1/p" "$CW_DIR/ring.wait-max.json"; done))
        judge hostile-ring-hogs-xen-wait awk -v w="$rr_xw" -v b="$GAP_BOUND" \
            'BEGIN { n = split(w, m, " "); if (n != 2) { print "no MaxWait for the hogs: " w; exit 1 }
                     x = (m[1] + 0 > m[2] + 0) ? m[1] : m[2]
                     printf "hogs'"'"' longest wait in Xen over the window %d / %d ms (bound %d ms)\n", m[1], m[2], b; exit !(x <= b) }'
    fi
    shares ring hog1 hog2
    counters ring
    for r in a1 a2 b1 b2 b3 hog1 hog2; do
        judge "hostile-ring-$r-no-gain" no_gain ring "$r"
    done
    rr_worst=$(cat "$CW_DIR"/ring.hog*.gaps | sed -n 's/.*"gap_max_ms":\([0-9.]*\).*/\1/p' | sort -n | tail -n 1)
    HD "run=ring gaps {\"worst_ms\":${rr_worst:-null},\"bound_ms\":$GAP_BOUND,\"tslice_ms\":$TSLICE}"
    judge hostile-ring-hogs-not-starved awk -v w="$rr_worst" -v b="$GAP_BOUND" \
        'BEGIN { if (w == "") { print "no gap records"; exit 1 }
                 printf "worst hog gap %.1f ms (bound %d ms: credit1, 7 vCPUs on a pCPU)\n", w, b; exit !(w <= b) }'
    for r in a1 a2 b1 b2 b3; do
        if step "hostile-ring-$r-report" wait_until 120 has_json "$r" evring; then
            rj=$(json_line "$r" evring)
            HD "run=ring evring $r $rj"
            step "hostile-ring-$r-round-trips" awk -v v="$(jnum "$rj" round_trips)" \
                'BEGIN { print "round_trips=" v; exit !(v > 0) }'
        else
            show "$r"
        fi
    done
    hs_destroy a1 a2 b1 b2 b3
}

pass "hostile-scheduler-$S"
# The charged view reads commaware-ctl stats: without the tool in dom0 it
# would silently equal the used view (a boot without scripts/test.sh's
# dom0 tools did that on 7 Dec).
[ "$S" != commaware ] || step hostile-commaware-ctl commaware-ctl stats || exit 1
# One calibration for every guest (dom0 runs on the same emulated CPU), so
# that the pair does the same work in every run.
# The median of three: one round timed across a clock hiccup in dom0 once
# gave 33 million steps/µs (the emulated CPU does a few hundred).
if [ -x /usr/sbin/cw-workload ]; then
    IPU=$(for i in 1 2 3; do cw-workload calibrate --quiet; done |
        sed -n 's/.*"iters_per_us":\([0-9.]*\).*/\1/p' | sort -n | sed -n 2p)
fi
step hostile-calibrated awk -v v="$IPU" 'BEGIN { print "iters_per_us=" v; exit !(v > 1 && v < 100000) }' || exit 1
HD "config {\"window_s\":$HS_W,\"warmup_s\":$HS_WARMUP,\"tolerance_points\":$HS_TOL,\"p99_max_ratio\":$HS_P99_MAX,\"think_us\":$HS_THINK_US,\"pcpus\":$NPCPU,\"tslice_ms\":$TSLICE,\"gap_bound_ms\":$GAP_BOUND,\"iters_per_us\":$IPU}"

step hostile-hog1-create workload_guest hog1 10.0.0.51 hog --duration 3600 --report-every 1 --iters-per-us "$IPU" --tag hs-hog1 || exit 1
step hostile-hog2-create workload_guest hog2 10.0.0.52 hog --duration 3600 --report-every 1 --iters-per-us "$IPU" --tag hs-hog2 || exit 1
hogs_burning() { [ "$(hog_intervals hog1)" -gt 0 ] && [ "$(hog_intervals hog2)" -gt 0 ]; }
step hostile-hogs-burning wait_until 240 hogs_burning ||
    { show hog1; show hog2; exit 1; }

# A run that stopped early may leave its sampler running.
stop_sampler() { [ -z "$pr_smp" ] || kill "$pr_smp" 2>/dev/null; pr_smp=""; }
pair_run base none 70 || fail hostile-base "the run without attacker did not complete"
[ -n "$P99_BASE" ] && {
    pair_run storm-guest guest 72 || fail hostile-storm-guest "the storm at a guest did not complete"
    stop_sampler
    pair_run storm-dom0 dom0 76 || fail hostile-storm-dom0 "the storm at dom0 did not complete"
    stop_sampler
}
ring_run || fail hostile-ring "the ring run did not complete"
# The hogs' worst gap over their whole life, guest creations included.
for h in hog1 hog2; do HD "run=life hog $h $(hog_gaps "$h" 0 "$(hog_intervals "$h")")"; done
hs_destroy hog1 hog2
step hostile-only-dom0-left wait_until 30 sh -c '[ "$(xl list | tail -n +2 | wc -l)" = 1 ]'
