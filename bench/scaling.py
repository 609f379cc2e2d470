#!/usr/bin/env python3
"""Collects the scaling curves for bench/bench-tools' `plots`: the native runs of
bench/run-scaling.sh (JSON lines, one per engine invocation with `prompt_tokens`, medians taken
per engine and prompt length) and the browser curves that bench/run-browser.sh stored in
bench/out/browser-compare.json. Writes bench/out/scaling.json and prints a table.

Usage: python3 bench/scaling.py --runs bench/out/scaling-native-runs.jsonl [--browser FILE] [--out FILE]
Plain python3, no dependencies.
"""
import argparse
import json
import os
import statistics


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", default="bench/out/scaling-native-runs.jsonl")
    ap.add_argument("--browser", default="bench/out/browser-compare.json")
    ap.add_argument("--out", default="bench/out/scaling.json")
    ap.add_argument("--meta", default="bench/out/scaling-native-meta.json",
                    help="the native runs' date, git revision and load averages (run-scaling.sh writes it)")
    args = ap.parse_args()

    groups = {}
    order = []
    if os.path.exists(args.runs):
        for line in open(args.runs):
            if not line.strip():
                continue
            r = json.loads(line)
            # One curve per engine and thread count.
            engine = (r["engine"], r["threads"])
            key = (engine, r["prompt_tokens"])
            if engine not in order:
                order.append(engine)
            groups.setdefault(key, []).append(r)
    series = []
    for engine in order:
        points = []
        for (e, n), rs in sorted(groups.items(), key=lambda kv: kv[0][1]):
            if e != engine:
                continue
            points.append({
                "prompt_tokens": n, "gen_tokens": rs[0]["gen_tokens"], "runs": len(rs),
                "prefill_tok_s": statistics.median(r["prefill_tok_s"] for r in rs),
                "decode_tok_s": statistics.median(r["decode_tok_s"] for r in rs),
            })
        name, threads = engine
        series.append({"key": f"native-{name}-{threads}t", "name": f"{name} native ({threads} thread{'s' if threads > 1 else ''})", "points": points})

    browser_note = None
    if os.path.exists(args.browser):
        b = json.load(open(args.browser))
        if b.get("scaling"):
            for s in b["scaling"]["series"]:
                series.append({"key": s["key"], "name": s["name"], "points": [
                    {k: p[k] for k in ("prompt_tokens", "gen_tokens", "prefill_tok_s", "decode_tok_s")} | {"runs": 1}
                    for p in s["points"]]})
            browser_note = f"browser: {b['chromium'].split(' built')[0]}, {b['date'][:10]}"

    gen = sorted({p["gen_tokens"] for s in series for p in s["points"]})
    meta = json.load(open(args.meta)) if os.path.exists(args.meta) else {}
    note = (f"decode = {'/'.join(map(str, gen))} tokens generated after the prompt; "
            f"prefill = prompt tokens / time to first token; medians of the runs")
    if meta:
        note += f"; {meta['date'][:10]}, git {meta['git_rev']}, load average {meta['load_avg_start'].split()[0]} (shared machine)"
    doc = {"note": note, "series": series, "meta": meta}
    if browser_note:
        doc["meta"]["browser"] = browser_note
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(tmp, args.out)

    lengths = sorted({p["prompt_tokens"] for s in series for p in s["points"]})
    print("| engine | " + " | ".join(f"{n}" for n in lengths) + " |")
    print("|---|" + "---:|" * len(lengths))
    for what in ("prefill_tok_s", "decode_tok_s"):
        for s in series:
            by = {p["prompt_tokens"]: p[what] for p in s["points"]}
            cells = [f"{by[n]:.1f}" if n in by else "—" for n in lengths]
            print(f"| {s['name']}, {what.replace('_tok_s', '')} tok/s | " + " | ".join(cells) + " |")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
