# churn test (issue 6, "churn in real Xen"): domains come and go, params
# change and a pCPU moves between cpupools, all at once, while a
# request/response pair keeps talking.
#
#  - CHURN_CYCLES (200) create/destroy cycles of small PV guests (128 MiB:
#    64 fails in xc_dom_build_image with Debian's kernel;
#    1-2 vCPUs; they need not finish booting), the timing varied by cycle:
#    destroyed right after create (half of them), after 1, 2 or 3 s,
#    created paused, `xl shutdown` after 1 s (then destroyed if still there
#    3 s later); every fourth with a vif;
#    xl.cfg cpu_weight, cap, comm_boost, comm_donation, comm_driver varied;
#  - the whole time, a TCP pair (cw-workload client "capp" and server "cdb",
#    as in demo-pair.sh; under commaware they donate) exchanges requests,
#    each side burning 2 ms per request: with no work at all the closed loop
#    floods dom0's netback (a TLB-flush IPI per grant unmap under TCG) and
#    one create/destroy cycle took ~12 s (measured with --work-us 50);
#    its progress is dom0's count of packets on the client's vif, which must
#    grow between checkpoints (one a minute) and after the churn;
#  - every second a background loop sets the commaware pool's global params
#    (commaware-ctl -s, every fourth time xl sched-commaware -s) and one of
#    the pair's per-domain params, capp and cdb in turn (commaware-ctl -d,
#    every fourth time xl sched-commaware -d; xl sched-credit when Pool-0
#    runs credit);
#  - another background loop moves pCPU 1 between Pool-0 and a second
#    cpupool "churn" (scheduler CHURN_POOL_SCHED: credit when Pool-0 runs
#    commaware, commaware otherwise) CHURN_POOL_MOVES (6) times each way.
#
# The cycles run for at least CHURN_CYCLES and until the pair's measured
# run (CHURN_PAIR_SECS, 1600 s: 200 cycles of up to 7.5 s fit) is nearly over; if
# CHURN_CYCLES do not fit, the test fails and says how many did and how
# long each took (it does not shrink silently). Afterwards: Xen up, the pair's client report sane, every
# valid param change accepted, nothing left running, params restored.
# Settings can come from /tests/churn-env.sh (pass it as another "test").
#
# DATA: churn sched=S cycles=N seconds=T per_cycle_ms=M pool_moves=N
#       param_sets=N param_fail=N shutdown_clean=N shutdown_destroyed=N
#       pair_packets=N
# DATA: churn sched=S client JSON | server JSON | xl-sched LINE

CHURN_CYCLES=200
CHURN_PAIR_SECS=1600
CHURN_POOL_MOVES=6
CHURN_POOL_SCHED=""
[ -f /tests/churn-env.sh ] && . /tests/churn-env.sh

S=$(xen_sched)
if [ -z "$CHURN_POOL_SCHED" ]; then
    if [ "$S" = commaware ]; then CHURN_POOL_SCHED=credit; else CHURN_POOL_SCHED=commaware; fi
fi
# The commaware pool whose global params the changer sets.
if [ "$S" = commaware ]; then CW_POOL=Pool-0; else CW_POOL=churn; fi
pass "churn-pool0-$S-second-pool-$CHURN_POOL_SCHED"
if [ "$S" != commaware ] && [ "$CHURN_POOL_SCHED" != commaware ]; then
    fail churn-has-commaware "neither Pool-0 ($S) nor the second pool runs commaware"
    exit 1
fi
if ! command -v commaware-ctl >/dev/null 2>&1; then
    fail churn-ctl-present "commaware-ctl not in dom0 (build/dom0-extra/usr/sbin)"
    exit 1
fi
D() { data "churn sched=$S $*"; }
only_dom0() { [ "$(xl list | tail -n +2 | wc -l)" = 1 ] || { xl list; return 1; }; }

# --- the second cpupool: created with pCPU 1, which the mover takes back and
# forth; it holds no domain, so it may be left empty.
cat >"$CW_DIR/churn-pool.cfg" <<CFG
name = "churn"
sched = "$CHURN_POOL_SCHED"
cpus = [ "1" ]
CFG
step churn-pool0-release-cpu1 xl cpupool-cpu-remove Pool-0 1 || exit 1
step churn-pool-create xl cpupool-create "$CW_DIR/churn-pool.cfg" || exit 1
# Pool-0 gets pCPU 1 back for the pair and the churn; the mover takes it.
step churn-pool-give-back-cpu1 sh -c 'xl cpupool-cpu-remove churn 1 && xl cpupool-cpu-add Pool-0 1' || exit 1
G_ORIG=$(xl sched-commaware -s -p "$CW_POOL" | sed -n 's/^Cpupool [^:]*: //p')
echo "commaware pool $CW_POOL at start: $G_ORIG"

