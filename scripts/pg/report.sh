#!/bin/sh
# Table of the pgbench results in DATA files (build/results/pg/data-<sched>.txt,
# written by make pg-test from tests/pgbench.sh's DATA lines).
#
#   scripts/pg/report.sh FILE [FILE...]
#
# One row per scheduler, run (alone / hogs) and benchmark (select / tpcb):
# tps, average latency and its stddev, transactions, and for the hogs run
# the within-boot ratios to the same boot's run alone (tps hogs/alone,
# latency hogs/alone: TCG's speed differs between boots, the ratio less);
# then the hogs' rates (cw-workload iterations/s over the pgbench window).
[ $# -ge 1 ] || { echo "usage: $0 DATA-FILE..." >&2; exit 2; }
for f in "$@"; do [ -f "$f" ] || { echo "error: no data file $f" >&2; exit 1; }; done
cat "$@" | awk '
    function kv(k,   i) { for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) return substr($i, length(k) + 2); return "" }
    $1 != "pgbench" { next }
    $4 ~ /^bench=/ && $5 ~ /^clients=/ {
        k = kv("sched") " " kv("bench")
        if (kv("run") == "alone") { tps0[k] = kv("tps"); lat0[k] = kv("lat_avg_ms") }
        r = ""
        if (kv("run") != "alone" && tps0[k] > 0 && lat0[k] > 0)
            r = sprintf("%8.2f %8.2f", kv("tps") / tps0[k], kv("lat_avg_ms") / lat0[k])
        row[++n] = sprintf("%-10s %-6s %-7s %3s %10.2f %10.3f %10.3f %7s %s",
            kv("sched"), kv("run"), kv("bench"), kv("clients"), kv("tps"), kv("lat_avg_ms"), kv("lat_stddev_ms"), kv("txns"), r)
    }
    $4 == "hog" { h[++nh] = sprintf("%-10s %-6s %s %s", kv("sched"), kv("run"), $5, $6) }
    END {
        if (n == 0) { print "no pgbench result lines" > "/dev/stderr"; exit 1 }
        printf "%-10s %-6s %-7s %3s %10s %10s %10s %7s %8s %8s\n", "sched", "run", "bench", "c", "tps", "lat_ms", "stddev_ms", "txns", "tps/alo", "lat/alo"
        for (i = 1; i <= n; i++) print row[i]
        if (nh) { print ""; print "hogs (iters_per_s over the pgbench window):"; for (i = 1; i <= nh; i++) print "  " h[i] }
    }'
