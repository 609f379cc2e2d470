#!/usr/bin/env python3
"""Summarizes bench/run-native.sh's runs: medians per engine, a table, ratios vs llama.cpp.

Reads a JSON-lines file (one object per engine invocation, as printed by each engine's
`--json`), writes the summary JSON and prints a table. Plain python3, no dependencies.

Usage: summarize.py --runs FILE.jsonl --out FILE.json [--meta KEY=VALUE ...]
"""
import argparse
import json
import statistics
import sys

METRICS = ["load_s", "ttft_s", "prefill_tok_s", "decode_tok_s", "peak_rss_mib"]
# For these a larger number is better; for the others (seconds, MiB) a smaller one.
HIGHER_IS_BETTER = {"prefill_tok_s", "decode_tok_s"}
BASELINE = "llama.cpp"


def agreement(a, b):
    """Length of the common prefix of two greedy token lists."""
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--meta", action="append", default=[], help="KEY=VALUE recorded under config")
    args = ap.parse_args()

    by_engine = {}
    order = []
    with open(args.runs) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            e = r["engine"]
            if e not in by_engine:
                by_engine[e] = []
                order.append(e)
            by_engine[e].append(r)
    if not by_engine:
        sys.exit("summarize: no runs in " + args.runs)

    engines = {}
    for e in order:
        rs = by_engine[e]
        s = {
            "version": rs[0].get("version"),
            "threads": rs[0].get("threads"),
            "prompt_tokens": rs[0].get("prompt_tokens"),
            "gen_tokens": rs[0].get("gen_tokens"),
            "runs": len(rs),
        }
        for m in METRICS:
            vals = [r[m] for r in rs if isinstance(r.get(m), (int, float))]
            s[m] = statistics.median(vals) if vals else None
            s[m + "_all"] = vals
        s["tokens"] = rs[0].get("tokens", [])
        engines[e] = s

    ratios = {}
    base = engines.get(BASELINE)
    if base:
        for e, s in engines.items():
            if e == BASELINE:
                continue
            ratios[e] = {
                m: (s[m] / base[m]) if s[m] and base[m] else None for m in METRICS
            }
            ratios[e]["greedy_tokens_agreeing"] = agreement(s["tokens"], base["tokens"])

    meta = dict(kv.split("=", 1) for kv in args.meta)
    out = {"config": meta, "baseline": BASELINE if base else None, "engines": engines,
           "ratios_vs_llama_cpp": ratios}
    with open(args.out + ".tmp", "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    import os
    os.replace(args.out + ".tmp", args.out)

    # Table.
    hdr = ["engine", "version", "runs", "load s", "ttft s", "prefill tok/s", "decode tok/s", "peak RSS MiB"]
    rows = []
    fmt = {"load_s": "{:.3f}", "ttft_s": "{:.3f}", "prefill_tok_s": "{:.1f}",
           "decode_tok_s": "{:.1f}", "peak_rss_mib": "{:.0f}"}
    for e, s in engines.items():
        rows.append([e, str(s["version"]), str(s["runs"])] +
                    [fmt[m].format(s[m]) if s[m] is not None else "-" for m in METRICS])
    if ratios:
        for e, r in ratios.items():
            rows.append([f"{e} / {BASELINE}", "", ""] +
                        [f"{r[m]:.2f}x" if r[m] is not None else "-" for m in METRICS])
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(hdr)]
    line = lambda cells: "  ".join(c.ljust(w) if i < 2 else c.rjust(w)  # noqa: E731
                                   for i, (c, w) in enumerate(zip(cells, widths)))
    cfg = ", ".join(f"{k}={v}" for k, v in meta.items())
    if cfg:
        print(cfg)
    print("medians over runs (ratios: engine / llama.cpp; > 1 is better for tok/s, < 1 for s and MiB)")
    print(line(hdr))
    print(line(["-" * w for w in widths]))
    for row in rows:
        print(line(row))
    for e, r in ratios.items():
        n = len(engines[e]["tokens"])
        print(f"greedy tokens: {e} agrees with {BASELINE} on the first {r['greedy_tokens_agreeing']} of {n}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
