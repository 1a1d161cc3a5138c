# pgbench: a real database pair (issue 5).  PostgreSQL 15 (Debian's package)
# in one PV guest, pgbench in another, both from build/pg/pg.img (make
# pg-image) given to QEMU twice (boot.sh BOOT_DISKS, snapshot=on): dom0's
# /dev/vda is the server's xvda, /dev/vdb the client's, exported by blkback
# (hotplug script block-commaware).  Both guests run the guest role "chroot"
# (scripts/xen/guest-init) with /usr/local/sbin/cw-pg (scripts/pg/cw-pg).
#
# Runs: "alone" (server + client only), then "hogs" (PG_HOGS CPU-hog guests,
# cw-workload hog, competing for the same 2 pCPUs).  Each run is a fresh
# client guest that runs pgbench select-only (-S) and then TPC-B-like (the
# default script), PG_DURATION seconds each, PG_CLIENTS connections; the
# server guest stays up for the whole test.
#
# Settings (defaults below) come from /tests/pgbench-env.sh when present
# (pass it as a further "test" to boot.sh):
#   PG_DURATION  seconds per pgbench run        PG_CLIENTS  pgbench -c
#   PG_HOGS      hog guests in the "hogs" run   PG_SERVER_MEM / PG_CLIENT_MEM  MiB
#   PG_SERVER_DISK / PG_CLIENT_DISK  dom0 block devices (/dev/vda, /dev/vdb)
#
# DATA lines ("pgbench" first; key=value, one record per line):
#   pgbench sched=S run=R bench=B clients=C duration_s=D tps=X lat_avg_ms=Y
#       lat_stddev_ms=Z txns=N failed=F conn_ms=W     (pgbench's own numbers)
#   pgbench sched=S run=R bench=B stmt lat_ms=L sql=...  (pgbench -r, per statement)
#   pgbench sched=S run=R hog NAME JSON   (cw-workload hog rate over the client's pgbench runs)
#   pgbench sched=S run=R xl-sched LINE   (`xl sched-commaware` / `xl sched-credit` after the run)

PG_DURATION=20
PG_CLIENTS=1
PG_HOGS=2
PG_SERVER_MEM=256
PG_CLIENT_MEM=128
PG_SERVER_DISK=/dev/vda
PG_CLIENT_DISK=/dev/vdb
[ -f /tests/pgbench-env.sh ] && . /tests/pgbench-env.sh

S=$(xen_sched)
pass "pgbench-scheduler-$S"
PD() { data "pgbench sched=$S $*"; sleep 0.2; } # paced: the serial line is shared
PG_DB_IP=10.0.0.2

# pg_guest NAME IP MEM DISK ARGS: a PV guest running cw-pg ARGS (commas) in
# the ext4 root on DISK.
pg_guest() {
    pg_mac=$(printf '00:16:3e:00:02:%02x' "${2##*.}")
    cat >"$CW_DIR/$1.cfg" <<CFG
name = "$1"
type = "pv"
kernel = "$GUEST_KERNEL"
ramdisk = "/boot/guest.cpio.gz"
extra = "console=hvc0 loglevel=4 rdinit=/init cw.ip=$2 cw.role=chroot cw.root=/dev/xvda cw.run=/usr/local/sbin/cw-pg cw.args=$5"
memory = $3
vcpus = 1
vif = [ "bridge=xenbr0,mac=$pg_mac,script=vif-commaware" ]
disk = [ "format=raw, vdev=xvda, access=rw, backendtype=phy, script=block-commaware, target=$4" ]
on_poweroff = "destroy"
on_crash = "destroy"
CFG
    xl create "$CW_DIR/$1.cfg"
}

clog() { tr -d '\r' <"$(guest_log "$1")"; }
hog_intervals() { clog "$1" | grep -cF '"event":"interval"'; }
# hog_window NAME FROM TO: mean/min/max iters_per_s of interval records FROM+1..TO.
hog_window() {
    clog "$1" | grep -F '"event":"interval"' |
        sed -n 's/.*"iters_per_s":\([0-9.eE+-]*\).*"cpu_share_est":\([0-9.eE+-]*\).*/\1 \2/p' |
        awk -v a="$2" -v b="$3" -v n="$1" '
            NR > a && NR <= b { k++; s += $1; c += $2; if (k == 1 || $1 < mn) mn = $1; if ($1 > mx) mx = $1 }
            END { printf "{\"hog\":\"%s\",\"intervals\":%d,\"iters_per_s\":%.1f,\"min\":%.1f,\"max\":%.1f,\"cpu_share_est\":%.4f}\n",
                      n, k, (k ? s / k : 0), mn, mx, (k ? c / k : 0) }'
}