# --- the pair ---------------------------------------------------------------
step churn-pair-server workload_guest cdb 10.0.0.62 server --listen 0.0.0.0:7000 --work-us 2000 \
    --clients 1 --duration "$((CHURN_PAIR_SECS + 600))" --tag churn-db || exit 1
step churn-pair-client workload_guest capp 10.0.0.63 client --connect 10.0.0.62:7000 --work-us 2000 \
    --duration "$CHURN_PAIR_SECS" --connect-timeout 240 --io-timeout 30 --tag churn-app || exit 1
step churn-pair-connected wait_until 300 grep -q 'connection 1 from' "$(guest_log cdb)" || exit 1
T_PAIR=$(now)
# No cycle starts after T_END: one cycle took up to 100 s under TCG (measured),
# and the pair must still be running when the last one ends.
T_END=$(awk -v a="$T_PAIR" -v d="$CHURN_PAIR_SECS" 'BEGIN { printf "%d", a + d - 100 }')
T_PAIR_END=$(awk -v a="$T_PAIR" -v d="$CHURN_PAIR_SECS" 'BEGIN { printf "%d", a + d }')
APP_ID=$(xl domid capp)
pair_packets() { cat "/sys/class/net/vif$APP_ID.0/statistics/rx_packets" 2>/dev/null || echo 0; }
P_PREV=$(pair_packets)
echo "pair connected at ${T_PAIR}s (capp is d$APP_ID, $P_PREV packets so far)"

# --- background: params every second ----------------------------------------
STOP=$CW_DIR/churn.stop
rm -f "$STOP"
changer() {
    n=0 bad=0
    while [ ! -f "$STOP" ]; do
        case $((n % 4)) in
        0) g="-t 30 -r 1000 -m 0 --boost-us 500 --budget 100 --boost on --donation on --attribution on"
           d="-w 256 -c 0 --boost on --donation on" ;;
        1) g="-t 10 -r 500 -m 100 --boost-us 200 --budget 50 --boost on --donation on --attribution off"
           d="-w 512 -c 80 --boost off --donation on" ;;
        2) g="-t 5 -r 0 -m 2000 --boost-us 1000 --budget 100 --boost off --donation off --attribution on"
           d="-w 128 -c 0 --boost on --donation off" ;;
        3) g="-t 100 -r 2000 -m 1000 --boost-us 5000 --budget 20 --boost on --donation on --attribution on"
           d="-w 1024 -c 50 --boost on --donation on" ;;
        esac
        # xl (libxl) every fourth second, commaware-ctl otherwise: under TCG
        # each xl run costs dom0 most of a second of CPU.
        # shellcheck disable=SC2086 # option lists
        if [ $((n % 4)) = 0 ]; then
            xl sched-commaware -s -p "$CW_POOL" $g >>"$CW_DIR/log/churn-changer.log" 2>&1 || { bad=$((bad + 1)); echo "FAILED: xl -s $g" >>"$CW_DIR/log/churn-changer.log"; }
        else
            commaware-ctl -s -p "$CW_POOL" $g >>"$CW_DIR/log/churn-changer.log" 2>&1 || { bad=$((bad + 1)); echo "FAILED: ctl -s $g" >>"$CW_DIR/log/churn-changer.log"; }
        fi
        if [ $((n % 2)) = 0 ]; then dom=capp; else dom=cdb; fi
        if [ "$S" != commaware ]; then
            dw=$(echo "$d" | awk '{ print $1, $2, $3, $4 }')
            xl sched-credit -d "$dom" $dw >>"$CW_DIR/log/churn-changer.log" 2>&1 || { bad=$((bad + 1)); echo "FAILED: xl sched-credit -d $dom $dw" >>"$CW_DIR/log/churn-changer.log"; }
        elif [ $((n % 4)) = 1 ]; then
            xl sched-commaware -d "$dom" $d >>"$CW_DIR/log/churn-changer.log" 2>&1 || { bad=$((bad + 1)); echo "FAILED: xl -d $dom $d" >>"$CW_DIR/log/churn-changer.log"; }
        else
            commaware-ctl -d "$dom" $d >>"$CW_DIR/log/churn-changer.log" 2>&1 || { bad=$((bad + 1)); echo "FAILED: ctl -d $dom $d" >>"$CW_DIR/log/churn-changer.log"; }
        fi
        n=$((n + 1))
        echo "$n $bad" >"$CW_DIR/churn-changer.count"
        sleep 1
    done
}
changer &
CHANGER=$!

