#!/bin/bash
# Build the (patched) Xen hypervisor and tools from Debian's source.
#
#   scripts/xen/build.sh [hypervisor|tools|all]      (default: all)
#
# Steps, each cached:
#  1. build/xen-work is a git clone of the pristine tree (build/xen-src, tag
#     "pristine").  When xen-patches/series or a patch it lists changes, the
#     series is applied (patch -p1, in order) to a scratch clone,
#     build/xen-stage, and only the files whose content differs are copied
#     into build/xen-work: untouched files keep their mtimes, so make stays
#     incremental, and a patch that does not apply leaves the work tree alone.
#  2. Hypervisor: xen/.config = `make olddefconfig` over scripts/xen/xen.config
#     (+ CONFIG_SCHED_COMMAWARE=y when enabled, + $XEN_CONFIG_EXTRA, a file);
#     .config is only rewritten when its content changes.  `make -C xen`.
#     With CONFIG_SCHED_COMMAWARE=y the Rust object ($RUST_OBJ, default
#     build/rust/commaware-rs.o from `make rust-obj`) is handed to Xen's
#     build as COMMAWARE_RS_OBJ=<path>; xen/common/sched/Makefile (patched)
#     copies it to commaware-rs.o and links it into built_in.o.
#  3. Tools: autogen + configure (minimal: no qemu, stubdom, firmware ROMs,
#     ocaml, golang, docs, monitors), `make -C tools`, `make install` into
#     build/xen-dist/root.  Skipped when patches and options are unchanged.
#
# Environment:
#   COMMAWARE=auto|y|n   build the commaware scheduler (auto: y when the
#                        patched tree has xen/common/sched/commaware.c, the
#                        Kconfig option exists and $RUST_OBJ exists)
#   XEN_FLAVOUR=debug|release   CONFIG_DEBUG y (default) or n; separate
#                        trees: build/xen-work[-release], build/xen-dist[-release]
#   JOBS=N               make parallelism (default: nproc)
#   V=1                  verbose make
set -euo pipefail
. "$(dirname "$0")/common.sh"

WHAT=${1:-all}
case "$WHAT" in hypervisor | tools | all) ;; *) die "usage: $0 [hypervisor|tools|all]" ;; esac
COMMAWARE=${COMMAWARE:-auto}
case "$XEN_FLAVOUR" in
debug) CONFIG_FRAGMENT="$REPO_ROOT/scripts/xen/xen.config" ;;
release) CONFIG_FRAGMENT="$REPO_ROOT/scripts/xen/xen-release.config" ;;
esac
MAKE_V=${V:-0}

# Debian's tools first: configure looks up python3-config etc. by name, and a
# pyenv or /usr/local shim would not match Debian's python3-dev.
export PATH="/usr/sbin:/usr/bin:/sbin:/bin:$PATH"

# Debian's dpkg-buildflags must not leak into the hypervisor build.
unset CFLAGS CXXFLAGS CPPFLAGS LDFLAGS MAKEFLAGS MFLAGS
export WGET=/bin/false GIT=/bin/false

# One build at a time in the shared work tree.
mkdir -p "$BUILD"
exec 9>"$BUILD/.xen-build$XEN_SUFFIX.lock"
flock -w 3600 9 || die "another build.sh holds $BUILD/.xen-build.lock"

PRISTINE=$(xen_pristine_tree)
mkdir -p "$LOGS" "$XEN_DIST"

# run_logged <logname> <cmd...>: output to build/logs/<logname>.log; a
# heartbeat line every 30 s; the log's tail on failure.
run_logged() {
    local name=$1 logf="$LOGS/$1.log" pid rc t0 last
    shift
    t0=$(date +%s)
    last=$t0
    "$@" >"$logf" 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        sleep 2
        if [ $(($(date +%s) - last)) -ge 30 ] && kill -0 "$pid" 2>/dev/null; then
            last=$(date +%s)
            log "  ... $name: $((last - t0))s, $(wc -l <"$logf") log lines: $(tail -n1 "$logf" | cut -c1-100)"
        fi
    done
    rc=0
    wait "$pid" || rc=$?
    if [ "$rc" != 0 ]; then
        echo "---- last 40 lines of $logf ----" >&2
        tail -n 40 "$logf" >&2
        die "$name failed (rc=$rc); full log: $logf"
    fi
}

