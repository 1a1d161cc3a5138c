# The Rust object linked into Xen: build/rust/commaware-rs.o.
#
#   make rust-obj          compile, partial-link, relax and check (incremental)
#   make rust-obj-check    re-run objcheck on the installed object
#   make clean-rust-obj
#
# The work is in scripts/rust-obj.sh; flags and reasons in docs/hardening.md.
# The object is rebuilt when a Rust source, a manifest, the link script, the
# allow-list, the checker or the build mode (RUST_RETURN_THUNK / Xen's
# CONFIG_RETURN_THUNK) changes. A failing objcheck fails the target and
# leaves no object behind.

RUST_OBJ := build/rust/commaware-rs.o
RUST_OBJ_MODE := build/rust/mode
RUST_OBJ_TOOLS = $(or $(CARGO_TARGET_DIR),target)/release

RUST_OBJ_SRCS := $(shell find src sched accounting objcheck/src include \
	-type f \( -name '*.rs' -o -name '*.h' \) 2>/dev/null) \
	$(wildcard Cargo.toml Cargo.lock build.rs */Cargo.toml) \
	mk/rust-obj.lds mk/rust-obj.allow mk/rust-obj.mk scripts/rust-obj.sh

.PHONY: rust-obj rust-obj-check clean-rust-obj FORCE
rust-obj: $(RUST_OBJ)

$(RUST_OBJ): $(RUST_OBJ_SRCS) $(RUST_OBJ_MODE)
	scripts/rust-obj.sh

# Rewritten only when the resolved mode changes, so make notices it.
$(RUST_OBJ_MODE): FORCE
	@mkdir -p $(@D)
	@scripts/rust-obj.sh --mode > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

rust-obj-check: $(RUST_OBJ)
	cargo build -q --release -p objcheck --bins
	$(RUST_OBJ_TOOLS)/objcheck --allow mk/rust-obj.allow \
		$(if $(filter return_thunk=y,$(file < $(RUST_OBJ_MODE))),--require-return-thunk --allow-symbol __x86_return_thunk) \
		$(RUST_OBJ)

clean-rust-obj:
	rm -rf build/rust

FORCE:
