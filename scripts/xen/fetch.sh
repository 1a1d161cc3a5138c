#!/bin/bash
# Fetch what the Xen build and the boot test need.  Idempotent; run as root.
#
#  - deb-src entries for bookworm and bookworm-security, mirrored from the
#    machine's own deb822 file (same URIs, so snapshot pinning carries over),
#    and a binary entry for bookworm-backports (for qemu, see below);
#  - an explicit, minimal list of build dependencies (not `apt-get build-dep
#    xen`, which pulls in ocaml, texlive, qemu's and seabios's deps, ...);
#  - `apt-get source xen` at the version of the xen-utils-4.17 candidate,
#    unpacked under build/xen-src and committed into a git repo there (tag
#    "pristine"), so patches can be regenerated with `git diff pristine`;
#  - qemu-system-x86, busybox-static, cpio for the boot test.
set -euo pipefail
. "$(dirname "$0")/common.sh"

[ "$(id -u)" = 0 ] || die "fetch.sh installs packages: run it as root"

export DEBIAN_FRONTEND=noninteractive
# Wait for another apt/dpkg (e.g. a parallel host-deps step) instead of failing.
APT=(apt-get -o DPkg::Lock::Timeout=600)
APT_SRC_FILE=/etc/apt/sources.list.d/commaware-xen.sources

# --- 1. apt sources ---------------------------------------------------------
need_backports() {
    dpkg-query -W -f='${Version}' qemu-utils 2>/dev/null | grep -q '~bpo'
}

