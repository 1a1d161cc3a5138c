#!/bin/bash
# Lint the whole workspace, every target (libs, bins, tests), warnings as
# errors. The no_std crates also deny unwrap/expect/indexing/panic outside
# tests, and the workspace denies float arithmetic (root Cargo.toml).
#
#   scripts/clippy.sh [extra cargo clippy args]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
exec "${CARGO:-cargo}" clippy --workspace --all-targets "$@" -- -D warnings
