#!/bin/bash
# Build build/rust/commaware-rs.o, the Rust policy as one relocatable object
# for Xen, and prove it with objcheck. Run through `make rust-obj`
# (mk/rust-obj.mk); see docs/hardening.md for the flags and the reasons.
#
#   scripts/rust-obj.sh            build, link, check, install the object
#   scripts/rust-obj.sh --mode     print the resolved build mode (for make)
#
# Steps:
#  1. objcheck/objrelax are built for the host (release).
#  2. The root crate is compiled as a staticlib with the `xen` profile (fat
#     LTO, panic=abort) and the `hypervisor` feature. The flags go through
#     CARGO_ENCODED_RUSTFLAGS with an explicit --target, so they reach every
#     crate of ours (LTO keeps each function's own codegen attributes) but not
#     build scripts or proc macros.
#  3. Entry points = the GLOBAL FUNC `cw_*` symbols the staticlib defines
#     (readelf; nm crashed on these objects).
#  4. ld -r --gc-sections -u <each entry point> -T mk/rust-obj.lds: only code
#     reachable from an entry point survives, folded into .text/.rodata/...
#  5. objcopy --keep-global-symbols: everything but the entry points becomes
#     local, so nothing of core/compiler_builtins can clash with Xen's names;
#     long local names are shortened to fit Xen's 128-byte symbol buffer.
#  6. objrelax: LLVM's GOT calls to memcpy & co. made direct (as ld would).
#  7. objcheck with mk/rust-obj.allow. Only a passing object is installed at
#     build/rust/commaware-rs.o; a failing one is kept as *.rejected.o.
#
# Environment:
#   RUST_RETURN_THUNK=auto|y|n  build with -Zfunction-return=thunk-extern
#       (needs RUSTC_BOOTSTRAP=1) and require it. auto: follow
#       CONFIG_RETURN_THUNK in $XEN_CONFIG, or y (Xen 4.17's default with
#       gcc >= 8) when there is no .config yet.
#   XEN_CONFIG   Xen's .config (default build/xen-work/xen/.config)
#   CARGO, LD, OBJCOPY, READELF, CARGO_TARGET_DIR   the usual overrides
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT_DIR="$ROOT/build/rust"
OBJ="$OUT_DIR/commaware-rs.o"
TARGET=x86_64-unknown-linux-gnu
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
CARGO=${CARGO:-cargo}
LD=${LD:-ld}
OBJCOPY=${OBJCOPY:-objcopy}
READELF=${READELF:-readelf}
XEN_CONFIG=${XEN_CONFIG:-$ROOT/build/xen-work/xen/.config}
LDS="$ROOT/mk/rust-obj.lds"
ALLOW="$ROOT/mk/rust-obj.allow"

log() { printf 'rust-obj: %s\n' "$*"; }
die() { printf 'rust-obj: error: %s\n' "$*" >&2; exit 1; }

return_thunk=${RUST_RETURN_THUNK:-auto}
case "$return_thunk" in
auto)
    if [ -f "$XEN_CONFIG" ]; then
        if grep -qx 'CONFIG_RETURN_THUNK=y' "$XEN_CONFIG"; then return_thunk=y; else return_thunk=n; fi
        thunk_why="CONFIG_RETURN_THUNK in $XEN_CONFIG"
    else
        return_thunk=y
        thunk_why="no Xen .config yet; Xen 4.17's default"
    fi
    ;;
y | n) thunk_why="RUST_RETURN_THUNK=$return_thunk" ;;
*) die "RUST_RETURN_THUNK must be auto, y or n (got '$return_thunk')" ;;
esac

if [ "${1:-}" = --mode ]; then
    echo "return_thunk=$return_thunk"
    exit 0
