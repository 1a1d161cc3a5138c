#!/bin/bash
# xl-cases.sh [TREE]: `xl sched-commaware` (xen-patches 0013-0016) against a
# fake Xen (fakexen.c, LD_PRELOAD) and a fake xenstored: no hypervisor, no
# root.  Pool-0 (commaware) has Domain-0 (2 vCPUs), g1 (1), g2 (2); cpupool
# "crp" (credit) has crguest.  Checks settings, read-back, listings, bad
# input (an error and no change), the xl.cfg keys (xl -N create) and the
# creation path (libxl_domain_sched_params_set with sched UNKNOWN).
set -u
. "$(dirname "$0")/common.sh"
WORK=$(mktemp -d)
trap 'kill $XSPID 2>/dev/null; rm -rf "$WORK"' EXIT
python3 "$HERE/fake_xenstored.py" "$WORK/xs.sock" &
XSPID=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -S "$WORK/xs.sock" ] && break; sleep 0.2; done
export XENSTORED_PATH=$WORK/xs.sock FAKE_XEN_STATE=$WORK/state
NFAIL=0 NOK=0
bad_result() { echo "FAIL: $*"; NFAIL=$((NFAIL + 1)); }
good_result() { NOK=$((NOK + 1)); }
x() { fxl sched-commaware "$@"; }
# Parameters only: the fake's counters move with every read.
snap() { x | awk '/^Cpupool/ { print; next } { print $1, $2, $3, $4, $5, $6, $7 }'; x -s; }
ok() { # WANT-SUBSTRING ARGS...: succeeds, and `x -s` + listing contain WANT
    local want=$1 out
    shift
    if ! x "$@" >"$WORK/out" 2>&1; then bad_result "refused: $*: $(nomsg <"$WORK/out")"; return; fi
    out=$(x 2>&1; x -s 2>&1)
    case "$out" in *"$want"*) good_result ;; *) bad_result "after $*: no '$want' in: $out" ;; esac
}
bad() { # ARGS...: fails with a message, nothing changes
    local before after
    before=$(snap 2>&1)
    if x "$@" >"$WORK/out" 2>"$WORK/err"; then bad_result "accepted: $*"; return; fi
    nomsg <"$WORK/err" | grep -q . || { bad_result "no message: $*"; return; }
    after=$(snap 2>&1)
    [ "$before" = "$after" ] || { bad_result "changed by: $*"; diff <(echo "$before") <(echo "$after"); return; }
    echo "refused as expected: $* -> $(nomsg <"$WORK/err" | head -n 2 | tr '\n' ' ')"
    good_result
}
row() { echo "$1 *$2 *$3 *$4 *$5 *$6 *$7"; }

ok "tslice=20ms ratelimit=2000us migration-delay=500us boost=off boost-len=800us boost-budget=50% donation=off attribution=off" \
    -s -t 20 -r 2000 -m 500 --boost-us 800 --budget 50 --boost off --donation off --attribution off
ok "tslice=20ms ratelimit=2000us migration-delay=500us boost=on boost-len=800us boost-budget=50% donation=on attribution=off" \
    -s -b on --donation on
ok "tslice=30ms ratelimit=1000us migration-delay=0us boost=on boost-len=500us boost-budget=100% donation=on attribution=on" \
    -s -p Pool-0 -t 30 -r 1000 -m 0 --boost-us 500 --budget 100 --attribution on
