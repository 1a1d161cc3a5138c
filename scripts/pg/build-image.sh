#!/bin/bash
# Build the PostgreSQL guest disk image from Debian packages (make pg-image).
#
#   scripts/pg/build-image.sh        -> build/pg/pg.img (ext4, no partition table)
#
# Three cached stages, each redone only when its inputs changed (a stamp file
# holds the hash of the inputs):
#   1. build/pg/rootfs-base   debootstrap --variant=minbase bookworm + the
#                             packages in PG_PACKAGES (apt in the chroot,
#                             services never started; .debs cached in
#                             build/pg/debootstrap-cache and build/pg/apt-cache)
#   2. build/pg/rootfs        a copy of rootfs-base, configured: postgres
#                             listens on TCP with trust auth for 10.0.0.0/24,
#                             small memory settings, ssl off; Debian's cluster
#                             15/main (initdb done by the package) holds a
#                             pgbench database "bench" (pgbench -i -s
#                             PG_SCALE, run in the chroot at build time, then
#                             a clean shutdown); /usr/local/sbin/cw-pg
#                             (scripts/pg/cw-pg) runs the server or pgbench
#                             in the booted guest
#   3. build/pg/pg.img        mke2fs -t ext4 -d build/pg/rootfs (no loop
#                             mounts); QEMU opens it with snapshot=on, so
#                             the image stays pristine between boots
#
# Environment: PG_SCALE (pgbench scale factor, default 2),
# PG_MIRROR (default: the first URI of /etc/apt/sources.list.d/debian.sources,
# else http://deb.debian.org/debian).  Needs root (debootstrap, chroot).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/../xen/common.sh"

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot)"

PG_DIR="$BUILD/pg"
BASE="$PG_DIR/rootfs-base"
ROOT="$PG_DIR/rootfs"
IMG="$PG_DIR/pg.img"
SUITE=bookworm
PG_SCALE="${PG_SCALE:-2}"
PG_PACKAGES="postgresql postgresql-contrib postgresql-client procps iproute2"
PGVER=15
if [ -z "${PG_MIRROR:-}" ]; then
    PG_MIRROR=$(sed -n 's/^URIs: *\([^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)
    PG_MIRROR=${PG_MIRROR:-http://deb.debian.org/debian}
fi
case "$PG_SCALE" in '' | *[!0-9]*) die "PG_SCALE must be a positive integer, not '$PG_SCALE'" ;; esac
mkdir -p "$PG_DIR" "$LOGS"

stamp_ok() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }
hash_of() { { printf '%s\n' "$@"; } | sha256sum | cut -d' ' -f1; }

# The chroot's pseudo-filesystems, mounted for apt and postgres; unmounted on
# any exit (the list is unwound in reverse order).
MOUNTED=()
chroot_mount() { # chroot_mount ROOT
    mkdir -p "$1/proc" "$1/dev/shm" "$1/dev/pts"
    mount -t proc proc "$1/proc" || die "mount proc in $1 failed"
    MOUNTED+=("$1/proc")
    mount -t tmpfs -o mode=1777 tmpfs "$1/dev/shm" || die "mount tmpfs on $1/dev/shm failed"
    MOUNTED+=("$1/dev/shm")
}
chroot_umount() {
    local i
    for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
        umount "${MOUNTED[$i]}" 2>/dev/null || umount -l "${MOUNTED[$i]}" 2>/dev/null || true
    done
    MOUNTED=()
}
trap chroot_umount EXIT
# A killed earlier run may have left mounts in a tree about to be removed:
# never rm -rf through them.
umount_under() { # umount_under DIR
    local m
    for m in $(findmnt -rn -o TARGET | grep -F "$1/" | sort -r); do
        umount "$m" 2>/dev/null || umount -l "$m" || die "cannot unmount $m"
    done
}
in_chroot() { # in_chroot ROOT CMD...: a clean environment
    local r=$1
    shift
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C HOME=/root DEBIAN_FRONTEND=noninteractive \
        chroot "$r" "$@"
}

