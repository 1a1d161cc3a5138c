#!/bin/bash
# Build the boot-test images from Debian packages and the patched tools.
#
#   scripts/xen/initramfs.sh TEST.sh [TEST2.sh ...]
#
# Produces, under build/images/:
#   vmlinuz                 Debian's kernel (dom0 and guests), from the
#                           linux-image-* package linux-image-amd64 depends on
#                           (apt-get download + dpkg-deb, never installed)
#   guest.cpio.gz           guest initramfs: static busybox, xen-netfront.ko,
#                           xen-evtchn/xen-gntdev/xen-gntalloc.ko (vchan),
#                           scripts/xen/guest-init, and /bin/cw-workload when
#                           build/workload/cw-workload ($WORKLOAD_BIN) exists
#                           (scripts/build-workload.sh; guest role "workload")
#   dom0-base.cpio.gz       dom0 initramfs: static busybox, the tools from
#                           build/xen-dist/root with their libraries (ldd), the
#                           kernel modules below, scripts/xen/dom0-init,
#                           scripts/xen/lib.sh, vif-commaware, vmlinuz and
#                           guest.cpio.gz for the guests, and the overlay
#                           build/dom0-extra/ ($DOM0_EXTRA) if it exists
#   dom0-<test>.cpio.gz     dom0-base.cpio.gz + a small cpio with the test
#                           scripts in /tests (Linux unpacks concatenated
#                           archives in order), so a new test is a quick rebuild
# Each piece is rebuilt only when its inputs changed.
set -euo pipefail
. "$(dirname "$0")/common.sh"

