#!/bin/bash
# dry-control.sh [TREE]: run scripts/xen/tests/control.sh against the fake
# Xen (no hypervisor, no QEMU) to check the test's own logic: xl is the
# patched xl under fakexen.so, commaware-ctl the Rust tool under the same
# shim ($CTL_BIN, default target/release or target/debug), xenstore a fake
# on /run/xenstored/socket inside a private mount namespace (needs root for
# `unshare -m`).  Guests, pings and `xl create/destroy` are stubbed, so the
# ping and destroy steps FAIL here by design; everything else should PASS.
set -u
. "$(dirname "$0")/common.sh"
CTL_BIN=${CTL_BIN:-$(ls "$REPO"/target/release/commaware-ctl "$REPO"/target/debug/commaware-ctl 2>/dev/null | head -n 1)}
[ -x "$CTL_BIN" ] || { echo "no commaware-ctl binary (cargo build -p commaware-ctl)" >&2; exit 2; }
B=$OUT/dry-bin
rm -rf "$B"
mkdir -p "$B"
# dom0's userland is busybox: the same applets here.
for a in awk sed grep tr cut tail head wc diff cat sleep printf mkdir; do ln -s "$(command -v busybox)" "$B/$a"; done
cat >"$B/xl" <<XL
#!/bin/bash
case "\$1" in
domid) case "\$2" in Domain-0) echo 0;; g1) echo 1;; g2) echo 2;; *) exit 1;; esac; exit 0;;
cpupool-cpu-remove|cpupool-create|cpupool-destroy|cpupool-cpu-add) exit 0;;
cpupool-migrate) case "\$3" in crp) echo "2 1";; *) echo "2 0";; esac >/run/fake-dom-pools; exit 0;;
info|create|destroy|list|cpupool-*|dmesg|debug-keys) echo "dry-run: xl \$* stubbed" >&2; exit 1;;
esac
# No /etc/xen/xl.conf here: drop xl's one line about it, synchronously.
LD_PRELOAD=$OUT/fakexen.so "$TREE/tools/xl/xl" "\$@" 2>/run/xl.err.\$\$
rc=\$?
grep -v 'xl.conf' /run/xl.err.\$\$ >&2
rm -f /run/xl.err.\$\$
exit \$rc
XL
cat >"$B/commaware-ctl" <<CTL
#!/bin/sh
LD_PRELOAD=$OUT/fakexen.so exec "$CTL_BIN" "\$@"
CTL
printf '#!/bin/sh\nexit 0\n' >"$B/ping"
chmod +x "$B/xl" "$B/commaware-ctl" "$B/ping"
cat >"$OUT/dry-inner.sh" <<INNER
mount -t tmpfs none /run
mkdir -p /run/xenstored
python3 "$HERE/fake_xenstored.py" /run/xenstored/socket &
XSPID=\$!
sleep 1
export XENSTORED_PATH=/run/xenstored/socket FAKE_XEN_STATE=/run/fakexen.state FAKE_DOM_POOLS=/run/fake-dom-pools
export PATH=$B:/usr/bin:/bin
. "$REPO/scripts/xen/lib.sh"
xen_sched() { echo commaware; }
# What libxl__build_post does with the configs control.sh writes.
guest_start() {
    case \$1 in
    g1) xl sched-commaware -d g1 -w 512 -c 90 ;;
    g2) xl sched-commaware -d g2 -w 128 --donation off --driver on ;;
    esac
}
wait_guest() { return 0; }
guest_log() { echo /dev/null; }
. "$REPO/scripts/xen/tests/control.sh"
kill \$XSPID
INNER
unshare -m busybox sh "$OUT/dry-inner.sh" >"$OUT/dry-control.log" 2>&1
grep -E '^(PASS|FAIL)' "$OUT/dry-control.log" | sort | uniq -c | awk '{ print $2 }' | sort | uniq -c
grep '^FAIL' "$OUT/dry-control.log"
echo "log: $OUT/dry-control.log"
# Expected FAILs: the guests' pings (stubbed), destroy-guests, only-dom0-left.
! grep '^FAIL' "$OUT/dry-control.log" | grep -vE 'FAIL: (g1-pings-g2|g2-pings-g1|dom0-pings-g1-and-g2|destroy-guests|only-dom0-left):' | grep -q .
