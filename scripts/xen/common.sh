# shellcheck shell=bash
# Shared settings for the scripts/xen/*.sh scripts.  Sourced, not executed.
#
# Layout (everything generated lives under build/, which git ignores):
#   build/xen-src/xen-<ver>/   pristine Debian source tree, its own git repo (tag "pristine")
#   build/xen-work[-release]/  patched copy that is actually built
#   build/xen-stage/           scratch tree where the series is applied first
#   build/xen-dist[-release]/  boot/{xen,xen.gz,xen-syms,xen.config}, root/ (tools DESTDIR)
#   build/debs/                cached Debian binary packages (kernel, busybox)
#   build/images/              dom0/guest initramfs and the dom0 kernel
#   build/logs/                build logs and serial logs

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="${BUILD:-$REPO_ROOT/build}"
XEN_SRC_DIR="$BUILD/xen-src"
# XEN_FLAVOUR=debug (default: CONFIG_DEBUG=y, scripts/xen/xen.config) or
# release (scripts/xen/xen-release.config): each has its own work tree and
# dist, so switching does not rebuild.
XEN_FLAVOUR="${XEN_FLAVOUR:-debug}"
case "$XEN_FLAVOUR" in
debug) XEN_SUFFIX="" ;;
release) XEN_SUFFIX="-release" ;;
*) printf 'error: XEN_FLAVOUR must be debug or release, not %s\n' "$XEN_FLAVOUR" >&2; exit 1 ;;
esac
XEN_WORK="$BUILD/xen-work$XEN_SUFFIX"
XEN_DIST="$BUILD/xen-dist$XEN_SUFFIX"
DEB_CACHE="$BUILD/debs"
IMAGES="$BUILD/images"
LOGS="$BUILD/logs"
PATCH_DIR="$REPO_ROOT/xen-patches"
RUST_OBJ="${RUST_OBJ:-$BUILD/rust/commaware-rs.o}"
JOBS="${JOBS:-$(nproc)}"

# Debian's python, not a pyenv shim: the tools need the matching python3-dev.
export PYTHON=/usr/bin/python3

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# timed <label> <cmd...>: run a step, print how long it took, and append the
# timing to build/logs/timings.txt.
timed() {
    local label=$1 t0 t1 rc
    shift
    t0=$(date +%s)
    log "start: $label"
    # A subshell outside any "||" context, so that `set -e` stays in force
    # inside the step (bash ignores errexit in functions called from "||").
    set +e
    (set -e; "$@")
    rc=$?
    set -e
    t1=$(date +%s)
    mkdir -p "$LOGS"
    printf '%s %s %ds rc=%d\n' "$(date -u +%FT%TZ)" "$label" $((t1 - t0)) "$rc" >>"$LOGS/timings.txt"
    log "done:  $label ($((t1 - t0))s, rc=$rc)"
    return "$rc"
}

# The single pristine source tree, found after fetch.sh has run.
xen_pristine_tree() {
    local d
    d=$(find "$XEN_SRC_DIR" -mindepth 1 -maxdepth 1 -type d -name 'xen-4.17*' 2>/dev/null | sort | tail -n1)
    [ -n "$d" ] || die "no Xen source under $XEN_SRC_DIR; run scripts/xen/fetch.sh (make xen-fetch) first"
    printf '%s\n' "$d"
}