# --- 1. debootstrap + packages ------------------------------------------------
stage_base() {
    local h
    h=$(hash_of "$SUITE" "$PG_MIRROR" "$PG_PACKAGES" v1)
    stamp_ok "$PG_DIR/rootfs-base.stamp" "$h" && { log "pg rootfs-base up to date"; return 0; }
    trap chroot_umount EXIT # timed runs each stage in a subshell
    if ! command -v debootstrap >/dev/null; then
        log "installing debootstrap"
        apt-get install -y -q -o DPkg::Lock::Timeout=600 debootstrap >/dev/null ||
            die "apt-get install debootstrap failed"
    fi
    command -v mke2fs >/dev/null || apt-get install -y -q -o DPkg::Lock::Timeout=600 e2fsprogs >/dev/null
    chroot_umount
    umount_under "$BASE"
    rm -rf "$BASE" "$PG_DIR/rootfs-base.stamp"
    mkdir -p "$PG_DIR/debootstrap-cache" "$PG_DIR/apt-cache/partial"
    log "debootstrap --variant=minbase $SUITE from $PG_MIRROR"
    debootstrap --variant=minbase --cache-dir="$PG_DIR/debootstrap-cache" \
        "$SUITE" "$BASE" "$PG_MIRROR" >"$LOGS/pg-debootstrap.log" 2>&1 ||
        { tail -n 30 "$LOGS/pg-debootstrap.log" >&2; die "debootstrap failed (log: $LOGS/pg-debootstrap.log)"; }
    # No service may start inside the chroot.
    printf '#!/bin/sh\nexit 101\n' >"$BASE/usr/sbin/policy-rc.d"
    chmod 0755 "$BASE/usr/sbin/policy-rc.d"
    printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
        >"$BASE/etc/apt/apt.conf.d/99commaware"
    cp /etc/resolv.conf "$BASE/etc/resolv.conf" 2>/dev/null || true
    chroot_mount "$BASE"
    mkdir -p "$BASE/var/cache/apt/archives"
    mount --bind "$PG_DIR/apt-cache" "$BASE/var/cache/apt/archives" || die "bind mount of the apt cache failed"
    MOUNTED+=("$BASE/var/cache/apt/archives")
    log "apt-get install $PG_PACKAGES (in the chroot)"
    {
        in_chroot "$BASE" apt-get update -q &&
            in_chroot "$BASE" apt-get install -y -q $PG_PACKAGES
    } >"$LOGS/pg-apt.log" 2>&1 ||
        { tail -n 30 "$LOGS/pg-apt.log" >&2; die "apt-get install in the chroot failed (log: $LOGS/pg-apt.log)"; }
    chroot_umount
    rm -f "$BASE/etc/resolv.conf"
    rm -rf "$BASE/var/lib/apt/lists/"* "$BASE/var/cache/apt/"*.bin
    [ -x "$BASE/usr/lib/postgresql/$PGVER/bin/postgres" ] || die "no postgres $PGVER binary in the chroot"
    [ -x "$BASE/usr/lib/postgresql/$PGVER/bin/pgbench" ] || die "no pgbench in the chroot"
    [ -f "$BASE/etc/postgresql/$PGVER/main/postgresql.conf" ] ||
        die "the package did not create cluster $PGVER/main"
    echo "$h" >"$PG_DIR/rootfs-base.stamp"
}