# --- background: pCPU 1 between Pool-0 and "churn" ---------------------------
# retry CMD...: cpupool operations may meet a transient EBUSY/EAGAIN.
retry3() { "$@" || { sleep 1; "$@"; } || { sleep 2; "$@"; }; }
mover() {
    m=0 bad=0
    sleep 5
    while [ "$m" -lt "$CHURN_POOL_MOVES" ] && [ ! -f "$STOP" ]; do
        if retry3 xl cpupool-cpu-remove Pool-0 1 >>"$CW_DIR/log/churn-mover.log" 2>&1 &&
            retry3 xl cpupool-cpu-add churn 1 >>"$CW_DIR/log/churn-mover.log" 2>&1; then
            m=$((m + 1))
        else
            bad=$((bad + 1))
            echo "FAILED: move $m to churn" >>"$CW_DIR/log/churn-mover.log"
        fi
        xl cpupool-list >>"$CW_DIR/log/churn-mover.log" 2>&1
        sleep 10
        if retry3 xl cpupool-cpu-remove churn 1 >>"$CW_DIR/log/churn-mover.log" 2>&1 &&
            retry3 xl cpupool-cpu-add Pool-0 1 >>"$CW_DIR/log/churn-mover.log" 2>&1; then
            :
        else
            bad=$((bad + 1))
            echo "FAILED: move $m back to Pool-0" >>"$CW_DIR/log/churn-mover.log"
        fi
        echo "$m $bad" >"$CW_DIR/churn-mover.count"
        sleep 20
    done
}
mover &
MOVER=$!

# --- the churn ----------------------------------------------------------------
churn_cfg() { # NAME I
    cc_i=$2
    cc_w=$(echo "1 128 256 65535 512" | awk -v i="$cc_i" '{ print $(i % 5 + 1) }')
    cc_v=$((cc_i % 3 == 0 ? 2 : 1))
    cc_c=$(echo "0 1 50 100 $((cc_v * 100))" | awk -v i="$cc_i" '{ print $(i % 5 + 1) }')
    cc_vif=""
    [ $((cc_i % 4)) = 3 ] && cc_vif="vif = [ \"bridge=xenbr0,mac=00:16:3e:00:03:$(printf %02x $((cc_i % 200 + 10))),script=vif-commaware\" ]"
    cat >"$CW_DIR/churn-guest.cfg" <<CFG
name = "$1"
type = "pv"
kernel = "$GUEST_KERNEL"
ramdisk = "/boot/guest.cpio.gz"
extra = "console=hvc0 loglevel=4 rdinit=/init cw.role=idle"
memory = 128
vcpus = $cc_v
cpu_weight = $cc_w
cap = $cc_c
comm_boost = $((cc_i % 2))
comm_donation = $((cc_i / 2 % 2))
comm_driver = $((cc_i / 4 % 2))
$cc_vif
on_poweroff = "destroy"
on_crash = "destroy"
CFG
}
gone() { ! xl domid "$1" >/dev/null 2>&1; }
CLOG=$CW_DIR/log/churn-cycles.log
i=0 cfail=0 sd_clean=0 sd_destroyed=0 checkpoints=0 stalls=0 NEXT_CP=60
T0=$(now)
while :; do
    t=$(now)
    t=${t%.*}
    # At least CHURN_CYCLES, and on until the pair's run is nearly over.
    [ "$t" -ge "$T_END" ] && break
    i=$((i + 1))
    n="churn$i"
    churn_cfg "$n" "$i"
    p=""
    [ $((i % 8)) = 2 ] && p="-p"
    # shellcheck disable=SC2086 # -p or nothing
    if ! xl create $p "$CW_DIR/churn-guest.cfg" >"$CW_DIR/churn-create.out" 2>&1; then
        cfail=$((cfail + 1))
        cat "$CW_DIR/churn-create.out" >>"$CLOG"
        [ "$cfail" -le 3 ] && {
            echo "churn: cycle $i: xl create failed:"
            tail -n 5 "$CW_DIR/churn-create.out"
            grep FAILED /var/log/xen/vif-commaware.log 2>/dev/null | tail -n 3
        }
        xl destroy "$n" >>"$CLOG" 2>&1
        made=""
    else
        made=1
    fi
    # 0, 2 (paused), 3 (vif), 6: destroyed at once; 1: after 1 s; 4: 2 s;
    # 7: 3 s (every other time 1 s); 5: xl shutdown after 1 s.
    [ -n "$made" ] && case $((i % 8)) in
    0 | 2 | 3 | 6) ;;
    1) sleep 1 ;;
    4) sleep 2 ;;
    7) if [ $((i % 16)) = 7 ]; then sleep 3; else sleep 1; fi ;;
    5)
        sleep 1
        xl shutdown "$n" >>"$CLOG" 2>&1
        if wait_until 3 gone "$n"; then sd_clean=$((sd_clean + 1)); else sd_destroyed=$((sd_destroyed + 1)); fi
        ;;
    esac
    [ -z "$made" ] || gone "$n" || xl destroy "$n" >>"$CLOG" 2>&1 ||
        { cfail=$((cfail + 1)); echo "churn: cycle $i: xl destroy $n failed"; }
    # A checkpoint each minute: the pair's packets must have grown.
    el=$(awk -v a="$T0" -v b="$(now)" 'BEGIN { printf "%d", b - a }')
    if [ "$el" -ge "$NEXT_CP" ]; then
        pk=$(pair_packets)
        echo "churn: $i cycles in ${el}s, pair packets $P_PREV -> $pk, changer $(cat "$CW_DIR/churn-changer.count" 2>/dev/null), mover $(cat "$CW_DIR/churn-mover.count" 2>/dev/null), failures $cfail"
        checkpoints=$((checkpoints + 1))
        [ "$pk" -gt "$P_PREV" ] || stalls=$((stalls + 1))
        P_PREV=$pk
        NEXT_CP=$((el + 60))
    fi
