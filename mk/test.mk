# The test command the README gives and .ci/run calls.
#   make test              every stage (scripts/test.sh)
#   make test STAGES="rust-tests clippy"
.PHONY: test
test:
	scripts/test.sh $(STAGES)

# Issue 6's churn in full: 200 guest create/destroy cycles in one boot
# (~25 min under QEMU TCG) beside a talking pair, params changed every
# second, a pCPU moving between cpupools. make test runs >= 30 of them.
.PHONY: churn-200
churn-200:
	scripts/test.sh host-deps rust-obj xen workload boot-churn-200
