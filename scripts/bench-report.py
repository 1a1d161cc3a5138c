#!/usr/bin/env python3
"""make demo / make bench report: credit vs commaware, measured in booted
Xen (QEMU TCG), with the simulator's figures for the same setups.

    scripts/bench-report.py OUTDIR                    print the report, write
        OUTDIR/{table.txt,results.json,latency-cdf-PAIR.svg,cpu-share-PAIR.svg}

Reads OUTDIR/data-SCHED-REP.txt (the DATA lines of
scripts/xen/tests/demo-pair.sh and pgbench.sh, collected by
scripts/xen/boot.sh; one file per boot), OUTDIR/boots.txt and
OUTDIR/sim-*.json (commaware-sim compare -o).  Every number printed comes
from those files; nothing is typed in.  Python standard library only.

Repeats: each figure is the median over the repeats, with the range
[min-max]; ratios are of the medians.  Ratios are what to read: QEMU TCG
inflates every absolute time.
"""
import glob
import json
import math
import os
import re
import statistics
import sys

SCHEDS = ("credit", "commaware")
COLOURS = {"credit": "#d62728", "commaware": "#1f77b4"}
LAT_ROWS = [("latency p50", "p50_us"), ("latency p90", "p90_us"), ("latency p99", "p99_us"),
            ("latency p99.9", "p999_us"), ("latency max", "max_us"), ("latency mean", "mean_us")]
# What the issue asks of each pair under contention (gain = credit/commaware
# for latency, commaware/credit for throughput).
TARGETS = {"tcp": (("p99_us", 10.0), ("rps", 3.0)),
           "vchan": (("p99_us", 10.0), ("rps", 3.0))}
PG_TARGETS = (("tps", 2.0), ("lat_ms", 2.0))
FAIR_PTS = 3.0
NOCONTENTION_PCT = 5.0
# Throughput-like keys (gain = commaware/credit); the rest are latencies.
HIGHER_IS_BETTER = ("rps", "tps")


def ceiling(key, loaded, ref):
    """The largest gain any scheduler could show under contention: the pair
    alone (no hogs, the better of the two schedulers, same boots) against
    credit under contention. Hogs only take CPU away, so no scheduler makes
    the pair faster with them than without them."""
    base = (loaded or {}).get("credit", {}).get(key)
    alone = [v for v in ((ref or {}).get(s, {}).get(key) for s in SCHEDS) if v is not None]
    if base is None or not alone:
        return None
    if key in HIGHER_IS_BETTER:
        return ratio(max(alone), base)
    return ratio(base, min(alone))


# --- loading -------------------------------------------------------------------

def load_boot(path):
    """{'calibrate': {...}, 'runs': {run: {client, server, window, cpu, hogs{}, xl[], pg[]}}}"""
    out = {"calibrate": None, "runs": {}, "bad_lines": 0, "xl_opts": None}
    if not os.path.exists(path):
        return out
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        m = re.match(r"(demo|pgbench) sched=(\S+) (.*)$", line)
        if not m:
            continue
        src, rest = m.group(1), m.group(3)
        if rest.startswith("calibrate "):
            try:
                out["calibrate"] = json.loads(rest[len("calibrate "):])
            except ValueError:
                out["bad_lines"] += 1
            continue
        if rest.startswith("xl-opts "):
            out["xl_opts"] = rest[len("xl-opts "):]
            continue
        if src == "pgbench":
            # key=value records of scripts/xen/tests/pgbench.sh: one per
            # pgbench run (bench=select|tpcb), run=alone|hogs.
            kv = dict(f.split("=", 1) for f in rest.split() if "=" in f)
            if "bench" in kv and "tps" in kv and " stmt " not in rest:
                load = {"alone": "ref", "hogs": "loaded"}.get(kv.get("run"), kv.get("run"))
                r = out["runs"].setdefault("pgbench-%s-%s" % (kv["bench"], load), {"hogs": {}, "xl": [], "dump": []})
                try:
                    r["result"] = {"tps": float(kv["tps"]), "lat_ms": float(kv["lat_avg_ms"]),
                                   "txns": int(kv.get("txns", 0)), "failed": int(kv.get("failed", 0))}
                except (KeyError, ValueError):
                    out["bad_lines"] += 1
            continue
        m = re.match(r"run=(\S+) (\S+) ?(.*)$", rest)
        if not m:
            continue
        run, kind, payload = m.groups()
        # make demo before transports had names: "ref" and "loaded" were TCP.
        if run in ("ref", "loaded"):
            run = "tcp-" + run
        r = out["runs"].setdefault(run, {"hogs": {}, "xl": [], "dump": []})
        try:
            if kind in ("client", "server", "window", "cpu", "result"):
                r[kind] = json.loads(payload)
            elif kind == "hog":
                name, js = payload.split(" ", 1)
                r["hogs"][name] = json.loads(js)
            elif kind == "xl-sched":
                r["xl"].append(payload)
            elif kind == "dump":
                r["dump"].append(payload)
        except ValueError:
            out["bad_lines"] += 1
    return out


