# make demo: build patched Xen, boot it under QEMU TCG twice (sched=credit,
# then sched=commaware) running the app/db pair with CPU hogs
# (scripts/xen/tests/demo-pair.sh), run commaware-sim on the same setup
# (scenarios/demo-tcg.toml) and print the comparison; results in
# build/results/demo/.  Everything is in scripts/demo.sh.
#
# Variables (environment or make): DEMO_DURATION (25), DEMO_REF_DURATION
# (15; 0 skips the no-hog reference), DEMO_WARMUP (5), DEMO_HOGS (2),
# DEMO_APP_WORK_US (100), DEMO_DB_WORK_US (200), DEMO_IPU, DEMO_SKIP_BUILD.

.PHONY: demo demo-report
demo:
	scripts/demo.sh

# Re-print the last demo's report from build/results/demo (no boots).
demo-report:
	python3 scripts/demo-report.py build/results/demo
