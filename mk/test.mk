# The test command the README gives and .ci/run calls.
#   make test              every stage (scripts/test.sh)
#   make test STAGES="rust-tests clippy"
.PHONY: test
test:
	scripts/test.sh $(STAGES)