def load_boots(outdir):
    """{sched: [boot, ...]} in repeat order."""
    boots = {}
    for s in SCHEDS:
        files = glob.glob(os.path.join(outdir, "data-%s-*.txt" % s))
        files.sort(key=lambda f: int(re.search(r"-(\d+)\.txt$", f).group(1)) if re.search(r"-(\d+)\.txt$", f) else 0)
        if not files and os.path.exists(os.path.join(outdir, "data-%s.txt" % s)):
            files = [os.path.join(outdir, "data-%s.txt" % s)]
        boots[s] = [load_boot(f) for f in files]
    return boots


def load_sim(path):
    if not os.path.exists(path):
        return None
    d = json.load(open(path))
    res = {}
    for run in d["runs"]:
        p = run["pairs"][0]
        lat = p["latency"]
        res[run["scheduler"]] = {
            "p50_us": lat.get("p50_us"), "p99_us": lat.get("p99_us"), "p999_us": lat.get("p999_us"),
            "max_us": lat.get("max_us"), "mean_us": lat.get("mean_us"), "rps": p.get("requests_per_s"),
            "domains": {x["name"]: x for x in run["domains"]},
        }
    return {"file": d.get("file"), "runs": res}


def load_boot_status(outdir):
    st = []
    path = os.path.join(outdir, "boots.txt")
    if os.path.exists(path):
        for line in open(path):
            f = line.split()
            if f and f[0] in SCHEDS:
                st.append(dict([("sched", f[0])] + [kv.split("=", 1) for kv in f[1:] if "=" in kv]))
            elif f:
                st.append(dict(kv.split("=", 1) for kv in f if "=" in kv))
    return st


# --- formatting ------------------------------------------------------------------

def fmt_us(v):
    if v is None:
        return "-"
    if v >= 1000000:
        return "%.2f s" % (v / 1000000)
    if v >= 10000:
        return "%.1f ms" % (v / 1000)
    if v >= 1000:
        return "%.2f ms" % (v / 1000)
    return "%.0f us" % v


def fmt_num(v, nd=0):
    return "-" if v is None else ("%%.%df" % nd) % v


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(r):
    return "-" if r is None else "%.2fx" % r


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def spread(vals, fmt):
    vals = [v for v in vals if v is not None]
    if len(vals) < 2:
        return ""
    return "[%s-%s]" % (fmt(min(vals)), fmt(max(vals)))


# --- CPU shares and entitlement ------------------------------------------------------

def role(dom, run):
    """'hog1-tcp-loaded' -> 'hog1'; Domain-0 -> dom0."""
    if dom == "Domain-0":
        return "dom0"
    return dom[:-len(run) - 1] if dom.endswith("-" + run) else dom


