#!/usr/bin/env python3
"""The decode ceiling: memory read bandwidth / bytes read per decoded token, and each engine's
decode speed as a share of it.

Decoding one token runs every matrix once on one activation vector, so every weight byte is
read from memory once per token (the 135M model's ~92 MiB do not fit in the 32 MiB L3); the
output head of SmolLM2 is the token embedding (tied), so the whole embedding is read too. The
bytes per token are summed from the files themselves: the export's manifest.json (every array
of every tensor: int4 codes, f16 scales and minimums, f32 norms) and the GGUF's tensor table
(Q4_1 / Q8_0 / F32 sizes). The key/value cache read by attention is added at the benchmark's
mean decode context (prompt + half the generated tokens): f32 in lmfast, f16 in llama.cpp and
wllama (their default). Activations, logits and code are left out: they are small and mostly
hit the caches.

Inputs: bench/out/membw.json (bench-tools' `membw --json`), bench/out/native.json
(bench/run-native.sh), bench/out/browser-compare.json (bench/run-browser.sh); a missing one
leaves its rows out. Writes bench/out/ceiling.json and prints a Markdown table.

Usage: python3 bench/ceiling.py [--export DIR] [--gguf FILE] [--prompt-tokens 128] [--gen-tokens 128]
Plain python3, no dependencies.
"""
import argparse
import json
import os
import struct

# ggml type id -> (elements per block, bytes per block), for the types GGUF files use here.
GGML_TYPES = {
    0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22), 7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34), 9: ("Q8_1", 32, 36),
    10: ("Q2_K", 256, 84), 11: ("Q3_K", 256, 110), 12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176), 14: ("Q6_K", 256, 210), 15: ("Q8_K", 256, 292), 30: ("BF16", 1, 2),
}