done
T1=$(now)
CH_SECS=$(awk -v a="$T0" -v b="$T1" 'BEGIN { printf "%.0f", b - a }')
PER_MS=$(awk -v a="$T0" -v b="$T1" -v n="$i" 'BEGIN { printf "%.0f", n ? (b - a) * 1000 / n : 0 }')
echo "churn: $i cycles in ${CH_SECS}s (${PER_MS} ms/cycle), $cfail failed, shutdowns: $sd_clean clean, $sd_destroyed destroyed after"
PK_END=$(pair_packets)
# The last checkpoint, unless one was just taken.
el=$(awk -v a="$T0" -v b="$(now)" 'BEGIN { printf "%d", b - a }')
if [ "$el" -ge $((NEXT_CP - 45)) ]; then
    checkpoints=$((checkpoints + 1))
    [ "$PK_END" -gt "$P_PREV" ] || stalls=$((stalls + 1))
fi
sleep 3
PK_LATE=$(pair_packets)
T_LATE=$(now)
T_LATE=${T_LATE%.*}

touch "$STOP"
wait "$CHANGER"
wait "$MOVER"
read -r sets sets_bad <"$CW_DIR/churn-changer.count"
read -r moves moves_bad <"$CW_DIR/churn-mover.count"
grep FAILED "$CW_DIR/log/churn-changer.log" | head -n 5
grep -E 'FAILED|rror' "$CW_DIR/log/churn-mover.log" | head -n 5
D "cycles=$i seconds=$CH_SECS per_cycle_ms=$PER_MS create_destroy_fail=$cfail pool_moves=$moves pool_move_fail=$moves_bad param_sets=$sets param_fail=$sets_bad shutdown_clean=$sd_clean shutdown_destroyed=$sd_destroyed checkpoints=$checkpoints pair_packets=$PK_END"

if [ "$i" -ge "$CHURN_CYCLES" ]; then
    pass "churn-cycles-$i"
else
    fail churn-cycles "only $i of $CHURN_CYCLES cycles in ${CH_SECS}s (${PER_MS} ms/cycle; the pair's run is CHURN_PAIR_SECS=$CHURN_PAIR_SECS)"