def cpu_shares(r, run):
    """{role: % of the pool} over the measured window, from xl list's CPU seconds."""
    c = r.get("cpu")
    if not c:
        return None
    t = c["end"]["t"] - c["start"]["t"]
    cap = c.get("pcpus") or 2
    if t <= 0:
        return None
    out = {}
    for d, v in c["end"]["cpu"].items():
        v0 = c["start"]["cpu"].get(d)
        if v0 is not None:
            out[role(d, run)] = 100.0 * (v - v0) / (t * cap)
    return out


def waterfill(demands, capacity=100.0):
    """Max-min fair share (equal weights): {name: (weight, demand)} -> {name: entitlement}."""
    left = dict(demands)
    ent = {}
    cap = capacity
    while left:
        wsum = sum(w for w, _ in left.values())
        level = cap / wsum
        sat = {n: wd for n, wd in left.items() if wd[1] <= level * wd[0]}
        if not sat:
            for n, (w, _) in left.items():
                ent[n] = level * w
            break
        for n, (w, d) in sat.items():
            ent[n] = d
            cap -= d
            del left[n]
    return ent


def entitlements(shares, npcpus, greedy=("hog",)):
    """Two readings of 'entitled', both equal weights (every domain here has
    weight 256): per domain (max-min over measured demand; a hog wants its
    whole vCPU) and pair-as-one (a client blocked on its server lends it
    its weight: ticket transfer, which is what donation implements).
    GREEDY: name prefixes of the domains that want a whole vCPU."""
    if not shares:
        return None, None
    vcpu = 100.0 / npcpus
    dem = {}
    for n, v in shares.items():
        dem[n] = (1.0, vcpu if n.startswith(greedy) else v)
    per_domain = waterfill(dem)
    grouped = {n: wd for n, wd in dem.items() if n not in ("app", "db")}
    if "app" in shares and "db" in shares:
        grouped["pair"] = (2.0, shares["app"] + shares["db"])
    pair = waterfill(grouped)
    return per_domain, pair


# --- plots (hand-written SVG) ---------------------------------------------------------

def cdf_points(hist):
    if not hist:
        return []
    tot = sum(hist["count"])
    if not tot:
        return []
    pts, s = [], 0
    for le, n in zip(hist["le_us"], hist["count"]):
        s += n
        pts.append((le, s / tot))
    return pts


def merge_hists(hs):
    hs = [h for h in hs if h]
    if not hs:
        return None
    if any(h["le_us"] != hs[0]["le_us"] for h in hs):
        return hs[0]
    return {"le_us": hs[0]["le_us"], "count": [sum(c) for c in zip(*(h["count"] for h in hs))]}


def svg_cdf(series, path, title):
    """series: [(label, colour, dash, [(x_us, frac)])]; log-x CDF."""
    xs = [x for _, _, _, p in series for x, _ in p if x > 0]
    if not xs:
        return False
    lo = 10 ** math.floor(math.log10(min(xs)))
    hi = 10 ** math.ceil(math.log10(max(xs)))
    W, H, L, R, T, B = 760, 440, 70, 20, 40, 60
    pw, ph = W - L - R, H - T - B

    def X(v):
        return L + pw * (math.log10(max(v, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))

    def Y(f):
        return T + ph * (1 - f)

    o = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (W, H),
         '<rect width="100%" height="100%" fill="white"/>',
         '<text x="%d" y="22" font-size="14">%s</text>' % (L, title)]
    d = lo
    while d <= hi * 1.0001:
        x = X(d)
        o.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>' % (x, T, x, T + ph))
        o.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' % (x, T + ph + 18, fmt_us(d)))
        d *= 10
    for f in (0, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0):
        y = Y(f)
        o.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/>' % (L, y, L + pw, y))
        o.append('<text x="%d" y="%.1f" text-anchor="end">%g</text>' % (L - 6, y + 4, f))
    o.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="black"/>' % (L, T, pw, ph))
    o.append('<text x="%d" y="%d" text-anchor="middle">round-trip latency (log scale; QEMU TCG: absolute values inflated)</text>' % (L + pw / 2, H - 18))
    o.append('<text x="16" y="%d" transform="rotate(-90 16 %d)" text-anchor="middle">fraction of requests</text>' % (T + ph / 2, T + ph / 2))
    for i, (label, col, dash, pts) in enumerate(series):
        if not pts:
            continue
        path_d = "M %.1f %.1f" % (X(pts[0][0]), Y(0))
        prev = 0.0
        for x, f in pts:
            path_d += " L %.1f %.1f L %.1f %.1f" % (X(x), Y(prev), X(x), Y(f))
            prev = f
        da = 'stroke-dasharray="6 4"' if dash else ""
        o.append('<path d="%s" fill="none" stroke="%s" stroke-width="2" %s/>' % (path_d, col, da))
        ly = T + ph - 16 * len(series) - 4 + 16 * i
        o.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2" %s/>' % (
            L + pw - 230, ly, L + pw - 200, ly, col, da))
        o.append('<text x="%d" y="%d">%s</text>' % (L + pw - 194, ly + 4, label))
    o.append("</svg>")
    open(path, "w").write("\n".join(o) + "\n")
    return True


