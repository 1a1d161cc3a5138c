#!/usr/bin/env python3
"""Who a woken vCPU waited behind: long runnable waits in a xentrace file.

    scripts/xen/trace-waits.py OUT.img|DIR RUN [--doms NAME,NAME] [--min-ms 10]
    scripts/xen/trace-waits.py OUT.img|DIR RUN --doms hog1,hog2 --stints

OUT.img is the output disk of a boot that ran hostile.sh with one
(boot.sh BOOT_OUT_DISK): a tar of trace-RUN.bin (xentrace, runstate changes
and the scheduler's class records), trace-xl-list-RUN.txt (`xl list` at the
window's end) and `xl info`. DIR is where
such a tar was unpacked.

For every runnable -> running change of a vCPU of the named domains that
waited at least --min-ms, prints what each pCPU ran while it waited, and the
scheduler records about it around its wake (commaware: boost granted or
refused, donations, the priority and credit it woke with; credit1: boost
start/end). Then a summary: how many waits, by the last record before each
(a refused boost, say) and by the priority the waiter woke with.

The trace format is Xen's (public/trace.h, tools/xentrace/xentrace.c): a
stream of per-pCPU windows, each opened by a TRC_TRACE_CPU_CHANGE record
(cpu, bytes); a record is a header word (event:28, extra words:3, TSC
included:1), the TSC if included, and its extra words.
"""

import argparse
import collections
import io
import os
import re
import struct
import sys
import tarfile

TRC_TRACE_CPU_CHANGE = 0x0001F003
TRC_SCHED_RUNSTATE_CHANGE = 0x00021001
TRC_SCHED_CLASS = 0x00022000
SCHED_ID_SHIFT = 9
RUNNING, RUNNABLE, BLOCKED, OFFLINE = range(4)
PRI = {0: "BOOST", -1: "UNDER", -2: "OVER", -64: "IDLE"}  # credit.c's
# Scheduler class records: (scheduler id, event) -> name, number of words.
CLASS_EVT = {
    (6, 1): "cw-boost",
    (6, 2): "cw-boost-refused",
    (6, 3): "cw-donation-start",
    (6, 4): "cw-donation-end",
    (6, 5): "cw-wake",
    (0, 7): "csched-boost-start",
    (0, 8): "csched-boost-end",
}


def load(src, run):
    """Trace bytes of RUN, domid -> name, TSC cycles per ns."""
    files = {}
    if os.path.isdir(src):
        for n in os.listdir(src):
            if os.path.isfile(os.path.join(src, n)):
                with open(os.path.join(src, n), "rb") as f:
                    files[n] = f.read()
    else:
        # The disk holds a tar followed by whatever the image had: tarfile
        # stops at the tar's end-of-archive blocks.
        with open(src, "rb") as f:
            data = f.read()
        if data[:11] == b"CW-OUT-DISK":
            sys.exit(f"{src}: no trace written (the marker is still there)")
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as t:
            for m in t.getmembers():
                if m.isfile():
                    files[os.path.basename(m.name)] = t.extractfile(m).read()
    key = f"trace-{run}.bin"
    if key not in files:
        sys.exit(f"{src}: no {key} (have: {', '.join(sorted(files))})")
    names = {}
    listing = files.get(f"trace-xl-list-{run}.txt", files.get("trace-xl-list.txt", b""))
    for line in listing.decode().splitlines()[1:]:
        f = line.split()
        if len(f) >= 2 and f[1].isdigit():
            names[int(f[1])] = f[0]
    mhz = None
    for line in files.get("trace-xl-info.txt", b"").decode().splitlines():
        m = re.match(r"cpu_mhz\s*:\s*([0-9.]+)", line)
        if m:
            mhz = float(m.group(1))
    if not mhz:
        sys.exit(f"{src}: no cpu_mhz in trace-xl-info.txt: cannot turn TSC into time")
    return files[key], names, mhz / 1000.0


