# control test (issue 4): commaware's policy from dom0, through
# `xl sched-commaware` (xen-patches 0013-0015) and `commaware-ctl` (ctl/,
# copied into dom0 by the DOM0_EXTRA overlay, build/dom0-extra/usr/sbin).
#
#  - every pool-wide and per-domain knob is set by one tool and read back by
#    both (each sees the other's change);
#  - cpu_weight, cap and comm_donation/comm_driver from xl.cfg are in force
#    after `xl create`;
#  - the counters move while two guests exchange traffic;
#  - invalid invocations (out of range, negative, malformed, unknown domain
#    or cpupool, wrong option combinations, a cpupool or domain under
#    another scheduler) fail with a message and leave every parameter as it
#    was (all of them are read back after each one, through both tools).
#
# Needs Pool-0 to run commaware (boot with sched=commaware).  Uses pCPU 1
# for a credit cpupool near the end, and gives it back.

have=$(xen_sched)
if [ "$have" != commaware ]; then
    fail control-pool0-is-commaware "xen_scheduler=$have (boot with sched=commaware)"
    exit 1
fi
pass control-pool0-is-commaware

xl_has_cmd() { xl help 2>&1 | grep -q 'sched-commaware'; }
step xl-has-sched-commaware xl_has_cmd || exit 1
step xl-sched-commaware-help xl sched-commaware --help

CTL=$(command -v commaware-ctl || true)
if [ -n "$CTL" ]; then
    pass ctl-present
    step ctl-version commaware-ctl --version
else
    fail ctl-present "commaware-ctl not in dom0: cargo build --release -p commaware-ctl, then copy target/release/commaware-ctl to build/dom0-extra/usr/sbin/"
fi
# ctl CMD...: run commaware-ctl, or fail (without it every ctl step fails).
ctl() {
    [ -n "$CTL" ] || { echo "commaware-ctl missing"; return 127; }
    commaware-ctl "$@"
}

# --- readers ------------------------------------------------------------------
# The pool-wide line without its "Cpupool NAME: " prefix (same layout in both).
xl_g() { xl sched-commaware -s "$@" | sed -n 's/^Cpupool [^:]*: //p'; }
ctl_g() { ctl -s "$@" | sed -n 's/^Cpupool [^:]*: //p'; }
# gline TSLICE RATELIMIT MIGR BOOST BOOST_US BUDGET DONATION ATTRIBUTION
gline() {
    echo "tslice=$1ms ratelimit=$2us migration-delay=$3us boost=$4 boost-len=$5us boost-budget=$6% donation=$7 attribution=$8"
}
# A domain's Name ID Weight Cap Boost Donation Driver (both tools' first 7 columns).
xl_d() { xl sched-commaware -d "$1" | tail -n 1 | awk '{ print $1, $2, $3, $4, $5, $6, $7 }'; }
ctl_d() { ctl -d "$1" | tail -n 1 | awk '{ print $1, $2, $3, $4, $5, $6, $7 }'; }
# dline DOMAIN WEIGHT CAP BOOST DONATION DRIVER
dline() { echo "$1 $(xl domid "$1") $2 $3 $4 $5 $6"; }

same() { # GOT WANT
    [ "$1" = "$2" ] && { echo "ok: $1"; return 0; }
    echo "got:  $1"
    echo "want: $2"
    return 1
}
# global_is TSLICE ... ATTRIBUTION: both tools read exactly this.
global_is() {
    _want=$(gline "$@")
    same "$(xl_g)" "$_want" && same "$(ctl_g)" "$_want"
}
# dom_is DOMAIN WEIGHT CAP BOOST DONATION DRIVER: both tools read exactly this.
dom_is() {
    _want=$(dline "$@")
    same "$(xl_d "$1")" "$_want" && same "$(ctl_d "$1")" "$_want"
}

# Field of a pool-wide line, units dropped: gf LINE tslice -> 30
gf() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | sed -E 's/(ms|us|%)$//'; }

