#!/usr/bin/env python3
"""make demo's report: measured (two QEMU TCG boots) vs simulated.

    scripts/demo-report.py OUTDIR                    print the table, write
        OUTDIR/results.json, OUTDIR/table.txt, OUTDIR/latency-cdf.svg
    scripts/demo-report.py --fit-packet-cost OUTDIR  print dom0's per-packet
        cost (integer us) fitted to the measured no-hog p50 under credit

Reads OUTDIR/data-{credit,commaware}.txt (the DATA lines of
scripts/xen/tests/demo-pair.sh, collected by scripts/xen/boot.sh) and
OUTDIR/sim-*.json (commaware-sim compare -o).  Every number printed comes
from those files; nothing is typed in.  Python standard library only.
"""
import json
import math
import os
import re
import sys

SCHEDS = ("credit", "commaware")


def load_boot(path):
    """{'calibrate': {...}, 'runs': {run: {client, server, window, hogs{}, xl[]}}}"""
    out = {"calibrate": None, "runs": {}, "bad_lines": 0}
    if not os.path.exists(path):
        return out
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        m = re.match(r"demo sched=(\S+) (.*)$", line)
        if not m:
            continue
        rest = m.group(2)
        if rest.startswith("calibrate "):
            try:
                out["calibrate"] = json.loads(rest[len("calibrate "):])
            except ValueError:
                out["bad_lines"] += 1
            continue
        m = re.match(r"run=(\S+) (\S+) (.*)$", rest)
        if not m:
            continue
        run, kind, payload = m.groups()
        r = out["runs"].setdefault(run, {"hogs": {}, "xl": [], "dump": []})
        try:
            if kind in ("client", "server", "window"):
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


def load_sim(path):
    if not os.path.exists(path):
        return None
    d = json.load(open(path))
    res = {}
    for run in d["runs"]:
        p = run["pairs"][0]
        lat = p["latency"]
        res[run["scheduler"]] = {
            "p50_us": lat.get("p50_us"),
            "p99_us": lat.get("p99_us"),
            "p999_us": lat.get("p999_us"),
            "max_us": lat.get("max_us"),
            "mean_us": lat.get("mean_us"),
            "rps": p.get("requests_per_s"),
            "hogs": {x["name"]: x["share_pct"] for x in run["domains"] if x.get("workload") == "hog"},
            "domains": run["domains"],
        }
    return {"file": d.get("file"), "runs": res}


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
    if v is None:
        return "-"
    return ("%%.%df" % nd) % v


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(r):
    return "-" if r is None else "%.2fx" % r


def fit_packet_cost(outdir):
    b = load_boot(os.path.join(outdir, "data-credit.txt"))
    ref = b["runs"].get("ref", {})
    c, w = ref.get("client"), ref.get("window")
    if not c or not w:
        return None
    return max(0, int(round((c["p50_us"] - w["db_work_us"]) / 2)))


def hog_total(run):
    hs = run.get("hogs", {}) if run else {}
    if not hs:
        return None
    return sum(h["iters_per_s"] for h in hs.values())