[ $# -ge 1 ] || die "usage: $0 TEST.sh [TEST2.sh ...] (e.g. scripts/xen/tests/smoke.sh)"
for t in "$@"; do [ -f "$t" ] || die "no test script $t"; done

HERE="$REPO_ROOT/scripts/xen"
ROOTFS="$XEN_DIST/root"
[ -x "$ROOTFS/usr/sbin/xl" ] || die "no tools in $ROOTFS; run scripts/xen/build.sh (make xen) first"
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || die "no $BUSYBOX; install busybox-static (make xen-fetch)"
! ldd "$BUSYBOX" >/dev/null 2>&1 || die "$BUSYBOX is not static; install busybox-static (make xen-fetch)"
command -v cpio >/dev/null || die "cpio missing (make xen-fetch)"

# A root overlay copied into the dom0 image when it exists (for tools other
# parts of the project want in dom0, e.g. build/dom0-extra/usr/sbin/commaware-ctl).
DOM0_EXTRA="${DOM0_EXTRA:-$BUILD/dom0-extra}"
DOM0_MODULES="xen-privcmd xenfs xen-evtchn xen-gntdev xen-gntalloc xen-netback xen-blkback llc stp bridge"
# QEMU -drive if=virtio disks (boot.sh BOOT_DISKS), exported to guests by blkback.
DOM0_MODULES="$DOM0_MODULES virtio_pci virtio_blk"
GUEST_MODULES="xen-netfront"
# Direct guest<->guest channels (cw-workload --transport vchan, evstorm/evsink/
# evring): /dev/xen/evtchn, /dev/xen/gntdev, /dev/xen/gntalloc.
GUEST_MODULES="$GUEST_MODULES xen-evtchn xen-gntdev xen-gntalloc"
# A blkback disk with an ext4 root (guest role "chroot": the PostgreSQL guests).
GUEST_MODULES="$GUEST_MODULES xen-blkfront crc32c_generic ext4"
# The benchmark workload, copied into the guest image when it has been built.
WORKLOAD_BIN="${WORKLOAD_BIN:-$BUILD/workload/cw-workload}"
mkdir -p "$DEB_CACHE" "$IMAGES"

# --- the kernel -------------------------------------------------------------
KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }' || true)
[ -n "$KPKG" ] || die "cannot resolve linux-image-amd64's kernel package (apt-get update?)"
KVER=${KPKG#linux-image-}
KDIR="$DEB_CACHE/$KPKG"

fetch_kernel() {
    local deb
    deb=$(find "$DEB_CACHE" -maxdepth 1 -name "${KPKG}_*.deb" | head -n1)
    if [ -z "$deb" ]; then
        log "downloading $KPKG"
        (cd "$DEB_CACHE" && apt-get download -qq "$KPKG")
        deb=$(find "$DEB_CACHE" -maxdepth 1 -name "${KPKG}_*.deb" | head -n1)
        [ -n "$deb" ] || die "apt-get download $KPKG produced no .deb"
    fi
    # .done records the module lists extracted: a new module re-extracts.
    [ -f "$KDIR/.done" ] && [ "$(cat "$KDIR/.done")" = "$DOM0_MODULES $GUEST_MODULES" ] && return 0
    log "unpacking the kernel and its Xen/bridge modules from $(basename "$deb")"
    rm -rf "$KDIR"
    mkdir -p "$KDIR"
    dpkg-deb -c "$deb" | awk '{ print $NF }' | grep '\.ko\(\.xz\)\?$' >"$KDIR/modules.list"
    # Only the kernel and the modules we need, plus their dependencies:
    # extract in rounds (one pass over the package each) until closed.
    # Each module once: tar reports a name listed twice as "not found".
    local round=($(printf '%s\n' $DOM0_MODULES $GUEST_MODULES | awk '!seen[$0]++')) done=" " m p d paths next
    while [ ${#round[@]} -gt 0 ]; do
        paths=()
        for m in "${round[@]}"; do paths+=("$(module_path "$m")"); done
        dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$KDIR" "${paths[@]}"
        for m in "${round[@]}"; do done="$done$m "; done
        next=()
        for p in "${paths[@]}"; do
            for d in $(mod_depends "$KDIR/$p"); do
                case "$done ${next[*]-} " in *" $d "*) ;; *) next+=("$d") ;; esac
            done
        done
        round=(${next[@]+"${next[@]}"})
    done
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$KDIR" "./boot/vmlinuz-$KVER"
    echo "$DOM0_MODULES $GUEST_MODULES" >"$KDIR/.done"
}

# mod_depends FILE.ko: the modules it depends on, from its .modinfo section
# (no kmod needed on the host).
mod_depends() {
    local tmp
    tmp=$(mktemp)
    objcopy -O binary --only-section=.modinfo "$1" "$tmp"
    tr '\0' '\n' <"$tmp" | sed -n 's/^depends=//p' | tr ',' ' '
    rm -f "$tmp"
}

# module_path NAME: the path of NAME.ko in the package ('-' and '_' are one).
module_path() {
    # (one pass: a second substitution would rewrite the first one's brackets)
    local n
    n=$(printf '%s' "$1" | sed 's/[-_]/[-_]/g')
    local p
    p=$(grep -E "/${n}\.ko(\.xz)?$" "$KDIR/modules.list" | head -n1)
    [ -n "$p" ] || die "module $1 not found in $KPKG"
    printf '%s\n' "$p"
}

# mods_in_order NAMES: every module with its dependencies first.
mods_in_order() {
    local m d out=" "
    _visit() {
        local m=$1 p d
        case "$out" in *" $m "*) return 0 ;; esac
        p=$(module_path "$m")
        for d in $(mod_depends "$KDIR/$p"); do _visit "$d"; done
        out="$out$m "
    }
    for m in "$@"; do _visit "$m"; done
    echo $out
}

# copy_modules DESTROOT NAMES: modules into DESTROOT/lib/modules/, and
# DESTROOT/lib/modules/load.order listing them in load order.
copy_modules() {
    local dest=$1 m p
    shift
    mkdir -p "$dest/lib/modules"
    : >"$dest/lib/modules/load.order"
    for m in $(mods_in_order "$@"); do
        p=$(module_path "$m")
        case "$p" in
        *.xz) xz -dc "$KDIR/$p" >"$dest/lib/modules/$m.ko" ;;
        *) cp "$KDIR/$p" "$dest/lib/modules/$m.ko" ;;
        esac
        echo "$m" >>"$dest/lib/modules/load.order"
    done
}

