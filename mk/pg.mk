# PostgreSQL pair under the patched Xen (issue 5): PostgreSQL 15 (Debian's
# package) in one PV guest, pgbench in another, with and without CPU hogs.
#
#   make pg-image     build/pg/pg.img: debootstrap bookworm (minbase) +
#                     postgresql, cluster 15/main with a pgbench database
#                     (scale $(PG_SCALE)), ext4 (scripts/pg/build-image.sh)
#   make pg-test      one boot under sched=$(BOOT_SCHED): tests/pgbench.sh
#                     + tests/dmesg-clean.sh, the image given twice
#                     (BOOT_DISKS, snapshot=on); DATA lines copied to
#                     build/results/pg/data-<sched>.txt, host load and
#                     running QEMUs when queued (boot.sh may wait for the
#                     boot lock) and after the boot in host-<sched>.txt
#   make pg-bench     pg-test under credit, then under commaware, and the
#                     table (scripts/pg/report.sh)
#
# Variables: PG_SCALE (2), PG_DURATION (20 s per pgbench run), PG_CLIENTS (1),
# PG_HOGS (2), PG_TIMEOUT (1500 s per boot), BOOT_SCHED, XEN_FLAVOUR.

PG_SCALE ?= 2
PG_DURATION ?= 20
PG_CLIENTS ?= 1
PG_HOGS ?= 2
PG_TIMEOUT ?= 1500
PG_IMG := build/pg/pg.img

.PHONY: pg-image pg-test pg-bench pg-report

pg-image:
	PG_SCALE=$(PG_SCALE) scripts/pg/build-image.sh

# cw-workload (the hog guests) is built when missing.
pg-test: xen pg-image
	@[ -x build/workload/cw-workload ] || scripts/build-workload.sh
	@mkdir -p build/results/pg
	@printf 'PG_DURATION=%s\nPG_CLIENTS=%s\nPG_HOGS=%s\n' '$(PG_DURATION)' '$(PG_CLIENTS)' '$(PG_HOGS)' \
		>build/results/pg/pgbench-env.sh
	@echo "queued $$(date -u +%FT%TZ) loadavg $$(cat /proc/loadavg) qemu-processes $$(pgrep -c qemu-system || true)" \
		>build/results/pg/host-$(BOOT_SCHED).txt
	BOOT_DISKS="$(PG_IMG) $(PG_IMG)" $(XEN_SCRIPTS)/boot.sh -s $(BOOT_SCHED) -t $(PG_TIMEOUT) \
		$(if $(BOOT_XEN_ARGS),-x "$(BOOT_XEN_ARGS)") \
		scripts/xen/tests/pgbench.sh build/results/pg/pgbench-env.sh scripts/xen/tests/dmesg-clean.sh
	@echo "after  $$(date -u +%FT%TZ) loadavg $$(cat /proc/loadavg) qemu-processes $$(pgrep -c qemu-system || true)" \
		>>build/results/pg/host-$(BOOT_SCHED).txt
	cp build/logs/data-last.txt build/results/pg/data-$(BOOT_SCHED).txt
	@cat build/results/pg/host-$(BOOT_SCHED).txt
	scripts/pg/report.sh build/results/pg/data-$(BOOT_SCHED).txt

pg-bench:
	$(MAKE) pg-test BOOT_SCHED=credit
	$(MAKE) pg-test BOOT_SCHED=commaware
	scripts/pg/report.sh build/results/pg/data-credit.txt build/results/pg/data-commaware.txt

pg-report:
	scripts/pg/report.sh $(wildcard build/results/pg/data-*.txt)
