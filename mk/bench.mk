# make demo: the README's main command.  Builds patched Xen (Debian's
# source + xen-patches/), boots it under QEMU TCG once with sched=credit and
# once with sched=commaware, runs the TCP pair and the vchan pair alone and
# next to CPU hogs, runs commaware-sim on the same setups, and prints the
# comparison; results in build/results/demo/.
# make bench: the same with BENCH_REPEATS boots per scheduler (3) and
# PostgreSQL/pgbench; results in build/results/bench/.
# Everything is in scripts/bench.sh (variables documented there).

.PHONY: demo bench demo-report bench-report
demo:
	scripts/bench.sh demo

bench:
	scripts/bench.sh bench

# Re-print the last report (no boots).
demo-report:
	python3 scripts/bench-report.py build/results/demo

bench-report:
	python3 scripts/bench-report.py build/results/bench
