#!/usr/bin/env python3
"""llama.cpp peer for lmfast's native CPU benchmark (through llama-cpp-python).

For each run: load the GGUF (timed), evaluate the prompt ids in one batch (prefill), pick the
first token greedily (time to first token = prefill + that pick), then decode greedily one token
at a time with ``llm.eval([tok])`` and an argmax over the last logits. Prints one JSON object
with the medians over the runs; the keys are shared with the candle and lmfast benchmarks.

Usage: llama_cpp_bench.py --model GGUF --prompt-ids FILE --gen-tokens N --threads N --runs N [--json]
Run it with bench/.venv/bin/python (bench/setup-peers.sh makes it).
"""
import argparse
import ctypes
import gc
import json
import resource
import statistics
import sys
import time

import numpy as np
import llama_cpp
from llama_cpp import Llama


def last_logits(llm: Llama) -> np.ndarray:
    # logits_all=False: llama.cpp keeps the logits of the batch's last token only; read them in place.
    ptr = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
    return np.ctypeslib.as_array(ctypes.cast(ptr, ctypes.POINTER(ctypes.c_float)), shape=(llm.n_vocab(),))


def one_run(args, prompt):
    n_prompt = len(prompt)
    t0 = time.perf_counter()
    llm = Llama(
        model_path=args.model,
        n_ctx=n_prompt + args.gen_tokens + 8,
        n_batch=max(512, n_prompt),
        n_ubatch=max(512, n_prompt),
        n_threads=args.threads,
        n_threads_batch=args.threads,
        logits_all=False,
        verbose=False,
    )
    load_s = time.perf_counter() - t0

    t1 = time.perf_counter()
    llm.eval(prompt)
    logits = last_logits(llm)  # llama_get_logits_ith synchronizes with the computation
    prefill_done = time.perf_counter()
    tok = int(np.argmax(logits))
    ttft_s = time.perf_counter() - t1
    prefill_s = prefill_done - t1

    tokens = [tok]
    t2 = time.perf_counter()
    for _ in range(args.gen_tokens - 1):
        llm.eval([tok])
        tok = int(np.argmax(last_logits(llm)))
        tokens.append(tok)
    decode_s = time.perf_counter() - t2

    del llm
    gc.collect()
    return {
        "load_s": load_s,
        "ttft_s": ttft_s,
        "prefill_tok_s": n_prompt / prefill_s,
        "decode_tok_s": (args.gen_tokens - 1) / decode_s,
        "tokens": tokens,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="GGUF file")
    ap.add_argument("--prompt-ids", required=True, help="JSON array of token ids")
    ap.add_argument("--gen-tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="print one compact JSON line")
    args = ap.parse_args()
    if args.gen_tokens < 2 or args.threads < 1 or args.runs < 1:
        ap.error("--gen-tokens must be >= 2, --threads and --runs >= 1")
    with open(args.prompt_ids) as f:
        prompt = [int(x) for x in json.load(f)]
    if not prompt:
        ap.error(f"{args.prompt_ids}: empty prompt")

    runs = []
    for i in range(args.runs):
        r = one_run(args, prompt)
        if not args.json:
            print(
                f"run {i + 1}: load {r['load_s']:.3f}s ttft {r['ttft_s']:.3f}s "
                f"prefill {r['prefill_tok_s']:.1f} tok/s decode {r['decode_tok_s']:.1f} tok/s",
                file=sys.stderr,
            )
        runs.append(r)

    med = lambda k: statistics.median(r[k] for r in runs)  # noqa: E731
    out = {
        "engine": "llama.cpp",
        "version": f"llama-cpp-python {llama_cpp.__version__}",
        "threads": args.threads,
        "prompt_tokens": len(prompt),
        "gen_tokens": args.gen_tokens,
        "runs": args.runs,
        "load_s": med("load_s"),
        "ttft_s": med("ttft_s"),
        "prefill_tok_s": med("prefill_tok_s"),
        "decode_tok_s": med("decode_tok_s"),
        # ru_maxrss is in KiB on Linux.
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "tokens": runs[0]["tokens"],
    }
    print(json.dumps(out) if args.json else json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