# extract_vmlinux BZIMAGE OUT: the ELF kernel inside an x86 bzImage. The
# boot protocol header says where the compressed payload is (setup_sects at
# 0x1f1, payload_offset/payload_length at 0x248/0x24c); its magic says how
# it is compressed. Guests boot the ELF: libxc loads it as it is, where a
# bzImage costs every `xl create` a decompression in dom0 (xz, emulated).
extract_vmlinux() {
    local img=$1 out=$2 setup off len magic
    u32() { od -An -tu4 -j "$1" -N4 "$img" | tr -d ' '; }
    setup=$(od -An -tu1 -j $((0x1f1)) -N1 "$img" | tr -d ' ')
    [ "$setup" -gt 0 ] || setup=4
    off=$(((setup + 1) * 512 + $(u32 $((0x248)))))
    len=$(u32 $((0x24c)))
    [ "$len" -gt 0 ] || die "$img: no payload in its boot header"
    magic=$(od -An -tx1 -j "$off" -N4 "$img" | tr -d ' ')
    payload() { dd if="$img" iflag=skip_bytes,count_bytes skip="$off" count="$len" bs=64k status=none; }
    # The payload ends with the 4-byte uncompressed size (Linux's size_append):
    # xz is told to stop after one stream, gzip's "trailing garbage" status
    # (2) is not an error.
    case $magic in
    fd377a58) payload | xz -dc --single-stream >"$out.tmp" ;;
    1f8b*) payload | { gzip -dcq; [ $? -le 2 ]; } >"$out.tmp" ;;
    28b52ffd) payload | zstd -dcq >"$out.tmp" ;;
    *) die "$img: payload compressed with an unknown method (magic $magic)" ;;
    esac
    [ "$(od -An -c -N4 "$out.tmp" | tr -d ' ')" = '177ELF' ] || die "$img: the payload is not an ELF kernel"
    mv -f "$out.tmp" "$out"
}

# --- common pieces -----------------------------------------------------------
install_busybox() {
    local dest=$1 a
    mkdir -p "$dest/bin" "$dest/sbin" "$dest/usr/bin" "$dest/usr/sbin"
    cp "$BUSYBOX" "$dest/bin/busybox"
    for a in $("$BUSYBOX" --list-full); do
        [ -e "$dest/$a" ] || ln -s /bin/busybox "$dest/$a"
    done
}

make_cpio() { # make_cpio DIR OUT
    (cd "$1" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet --owner=0:0) |
        gzip -6 -n >"$2.tmp"
    mv -f "$2.tmp" "$2"
}

# Hash of the inputs of an image; the image is rebuilt when it changes.
inputs_hash() {
    local f
    for f in "$@"; do
        if [ -d "$f" ]; then
            find "$f" -type f -o -type l | LC_ALL=C sort | while read -r g; do
                printf '%s ' "$g"; [ -L "$g" ] && readlink "$g" || sha256sum <"$g"
            done
        elif [ -e "$f" ]; then
            printf '%s ' "$f"; sha256sum <"$f"
        else
            printf '%s\n' "$f"
        fi
    done | sha256sum | cut -d' ' -f1
}

up_to_date() { # up_to_date OUT HASH
    [ -f "$1" ] && [ "$(cat "$1.inputs" 2>/dev/null)" = "$2" ]
}

# --- guest image --------------------------------------------------------------------
build_guest() {
    local out="$IMAGES/guest.cpio.gz" h stage
    h=$(inputs_hash "$HERE/guest-init" "$BUSYBOX" "$KDIR/.done" "$0" $GUEST_MODULES "$WORKLOAD_BIN")
    up_to_date "$out" "$h" && { log "guest image up to date"; return 0; }
    stage=$(mktemp -d "$BUILD/stage-guest.XXXXXX")
    install_busybox "$stage"
    mkdir -p "$stage"/{proc,sys,dev,tmp,run,etc}
    copy_modules "$stage" $GUEST_MODULES
    install -m 0755 "$HERE/guest-init" "$stage/init"
    if [ -x "$WORKLOAD_BIN" ]; then
        install -m 0755 "$WORKLOAD_BIN" "$stage/bin/cw-workload"
        log "guest image: with $WORKLOAD_BIN"
    fi
    # The kernel's orderly_poweroff runs /sbin/poweroff; our init is a
    # shell script that does not handle busybox's poweroff signal.
    rm -f "$stage/sbin/poweroff"
    printf '#!/bin/sh\nexec /bin/busybox poweroff -f\n' >"$stage/sbin/poweroff"
    chmod 0755 "$stage/sbin/poweroff"
    make_cpio "$stage" "$out"
    rm -rf "$stage"
    echo "$h" >"$out.inputs"
    log "guest image: $out ($(stat -c %s "$out") bytes)"
}