# --- pool-wide knobs ----------------------------------------------------------
ORIG=$(xl_g)
echo "pool-wide parameters at start: $ORIG"
step global-xl-and-ctl-agree same "$(ctl_g)" "$ORIG"
O_T=$(gf "$ORIG" tslice); O_R=$(gf "$ORIG" ratelimit); O_M=$(gf "$ORIG" migration-delay)
O_B=$(gf "$ORIG" boost); O_BU=$(gf "$ORIG" boost-len); O_BG=$(gf "$ORIG" boost-budget)
O_D=$(gf "$ORIG" donation); O_A=$(gf "$ORIG" attribution)
restore_global() {
    xl sched-commaware -s -t "$O_T" -r "$O_R" -m "$O_M" --boost-us "$O_BU" --budget "$O_BG" \
        --boost "$O_B" --donation "$O_D" --attribution "$O_A"
}

# xl sets every knob (one request), both read it back.
step global-set-by-xl xl sched-commaware -s -t 20 -r 500 -m 100 --boost-us 700 --budget 80 \
    --boost off --donation off --attribution off
step global-xl-change-seen-by-both global_is 20 500 100 off 700 80 off off
# commaware-ctl sets every knob, both read it back.
step global-set-by-ctl ctl -s -t 40 -r 1500 -m 0 --boost-us 900 --budget 60 \
    --boost on --donation on --attribution on
step global-ctl-change-seen-by-both global_is 40 1500 0 on 900 60 on on
# One knob at a time, alternating tools; the others stay.
step global-xl-tslice xl sched-commaware -s -t 25
step global-ctl-ratelimit ctl -s -r 0
step global-xl-migr-delay xl sched-commaware -s -m 2000
step global-ctl-boost-us ctl -s --boost-us 300
step global-xl-budget xl sched-commaware -s --budget 100
step global-ctl-boost-off ctl -s --boost off
step global-xl-donation-off xl sched-commaware -s --donation off
step global-ctl-attribution-off ctl -s --attribution off
step global-one-at-a-time-seen-by-both global_is 25 0 2000 off 300 100 off off
step global-xl-boost-on xl sched-commaware -s -b on
step global-ctl-donation-on ctl -s --donation on
step global-xl-attribution-on xl sched-commaware -s --attribution on
step global-switches-on-seen-by-both global_is 25 0 2000 on 300 100 on on
step global-explicit-pool0 sh -c 'xl sched-commaware -s -p Pool-0 -t 30 && commaware-ctl -s -p 0 -r 1000'
step global-explicit-pool0-seen global_is 30 1000 2000 on 300 100 on on
step global-restore restore_global
step global-restored same "$(xl_g)" "$ORIG"

# --- guests: xl.cfg weight and cap at creation ----------------------------------
D0W=$(xl_d Domain-0 | awk '{ print $3 }')
D0C=$(xl_d Domain-0 | awk '{ print $4 }')
echo "dom0 at start: $(xl_d Domain-0)"
step create-g1-weight-512-cap-90 guest_start g1 10.0.0.2 10.0.0.3 ping "cpu_weight = 512
cap = 90" || exit 1
step create-g2-weight-128-driver guest_start g2 10.0.0.3 10.0.0.2 ping "cpu_weight = 128
comm_donation = 0
comm_driver = 1" || exit 1
step xlcfg-g1-weight-cap-in-force dom_is g1 512 90 on on no
step xlcfg-g2-weight-switches-in-force dom_is g2 128 0 on off yes