# --- 2. configuration + pgbench database ---------------------------------------
stage_root() {
    local h conf="$ROOT/etc/postgresql/$PGVER/main" bin="/usr/lib/postgresql/$PGVER/bin"
    local data="/var/lib/postgresql/$PGVER/main"
    h=$(hash_of "$(cat "$PG_DIR/rootfs-base.stamp")" "$PG_SCALE" "$(sha256sum <"$0")" "$(sha256sum <"$HERE/cw-pg")")
    stamp_ok "$PG_DIR/rootfs.stamp" "$h" && { log "pg rootfs up to date"; return 0; }
    trap chroot_umount EXIT
    chroot_umount
    umount_under "$ROOT"
    rm -rf "$ROOT" "$PG_DIR/rootfs.stamp"
    cp -a "$BASE" "$ROOT"
    # Settings for a 256 MiB guest; listen_addresses is set again by cw-pg
    # to the guest's own IP.
    cat >"$conf/conf.d/commaware.conf" <<'CONF'
# commaware pgbench guest (scripts/pg/build-image.sh)
listen_addresses = '*'
port = 5432
max_connections = 20
shared_buffers = 32MB
ssl = off
logging_collector = off
log_destination = 'stderr'
log_min_messages = warning
autovacuum = off
CONF
    { echo "# commaware: the boot tests' bridge (xenbr0), no password"
      echo "host all all 10.0.0.0/24 trust"
      cat "$conf/pg_hba.conf"; } >"$conf/pg_hba.conf.new"
    mv "$conf/pg_hba.conf.new" "$conf/pg_hba.conf"
    install -m 0755 "$HERE/cw-pg" "$ROOT/usr/local/sbin/cw-pg"
    printf 'pg\n' >"$ROOT/etc/hostname"
    # pgbench -i at build time: the server runs in the chroot on its unix
    # socket only, then stops cleanly (no recovery at boot).
    chroot_mount "$ROOT"
    mkdir -p "$ROOT/run/postgresql"
    in_chroot "$ROOT" chown postgres:postgres /run/postgresql
    log "pgbench -i -s $PG_SCALE (in the chroot)"
    (
        pgc() { in_chroot "$ROOT" runuser -u postgres -- "$@"; }
        rc=0
        if pgc "$bin/pg_ctl" -D "$data" -w -t 120 \
            -o "-c config_file=/etc/postgresql/$PGVER/main/postgresql.conf -c listen_addresses=''" \
            -l /tmp/pg-build.log start; then
            if ! { pgc "$bin/createdb" bench &&
                pgc "$bin/pgbench" -i -s "$PG_SCALE" -q bench &&
                pgc "$bin/psql" -At -d bench -c "select count(*) from pgbench_accounts" >"$PG_DIR/accounts.txt"; }; then
                rc=1
            fi
            pgc "$bin/pg_ctl" -D "$data" -w -t 120 -m fast stop || rc=1
        else
            rc=1
        fi
        cat "$ROOT/tmp/pg-build.log" 2>/dev/null
        exit $rc
    ) >"$LOGS/pg-init.log" 2>&1 ||
        { tail -n 30 "$LOGS/pg-init.log" >&2; die "pgbench -i in the chroot failed (log: $LOGS/pg-init.log)"; }
    chroot_umount
    [ "$(cat "$PG_DIR/accounts.txt")" = "$((PG_SCALE * 100000))" ] ||
        die "pgbench_accounts has $(cat "$PG_DIR/accounts.txt") rows, expected $((PG_SCALE * 100000))"
    rm -rf "$ROOT/tmp/"* "$ROOT/run/postgresql"
    echo "$h" >"$PG_DIR/rootfs.stamp"
}

# --- 3. the ext4 image ------------------------------------------------------------
stage_image() {
    local h used size
    h=$(hash_of "$(cat "$PG_DIR/rootfs.stamp")" v1)
    stamp_ok "$IMG.stamp" "$h" && [ -f "$IMG" ] && { log "pg image up to date: $IMG"; return 0; }
    rm -f "$IMG" "$IMG.stamp" "$IMG.tmp"
    # Room for the WAL and table growth of the runs: used + 50% + 256 MiB.
    used=$(du -sm "$ROOT" | cut -f1)
    size=$((used * 3 / 2 + 256))
    log "mke2fs -t ext4 -d $ROOT ($used MiB used, image ${size} MiB)"
    mke2fs -q -F -t ext4 -L cw-pg -d "$ROOT" "$IMG.tmp" "${size}M" >"$LOGS/pg-mke2fs.log" 2>&1 ||
        { cat "$LOGS/pg-mke2fs.log" >&2; die "mke2fs failed"; }
    e2fsck -fn "$IMG.tmp" >>"$LOGS/pg-mke2fs.log" 2>&1 || die "e2fsck found errors in the new image"
    mv -f "$IMG.tmp" "$IMG"
    echo "$h" >"$IMG.stamp"
    log "pg image: $IMG ($(du -m "$IMG" | cut -f1) MiB on disk)"
}

timed pg-rootfs-base stage_base
timed pg-rootfs stage_root
timed pg-image stage_image
echo "$IMG"