ok "g1                                   1    512   50   off      off    yes" -d g1 -w 512 -c 50 -b off --donation off --driver on
ok "g1                                   1    700   50    on      off    yes" -d 1 -w 700 --boost on
ok "g2                                   2    256  200    on       on     no" -d g2 -c 200
ok "Domain-0                             0    256    0    on       on    yes" -d Domain-0 --driver on
for a in "-s -t 0" "-s -t 1001" "-s -t -5" "-s -t 12abc" "-s -t ''" "-s -r 50" "-s -r 600000" \
    "-s -t 1 -r 2000" "-s -m 100001" "-s --boost-us 49" "-s --boost-us 10001" "-s -t 1 -r 0 --boost-us 2000" \
    "-s --budget 101" "-s --budget -1" "-s --boost maybe" "-s --attribution 1" "-s -t 20 --boost-us 50000" \
    "-s -p crp" "-s -p crp -t 10" "-s -p nosuchpool -t 10" "-p crp" "-s --driver on" "-s -d 1" "-t 10" \
    "--boost on" "-w 300" "-d g1 -w 0" "-d g1 -w 65536" "-d g1 -w -3" "-d g1 -w 0x100" "-d g1 -w 3x0" \
    "-d g1 -c 101" "-d g2 -c 201" "-d g1 -c -1" "-d g1 -w 300 -c 500" "-d g1 -w 300 --boost bogus" \
    "-d nosuchdomain -w 300" "-d 42 -w 300" "-d crguest -w 300" "-d crguest" "-d g1 -p Pool-0 -w 300" \
    "-d g1 -t 10" "-d g1 --attribution on" "-d g1 -w 300 extra"; do
    eval "bad $a"
done
# -s without -p: cpupool 0 when it runs commaware, else the one commaware pool.
export FAKE_XEN_STATE=$WORK/state2 FAKE_POOL0_SCHED=5 FAKE_POOL1_SCHED=10
ok "Cpupool crp: tslice=40ms" -s -t 40
bad -d g1 -w 300
export FAKE_XEN_STATE=$WORK/state3 FAKE_POOL0_SCHED=5 FAKE_POOL1_SCHED=5
bad -s
bad
unset FAKE_POOL0_SCHED FAKE_POOL1_SCHED
export FAKE_XEN_STATE=$WORK/state

# xl.cfg keys reach libxl_domain_sched_params.
cat >"$WORK/g.cfg" <<CFG
name = "gx"
type = "pv"
kernel = "/boot/vmlinuz"
memory = 128
cpu_weight = 512
cap = 90
comm_donation = 0
comm_driver = 1
CFG
j=$(fxl -N create "$WORK/g.cfg" 2>&1 | tr -d ' \n')
case "$j" in
*'"sched_params":{"weight":512,"cap":90,"comm_donation":"False","comm_driver":"True"}'*) good_result ;;
*) bad_result "xl -N create: sched_params not as in the config" ;;
esac
# The creation path: libxl_domain_sched_params_set with sched UNKNOWN.
gcc -Wall -o "$WORK/create_path" "$HERE/create_path.c" -I"$TREE/tools/include" -L"$L/light" -L"$L/toollog" \
    -lxenlight -lxentoollog -Wl,-rpath-link="$(echo "$LD_LIBRARY_PATH" | tr : ,)" 2>/dev/null ||
    gcc -Wall -o "$WORK/create_path" "$HERE/create_path.c" -I"$TREE/tools/include" -L"$L/light" -L"$L/toollog" \
        -lxenlight -lxentoollog $(for d in ${LD_LIBRARY_PATH//:/ }; do printf -- '-Wl,-rpath-link=%s ' "$d"; done)
r=$(FAKE_XEN_STATE=$WORK/state4 FAKE_XEN_LOG=1 LD_PRELOAD=$OUT/fakexen.so "$WORK/create_path" 2>&1)
case "$r" in
*"sched=commaware weight=512 cap=90 boost=1 donation=0 driver=1"*) good_result ;;
*) bad_result "creation path: $r" ;;
esac
[ "$(echo "$r" | grep -c 'domctl putinfo')" = 1 ] && good_result || bad_result "creation path: want exactly one putinfo (none when nothing is given): $r"
fxl sched-commaware --help >/dev/null && good_result || bad_result "--help"

echo "xl-cases: $NOK passed, $NFAIL failed"
[ "$NFAIL" = 0 ]
