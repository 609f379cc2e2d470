#!/usr/bin/env python3
"""Writes the benchmark's prompt ids: bench/prompt.txt tokenized with llama.cpp's tokenizer (from
the GGUF, with a BOS in front only when the GGUF asks for one: none for SmolLM2, `<bos>` for Gemma 3,
which without it is off its training distribution), repeated when too short, truncated to N
tokens, as a JSON array.

Usage: make_prompt_ids.py --model GGUF --text bench/prompt.txt --tokens N --out FILE
Run it with bench/.venv/bin/python.
"""
import argparse
import json
import os

from llama_cpp import Llama


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--text", required=True)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    if args.tokens < 1:
        ap.error("--tokens must be >= 1")
    text = open(args.text, encoding="utf-8").read().strip()
    llm = Llama(model_path=args.model, vocab_only=True, verbose=False)
    body = text
    # add_bos=True adds the BOS only where the vocabulary's own add_bos flag is set.
    ids = llm.tokenize(body.encode("utf-8"), add_bos=True)
    while len(ids) < args.tokens:
        body = body + " " + text
        ids = llm.tokenize(body.encode("utf-8"), add_bos=True)
    ids = ids[: args.tokens]
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(ids, f)
        f.write("\n")
    os.replace(tmp, args.out)
    print(f"prompt ids: {args.out} ({len(ids)} tokens)")


if __name__ == "__main__":
    main()