def svg_shares(groups, path, title):
    """groups: [(domain, {sched: share}, entitlement_per_domain, entitlement_pair)]: grouped bars."""
    if not groups:
        return False
    top = max([v for _, sh, _, _ in groups for v in sh.values() if v is not None] + [1.0])
    top = 10 * math.ceil(top / 10.0)
    W, H, L, R, T, B = 760, 420, 60, 20, 40, 70
    pw, ph = W - L - R, H - T - B
    gw = pw / len(groups)
    bw = gw / (len(SCHEDS) + 1.5)

    def Y(v):
        return T + ph * (1 - v / top)

    o = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (W, H),
         '<rect width="100%" height="100%" fill="white"/>',
         '<text x="%d" y="22" font-size="14">%s</text>' % (L, title)]
    v = 0
    while v <= top + 0.01:
        o.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/>' % (L, Y(v), L + pw, Y(v)))
        o.append('<text x="%d" y="%.1f" text-anchor="end">%g%%</text>' % (L - 6, Y(v) + 4, v))
        v += 10
    for gi, (name, sh, ent_d, ent_p) in enumerate(groups):
        x0 = L + gi * gw + bw * 0.75
        for si, s in enumerate(SCHEDS):
            val = sh.get(s)
            if val is None:
                continue
            x = x0 + si * bw
            o.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>' % (
                x, Y(val), bw * 0.9, max(0.0, Y(0) - Y(val)), COLOURS[s]))
            o.append('<text x="%.1f" y="%.1f" text-anchor="middle" font-size="10">%.1f</text>' % (x + bw * 0.45, Y(val) - 3, val))
        for ent, dash in ((ent_d, "4 3"), (ent_p, "1 2")):
            if ent is not None:
                o.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black" stroke-width="1.5" stroke-dasharray="%s"/>' % (
                    x0 - 4, Y(ent), x0 + len(SCHEDS) * bw + 2, Y(ent), dash))
        o.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' % (x0 + bw, T + ph + 16, name))
    o.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="black"/>' % (L, T, pw, ph))
    ly = H - 24
    lx = L
    for s in SCHEDS:
        o.append('<rect x="%d" y="%d" width="12" height="12" fill="%s"/>' % (lx, ly - 10, COLOURS[s]))
        o.append('<text x="%d" y="%d">%s</text>' % (lx + 16, ly, s))
        lx += 110
    o.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black" stroke-dasharray="4 3"/>' % (lx, ly - 4, lx + 24, ly - 4))
    o.append('<text x="%d" y="%d">entitled, per domain (max-min)</text>' % (lx + 28, ly))
    lx += 230
    o.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black" stroke-dasharray="1 2"/>' % (lx, ly - 4, lx + 24, ly - 4))
    o.append('<text x="%d" y="%d">entitled, pair as one</text>' % (lx + 28, ly))
    o.append('<text x="16" y="%d" transform="rotate(-90 16 %d)" text-anchor="middle">CPU, %% of the pool (xl list)</text>' % (T + ph / 2, T + ph / 2))
    o.append("</svg>")
    open(path, "w").write("\n".join(o) + "\n")
    return True