def gguf_tensors(path):
    """(name, type name, element count, bytes) of every tensor in a GGUF v2/v3 file."""
    with open(path, "rb") as f:
        data = f.read(16 << 20)  # the header and tensor table sit well inside the first MiBs
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return v[0]

    def string():
        nonlocal pos
        n = take("Q")
        s = data[pos:pos + n].decode("utf-8", "replace")
        pos += n
        return s

    scalar = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}

    def skip_value(t):
        nonlocal pos
        if t in scalar:
            pos += struct.calcsize("<" + scalar[t])
        elif t == 8:
            string()
        elif t == 9:
            inner = take("I")
            n = take("Q")
            if inner in scalar:
                pos += n * struct.calcsize("<" + scalar[inner])
            else:
                for _ in range(n):
                    skip_value(inner)
        else:
            raise SystemExit(f"{path}: unknown GGUF value type {t}")

    if data[:4] != b"GGUF":
        raise SystemExit(f"{path}: not a GGUF file")
    pos = 4
    version = take("I")
    if version < 2:
        raise SystemExit(f"{path}: GGUF version {version} is not supported")
    n_tensors = take("Q")
    n_kv = take("Q")
    for _ in range(n_kv):
        string()
        skip_value(take("I"))
    out = []
    for _ in range(n_tensors):
        name = string()
        dims = [take("Q") for _ in range(take("I"))]
        t = take("I")
        take("Q")  # offset
        if t not in GGML_TYPES:
            raise SystemExit(f"{path}: tensor {name} has ggml type {t}, not in GGML_TYPES")
        tname, block, size = GGML_TYPES[t]
        n = 1
        for d in dims:
            n *= d
        out.append((name, tname, n, n // block * size))
    return out


def export_tensors(folder):
    """(name, storage, element count, bytes) of every tensor in an lmfast export."""
    m = json.load(open(os.path.join(folder, "manifest.json")))
    out = []
    for t in m["tensors"]:
        n = 1
        for d in t["shape"]:
            n *= d
        size = sum(p["length"] for a in t["arrays"] for p in a["pieces"])
        st = t["storage"]
        kind = st.get("dtype", "?")
        if kind == "packed":
            s = st["scheme"]
            kind = f"{s['kind']}g{s['group']}"
        out.append((t["name"], kind, n, size))
    return m, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--export", default="models/smollm2-135m-q4")
    ap.add_argument("--gguf", default="models/SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--membw", default="bench/out/membw.json")
    ap.add_argument("--native", default="bench/out/native.json")
    ap.add_argument("--browser", default="bench/out/browser-compare.json")
    ap.add_argument("--prompt-tokens", type=int, default=128)
    ap.add_argument("--gen-tokens", type=int, default=128)
    ap.add_argument("--out", default="bench/out/ceiling.json")
    ap.add_argument("--reference-gb-s", default="",
                    help="THREADS=GB/s,... bandwidth measured elsewhere (e.g. on an idle machine): adds a column of shares of that ceiling")
    args = ap.parse_args()

    manifest, ex = export_tensors(args.export)
    gg = gguf_tensors(args.gguf)
    cfg = manifest["config"]
    if not cfg.get("tie_word_embeddings") and not any(n == "output.weight" for n, *_ in ex):
        raise SystemExit("untied model without output.weight: the byte count below would be wrong")
    ex_bytes = sum(b for *_, b in ex)
    gg_bytes = sum(b for *_, b in gg)
    by_kind = lambda ts: {k: sum(b for _, kk, _, b in ts if kk == k) for k in sorted({kk for _, kk, _, _ in ts})}

    # Key/value cache bytes read per decoded token at the mean decode context.
    mean_ctx = args.prompt_tokens + args.gen_tokens / 2
    kv_elems = 2 * cfg["num_layers"] * cfg["num_kv_heads"] * cfg["head_dim"] * mean_ctx
    bytes_per_token = {
        "lmfast": {"weights": ex_bytes, "kv_cache": kv_elems * 4, "model": f"{args.export} ({manifest['quant']}, embedding {manifest.get('embedding_quant')})"},
        "gguf": {"weights": gg_bytes, "kv_cache": kv_elems * 2, "model": f"{args.gguf} ({', '.join(by_kind(gg))})"},
    }
    for v in bytes_per_token.values():
        v["total"] = v["weights"] + v["kv_cache"]

    bw = json.load(open(args.membw)) if os.path.exists(args.membw) else None
    if bw is None:
        raise SystemExit(f"{args.membw} is missing: run bench/run-ceiling.sh")
    gbs = {int(t): v["best_gb_s"] * 1e9 for t, v in bw["threads"].items()}
    gbs_median = {int(t): v["median_gb_s"] * 1e9 for t, v in bw["threads"].items()}

    ref = {int(k): float(v) * 1e9 for k, v in (x.split("=") for x in args.reference_gb_s.split(",") if x)}
    rows = []  # (where, engine, threads, files, decode tok/s)
    if os.path.exists(args.native):
        nat = json.load(open(args.native))
        for name, e in nat["engines"].items():
            rows.append(("native", name, int(e["threads"]), "lmfast" if name == "lmfast" else "gguf", e["decode_tok_s"]))
    if os.path.exists(args.browser):
        br = json.load(open(args.browser))
        for key, e in br["results"].items():
            # SwiftShader runs the WebGPU shaders on every core: compare with the most threads.
            threads = max(gbs) if e.get("backend") == "webgpu" else int(e["threads"])
            rows.append(("browser", e["label"] + (f" ({e['adapter']})" if e.get("adapter") else ""), threads,
                         "lmfast" if e["engine"] == "lmfast" else "gguf", e["decode_tok_s"]))

    table = ["| where | engine | threads | bytes read per token (weights + KV) | ceiling tok/s (best-pass bandwidth) | decode tok/s | share of the ceiling |"
             + (" ceiling with the reference bandwidth | share |" if ref else ""),
             "|---|---|---:|---:|---:|---:|---:|" + ("---:|---:|" if ref else "")]
    shares = []
    for where, name, threads, files, tok_s in rows:
        t = min(threads, max(gbs))
        per = bytes_per_token[files]["total"]
        ceiling = gbs[t] / per
        share = tok_s / ceiling if tok_s else None
        row = {"where": where, "engine": name, "threads": threads, "bytes_per_token": per,
               "bandwidth_gb_s": gbs[t] / 1e9, "ceiling_tok_s": ceiling,
               "ceiling_tok_s_median_bandwidth": gbs_median[t] / per,
               "decode_tok_s": tok_s, "share": share}
        line = f"| {where} | {name} | {threads} | {per / 1e6:.1f} MB | {ceiling:.0f} | {tok_s:.1f} | {share * 100:.1f}% |"
        if ref:
            rc = ref[min(threads, max(ref))] / per
            row.update({"reference_gb_s": ref[min(threads, max(ref))] / 1e9, "reference_ceiling_tok_s": rc, "reference_share": tok_s / rc})
            line += f" {rc:.0f} | {tok_s / rc * 100:.1f}% |"
        shares.append(row)
        table.append(line)

    doc = {"membw": bw, "mean_decode_context": mean_ctx, "bytes_per_token": bytes_per_token,
           "export_bytes_by_storage": by_kind(ex), "gguf_bytes_by_type": by_kind(gg),
           "shares": shares, "table": "\n".join(table)}
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(tmp, args.out)

    for t in sorted(gbs):
        print(f"read bandwidth, {t} thread(s): best {gbs[t] / 1e9:.1f} GB/s, median {gbs_median[t] / 1e9:.1f} GB/s "
              f"({bw['passes']} passes of {bw['buffer_mib']} MiB)")
    for k, v in bytes_per_token.items():
        print(f"{v['model']}: weights {v['weights'] / 1e6:.1f} MB + KV cache at context {mean_ctx:.0f} "
              f"{v['kv_cache'] / 1e6:.1f} MB = {v['total'] / 1e6:.1f} MB per token; ceiling "
              + ", ".join(f"{gbs[t] / v['total']:.0f} tok/s ({t}T)" for t in sorted(gbs)))
    print("\n" + "\n".join(table))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