def cdf_points(client):
    h = client.get("hist") if client else None
    if not h:
        return []
    tot = sum(h["count"])
    if not tot:
        return []
    pts, s = [], 0
    for le, n in zip(h["le_us"], h["count"]):
        s += n
        pts.append((le, s / tot))
    return pts


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
        o.append('<path d="%s" fill="none" stroke="%s" stroke-width="2" %s/>' % (
            path_d, col, 'stroke-dasharray="6 4"' if dash else ""))
        ly = T + ph - 16 * len(series) - 4 + 16 * i
        o.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2" %s/>' % (
            L + pw - 230, ly, L + pw - 200, ly, col, 'stroke-dasharray="6 4"' if dash else ""))
        o.append('<text x="%d" y="%d">%s</text>' % (L + pw - 194, ly + 4, label))
    o.append("</svg>")
    open(path, "w").write("\n".join(o) + "\n")
    return True


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--fit-packet-cost":
        pc = fit_packet_cost(sys.argv[2])
        if pc is None:
            sys.exit(1)
        print(pc)
        return
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    outdir = sys.argv[1]
    boots = {s: load_boot(os.path.join(outdir, "data-%s.txt" % s)) for s in SCHEDS}
    sims = {n: load_sim(os.path.join(outdir, "sim-%s.json" % n))
            for n in ("demo-tcg", "demo-tcg-nohogs", "demo-tcg-fitted", "demo-tcg-nohogs-fitted")}
    boot_status = {}
    if os.path.exists(os.path.join(outdir, "boots.txt")):
        for line in open(os.path.join(outdir, "boots.txt")):
            f = line.split()
            if f and f[0] in SCHEDS:
                boot_status[f[0]] = dict(kv.split("=", 1) for kv in f[1:])
            elif f:
                boot_status["_total"] = dict(kv.split("=", 1) for kv in f)

    L = []
    p = L.append
    cal = boots["credit"]["calibrate"] or boots["commaware"]["calibrate"]
    win = (boots["credit"]["runs"].get("loaded") or {}).get("window") or \
          (boots["commaware"]["runs"].get("loaded") or {}).get("window") or {}
    p("commaware demo: credit vs commaware on a communicating pair, booted under QEMU TCG")
    p("=" * 86)
    p("MEASURED: patched Xen 4.17 booted twice under QEMU TCG (2 vCPUs = 2 pCPUs for Xen),")
    p("  sched=credit, then sched=commaware; same images, same guests.  PV guests, 1 vCPU each:")
    p("  app (cw-workload client, %s us/response) <-TCP via dom0 netback/xenbr0-> db (server, %s us/request)," % (
        win.get("app_work_us", "?"), win.get("db_work_us", "?")))
    p("  with %s CPU-hog guests (cw-workload hog); dom0 has 2 vCPUs." % win.get("hogs", "?"))
    p("  %s s measured after %s s warm-up; work calibrated once: --iters-per-us %s in every guest of both boots" % (
        win.get("duration_s", "?"), win.get("warmup_s", "?"), win.get("iters_per_us") or "(per process)"))
    cals = {s: (boots[s]["calibrate"] or {}).get("calibration", {}).get("iters_per_us") for s in SCHEDS}
    if any(cals.values()):
        p("  calibration measured in an idle guest at the start of each boot (the credit boot's is used):")
        p("    credit %s, commaware %s steps/us%s" % (
            fmt_num(cals["credit"], 1), fmt_num(cals["commaware"], 1),
            " (commaware/credit %s: the emulated CPU's speed in the two boots)" % fmt_ratio(ratio(cals["commaware"], cals["credit"]))
            if all(cals.values()) else ""))
    p("  QEMU TCG inflates absolute times (emulated CPU, emulated timer): compare the RATIOS.")
    for s in SCHEDS:
        st = boot_status.get(s)
        if st:
            p("  boot %-9s: %s s, %s%s" % (s, st.get("seconds", "?"),
                  "ok" if st.get("rc") == "0" else "FAILED rc=%s (see serial-%s.log)" % (st.get("rc"), s),
                  ", host load average %s before / %s after (QEMU shares the host's cores)" % (
                      st["load_before"], st["load_after"]) if "load_before" in st else ""))
        if boots[s]["bad_lines"]:
            p("  boot %s: %d DATA line(s) garbled on the serial line, ignored" % (s, boots[s]["bad_lines"]))
    p("")

    def cl(s, run):
        return (boots[s]["runs"].get(run) or {}).get("client")

    rows = [("latency p50", "p50_us"), ("latency p90", "p90_us"), ("latency p99", "p99_us"),
            ("latency p99.9", "p999_us"), ("latency max", "max_us"), ("latency mean", "mean_us")]
    results = {"measured": {}, "simulated": {}, "calibration": cal, "window": win, "boots": boot_status}

    for run, title in (("loaded", "with %s hogs" % win.get("hogs", "?")), ("ref", "reference: the pair alone, no hogs")):
        a, b = cl("credit", run), cl("commaware", run)
        if not a and not b:
            p("MEASURED %s: no result (run missing in both boots)" % title)
            p("")
            continue
        simn = "demo-tcg" if run == "loaded" else "demo-tcg-nohogs"
        sim = sims.get(simn)
        simf = sims.get(simn + "-fitted")
        p("%s — %s" % ("LOADED RUN" if run == "loaded" else "REFERENCE RUN", title))
        hdr = "  %-16s %11s %11s %10s" % ("", "credit", "commaware", "gain")
        if sim:
            hdr += "   | SIMULATED %-9s %9s %7s" % ("credit", "commaware", "gain")
        if simf:
            hdr += "  | SIM fitted %7s %9s %7s" % ("credit", "commaware", "gain")
        p("  %-16s %-34s" % ("", "MEASURED (QEMU TCG)") + ("   | commaware-sim, scenarios/%s.toml" % simn if sim else "") +
          ("  | same, dom0 packet cost fitted" if simf else ""))
        p(hdr)
        m = {"credit": a, "commaware": b, "gain": {}}
        for label, key in rows + [("requests/s", "rps")]:
            va, vb = (a or {}).get(key), (b or {}).get(key)
            if key == "rps":
                g = ratio(vb, va)
                line = "  %-16s %11s %11s %10s" % (label, fmt_num(va), fmt_num(vb), fmt_ratio(g))
            else:
                g = ratio(va, vb)
                line = "  %-16s %11s %11s %10s" % (label, fmt_us(va), fmt_us(vb), fmt_ratio(g))
            m["gain"][key] = g
            for sm in (sim, simf):
                if not sm:
                    continue
                skey = key if key != "p90_us" else None
                sa = sm["runs"].get("credit", {}).get(skey) if skey else None
                sb = sm["runs"].get("commaware", {}).get(skey) if skey else None
                if key == "rps":
                    line += "   | %19s %9s %7s" % (fmt_num(sa), fmt_num(sb), fmt_ratio(ratio(sb, sa)))
                else:
                    line += "   | %19s %9s %7s" % (fmt_us(sa), fmt_us(sb), fmt_ratio(ratio(sa, sb)))
            p(line)
        for s, c in (("credit", a), ("commaware", b)):
            if c:
                p("  %-10s requests %d (warm-up %d), server work %s us, connect attempts %s" % (
                    s, c.get("requests", 0), c.get("warmup_requests", 0), c.get("server_work_us"), c.get("connect_attempts")))
        if run == "loaded":
            ha = (boots["credit"]["runs"].get(run) or {}).get("hogs", {})
            hb = (boots["commaware"]["runs"].get(run) or {}).get("hogs", {})
            p("  hog throughput over the client's measured window (iterations/s, mean of 1 s intervals):")
            p("  %-16s %11s %11s %10s" % ("", "credit", "commaware", "cw/credit") +
              ("   | SIM share %% credit %9s %7s" % ("commaware", "cw/cr") if sim else ""))
            names = sorted(set(ha) | set(hb))
            simhogs_a = sim["runs"].get("credit", {}).get("hogs", {}) if sim else {}
            simhogs_b = sim["runs"].get("commaware", {}).get("hogs", {}) if sim else {}
            m["hogs"] = {}
            for n in names:
                va = ha.get(n, {}).get("iters_per_s")
                vb = hb.get(n, {}).get("iters_per_s")
                line = "  %-16s %11s %11s %10s" % (n, fmt_num(va), fmt_num(vb), fmt_ratio(ratio(vb, va)))
                if sim:
                    sa, sb = simhogs_a.get(n), simhogs_b.get(n)
                    line += "   | %19s %9s %7s" % (fmt_num(sa, 2), fmt_num(sb, 2), fmt_ratio(ratio(sb, sa)))
                p(line)
                m["hogs"][n] = {"credit": ha.get(n), "commaware": hb.get(n), "ratio": ratio(vb, va)}
            ta, tb = hog_total(boots["credit"]["runs"].get(run)), hog_total(boots["commaware"]["runs"].get(run))
            line = "  %-16s %11s %11s %10s" % ("hogs total", fmt_num(ta), fmt_num(tb), fmt_ratio(ratio(tb, ta)))
            if sim:
                sa = sum(simhogs_a.values()) if simhogs_a else None
                sb = sum(simhogs_b.values()) if simhogs_b else None
                line += "   | %19s %9s %7s" % (fmt_num(sa, 2), fmt_num(sb, 2), fmt_ratio(ratio(sb, sa)))
            p(line)
            m["hogs_total"] = {"credit": ta, "commaware": tb, "ratio": ratio(tb, ta)}
            for s, hs in (("credit", ha), ("commaware", hb)):
                for n in sorted(hs):
                    h = hs[n]
                    p("  %-10s %s: %d intervals, min %s max %s iters/s, est. %.1f%% of a pCPU" % (
                        s, n, h.get("intervals", 0), fmt_num(h.get("min")), fmt_num(h.get("max")),
                        100 * (h.get("cpu_share_est") or 0)))
        p("  gain: latency credit/commaware, requests/s and hogs commaware/credit (>1 = commaware ahead).")
        if sim:
            p("  SIMULATED = commaware-sim in simulated time (no TCG, no guest network stack): not a measurement.")
        if simf:
            p("  SIM fitted: dom0's packet_cost_us fitted to the measured no-hog p50 under credit (see demo.sh).")
        p("")
        results["measured"][run] = m

    # Within each boot: the loaded run against that boot's own no-hog
    # reference.  This cancels what differs between the two boots as a
    # whole (host load on the shared cores, TCG's speed that day).
    within = {}
    if all(cl(s, "loaded") and cl(s, "ref") for s in SCHEDS):
        p("WITHIN EACH BOOT — loaded run / the same boot's no-hog reference (cancels per-boot speed)")
        rr = ratio(cl("commaware", "ref").get("p50_us"), cl("credit", "ref").get("p50_us"))
        if rr and (rr > 1.5 or rr < 1 / 1.5):
            p("  WARNING: the no-hog references differ between the boots (p50 commaware/credit %s): these" % fmt_ratio(rr))
            p("  rows assume a reference reflects only the boot's speed; read the runs above instead.")
        p("  %-16s %11s %11s %10s" % ("", "credit", "commaware", "gain"))
        for label, key in (("p50 slowdown", "p50_us"), ("p99 slowdown", "p99_us"),
                           ("p99.9 slowdown", "p999_us"), ("max slowdown", "max_us"),
                           ("mean slowdown", "mean_us"), ("requests/s kept", "rps")):
            va = ratio(cl("credit", "loaded").get(key), cl("credit", "ref").get(key))
            vb = ratio(cl("commaware", "loaded").get(key), cl("commaware", "ref").get(key))
            g = ratio(vb, va) if key == "rps" else ratio(va, vb)
            within[key] = {"credit": va, "commaware": vb, "gain": g}
            p("  %-16s %11s %11s %10s" % (label, fmt_ratio(va), fmt_ratio(vb), fmt_ratio(g)))
        p("  slowdown = loaded/no-hog (1.00x = the hogs cost nothing); kept = loaded rps/no-hog rps;")
        p("  gain = credit slowdown/commaware slowdown, commaware kept/credit kept (>1 = commaware ahead).")
        p("")
    results["within_boot"] = within

    for s in SCHEDS:
        for run in ("loaded", "ref"):
            r = boots[s]["runs"].get(run) or {}
            if r.get("xl") or r.get("dump"):
                src = "xl sched-commaware" if s == "commaware" and r.get("xl") else (
                    "'r' debug key" if r.get("dump") else "xl sched-credit")
                p("per-domain scheduler counters, sched=%s, %s run (%s, since each guest's creation, read at the end of the run):" % (s, run, src))
                for line in (r.get("xl") or r.get("dump"))[:40]:
                    p("    " + line)
                p("")
                results.setdefault("counters", {}).setdefault(s, {})[run] = r.get("xl") or r.get("dump")

    for n, sm in sims.items():
        if sm:
            results["simulated"][n] = {k: {kk: vv for kk, vv in v.items() if kk != "domains"} for k, v in sm["runs"].items()}
            results["simulated"][n]["file"] = sm["file"]
    tot = boot_status.get("_total")
    if tot:
        p("make demo: %s s in all (builds %s s)" % (tot.get("total_seconds"), tot.get("build_seconds")))
    series = []
    for s, col in (("credit", "#d62728"), ("commaware", "#1f77b4")):
        for run, dash in (("loaded", False), ("ref", True)):
            pts = cdf_points(cl(s, run))
            if pts:
                series.append(("%s, %s" % (s, "with hogs" if run == "loaded" else "no hogs"), col, dash, pts))
    if svg_cdf(series, os.path.join(outdir, "latency-cdf.svg"), "app->db round-trip latency CDF (measured, QEMU TCG)"):
        p("latency CDF: %s" % os.path.join(outdir, "latency-cdf.svg"))
    text = "\n".join(L) + "\n"
    open(os.path.join(outdir, "table.txt"), "w").write(text)
    results["raw"] = {s: boots[s] for s in SCHEDS}
    json.dump(results, open(os.path.join(outdir, "results.json"), "w"), indent=1, default=str)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