# --- report ---------------------------------------------------------------------------

def pair_kinds(boots):
    kinds = []
    for s in SCHEDS:
        for b in boots[s]:
            for run in b["runs"]:
                k = run.rsplit("-", 1)[0]
                if not run.startswith("pgbench-") and k not in kinds:
                    kinds.append(k)
    order = {"tcp": 0, "vchan": 1, "vchan-busy": 2}
    return sorted(kinds, key=lambda k: order.get(k, 9))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    outdir = sys.argv[1]
    boots = load_boots(outdir)
    status = load_boot_status(outdir)
    L = []
    p = L.append
    results = {"pairs": {}, "pgbench": {}, "targets": [], "boots": status}
    nrep = {s: len(boots[s]) for s in SCHEDS}

    p("commaware: credit vs commaware, booted under QEMU TCG (patched Xen 4.17, 2 pCPUs)")
    p("=" * 86)
    p("Boots: %s credit, %s commaware, alternating, same images and guests; PV guests, 1 vCPU each." % (
        nrep["credit"], nrep["commaware"]))
    p("Figures: median over the boots [min-max]; gain = credit/commaware for latency,")
    p("commaware/credit for throughput (>1 = commaware ahead).  QEMU TCG inflates absolute")
    p("times: read the ratios.")
    for st in status:
        if "sched" in st and "rejected" in st:
            p("  boot %-9s #%s: %s s, REJECTED: calibration %s steps/us against the first boot's %s; booted again" % (
                st["sched"], st.get("rep", "1"), st.get("seconds", "?"), st.get("calibration", "?"),
                st.get("reference", "?")))
        elif "sched" in st:
            p("  boot %-9s #%s: %s s, %s, host load %s before / %s after" % (
                st["sched"], st.get("rep", "1"), st.get("seconds", "?"),
                "ok" if st.get("rc") == "0" else "FAILED rc=%s" % st.get("rc"),
                st.get("load_before", "?"), st.get("load_after", "?")))
    for s in SCHEDS:
        bad = sum(b["bad_lines"] for b in boots[s])
        if bad:
            p("  %s: %d DATA line(s) garbled on the serial line, ignored" % (s, bad))
    opts = sorted({b["xl_opts"] for b in boots["commaware"] if b["xl_opts"]})
    if opts:
        p("  commaware NOT at its defaults: xl sched-commaware -s %s" % " | ".join(opts))
    cals = {s: [((b["calibrate"] or {}).get("calibration") or {}).get("iters_per_us") for b in boots[s]] for s in SCHEDS}
    if any(v for vs in cals.values() for v in vs if v):
        p("  calibration in an idle guest per boot (steps/us): credit %s, commaware %s" % (
            " ".join(fmt_num(v, 1) for v in cals["credit"]), " ".join(fmt_num(v, 1) for v in cals["commaware"])))
    p("")

    for kind in pair_kinds(boots):
        res = report_pair(kind, boots, outdir, p)
        results["pairs"][kind] = res
        for key, want in TARGETS.get(kind, ()):
            g = res.get("loaded", {}).get("gain", {}).get(key)
            results["targets"].append({"what": "%s pair under contention: %s gain >= %gx" % (kind, key, want),
                                       "value": g, "met": g is not None and g >= want, "want": want,
                                       "ceiling": ceiling(key, res.get("loaded"), res.get("ref"))})
        nc = res.get("ref", {}).get("gain", {})
        for key in ("p50_us", "p99_us", "rps"):
            g = nc.get(key)
            results["targets"].append({"what": "%s pair, no contention: %s within %g%% of credit" % (kind, key, NOCONTENTION_PCT),
                                       "value": g, "met": g is not None and g >= 1 - NOCONTENTION_PCT / 100})
        for s in SCHEDS:
            for n, d in (res.get("fair", {}).get(s) or {}).items():
                results["targets"].append({"what": "%s pair, %s: %s share within %g pts of entitlement (per domain / pair as one)" % (
                    kind, s, n, FAIR_PTS), "value": d, "met": d is not None and min(abs(d[0]), abs(d[1])) <= FAIR_PTS})

    pg = report_pgbench(boots, p)
    if pg:
        results["pgbench"] = pg
        for mode, r in ((k, v) for k, v in pg.items() if not k.endswith("-ref")):
            for key, want in PG_TARGETS:
                g = r.get("gain", {}).get(key)
                results["targets"].append({"what": "pgbench %s under contention: %s gain >= %gx" % (mode, key, want),
                                           "value": g, "met": g is not None and g >= want, "want": want,
                                           "ceiling": ceiling(key, r, pg.get(mode + "-ref"))})

    if results["targets"]:
        p("TARGETS (the issue's \"must reach\"; measured here, this run)")
        for t in results["targets"]:
            v = t["value"]
            vs = fmt_ratio(v) if isinstance(v, (int, float)) else (
                "%+.1f / %+.1f pts" % tuple(v) if isinstance(v, (list, tuple)) else "-")
            c = t.get("ceiling")
            if c is not None:
                vs += "  (ceiling %s%s)" % (fmt_ratio(c), ": beyond reach" if c < t["want"] else "")
            p("  %-7s %-86s %s" % ("MET" if t["met"] else ("MISSED" if v is not None else "NO DATA"), t["what"], vs))
        if any(t.get("ceiling") is not None for t in results["targets"]):
            p("  ceiling = the pair alone (no hogs, the better scheduler) against credit under contention,")
            p("  the same boots: the most any scheduler could gain, since hogs only take CPU away. A target")
            p("  above its ceiling cannot be met on this host, whatever the scheduler does.")
        p("")

    for st in status:
        if "total_seconds" in st:
            p("%s: %s s in all (builds %s s)" % (st.get("what", "run"), st.get("total_seconds"), st.get("build_seconds")))
    text = "\n".join(L) + "\n"
    open(os.path.join(outdir, "table.txt"), "w").write(text)
    results["raw"] = boots
    json.dump(results, open(os.path.join(outdir, "results.json"), "w"), indent=1, default=str)
    sys.stdout.write(text)