fi
step churn-no-create-destroy-failure test "$cfail" = 0
step churn-pair-progress-every-checkpoint sh -c "echo 'checkpoints $checkpoints, stalls $stalls'; [ $checkpoints -gt 0 ] && [ $stalls = 0 ]"
step churn-param-sets-all-accepted sh -c "echo 'sets $sets, failed $sets_bad'; [ ${sets:-0} -gt 0 ] && [ ${sets_bad:-1} = 0 ]"
step churn-pool-moves sh -c "echo 'moves $moves, failed $moves_bad'; [ ${moves:-0} -ge 2 ] && [ ${moves_bad:-1} = 0 ]"
step churn-xen-alive xl info
step churn-cpu1-back-in-pool0 sh -c "xl cpupool-list -c | grep '^Pool-0' | grep -Eq '0,1|0-1'"

# --- the pair: still talking after the churn, then its reports ---------------
still_exchanging() {
    echo "packets $PK_END -> $PK_LATE (at ${T_LATE}s; the pair's run ends at ${T_PAIR_END}s)"
    [ "$T_LATE" -lt "$T_PAIR_END" ] || { echo "the churn overran the pair's run (CHURN_PAIR_SECS=$CHURN_PAIR_SECS)"; return 1; }
    [ "$PK_LATE" -gt "$PK_END" ]
}
step churn-pair-still-exchanging still_exchanging
json() { tr -d '\r' <"$(guest_log "$1")" | grep '^{.*}$' | grep -F "\"tag\":\"$2\"" | tail -n 1; }
step churn-client-report wait_until "$((CHURN_PAIR_SECS + 120))" sh -c "tr -d '\r' <$(guest_log capp) | grep -q 'GUEST-WORKLOAD-\(DONE\|FAIL\)'"
tr -d '\r' <"$(guest_log capp)" | grep 'GUEST-WORKLOAD' | tail -n 2
CJ=$(json capp churn-app)
D "client $CJ"
jnum() { echo "$1" | sed -n "s/.*\"$2\":\([0-9.eE+-]*\).*/\1/p" | head -n 1; }
REQS=$(jnum "$CJ" requests)
CDUR=$(jnum "$CJ" duration_s)
client_sane() {
    echo "client: requests=$REQS duration_s=$CDUR (asked $CHURN_PAIR_SECS)"
    tr -d '\r' <"$(guest_log capp)" | grep -q GUEST-WORKLOAD-DONE || return 1
    [ -n "$REQS" ] && [ "$REQS" -gt 1000 ] || return 1
    awk -v d="${CDUR:-0}" -v want="$CHURN_PAIR_SECS" 'BEGIN { exit !(d >= want * 0.95 && d < want + 60) }'
}
step churn-client-json-sane client_sane
step churn-server-report wait_until 60 sh -c "tr -d '\r' <$(guest_log cdb) | grep -q 'GUEST-WORKLOAD-\(DONE\|FAIL\)'"
SJ=$(json cdb churn-db)
D "server $SJ"
SREQS=$(jnum "$SJ" requests)
server_sane() {
    echo "server requests=$SREQS client requests=$REQS; $SJ" | cut -c 1-300
    [ -n "$SREQS" ] && [ -n "$REQS" ] && [ "$SREQS" -ge "$REQS" ] || return 1
    echo "$SJ" | grep -q '"errors":\[\]'
}
step churn-server-json-sane server_sane
if [ "$S" = commaware ]; then
    xl sched-commaware -d capp 2>/dev/null | while IFS= read -r l; do D "xl-sched $l"; done
    xl sched-commaware -d cdb 2>/dev/null | tail -n 1 | while IFS= read -r l; do D "xl-sched $l"; done
fi

# --- clean up -------------------------------------------------------------------
restore_global() {
    xl sched-commaware -s -p "$CW_POOL" -t "$(gf tslice)" -r "$(gf ratelimit)" -m "$(gf migration-delay)" \
        --boost-us "$(gf boost-len)" --budget "$(gf boost-budget)" --boost "$(gf boost)" \
        --donation "$(gf donation)" --attribution "$(gf attribution)"
}
gf() { echo "$G_ORIG" | tr ' ' '\n' | sed -n "s/^$1=//p" | sed -E 's/(ms|us|%)$//'; }
step churn-restore-global restore_global
step churn-global-restored sh -c "[ \"\$(xl sched-commaware -s -p $CW_POOL | sed -n 's/^Cpupool [^:]*: //p')\" = '$G_ORIG' ]"
step churn-destroy-pair sh -c 'xl destroy capp; xl destroy cdb'
for d in $(xl list | awk 'NR > 2 && $1 ~ /^churn/ { print $1 }'); do xl destroy "$d"; done
step churn-pool-destroy xl cpupool-destroy churn
step churn-only-dom0-left wait_until 30 only_dom0