def records(buf):
    """(cpu, tsc, event, words) in file order (per pCPU, TSC order)."""
    off, cpu, end = 0, None, 0
    n = len(buf)
    while off + 4 <= n:
        (hdr,) = struct.unpack_from("<I", buf, off)
        ev, extra, has_tsc = hdr & 0x0FFFFFFF, (hdr >> 28) & 7, hdr >> 31
        size = 4 + (8 if has_tsc else 0) + 4 * extra
        if off + size > n:
            break
        tsc = None
        p = off + 4
        if has_tsc:
            lo, hi = struct.unpack_from("<II", buf, p)
            tsc = (hi << 32) | lo
            p += 8
        words = struct.unpack_from(f"<{extra}I", buf, p)
        off += size
        if ev == TRC_TRACE_CPU_CHANGE and extra >= 2:
            cpu = words[0]
            end = off + words[1]
            continue
        if off > end and end:
            cpu = None
        yield cpu, tsc, ev, words


def stints(ran, ids, who, ms):
    """A hog's own clock sees a stint too short for its guest to get back
    to the hog's loop (under TCG, a millisecond or so) as no run at all:
    its gaps between longer stints are what it reports."""
    per = collections.defaultdict(list)
    for spans in ran.values():
        for s, e, u in spans:
            if u[0] in ids:
                per[u].append((s, e))
    for u in sorted(per):
        ss = sorted(per[u])
        lens = [ms(e - s) for s, e in ss]
        short = sum(1 for x in lens if x < 1.0)
        print(f"{who(*u)}: {len(ss)} stints, {sum(lens):.0f} ms in all, {short} shorter than 1 ms")
        for thr in (0.0, 1.0, 2.0, 5.0):
            big = [x for x, n in zip(ss, lens) if n >= thr]
            gaps = sorted((ms(b[0] - a[1]) for a, b in zip(big, big[1:])), reverse=True)
            print(f"    between stints of {thr:.0f} ms or more: longest gaps "
                  + " ".join(f"{g:.1f}" for g in gaps[:3]) + f" ms, {sum(1 for g in gaps if g > 100)} over 100 ms")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("src")
    ap.add_argument("run")
    ap.add_argument("--doms", default="", help="domain names (default: the pair, srv-RUN and cli-RUN)")
    ap.add_argument("--min-ms", type=float, default=10.0)
    ap.add_argument("--show", type=int, default=12, help="waits printed in full")
    ap.add_argument("--stints", action="store_true",
                    help="instead: each vCPU's stints on a pCPU (how many, how short) and its longest "
                         "gap between stints of at least 0, 1, 2 and 5 ms")
    a = ap.parse_args()

    buf, names, cyc_per_ns = load(a.src, a.run)
    want = set(a.doms.split(",")) if a.doms else {f"srv-{a.run}", f"cli-{a.run}"}
    ids = {d for d, nm in names.items() if nm in want}
    if not ids:
        sys.exit(f"none of {sorted(want)} in xl list ({sorted(names.values())})")

    def who(d, v):
        return f"{names.get(d, 'd%d' % d)}.{v}"

    evs = []
    for cpu, tsc, ev, w in records(buf):
        if tsc is None or cpu is None:
            continue
        evs.append((tsc, cpu, ev, w))
    evs.sort(key=lambda e: e[0])
    if not evs:
        sys.exit("no timed records")
    t0 = evs[0][0]

    def ms(tsc):
        return (tsc - t0) / cyc_per_ns / 1e6

    running = {}  # cpu -> (vcpu, since)
    ran = collections.defaultdict(list)  # cpu -> [(start, end, vcpu)]
    since = {}  # vcpu -> (state, tsc)
    marks = collections.defaultdict(list)  # vcpu -> [(tsc, name)]
    waits = []
    for tsc, cpu, ev, w in evs:
        if ev & ~0x330 == TRC_SCHED_RUNSTATE_CHANGE and w:
            v = (w[0] >> 16, w[0] & 0xFFFF)
            new = (ev >> 4) & 3
            old = (ev >> 8) & 3
            if old == RUNNING:
                r = running.get(cpu)
                if r and r[0] == v:
                    ran[cpu].append((r[1], tsc, v))
                    del running[cpu]
            if new == RUNNING:
                prev = since.get(v)
                if old == RUNNABLE and prev and prev[0] == RUNNABLE and v[0] in ids:
                    waits.append((prev[1], tsc, cpu, v))
                running[cpu] = (v, tsc)
            since[v] = (new, tsc)
        elif ev & 0xFFFFF000 == TRC_SCHED_CLASS and w:
            sid, e = (ev >> SCHED_ID_SHIFT) & 7, ev & 0x1FF
            name = CLASS_EVT.get((sid, e))
            if name == "cw-wake" and len(w) >= 4:
                # credit1 priority (int8) | migrating << 8, credit (int32).
                pri = PRI.get(struct.unpack("<b", bytes([w[2] & 0xFF]))[0], "?")
                name = f"cw-wake {pri}" + (" migrating" if w[2] >> 8 & 1 else "")
                credit = struct.unpack("<i", struct.pack("<I", w[3]))[0]
                marks[(w[0], w[1])].append((tsc, f"{name} (credit {credit})", name))
            elif name:
                v = (w[0], w[1] if len(w) > 1 else 0)
                marks[v].append((tsc, name, name))

    if a.stints:
        stints(ran, ids, who, lambda t: t / cyc_per_ns / 1e6)
        return

    span = ms(evs[-1][0])
    long_ = [x for x in waits if (x[1] - x[0]) / cyc_per_ns / 1e6 >= a.min_ms]
    print(f"{a.run}: {len(evs)} records over {span / 1000:.1f} s; {len(waits)} runnable->running waits "
          f"of {', '.join(sorted(want))}; {len(long_)} of them >= {a.min_ms} ms")
    why = collections.Counter()
    at_wake = collections.Counter()
    behind = collections.Counter()
    for i, (t_w, t_r, cpu, v) in enumerate(long_):
        near = [(t, n, k) for t, n, k in marks.get(v, []) if t_w - 2e6 * cyc_per_ns <= t <= t_r]
        last = near[-1][2] if near else "no record"
        # The priority it woke with, whatever came after.
        woke = [k for _, _, k in near if k.startswith("cw-wake")]
        at_wake[woke[-1] if woke else "no wake record"] += 1
        why[last] += 1
        seen = collections.Counter()
        for c, spans in ran.items():
            for s, e, u in spans:
                o = min(e, t_r) - max(s, t_w)
                if o > 0:
                    seen[(c, u)] += o
        for (c, u), o in seen.items():
            behind[names.get(u[0], "d%d" % u[0])] += o / cyc_per_ns / 1e6
        if i < a.show:
            print(f"\n{who(*v)} woke at {ms(t_w):.3f} ms, ran on pCPU {cpu} at {ms(t_r):.3f} ms: "
                  f"waited {(t_r - t_w) / cyc_per_ns / 1e6:.2f} ms")
            for t, n, _ in near:
                print(f"    {ms(t):10.3f} {n}")
            for c in sorted({c for c, _ in seen}):
                row = sorted(((u, o) for (cc, u), o in seen.items() if cc == c), key=lambda x: -x[1])
                print(f"    pCPU {c} ran: " + ", ".join(f"{who(*u)} {o / cyc_per_ns / 1e6:.1f} ms" for u, o in row))
            for c in sorted(ran):
                # What ran at the wake, and how it came to run.
                at = [x for x in ran[c] if x[0] <= t_w < x[1]]
                if at:
                    s, e, u = at[0]
                    print(f"    pCPU {c} at the wake: {who(*u)} (running since {ms(s):.3f}, until {ms(e):.3f})")
    print(f"\nlong waits by the last scheduler record for the waiter (2 ms before its wake to its run): "
          + ", ".join(f"{k} {n}" for k, n in why.most_common()))
    print("long waits by the priority the waiter woke with (commaware's cw-wake record): "
          + ", ".join(f"{k} {n}" for k, n in at_wake.most_common()))
    print("what ran meanwhile (ms, summed over long waits, both pCPUs): "
          + ", ".join(f"{k} {v:.0f}" for k, v in behind.most_common()))


if __name__ == "__main__":
    main()
