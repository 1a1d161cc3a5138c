#!/bin/bash
# Run scripts/shim/host-sequences.c: the shim's call sequences against the
# real build/rust/commaware-rs.o, linked into a user-space program (the
# object's only external needs are the two cw_cb_* callbacks, memcpy/memset
# and __x86_return_thunk, given here as a plain `ret`).
#
#   scripts/shim/host-test.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUST_OBJ=${RUST_OBJ:-$ROOT/build/rust/commaware-rs.o}
OUT=${TMPDIR:-/tmp}/commaware-shim-host
[ -f "$RUST_OBJ" ] || { echo "no $RUST_OBJ (make rust-obj)" >&2; exit 1; }
mkdir -p "$OUT"
printf '\t.text\n\t.globl __x86_return_thunk\n__x86_return_thunk:\n\tret\n\t.section .note.GNU-stack,"",@progbits\n' >"$OUT/thunk.S"
${CC:-gcc} -std=gnu11 -O1 -g -Wall -Wextra -Werror -I"$ROOT/include" \
    "$ROOT/scripts/shim/host-sequences.c" "$OUT/thunk.S" "$RUST_OBJ" -o "$OUT/host-sequences"
"$OUT/host-sequences"
