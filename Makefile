# commaware top-level Makefile: a small includer.  Each area keeps its
# targets in its own mk/<area>.mk (mk/xen.mk: xen-fetch, xen, boot-test,
# clean-xen; mk/rust-obj.mk: rust-obj; ...).
.DEFAULT_GOAL := help

include $(sort $(wildcard mk/*.mk))

.PHONY: help
help:
	@echo "commaware make targets (see mk/*.mk for details):"
	@grep -hoE '^[a-z][a-z0-9_-]*:' $(sort $(wildcard mk/*.mk)) | tr -d ':' | sort -u | sed 's/^/  /'