def report_pair(kind, boots, outdir, p):
    """Print one pair's section; return its figures."""
    res = {}

    def runs(s, load):
        return [b["runs"].get("%s-%s" % (kind, load)) or {} for b in boots[s]]

    win = next((r.get("window") for s in SCHEDS for r in runs(s, "loaded") if r.get("window")), {}) or {}
    path = "TCP through dom0's netback and xenbr0" if kind == "tcp" else (
        "libxenvchan: granted ring + interdomain event channel, dom0 not on the path" if kind == "vchan" else (
            "vchan, and the db also does background work (a SCHED_IDLE thread: its vCPU never blocks)"
            if kind == "vchan-busy" else kind))
    p("PAIR %s — app (client, %s us/response) <-> db (server, %s us/request), %s;" % (
        kind.upper(), win.get("app_work_us", "?"), win.get("db_work_us", "?"), path))
    p("  contention: %s CPU-hog guests on the same 2 pCPUs; %s s measured after %s s warm-up" % (
        win.get("hogs", "?"), win.get("duration_s", "?"), win.get("warmup_s", "?")))
    simname = {"tcp": "demo-tcg", "vchan": "demo-vchan"}.get(kind)
    for load, title in (("loaded", "UNDER CONTENTION"), ("ref", "NO CONTENTION (the pair alone)")):
        cl = {s: [r.get("client") for r in runs(s, load) if r.get("client")] for s in SCHEDS}
        if not any(cl.values()):
            p("  %s: no result" % title)
            continue
        sim = load_sim(os.path.join(outdir, "sim-%s%s.json" % (simname, "" if load == "loaded" else "-nohogs"))) if simname else None
        p("  %s" % title)
        p("  %-16s %-26s %-26s %8s" % ("", "credit", "commaware", "gain") +
          ("  | SIMULATED credit  commaware    gain" if sim else ""))
        m = {"gain": {}, "credit": {}, "commaware": {}}
        for label, key in LAT_ROWS + [("requests/s", "rps")]:
            f = fmt_num if key == "rps" else fmt_us
            va = med([c.get(key) for c in cl["credit"]])
            vb = med([c.get(key) for c in cl["commaware"]])
            g = ratio(vb, va) if key == "rps" else ratio(va, vb)
            m["gain"][key], m["credit"][key], m["commaware"][key] = g, va, vb
            line = "  %-16s %9s %-16s %9s %-16s %8s" % (
                label, f(va), spread([c.get(key) for c in cl["credit"]], f),
                f(vb), spread([c.get(key) for c in cl["commaware"]], f), fmt_ratio(g))
            if sim:
                sa = sim["runs"].get("credit", {}).get(key)
                sb = sim["runs"].get("commaware", {}).get(key)
                line += "  | %9s %10s %7s" % (f(sa), f(sb), fmt_ratio(ratio(sb, sa) if key == "rps" else ratio(sa, sb)))
            p(line)
        p("  requests measured: credit %s, commaware %s" % (
            "/".join(str(c.get("requests", 0)) for c in cl["credit"]),
            "/".join(str(c.get("requests", 0)) for c in cl["commaware"])))
        if sim:
            p("  SIMULATED = commaware-sim on %s (simulated time, no TCG): not a measurement." % sim.get("file"))
        res[load] = m
    # CDF: histograms pooled over the repeats.
    series = []
    for s in SCHEDS:
        for load, dash in (("loaded", False), ("ref", True)):
            h = merge_hists([(r.get("client") or {}).get("hist") for r in runs(s, load)])
            pts = cdf_points(h)
            if pts:
                series.append(("%s, %s" % (s, "with hogs" if load == "loaded" else "alone"), COLOURS[s], dash, pts))
    svg = os.path.join(outdir, "latency-cdf-%s.svg" % kind)
    if svg_cdf(series, svg, "%s pair: round-trip latency CDF (measured, QEMU TCG, all boots pooled)" % kind):
        p("  latency CDF: %s" % svg)

    # CPU shares over the loaded window, per domain, against entitlement.
    shares = {s: [cpu_shares(r, "%s-loaded" % kind) for r in runs(s, "loaded") if r.get("cpu")] for s in SCHEDS}
    if any(shares.values()):
        p("  CPU share over the measured window, % of the pool (xl list), under contention:")
        p("  %-10s %-24s %-24s | %s" % ("domain", "credit (entitled*)", "commaware (entitled*)", "delta credit / commaware, pts"))
        names = []
        for s in SCHEDS:
            for sh in shares[s]:
                for n in sh:
                    if n not in names:
                        names.append(n)
        names.sort(key=lambda n: (n != "dom0", not n.startswith(("app", "db")), n))
        medsh, ents, fair, groups = {}, {}, {}, []
        for s in SCHEDS:
            medsh[s] = {n: med([sh.get(n) for sh in shares[s]]) for n in names}
            npc = next((r["cpu"].get("pcpus") for r in runs(s, "loaded") if r.get("cpu")), 2)
            # A busy db never blocks: it wants its whole vCPU, like a hog.
            greedy = ("hog", "db") if kind.endswith("-busy") else ("hog",)
            ents[s] = entitlements({n: v for n, v in medsh[s].items() if v is not None}, npc, greedy)
        for n in names:
            cells, deltas = [], []
            for s in SCHEDS:
                v = medsh[s].get(n)
                ed, ep = ents[s]
                e1 = ed.get(n) if ed else None
                e2 = (ep.get(n) if ep and n in ep else None)
                cells.append("%6s (%s)" % (fmt_num(v, 1), "/".join(fmt_num(e, 1) for e in (e1, e2) if e is not None) or "-"))
                if n.startswith("hog") and v is not None and e1 is not None and e2 is not None:
                    fair.setdefault(s, {})[n] = (v - e1, v - e2)
                    deltas.append("%+.1f/%+.1f" % (v - e1, v - e2))
            p("  %-10s %-24s %-24s | %s" % (n, cells[0], cells[1], "  ".join(deltas)))
            ed_c = ents["commaware"][0] or {}
            groups.append((n, {s: medsh[s].get(n) for s in SCHEDS}, ed_c.get(n), (ents["commaware"][1] or {}).get(n)))
        for s in SCHEDS:
            ep = ents[s][1]
            if ep and "pair" in ep:
                p("  %s: the pair (app+db) used %.1f%%, entitled %.1f%% as one (two weights)" % (
                    s, (medsh[s].get("app") or 0) + (medsh[s].get("db") or 0), ep["pair"]))
        p("  * entitled = per domain (max-min over each domain's measured demand; a hog wants its whole vCPU)")
        p("    / pair as one (app and db lend each other their weight: a client blocked on its server is")
        p("    still a competing domain; what donation implements).  Equal weights (256) everywhere.")
        res["fair"] = fair
        res["shares"] = medsh
        svg = os.path.join(outdir, "cpu-share-%s.svg" % kind)
        if svg_shares(groups, svg, "%s pair under contention: CPU share per domain (measured, medians)" % kind):
            p("  CPU share plot: %s" % svg)

    # Scheduler counters (first boot of each scheduler).
    for s in SCHEDS:
        rr = runs(s, "loaded")
        if rr and rr[0].get("xl") and s == "commaware":
            p("  commaware counters, first boot, loaded run (xl sched-commaware, since each guest's creation):")
            for line in rr[0]["xl"][:20]:
                p("    " + line)
    p("")
    return res