fi
[ $# -eq 0 ] || die "usage: $0 [--mode]"

# The flags, and why, are in docs/hardening.md.
flags=(
    -Ctarget-feature=-sse,-sse2,+soft-float
    -Cno-redzone=y
    -Crelocation-model=pie
    -Crelro-level=off
    -Cjump-tables=n
    -Cforce-unwind-tables=n
)
bootstrap=()
if [ "$return_thunk" = y ]; then
    flags+=(-Zfunction-return=thunk-extern)
    bootstrap=(RUSTC_BOOTSTRAP=1)
fi

mkdir -p "$OUT_DIR"
work=$(mktemp -d "$OUT_DIR/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT

log "1/7 building objcheck"
"$CARGO" build -q --release -p objcheck --bins
tools="$TARGET_DIR/release"

log "2/7 compiling the staticlib (return thunk: $return_thunk, from $thunk_why)"
log "    rustc flags: ${flags[*]}"
encoded=$(IFS=$'\x1f'; echo "${flags[*]}")
env ${bootstrap[@]+"${bootstrap[@]}"} CARGO_ENCODED_RUSTFLAGS="$encoded" \
    "$CARGO" rustc -q -p commaware --target "$TARGET" --profile xen \
    --features hypervisor --lib --crate-type staticlib
lib="$TARGET_DIR/$TARGET/xen/libcommaware.a"
[ -f "$lib" ] || die "cargo did not produce $lib"

log "3/7 entry points"
"$READELF" -Ws --wide "$lib" 2>/dev/null |
    awk '$4 == "FUNC" && $5 == "GLOBAL" && $7 != "UND" && $8 ~ /^cw_/ && $8 !~ /^cw_cb_/ { print $8 }' |
    sort -u >"$work/entries"
[ -s "$work/entries" ] || die "the staticlib defines no cw_* function (is the hypervisor feature's C ABI there?)"
log "    $(wc -l <"$work/entries") entry points: $(tr '\n' ' ' <"$work/entries")"
# The shim calls what include/ declares: say so if one is missing here (the
# Xen link would fail later with a less helpful message).
if compgen -G "$ROOT/include/*.h" >/dev/null || compgen -G "$ROOT/include/*/*.h" >/dev/null; then
    grep -hoE '\bcw_[a-z0-9_]+[[:space:]]*\(' "$ROOT"/include/*.h "$ROOT"/include/*/*.h 2>/dev/null |
        sed 's/[[:space:](]*$//' | grep -v '^cw_cb_' | sort -u |
        comm -23 - "$work/entries" >"$work/missing" || true
    if [ -s "$work/missing" ]; then
        log "    warning: declared in include/ but not defined by Rust: $(tr '\n' ' ' <"$work/missing")"
    fi
fi

log "4/7 partial link (ld -r --gc-sections)"
mapfile -t entries <"$work/entries"
"$LD" -r --gc-sections -z noexecstack -T "$LDS" \
    "${entries[@]/#/--undefined=}" -o "$work/linked.o" "$lib"

log "5/7 localising everything but the entry points"
"$OBJCOPY" --keep-global-symbols="$work/entries" "$work/linked.o" "$work/local.long.o"
# Xen's symbol table prefixes local names with their file ("commaware.c#")
# and symbols_lookup() copies a name into a 128-byte buffer (KSYM_NAME_LEN)
# without a bound: Rust's mangled names reach 135 characters, so a backtrace
# through Rust code would overrun it. Every local name longer than 48 is
# renamed cwrs_<n> (the mapping is kept beside the object for debugging).
"$READELF" -Ws --wide "$work/local.long.o" |
    awk '$5 == "LOCAL" && length($8) > 48 { print $8 }' | sort -u |
    awk '{ printf "%s cwrs_%d\n", $0, NR }' >"$work/renames"
"$OBJCOPY" --redefine-syms="$work/renames" "$work/local.long.o" "$work/local.o"
long=$("$READELF" -Ws --wide "$work/local.o" | awk 'NR > 3 && length($8) > 64 { print $8 }' | head -n 3)
[ -z "$long" ] || die "symbol names longer than 64 characters remain: $long"
cp "$work/renames" "$OUT_DIR/commaware-rs.renames"
log "    $(wc -l <"$work/renames") long local names shortened (map: build/rust/commaware-rs.renames)"

log "6/7 relaxing GOT calls"
(cd "$work" && "$tools/objrelax" local.o relaxed.o) | sed 's/^/    /'

log "7/7 objcheck"
check=(--allow "$ALLOW")
if [ "$return_thunk" = y ]; then
    check+=(--require-return-thunk --allow-symbol __x86_return_thunk)
fi
if ! "$tools/objcheck" "${check[@]}" "$work/relaxed.o" >"$work/report"; then
    sed "s|$work/relaxed.o|commaware-rs.o|" "$work/report" >&2
    cp "$work/relaxed.o" "$OUT_DIR/commaware-rs.rejected.o"
    rm -f "$OBJ"
    die "objcheck rejected the object (kept as $OUT_DIR/commaware-rs.rejected.o); it is not installed"
fi
sed "s|$work/relaxed.o|commaware-rs.o|; s/^/    /" "$work/report"
cp "$work/entries" "$OUT_DIR/entry-points.txt"
rm -f "$OUT_DIR/commaware-rs.rejected.o"
mv "$work/relaxed.o" "$OBJ"
log "installed $OBJ ($(stat -c %s "$OBJ") bytes)"