# --- dom0 image ---------------------------------------------------------------------
# Binaries from the tools install that dom0 needs (path relative to $ROOTFS).
DOM0_TOOLS=(
    usr/sbin/xl usr/sbin/xenstored usr/sbin/xenconsoled
    usr/bin/xenstore usr/bin/xenstore-read usr/bin/xenstore-write usr/bin/xenstore-ls
    usr/bin/xenstore-rm usr/bin/xenstore-list usr/bin/xenstore-exists usr/bin/xenstore-chmod
    usr/bin/xenstore-watch
)
# Found by name anywhere in $ROOTFS (their directory depends on configure).
DOM0_TOOLS_ANYWHERE=(xen-init-dom0 libxl-save-helper)
# Copied when the tools install has them (for tracing and debugging).
DOM0_TOOLS_OPTIONAL=(usr/sbin/xentrace usr/sbin/xenperf usr/sbin/xen-diag usr/sbin/xenpm)

copy_with_libs() { # copy_with_libs DEST FILE...
    local dest=$1 f lib
    shift
    for f in "$@"; do
        LD_LIBRARY_PATH="$ROOTFS/usr/lib" ldd "$f" 2>/dev/null | awk '
            /=> \// { print $3 } /^\t\// { print $1 }' | while read -r lib; do
            # Xen's own libraries resolve into the tools install: they
            # live in the image at the same path relative to its root.
            local to=${lib#"$ROOTFS"}
            [ -e "$dest$to" ] && continue
            mkdir -p "$dest$(dirname "$to")"
            cp -L "$lib" "$dest$to"
        done
        if LD_LIBRARY_PATH="$ROOTFS/usr/lib" ldd "$f" 2>/dev/null | grep -q 'not found'; then
            die "$f: library not found: $(LD_LIBRARY_PATH="$ROOTFS/usr/lib" ldd "$f" | grep 'not found')"
        fi
    done
}

build_dom0_base() {
    local out="$IMAGES/dom0-base.cpio.gz" h stage t p
    h=$(inputs_hash "$HERE/dom0-init" "$HERE/lib.sh" "$HERE/vif-commaware" "$HERE/block-commaware" "$BUSYBOX" \
        "$KDIR/.done" "$0" "$XEN_DIST/.tools-installed" "$IMAGES/guest.cpio.gz" "$IMAGES/vmlinux" $DOM0_MODULES \
        "$DOM0_EXTRA")
    up_to_date "$out" "$h" && { log "dom0 base image up to date"; return 0; }
    stage=$(mktemp -d "$BUILD/stage-dom0.XXXXXX")
    install_busybox "$stage"
    mkdir -p "$stage"/{proc,sys,dev,tmp,run,root,etc/xen/scripts,var/log/xen/console,var/lib/xen,var/run/xen,var/lib/xenstored,boot,tests}
    copy_modules "$stage" $DOM0_MODULES
    for t in "${DOM0_TOOLS[@]}"; do
        [ -e "$ROOTFS/$t" ] || die "tools install has no $t"
        mkdir -p "$stage/$(dirname "$t")"
        cp -a "$ROOTFS/$t" "$stage/$t"
    done
    for t in "${DOM0_TOOLS_OPTIONAL[@]}"; do
        [ -e "$ROOTFS/$t" ] || continue
        mkdir -p "$stage/$(dirname "$t")"
        cp -a "$ROOTFS/$t" "$stage/$t"
    done
    for t in "${DOM0_TOOLS_ANYWHERE[@]}"; do
        p=$(cd "$ROOTFS" && find . -name "$t" -type f | head -n1)
        [ -n "$p" ] || die "tools install has no $t"
        mkdir -p "$stage/$(dirname "$p")"
        cp -a "$ROOTFS/$p" "$stage/$p"
        # Also reachable as /usr/lib/xen/bin/<t>, whatever configure chose.
        [ -e "$stage/usr/lib/xen/bin/$t" ] || { mkdir -p "$stage/usr/lib/xen/bin"; ln -sf "/${p#./}" "$stage/usr/lib/xen/bin/$t"; }
    done
    # Xen's shared libraries, then every binary's dependencies (including
    # the dynamic loader and libgcc_s.so.1, which pthread_cancel dlopens).
    mkdir -p "$stage/usr/lib"
    cp -a "$ROOTFS"/usr/lib/lib*.so* "$stage/usr/lib/"
    copy_with_libs "$stage" $(find "$stage/usr" -type f \( -perm -u+x -o -name '*.so*' \) ! -name '*.sh')
    p=$(gcc -print-file-name=libgcc_s.so.1)
    p=$(realpath "$p")
    [ -f "$p" ] || p=$(realpath /lib/x86_64-linux-gnu/libgcc_s.so.1)
    mkdir -p "$stage/lib/x86_64-linux-gnu"
    cp -L "$p" "$stage/lib/x86_64-linux-gnu/libgcc_s.so.1"
    # Xen's configuration files the tools read at run time.
    cp -a "$ROOTFS/etc/xen/." "$stage/etc/xen/" 2>/dev/null || true
    [ -d "$ROOTFS/var/lib/xen" ] && cp -a "$ROOTFS/var/lib/xen/." "$stage/var/lib/xen/"
    # Extra files (e.g. the ctl tool): a root overlay; executables get their
    # libraries too.
    if [ -d "$DOM0_EXTRA" ]; then
        cp -a "$DOM0_EXTRA/." "$stage/"
        copy_with_libs "$stage" $(cd "$DOM0_EXTRA" && find . -type f -perm -u+x | sed "s|^\.|$stage|")
        log "dom0 image: added $(find "$DOM0_EXTRA" -type f | wc -l) file(s) from $DOM0_EXTRA"
    fi
    install -m 0755 "$HERE/vif-commaware" "$stage/etc/xen/scripts/vif-commaware"
    install -m 0755 "$HERE/block-commaware" "$stage/etc/xen/scripts/block-commaware"
    install -m 0755 "$HERE/dom0-init" "$stage/init"
    install -m 0644 "$HERE/lib.sh" "$stage/lib/commaware-test.sh"
    cp "$IMAGES/vmlinux" "$stage/boot/vmlinux"
    cp "$IMAGES/guest.cpio.gz" "$stage/boot/guest.cpio.gz"
    echo "/usr/lib" >"$stage/etc/ld.so.conf"
    printf 'root:x:0:0:root:/root:/bin/sh\n' >"$stage/etc/passwd"
    printf 'root:x:0:\n' >"$stage/etc/group"
    make_cpio "$stage" "$out"
    rm -rf "$stage"
    echo "$h" >"$out.inputs"
    log "dom0 base image: $out ($(stat -c %s "$out") bytes)"
}

build_dom0_test() {
    local name out h stage t
    name=$(basename "$1" .sh)
    [ $# -gt 1 ] && name="$name+$(($# - 1))"
    out="$IMAGES/dom0-$name.cpio.gz"
    h=$(inputs_hash "$IMAGES/dom0-base.cpio.gz" "$@")
    up_to_date "$out" "$h" && { log "dom0 test image up to date: $out"; echo "$out"; return 0; }
    stage=$(mktemp -d "$BUILD/stage-test.XXXXXX")
    mkdir -p "$stage/tests"
    for t in "$@"; do install -m 0755 "$t" "$stage/tests/$(basename "$t")"; done
    (for t in "$@"; do basename "$t"; done) >"$stage/tests/order"
    make_cpio "$stage" "$stage.cpio.gz"
    cat "$IMAGES/dom0-base.cpio.gz" "$stage.cpio.gz" >"$out.tmp"
    mv -f "$out.tmp" "$out"
    rm -rf "$stage" "$stage.cpio.gz"
    echo "$h" >"$out.inputs"
    log "dom0 test image: $out"
    echo "$out"
}

main() {
    timed kernel-fetch fetch_kernel
    if ! cmp -s "$KDIR/boot/vmlinuz-$KVER" "$IMAGES/vmlinuz" || [ ! -f "$IMAGES/vmlinux" ]; then
        cp "$KDIR/boot/vmlinuz-$KVER" "$IMAGES/vmlinuz"
        timed guest-kernel extract_vmlinux "$IMAGES/vmlinuz" "$IMAGES/vmlinux"
    fi
    timed guest-image build_guest
    timed dom0-image build_dom0_base
    build_dom0_test "$@"
}

main "$@"