counters() { # RUN
    if [ "$S" = commaware ] && xl help 2>&1 | grep -q 'sched-commaware'; then
        xl sched-commaware 2>/dev/null | while IFS= read -r l; do PD "run=$1 xl-sched $l"; done
    elif [ "$S" = credit ]; then
        xl sched-credit 2>/dev/null | while IFS= read -r l; do PD "run=$1 xl-sched $l"; done
    fi
}

# bench_out GUEST NAME: pgbench's output lines of run NAME.
bench_out() { clog "$1" | sed -n "s/^CW-PGBENCH $2 | //p"; }
# field GUEST NAME REGEX: the first number after REGEX in that output.
field() { bench_out "$1" "$2" | sed -n "s/^$3 *\([0-9.]*\).*/\1/p" | head -n 1; }

# report RUN GUEST BENCH NAME: checks and DATA lines for one pgbench run.
report() {
    rp_run=$1 rp_g=$2 rp_b=$3 rp_n=$4
    rp_rc=$(clog "$rp_g" | sed -n "s/^CW-PGBENCH-END $rp_n rc=\([0-9]*\).*/\1/p" | tail -n 1)
    rp_tps=$(field "$rp_g" "$rp_n" 'tps =')
    rp_lat=$(field "$rp_g" "$rp_n" 'latency average =')
    rp_sd=$(field "$rp_g" "$rp_n" 'latency stddev =')
    rp_tx=$(field "$rp_g" "$rp_n" 'number of transactions actually processed:')
    rp_fail=$(field "$rp_g" "$rp_n" 'number of failed transactions:')
    rp_conn=$(field "$rp_g" "$rp_n" 'initial connection time =')
    echo "pgbench output, run $rp_run, $rp_n:"
    bench_out "$rp_g" "$rp_n" | sed 's/^/  | /'
    if [ "$rp_rc" = 0 ] && [ -n "$rp_tps" ] && [ -n "$rp_lat" ] && [ "${rp_tx:-0}" -gt 0 ] && [ "${rp_fail:-0}" = 0 ]; then
        pass "pgbench-$rp_run-$rp_b-ok"
    else
        fail "pgbench-$rp_run-$rp_b-ok" "rc=${rp_rc:-none} tps=${rp_tps:-none} latency=${rp_lat:-none} txns=${rp_tx:-none} failed=${rp_fail:-none}"
    fi
    PD "run=$rp_run bench=$rp_b clients=$PG_CLIENTS duration_s=$PG_DURATION tps=${rp_tps:-NA} lat_avg_ms=${rp_lat:-NA} lat_stddev_ms=${rp_sd:-NA} txns=${rp_tx:-NA} failed=${rp_fail:-NA} conn_ms=${rp_conn:-NA}"
    # pgbench -r: "   0.123           0  SELECT ..." (latency ms, failures, statement)
    bench_out "$rp_g" "$rp_n" | awk '/^ +[0-9.]+ +[0-9]+ +[A-Za-z\\]/ { l = $1; $1 = ""; $2 = ""; sub(/^ +/, ""); print l " " $0 }' |
        while read -r rp_l rp_sql; do PD "run=$rp_run bench=$rp_b stmt lat_ms=$rp_l sql=$rp_sql"; done
}

destroy_all_but_db() {
    for pg_d in $(xl list | awk 'NR > 2 { print $1 }'); do [ "$pg_d" = pgdb ] || xl destroy "$pg_d"; done
    wait_until 30 sh -c '[ "$(xl list | awk "NR > 2" | grep -vc "^pgdb ")" = 0 ]'
}