def report_pgbench(boots, p):
    """pgbench results (scripts/xen/tests/pgbench.sh): select-only and TPC-B-like, alone and with hogs."""
    modes = []
    for s in SCHEDS:
        for b in boots[s]:
            for run, r in b["runs"].items():
                if run.startswith("pgbench-") and r.get("result"):
                    mode = run[len("pgbench-"):].rsplit("-", 1)[0]
                    if mode not in modes:
                        modes.append(mode)
    if not modes:
        return None
    out = {}
    p("PGBENCH — PostgreSQL 15 in one guest, pgbench (1 client) in another, TCP via dom0; contention: 2 hog guests")
    p("  %-16s %-26s %-26s %8s" % ("", "credit", "commaware", "gain"))
    for mode in modes:
        for load in ("loaded", "ref"):
            rs = {s: [b["runs"].get("pgbench-%s-%s" % (mode, load), {}).get("result") for b in boots[s]] for s in SCHEDS}
            rs = {s: [r for r in v if r] for s, v in rs.items()}
            if not any(rs.values()):
                continue
            p("  %s, %s" % ({"select": "select-only (-S)", "tpcb": "TPC-B-like"}.get(mode, mode),
                           "under contention" if load == "loaded" else "no contention"))
            m = {"gain": {}}
            for label, key in (("transactions/s", "tps"), ("mean latency ms", "lat_ms")):
                va = med([r.get(key) for r in rs["credit"]])
                vb = med([r.get(key) for r in rs["commaware"]])
                g = ratio(vb, va) if key == "tps" else ratio(va, vb)
                m["gain"][key] = g
                m.setdefault("credit", {})[key] = va
                m.setdefault("commaware", {})[key] = vb
                p("  %-16s %9s %-16s %9s %-16s %8s" % (
                    label, fmt_num(va, 2), spread([r.get(key) for r in rs["credit"]], lambda v: fmt_num(v, 2)),
                    fmt_num(vb, 2), spread([r.get(key) for r in rs["commaware"]], lambda v: fmt_num(v, 2)), fmt_ratio(g)))
            if load == "loaded":
                out[mode] = m
            else:
                out[mode + "-ref"] = m
    p("")
    return out


if __name__ == "__main__":
    main()