# --- counters move under traffic -------------------------------------------------
# xl's row: ... Run(ms)=$8 Wait(ms)=$9 Boosts=$10 Refused=$11 Donated(ms)=$12 Received(ms)=$13
xl_cnt() { xl sched-commaware -d "$1" | tail -n 1 | awk -v f="$2" '{ print $f }'; }
# commaware-ctl stats: Name ID Weight Cap Run(ms)=$5 Wait(ms)=$6 Boosts=$7 ...
ctl_cnt() { ctl stats -d "$1" | tail -n 1 | awk -v f="$2" '{ print $f }'; }
boosts_all() { echo $(($(xl_cnt 0 10) + $(xl_cnt g1 10) + $(xl_cnt g2 10))); }
R1=$(xl_cnt g1 8); R2=$(xl_cnt g2 8); CR1=$(ctl_cnt g1 5); B0=$(boosts_all)
echo "before traffic: g1 run=${R1}ms g2 run=${R2}ms (ctl g1 run=${CR1}ms) boosts(dom0+g1+g2)=$B0"
pinged() { # NAME
    wait_guest "$1" 'GUEST-PING-' 200 || { cat "$(guest_log "$1")"; return 1; }
    grep 'GUEST-PING-' "$(guest_log "$1")"
    grep -q 'GUEST-PING-OK' "$(guest_log "$1")"
}
step g1-pings-g2 pinged g1
step g2-pings-g1 pinged g2
step dom0-pings-g1-and-g2 sh -c 'ping -q -c 20 -i 0.2 -W 2 10.0.0.2 & p=$!; ping -q -c 20 -i 0.2 -W 2 10.0.0.3 && wait $p'
xl sched-commaware
[ -n "$CTL" ] && ctl stats
grows() { # NAME BEFORE AFTER
    echo "$1: $2 -> $3"
    [ -n "$2" ] && [ -n "$3" ] && [ "$3" -gt "$2" ]
}
step counters-g1-run-grows-xl grows g1-run-ms "$R1" "$(xl_cnt g1 8)"
# MaxWait(ms)=$14: one wait, so never more than all of them (Wait(ms)).
longest_within_total() { # NAME
    lw_w=$(xl_cnt "$1" 9)
    lw_m=$(xl_cnt "$1" 14)
    echo "$1: waited ${lw_w} ms in all, ${lw_m} ms at the longest"
    [ -n "$lw_m" ] && [ -n "$lw_w" ] && [ "$lw_m" -le "$lw_w" ]
}
step counters-g1-longest-wait-xl longest_within_total g1
step counters-dom0-longest-wait-xl longest_within_total 0
# commaware-ctl --reset-wait-max: the domain whose MaxWait is longest (the
# guests' boot made it milliseconds) starts again below it; its Run and
# Wait, and its parameters, run on. A reset that did nothing would leave it
# where it was (the counter only grows).
reset_longest_wait() {
    rl_d=$(for n in Domain-0 g1 g2; do echo "$(xl_cnt "$n" 14) $n"; done | sort -n | tail -n 1)
    rl_m=${rl_d% *} rl_n=${rl_d#* }
    rl_w=$(xl_cnt "$rl_n" 9) rl_p=$(xl sched-commaware -d "$rl_n" | tail -n 1 | awk '{ print $3, $4, $5, $6, $7 }')
    [ "$rl_m" -ge 2 ] || { echo "no domain waited 2 ms at once (longest: $rl_d)"; return 1; }
    ctl -d "$rl_n" --reset-wait-max || return 1
    rl_m2=$(xl_cnt "$rl_n" 14) rl_w2=$(xl_cnt "$rl_n" 9)
    rl_p2=$(xl sched-commaware -d "$rl_n" | tail -n 1 | awk '{ print $3, $4, $5, $6, $7 }')
    echo "$rl_n: MaxWait $rl_m -> $rl_m2 ms, Wait $rl_w -> $rl_w2 ms, params '$rl_p' -> '$rl_p2'"
    [ "$rl_m2" -lt "$rl_m" ] && [ "$rl_w2" -ge "$rl_w" ] && [ "$rl_p2" = "$rl_p" ]
}
step counters-reset-wait-max-ctl reset_longest_wait
step counters-g2-run-grows-xl grows g2-run-ms "$R2" "$(xl_cnt g2 8)"
step counters-g1-run-grows-ctl grows g1-run-ms "$CR1" "$(ctl_cnt g1 5)"
step counters-boosts-grow grows boosts-dom0-g1-g2 "$B0" "$(boosts_all)"
step ctl-stats-json sh -c 'commaware-ctl stats --json | grep -q "\"run_ns\""'
step ctl-watch-2 commaware-ctl watch -n 2 -i 1

# --- per-domain knobs ------------------------------------------------------------
step dom-set-by-xl xl sched-commaware -d g1 -w 300 -c 80 --boost off --donation off --driver on
step dom-xl-change-seen-by-both dom_is g1 300 80 off off yes
step dom-set-by-ctl ctl -d g1 -w 700 -c 0 --boost on --donation on --driver off
step dom-ctl-change-seen-by-both dom_is g1 700 0 on on no
step dom-xl-weight-only xl sched-commaware -d g2 -w 1000
step dom-ctl-cap-only ctl -d g2 -c 40
step dom-xl-boost-short-b xl sched-commaware -d g2 -b off
step dom-ctl-donation-only ctl -d g2 --donation off
step dom-xl-driver-only xl sched-commaware -d g2 --driver on
step dom-one-at-a-time-seen-by-both dom_is g2 1000 40 off off yes
step dom-dom0-driver-by-ctl ctl -d 0 --driver on
step dom-dom0-driver-seen-by-both dom_is Domain-0 "$D0W" "$D0C" on on yes
step dom-dom0-driver-off-by-xl xl sched-commaware -d Domain-0 --driver off
step dom-by-domid-ctl sh -c "commaware-ctl -d $(xl domid g2) -w 128 -c 0 --boost on --donation on --driver off"
step dom-by-domid-seen-by-both dom_is g2 128 0 on on no
step dom-known-state-g1 xl sched-commaware -d g1 -w 512 -c 90
step dom-known-state-seen dom_is g1 512 90 on on no

# --- invalid invocations: an error, and nothing changed ------------------------
# Every pool-wide and per-domain parameter, as each tool lists it (all
# commaware cpupools; xl's counter columns dropped).
params_only() { awk '/^Cpupool/ { print; next } { print $1, $2, $3, $4, $5, $6, $7 }'; }
snap() {
    echo "xl:"
    xl sched-commaware | params_only
    echo "ctl:"
    ctl | params_only
}
BASE=$(snap)
echo "$BASE"
NBAD=0
# refused CMD...: CMD fails, says why on stderr, and every parameter is as it was.
refused() {
    if "$@" >"$CW_DIR/bad.out" 2>"$CW_DIR/bad.err"; then
        echo "accepted (exit 0): $*"
        cat "$CW_DIR/bad.out"
        return 1
    fi
    echo "refused: $*"
    cat "$CW_DIR/bad.err"
    [ -s "$CW_DIR/bad.err" ] || { echo "no error message on stderr"; return 1; }
    _now=$(snap)
    [ "$_now" = "$BASE" ] || { echo "parameters changed:"; echo "$_now"; echo "was:"; echo "$BASE"; return 1; }
}
bad() { # NAME CMD...
    NBAD=$((NBAD + 1))
    _n=$1
    shift
    step "bad-$_n" refused "$@"
}
XS="xl sched-commaware"
bad xl-tslice-0 $XS -s -t 0
bad xl-tslice-1001 $XS -s -t 1001
bad xl-tslice-negative $XS -s -t -5
bad xl-tslice-malformed $XS -s -t 12abc
bad xl-ratelimit-50 $XS -s -r 50
bad xl-ratelimit-600000 $XS -s -r 600000
bad xl-ratelimit-over-slice $XS -s -t 1 -r 2000
bad xl-migr-delay-100001 $XS -s -m 100001
bad xl-boost-us-49 $XS -s --boost-us 49
bad xl-boost-us-10001 $XS -s --boost-us 10001
bad xl-budget-101 $XS -s --budget 101
bad xl-budget-negative $XS -s --budget -1
bad xl-boost-not-onoff $XS -s --boost maybe
bad xl-partial-global $XS -s -t 20 -r 700 --boost-us 50000
bad xl-unknown-cpupool $XS -s -p nosuchpool -t 10
bad xl-weight-0 $XS -d g1 -w 0
bad xl-weight-65536 $XS -d g1 -w 65536
bad xl-weight-negative $XS -d g1 -w -3
bad xl-weight-malformed $XS -d g1 -w 3x0
bad xl-weight-hex $XS -d g1 -w 0x100
bad xl-cap-101-one-vcpu $XS -d g1 -c 101
bad xl-cap-negative $XS -d g1 -c -1
bad xl-partial-domain $XS -d g1 -w 300 --boost off -c 500
bad xl-driver-not-onoff $XS -d g1 -w 300 --driver maybe
bad xl-unknown-domain $XS -d nosuchdomain -w 300
bad xl-unknown-domid $XS -d 4242 -w 300
bad xl-tslice-with-domain $XS -d g1 -t 10
bad xl-weight-without-domain $XS -w 300
bad xl-cpupool-with-domain $XS -d g1 -p Pool-0 -w 300
bad xl-driver-with-s $XS -s --driver on
bad ctl-tslice-0 ctl -s -t 0
bad ctl-tslice-1001 ctl -s -t 1001
bad ctl-tslice-negative ctl -s -t -5
bad ctl-tslice-malformed ctl -s -t abc
bad ctl-ratelimit-50 ctl -s -r 50
bad ctl-migr-delay-100001 ctl -s -m 100001
bad ctl-boost-us-49 ctl -s --boost-us 49
bad ctl-budget-101 ctl -s --budget 101
bad ctl-partial-global ctl -s -t 20 --boost-us 50000
bad ctl-unknown-cpupool ctl -s -p nosuchpool -t 10
bad ctl-weight-0 ctl -d g1 -w 0
bad ctl-weight-65536 ctl -d g1 -w 65536
bad ctl-cap-101-one-vcpu ctl -d g1 -c 101
bad ctl-cap-negative ctl -d g1 -c -1
bad ctl-partial-domain ctl -d g1 -w 300 -c 500
bad ctl-boost-not-onoff ctl -d g1 --boost maybe
bad ctl-unknown-domain ctl -d nosuchdomain -w 300
bad ctl-unknown-domid ctl -d 4242 -w 300
bad ctl-tslice-with-domain ctl -d g1 -t 10
bad ctl-reset-with-bad-cap ctl -d g1 -c 500 --reset-wait-max
bad ctl-reset-without-domain ctl --reset-wait-max
bad ctl-reset-with-s ctl -s --reset-wait-max
bad ctl-reset-unknown-domain ctl -d nosuchdomain --reset-wait-max

# A cpupool, and a domain, under another scheduler (credit on pCPU 1).
cat >"$CW_DIR/crp.cfg" <<CFG
name = "crp"
sched = "credit"
cpus = [ "1" ]
CFG
if step crp-release-cpu1 xl cpupool-cpu-remove Pool-0 1 &&
    step crp-create xl cpupool-create "$CW_DIR/crp.cfg" &&
    step crp-migrate-g2 xl cpupool-migrate g2 crp; then
    # g2 is under credit now: its credit parameters must not move either.
    snap() {
        echo "xl:"
        xl sched-commaware | params_only
        echo "ctl:"
        ctl | params_only
        echo "credit:"
        xl sched-credit -p crp
        xl sched-credit -s -p crp
    }
    BASE=$(snap)
    echo "$BASE"
    bad xl-credit-pool-show $XS -s -p crp
    bad xl-credit-pool-set $XS -s -p crp -t 10
    bad xl-credit-pool-list $XS -p crp
    bad xl-domain-in-credit-pool $XS -d g2 -w 300
    bad ctl-credit-pool-set ctl -s -p crp -t 10
    bad ctl-credit-pool-list ctl -p crp
    bad ctl-domain-in-credit-pool ctl -d g2 -w 300
    step crp-g2-back-to-pool0 xl cpupool-migrate g2 Pool-0
fi
xl cpupool-list -c 2>/dev/null || true
xl cpupool-destroy crp 2>/dev/null && pass crp-destroy
xl cpupool-cpu-add Pool-0 1 2>/dev/null && pass crp-cpu1-back-to-pool0

echo "invalid invocations tried: $NBAD"
[ "$NBAD" -ge 20 ] && pass control-at-least-20-invalid || fail control-at-least-20-invalid "only $NBAD"

# --- clean up --------------------------------------------------------------------
step global-restore-at-end restore_global
step dom0-defaults-at-end xl sched-commaware -d Domain-0 -w "$D0W" -c "$D0C" --boost on --donation on --driver off
step destroy-guests sh -c 'xl destroy g1 && xl destroy g2'
only_dom0() { [ "$(xl list | tail -n +2 | wc -l)" = 1 ] || { xl list; return 1; }; }
step only-dom0-left wait_until 20 only_dom0