write_sources() {
    local base=/etc/apt/sources.list.d/debian.sources tmp
    tmp=$(mktemp)
    if [ -f "$base" ]; then
        # Every stanza of the machine's file, as deb-src.  The deb.debian.org
        # URIs (and any snapshot comments) are kept as they are.
        awk '
            /^Types:/ { print "Types: deb-src"; next }
            { print }
        ' "$base" >"$tmp"
        # bookworm-backports, binary, from the same mirror as bookworm; only
        # when qemu-utils came from there (see install_qemu).
        if need_backports; then
            local uri
            uri=$(awk '/^URIs:/ { u = $2 } /^Suites:/ && / bookworm( |$)/ && !n++ { print u }' "$base")
            uri=${uri:-http://deb.debian.org/debian}
            printf '\nTypes: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
                "$uri" >>"$tmp"
        fi
    else
        cat >"$tmp" <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
        if need_backports; then
            printf '\nTypes: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' >>"$tmp"
        fi
    fi
    if ! cmp -s "$tmp" "$APT_SRC_FILE" 2>/dev/null; then
        install -m 0644 "$tmp" "$APT_SRC_FILE"
        log "wrote $APT_SRC_FILE"
    fi
    rm -f "$tmp"
}

apt_update() {
    # Stamp: skip the update when the sources did not change in the last hour.
    local stamp="$BUILD/.apt-update.stamp"
    if [ -f "$stamp" ] && [ "$stamp" -nt "$APT_SRC_FILE" ] &&
        [ -n "$(find "$stamp" -mmin -60 2>/dev/null)" ] &&
        [ -n "$(apt-cache showsrc xen 2>/dev/null | head -n1)" ]; then
        log "apt lists are fresh"
        return 0
    fi
    "${APT[@]}" update -qq
    mkdir -p "$BUILD"
    touch "$stamp"
}

# --- 2. packages ----------------------------------------------------------------
# Hypervisor: gcc, binutils, make, python3, flex/bison (kconfig).
# Tools (with qemu, stubdom, firmware ROMs, ocaml, golang, docs, monitors
# off): yajl, uuid, zlib/zstd/xz/bzip2/lzo (libxenguest's kernel
# decompressors), ncurses (configure checks it even with monitors off), iasl
# (required on x86), python3-dev (tools/python is always built), pkg-config,
# autoconf (Debian's source ships without configure).  Not needed: glib and
# pixman (only for building qemu-xen), libfdt (Arm only), libnl-3 (optional:
# Remus/COLO network buffering).
BUILD_DEPS=(
    build-essential bison flex bc gawk dpkg-dev git xz-utils autoconf autotools-dev
    python3 python3-dev python3-setuptools pkg-config
    libyajl-dev uuid-dev libncurses-dev zlib1g-dev libzstd-dev liblzma-dev
    libbz2-dev liblzo2-dev acpica-tools
)
BOOT_DEPS=(busybox-static cpio)

install_pkgs() {
    local missing=() p
    for p in "${BUILD_DEPS[@]}" "${BOOT_DEPS[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing: ${missing[*]}"
        "${APT[@]}" install -y -qq --no-install-recommends --no-remove "${missing[@]}"
    else
        log "build dependencies already installed"
    fi
}

# qemu: if qemu-utils is already installed from bookworm-backports (as on
# these machines), bookworm's qemu-system-x86 7.2 would make apt remove it.
# Take qemu-system-x86 at the installed qemu-utils version instead, and never
# let apt remove anything.
install_qemu() {
    if command -v qemu-system-x86_64 >/dev/null; then
        log "qemu already installed: $(qemu-system-x86_64 --version | head -n1)"
        return 0
    fi
    local uver
    uver=$(dpkg-query -W -f='${Version}' qemu-utils 2>/dev/null || true)
    if [ -n "$uver" ] && apt-cache madison qemu-system-x86 | awk -F'|' '{gsub(/ /,"",$2); print $2}' | grep -qxF "$uver"; then
        log "qemu-utils $uver installed: taking qemu-system-x86 at the same version"
        # -t: its dependencies (seabios, ...) come from backports too.
        "${APT[@]}" install -y -qq --no-install-recommends --no-remove \
            -t bookworm-backports "qemu-system-x86=$uver"
    else
        "${APT[@]}" install -y -qq --no-install-recommends --no-remove qemu-system-x86
    fi
}

# --- 3. the Xen source ------------------------------------------------------------
fetch_source() {
    local bver sver dir v
    bver=$(apt-cache policy xen-utils-4.17 | awk '/Candidate:/ { print $2 }')
    [ -n "$bver" ] && [ "$bver" != "(none)" ] || die "no candidate for xen-utils-4.17; is bookworm in the apt sources?"
    # Source version: "Source: xen (x.y)" when it differs from the binary's.
    sver=$(apt-cache show "xen-utils-4.17=$bver" | awk '/^Source:/ { if ($3 != "") { gsub(/[()]/, "", $3); print $3 } }')
    sver=${sver:-$bver}
    sver=${XEN_SRC_VERSION:-$sver}
    mkdir -p "$XEN_SRC_DIR"
    # .done is written last: a half-finished fetch is redone from scratch.
    if [ -f "$XEN_SRC_DIR/.done" ]; then
        log "Xen source $(cat "$XEN_SRC_DIR/.version") already in $(xen_pristine_tree) (candidate: $sver)"
        return 0
    fi
    rm -rf "$XEN_SRC_DIR"
    mkdir -p "$XEN_SRC_DIR"
    # The candidate first; if its source is not downloadable (this happens:
    # a mirror may carry bookworm-security's binaries but not its sources),
    # fall back to the other 4.17 versions, newest first, and say so.
    local tried=()
    for v in "$sver" $(apt-cache showsrc xen | awk '/^Version:/ { print $2 }' | sort -rV); do
        case " ${tried[*]-} " in *" $v "*) continue ;; esac
        tried+=("$v")
        case "$v" in 4.17.*) ;; *) continue ;; esac
        log "fetching xen source $v (xen-utils-4.17 candidate: $bver)"
        if (cd "$XEN_SRC_DIR" && apt-get source -qq "xen=$v"); then
            [ "$v" = "$sver" ] || log "WARNING: source $sver not downloadable; using xen $v instead"
            printf '%s\n' "$v" >"$XEN_SRC_DIR/.version"
            break
        fi
        rm -rf "${XEN_SRC_DIR:?}"/*
    done
    [ -f "$XEN_SRC_DIR/.version" ] || die "could not download any xen 4.17 source (tried: ${tried[*]})"
    dir=$(xen_pristine_tree)
    log "committing pristine tree $dir"
    cd "$dir"
    git init -q
    git -c core.autocrlf=false add -A -f .
    git -c user.name=commaware -c user.email=commaware@localhost \
        commit -q -m "pristine Debian xen $(cat "$XEN_SRC_DIR/.version")"
    git tag pristine
    cp "$XEN_SRC_DIR/.version" "$XEN_SRC_DIR/.done"
}

main() {
    write_sources
    timed apt-update apt_update
    timed install-build-deps install_pkgs
    timed install-qemu install_qemu
    timed fetch-xen-source fetch_source
    log "Xen source: $(xen_pristine_tree) ($(cat "$XEN_SRC_DIR/.version"))"
}

main "$@"