# --- 1. the patched work tree ---------------------------------------------------
series_files() {
    local s="$PATCH_DIR/series" p
    [ -f "$s" ] || return 0
    while read -r p _; do
        case "$p" in '' | '#'*) continue ;; esac
        [ -f "$PATCH_DIR/$p" ] || die "xen-patches/series lists $p, which does not exist"
        printf '%s\n' "$PATCH_DIR/$p"
    done <"$s"
}

patch_hash() {
    {
        git -C "$PRISTINE" rev-parse pristine
        [ -f "$PATCH_DIR/series" ] && cat "$PATCH_DIR/series"
        series_files | while read -r f; do sha256sum <"$f"; done
    } | sha256sum | cut -d' ' -f1
}

XEN_STAGE="$BUILD/xen-stage$XEN_SUFFIX"

# The series is applied to a scratch clone (build/xen-stage) first; then only
# the files whose content differs are copied into the work tree.  Files the
# patches do not change keep their mtimes, so make rebuilds only what the
# change touches, and a patch that fails to apply leaves the work tree as it
# was.  build/xen-work/.commaware-patched-files lists the files the applied
# series touches (added files included).
prepare_tree() {
    local want have f n=0 changed=0
    if [ ! -d "$XEN_WORK/.git" ]; then
        log "cloning pristine tree into $XEN_WORK"
        rm -rf "$XEN_WORK"
        git clone -q "$PRISTINE" "$XEN_WORK"
        git -C "$XEN_WORK" fetch -q --tags origin
        git -C "$XEN_WORK" checkout -q pristine
        : >"$XEN_WORK/.commaware-patched-files"
    fi
    want=$(patch_hash)
    have=$(cat "$XEN_WORK/.commaware-patches" 2>/dev/null || true)
    if [ "$want" = "$have" ]; then
        log "patches unchanged ($(series_files | wc -l) applied)"
        return 0
    fi
    if [ ! -d "$XEN_STAGE/.git" ]; then
        rm -rf "$XEN_STAGE"
        git clone -q "$PRISTINE" "$XEN_STAGE"
        git -C "$XEN_STAGE" fetch -q --tags origin
    fi
    git -C "$XEN_STAGE" reset -q --hard pristine
    git -C "$XEN_STAGE" clean -q -fdx
    log "applying xen-patches/series"
    for f in $(series_files); do
        n=$((n + 1))
        log "  patch $n: $(basename "$f")"
        patch -d "$XEN_STAGE" -p1 -s --no-backup-if-mismatch -F0 <"$f" ||
            die "patch $(basename "$f") does not apply to xen $(cat "$XEN_SRC_DIR/.version") after the patches before it; regenerate it (see xen-patches/README.md)"
    done
    {
        git -C "$XEN_STAGE" diff --name-only pristine
        git -C "$XEN_STAGE" ls-files --others
    } | LC_ALL=C sort -u >"$BUILD/.xen-stage-patched-files"
    mv -f "$BUILD/.xen-stage-patched-files" "$XEN_STAGE/.patched-files"
    rm -f "$XEN_WORK/.commaware-patches"
    # Files patched now or by the previous series: sync their content.
    if [ ! -f "$XEN_WORK/.commaware-patched-files" ]; then
        # A work tree from before this scheme: it was patched in place.
        { git -C "$XEN_WORK" diff --name-only pristine
          git -C "$XEN_WORK" ls-files --others --exclude-standard; } >"$XEN_WORK/.commaware-patched-files"
    fi
    while read -r f; do
        [ -n "$f" ] || continue
        if [ -e "$XEN_STAGE/$f" ]; then
            if ! cmp -s "$XEN_STAGE/$f" "$XEN_WORK/$f"; then
                mkdir -p "$(dirname "$XEN_WORK/$f")"
                rm -f "$XEN_WORK/$f"
                cp --preserve=mode "$XEN_STAGE/$f" "$XEN_WORK/$f"
                changed=$((changed + 1))
            fi
        elif [ -e "$XEN_WORK/$f" ]; then
            rm -f "$XEN_WORK/$f"
            changed=$((changed + 1))
        fi
    done < <(LC_ALL=C sort -u "$XEN_STAGE/.patched-files" "$XEN_WORK/.commaware-patched-files")
    cp "$XEN_STAGE/.patched-files" "$XEN_WORK/.commaware-patched-files"
    # What the tools build depends on among the patched files.
    while read -r f; do
        case "$f" in
        tools/* | xen/include/public/* | config/* | m4/* | Config.mk | configure*)
            printf '%s ' "$f"
            sha256sum <"$XEN_STAGE/$f" 2>/dev/null || echo deleted
            ;;
        esac
    done <"$XEN_STAGE/.patched-files" | sha256sum | cut -d' ' -f1 >"$XEN_WORK/.commaware-tools-inputs"
    printf '%s\n' "$want" >"$XEN_WORK/.commaware-patches"
    log "work tree: $changed file(s) changed, $(wc -l <"$XEN_WORK/.commaware-patched-files") patched in all"
}

# --- 2. hypervisor --------------------------------------------------------------------
commaware_enabled() {
    case "$COMMAWARE" in
    y) return 0 ;;
    n) return 1 ;;
    esac
    [ -f "$XEN_WORK/xen/common/sched/commaware.c" ] &&
        grep -q '^config SCHED_COMMAWARE' "$XEN_WORK/xen/common/sched/Kconfig" &&
        [ -f "$RUST_OBJ" ]
}

xen_make() {
    make -C "$XEN_WORK/xen" -j"$JOBS" V="$MAKE_V" "$@"
}

configure_hypervisor() {
    local cfg="$XEN_WORK/xen/.config" tmp
    tmp=$(mktemp)
    cp "$CONFIG_FRAGMENT" "$tmp"
    if commaware_enabled; then
        echo "CONFIG_SCHED_COMMAWARE=y" >>"$tmp"
        log "commaware scheduler: ON (Rust object $RUST_OBJ)"
    else
        log "commaware scheduler: off"
    fi
    [ -z "${XEN_CONFIG_EXTRA:-}" ] || cat "$XEN_CONFIG_EXTRA" >>"$tmp"
    [ -f "$cfg" ] && cp -p "$cfg" "$cfg.prev"
    cp "$tmp" "$cfg"
    rm -f "$tmp"
    xen_make olddefconfig >"$LOGS/xen-config.log" 2>&1 ||
        { cat "$LOGS/xen-config.log" >&2; die "make olddefconfig failed"; }
    if [ -f "$cfg.prev" ] && cmp -s <(grep -v '^#' "$cfg") <(grep -v '^#' "$cfg.prev"); then
        mv -f "$cfg.prev" "$cfg" # keep the old mtime: nothing to rebuild
    else
        rm -f "$cfg.prev"
        log "hypervisor .config changed"
    fi
    # Check that what we asked for is what we got.
    local want
    while read -r want; do
        case "$want" in CONFIG_*=*) ;; *) continue ;; esac
        grep -qxF "$want" "$cfg" || die "hypervisor config: '$want' did not stick (see $cfg)"
    done < <(cat "$CONFIG_FRAGMENT"; commaware_enabled && echo CONFIG_SCHED_COMMAWARE=y || true)
}

build_hypervisor() {
    configure_hypervisor
    local args=()
    if grep -qx 'CONFIG_SCHED_COMMAWARE=y' "$XEN_WORK/xen/.config"; then
        [ -f "$RUST_OBJ" ] || die "CONFIG_SCHED_COMMAWARE=y but no Rust object at $RUST_OBJ (run: make rust-obj)"
        args+=("COMMAWARE_RS_OBJ=$(realpath "$RUST_OBJ")")
    fi
    # Xen's make always recompiles version.o and relinks (about 20 s); skip
    # it when nothing that goes into the image changed.
    local stamp="$XEN_DIST/.hypervisor-built" want
    want=$({
        patch_hash
        grep -v '^#' "$XEN_WORK/xen/.config"
        printf '%s\n' "${args[@]}"
        [ ${#args[@]} -eq 0 ] || sha256sum <"$RUST_OBJ"
    } | sha256sum | cut -d' ' -f1)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$XEN_DIST/boot/xen.gz" ]; then
        log "hypervisor unchanged: $XEN_DIST/boot/xen.gz"
        return 0
    fi
    rm -f "$stamp"
    run_logged xen-hypervisor xen_make ${args[@]+"${args[@]}"}
    mkdir -p "$XEN_DIST/boot"
    local f
    for f in xen xen-syms; do
        cmp -s "$XEN_WORK/xen/$f" "$XEN_DIST/boot/$f" || cp -f "$XEN_WORK/xen/$f" "$XEN_DIST/boot/$f"
    done
    cp -f "$XEN_WORK/xen/.config" "$XEN_DIST/boot/xen.config"
    if [ ! -f "$XEN_DIST/boot/xen.gz" ] || [ "$XEN_DIST/boot/xen" -nt "$XEN_DIST/boot/xen.gz" ]; then
        gzip -9 -n -c "$XEN_DIST/boot/xen" >"$XEN_DIST/boot/xen.gz"
    fi
    printf '%s\n' "$want" >"$stamp"
    log "hypervisor: $XEN_DIST/boot/xen.gz ($(stat -c %s "$XEN_DIST/boot/xen.gz") bytes), xen-syms, xen.config"
}

# --- 3. tools -----------------------------------------------------------------------
TOOLS_CONFIGURE=(
    --prefix=/usr --libdir=/usr/lib --sysconfdir=/etc --localstatedir=/var
    --disable-docs --disable-stubdom --disable-xen
    --disable-qemu-traditional --disable-rombios --disable-seabios
    --disable-ipxe --disable-ovmf --disable-pvshim
    --with-system-qemu=/usr/bin/qemu-system-i386
    --disable-ocamltools --disable-golang --disable-xsmpolicy
    --disable-monitors --disable-systemd --disable-9pfs
    --with-xenstored=xenstored
    PYTHON=/usr/bin/python3
)

# tools/tests (the x86 emulator test harness and friends) is a third of the
# tools build and nothing we boot uses it.
TOOLS_MAKE_ARGS=(CONFIG_TESTS=n)

tools_stamp_value() {
    { cat "$XEN_WORK/.commaware-tools-inputs"; printf '%s\n' "${TOOLS_CONFIGURE[@]}" "${TOOLS_MAKE_ARGS[@]}"; } |
        sha256sum | cut -d' ' -f1
}

configure_tools() {
    local stamp="$XEN_WORK/.commaware-tools-configured" want
    want=$(printf '%s\n' "${TOOLS_CONFIGURE[@]}" | sha256sum | cut -d' ' -f1)
    if [ -f "$XEN_WORK/config/Tools.mk" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
        return 0
    fi
    (
        cd "$XEN_WORK"
        cp /usr/share/misc/config.sub /usr/share/misc/config.guess .
        ./autogen.sh
        ./configure "${TOOLS_CONFIGURE[@]}"
    ) >"$LOGS/xen-tools-configure.log" 2>&1 ||
        { tail -n 30 "$LOGS/xen-tools-configure.log" >&2; die "tools configure failed; log: $LOGS/xen-tools-configure.log"; }
    printf '%s\n' "$want" >"$stamp"
}

build_tools() {
    local stamp="$XEN_DIST/.tools-installed" want
    want=$(tools_stamp_value)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$XEN_DIST/root/usr/sbin/xl" ]; then
        log "tools unchanged; installed in $XEN_DIST/root"
        return 0
    fi
    timed tools-configure configure_tools
    timed tools-build run_logged xen-tools make -C "$XEN_WORK" -j"$JOBS" V="$MAKE_V" "${TOOLS_MAKE_ARGS[@]}" build-tools
    rm -rf "$XEN_DIST/root.new"
    timed tools-install run_logged xen-tools-install \
        make -C "$XEN_WORK" -j"$JOBS" V="$MAKE_V" "${TOOLS_MAKE_ARGS[@]}" install-tools DESTDIR="$XEN_DIST/root.new"
    rm -rf "$XEN_DIST/root"
    mv "$XEN_DIST/root.new" "$XEN_DIST/root"
    printf '%s\n' "$want" >"$stamp"
    log "tools installed in $XEN_DIST/root"
}

main() {
    timed prepare-tree prepare_tree
    case "$WHAT" in
    hypervisor) timed hypervisor build_hypervisor ;;
    tools) build_tools ;;
    all)
        timed hypervisor build_hypervisor
        build_tools
        ;;
    esac
}

main
