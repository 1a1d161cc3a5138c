#!/bin/sh
# Table of the pgbench results in DATA files (build/results/pg/data-<sched>.txt,
# written by make pg-test from tests/pgbench.sh's DATA lines).
#
#   scripts/pg/report.sh FILE [FILE...]
#
# One row per scheduler, run (alone / hogs) and benchmark (select / tpcb):
# tps, average latency and its stddev, transactions; then the hogs' rates
# (cw-workload iterations/s over the client's pgbench window).
[ $# -ge 1 ] || { echo "usage: $0 DATA-FILE..." >&2; exit 2; }
for f in "$@"; do [ -f "$f" ] || { echo "error: no data file $f" >&2; exit 1; }; done
cat "$@" | awk '
    function kv(k,   i) { for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) return substr($i, length(k) + 2); return "" }
    $1 != "pgbench" { next }
    $4 ~ /^bench=/ && $5 ~ /^clients=/ {
        n++
        printf "%s%-10s %-6s %-7s %3s %10s %12s %14s %8s\n", (n == 1 ? sprintf("%-10s %-6s %-7s %3s %10s %12s %14s %8s\n", "sched", "run", "bench", "c", "tps", "lat_avg_ms", "lat_stddev_ms", "txns") : ""),
            kv("sched"), kv("run"), kv("bench"), kv("clients"), kv("tps"), kv("lat_avg_ms"), kv("lat_stddev_ms"), kv("txns")
    }
    $4 == "hog" { h[++nh] = sprintf("%-10s %-6s %s %s", kv("sched"), kv("run"), $5, $6) }
    END {
        if (n == 0) { print "no pgbench result lines" > "/dev/stderr"; exit 1 }
        if (nh) { print ""; print "hogs (iters_per_s over the pgbench window):"; for (i = 1; i <= nh; i++) print "  " h[i] }
    }'