# run_bench RUN HOGS: one client guest, select-only then TPC-B-like.
run_bench() {
    rb_run=$1 rb_hogs=$2 rb_c="pgc-$1"
    i=1
    while [ "$i" -le "$rb_hogs" ]; do
        step "pgbench-$rb_run-hog$i-create" workload_guest "hog$i-$rb_run" "10.0.0.$((20 + i))" hog --duration 3600 --report-every 1 --tag "pg-hog$i-$rb_run" || return 1
        i=$((i + 1))
    done
    i=1
    while [ "$i" -le "$rb_hogs" ]; do
        step "pgbench-$rb_run-hog$i-burning" wait_until 300 sh -c "[ \$(tr -d '\r' <$(guest_log "hog$i-$rb_run") | grep -cF '\"event\":\"interval\"') -gt 0 ]" || {
            clog "hog$i-$rb_run" | tail -n 10
            return 1
        }
        i=$((i + 1))
    done
    step "pgbench-$rb_run-client-create" pg_guest "$rb_c" 10.0.0.3 "$PG_CLIENT_MEM" "$PG_CLIENT_DISK" \
        "client,$PG_DB_IP,$PG_CLIENTS,select-$rb_run:select:$PG_DURATION,tpcb-$rb_run:tpcb:$PG_DURATION" || return 1
    step "pgbench-$rb_run-client-connected" wait_guest "$rb_c" 'CW-PGBENCH-SERVER-UP' 400 || {
        clog "$rb_c" | tail -n 20
        return 1
    }
    rb_t0=$(now)
    rb_n1=""
    i=1
    while [ "$i" -le "$rb_hogs" ]; do rb_n1="$rb_n1 $(hog_intervals "hog$i-$rb_run")"; i=$((i + 1)); done
    sleep $((2 * PG_DURATION))
    step "pgbench-$rb_run-client-done" wait_until 300 grep -qE 'CW-PGBENCH-(DONE|FAIL)' "$(guest_log "$rb_c")" || {
        clog "$rb_c" | tail -n 20
        return 1
    }
    rb_t1=$(now)
    rb_n2=""
    i=1
    while [ "$i" -le "$rb_hogs" ]; do rb_n2="$rb_n2 $(hog_intervals "hog$i-$rb_run")"; i=$((i + 1)); done
    counters "$rb_run"
    report "$rb_run" "$rb_c" select "select-$rb_run"
    report "$rb_run" "$rb_c" tpcb "tpcb-$rb_run"
    PD "run=$rb_run window {\"hogs\":$rb_hogs,\"t_start\":$rb_t0,\"t_end\":$rb_t1}"
    i=1
    while [ "$i" -le "$rb_hogs" ]; do
        rb_a=$(echo $rb_n1 | cut -d' ' -f$i)
        rb_b=$(echo $rb_n2 | cut -d' ' -f$i)
        if [ "$rb_b" -gt "$rb_a" ]; then
            pass "pgbench-$rb_run-hog$i-burned-during-window"
        else
            fail "pgbench-$rb_run-hog$i-burned-during-window" "no interval record from hog$i during the pgbench runs"
        fi
        PD "run=$rb_run hog hog$i $(hog_window "hog$i-$rb_run" "$rb_a" "$rb_b")"
        i=$((i + 1))
    done
    destroy_all_but_db
    pass "pgbench-$rb_run-done"
}

step pgbench-disks sh -c "[ -b $PG_SERVER_DISK ] && [ -b $PG_CLIENT_DISK ] || { echo 'no $PG_SERVER_DISK / $PG_CLIENT_DISK: boot with BOOT_DISKS=\"build/pg/pg.img build/pg/pg.img\" (make pg-test)'; exit 1; }" || exit 1
step pgbench-server-create pg_guest pgdb "$PG_DB_IP" "$PG_SERVER_MEM" "$PG_SERVER_DISK" "server,$PG_DB_IP" || exit 1
if ! step pgbench-server-ready wait_until 400 grep -qE 'CW-PG-(READY|FAIL)|GUEST-CHROOT-FAIL' "$(guest_log pgdb)" ||
    ! step pgbench-server-listening grep -q CW-PG-READY "$(guest_log pgdb)"; then
    clog pgdb | tail -n 30
    cat /var/log/xen/block-commaware.log 2>/dev/null | tail -n 5
    xl destroy pgdb
    exit 1
fi
run_bench alone 0 || fail pgbench-alone "the run without hogs did not complete"
destroy_all_but_db
run_bench hogs "$PG_HOGS" || fail pgbench-hogs "the run with $PG_HOGS hogs did not complete"
destroy_all_but_db
step pgbench-server-still-up xl list pgdb
if clog pgdb | grep -q 'CW-PG-EXIT'; then fail pgbench-server-exited "postgres exited during the test: $(clog pgdb | grep CW-PG-EXIT)"; fi
xl destroy pgdb
step pgbench-only-dom0-left wait_until 30 sh -c '[ "$(xl list | tail -n +2 | wc -l)" = 1 ]'
