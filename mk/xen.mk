# Xen build and boot test targets (owner: Xen/hypervisor engineer).
# Everything generated goes under build/ (git-ignored); see scripts/xen/.
#
#   make xen-fetch    apt sources (deb-src, backports), build deps, qemu,
#                     Debian's xen source -> build/xen-src (pristine, git)
#   make xen          patch (xen-patches/series), build hypervisor + tools
#                     -> build/xen-dist/{boot/xen,boot/xen.gz,boot/xen-syms,root/}
#   make boot-test    dom0/guest images + QEMU TCG boot running
#                     $(BOOT_TESTS) under sched=$(BOOT_SCHED)
#   make trace-disk   a blank output disk, build/trace-out.img: boot with
#                     BOOT_OUT_DISK=build/trace-out.img and hostile.sh
#                     writes xentrace records of its windows there
#                     (scripts/xen/trace-waits.py reads them)
#   make clean-xen    remove the work tree, dist, images and the build/boot
#                     logs (keeps the fetched source, cached .debs and
#                     build/logs/timings.txt)
#
# Variables: BOOT_SCHED (credit), BOOT_TESTS (default: smoke.sh, plus
# cpupool.sh when commaware is built; see scripts/xen/boot.sh),
# BOOT_TIMEOUT (600), BOOT_XEN_ARGS, COMMAWARE (auto|y|n), JOBS,
# XEN_FLAVOUR (debug|release: CONFIG_DEBUG y or n, separate trees).

XEN_SCRIPTS := scripts/xen
BOOT_SCHED ?= credit
BOOT_TESTS ?=
BOOT_TIMEOUT ?= 600
BOOT_XEN_ARGS ?=

.PHONY: xen-fetch xen xen-hypervisor xen-tools boot-test trace-disk clean-xen

xen-fetch:
	$(XEN_SCRIPTS)/fetch.sh

# The fetch step is skipped when the source is already there (CI runs
# xen-fetch explicitly first, as root).
build/xen-src/.done:
	$(XEN_SCRIPTS)/fetch.sh

# Unless commaware is off, the hypervisor links the Rust object: rebuild it
# first when its sources changed (build.sh only checks that it exists).
XEN_RUST_OBJ := $(if $(filter n,$(COMMAWARE)),,$(RUST_OBJ))

xen: build/xen-src/.done $(XEN_RUST_OBJ)
	$(XEN_SCRIPTS)/build.sh all

xen-hypervisor: build/xen-src/.done $(XEN_RUST_OBJ)
	$(XEN_SCRIPTS)/build.sh hypervisor

xen-tools: build/xen-src/.done
	$(XEN_SCRIPTS)/build.sh tools

boot-test: xen
	$(XEN_SCRIPTS)/boot.sh -s $(BOOT_SCHED) -t $(BOOT_TIMEOUT) \
		$(if $(BOOT_XEN_ARGS),-x "$(BOOT_XEN_ARGS)") $(BOOT_TESTS)

# Sparse; the marker tells hostile.sh it may write here (and nowhere else).
trace-disk:
	mkdir -p build
	rm -f build/trace-out.img
	truncate -s 256M build/trace-out.img
	printf CW-OUT-DISK | dd of=build/trace-out.img conv=notrunc status=none

clean-xen:
	rm -rf build/xen-work* build/xen-stage* build/xen-dist* build/images build/stage-* \
		build/logs/xen-*.log build/logs/serial-last.log build/logs/qemu-last.out \
		build/logs/data-last.txt build/logs/failed
