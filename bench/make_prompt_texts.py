#!/usr/bin/env python3
"""Writes bench/prompt-texts.json: for each prompt length N, the text of the first N prompt ids
(bench/prompt-ids-2048.json), checked to tokenize back to exactly those N ids with llama.cpp's
tokenizer (from the GGUF, no BOS).

wllama 3 takes a completion prompt as text only (its request handler reads "prompt" as a
string), so the browser benchmark gives it this text and lmfast the ids; the round trip checked
here, and wllama's own prompt token count checked at run time, make both prefill the same ids.

Usage: bench/.venv/bin/python bench/make_prompt_texts.py --model GGUF [--lengths 128,256,...]
"""
import argparse
import json
import os

from llama_cpp import Llama


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="models/SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--ids", default="bench/prompt-ids-2048.json")
    ap.add_argument("--lengths", default="16,128,256,512,1024,2048")
    ap.add_argument("--out", default="bench/prompt-texts.json")
    args = ap.parse_args()
    ids = json.load(open(args.ids))
    llm = Llama(model_path=args.model, vocab_only=True, verbose=False)
    texts = {}
    for n in (int(x) for x in args.lengths.split(",")):
        text = llm.detokenize(ids[:n]).decode("utf-8")
        back = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        if back != ids[:n]:
            raise SystemExit(f"length {n}: the text does not tokenize back to the same ids "
                             f"({len(back)} tokens, first difference at "
                             f"{next((i for i, (a, b) in enumerate(zip(back, ids)) if a != b), min(len(back), n))})")
        texts[str(n)] = text
    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(texts, f, ensure_ascii=False, indent=1)
        f.write("\n")
    os.replace(tmp, args.out)
    print(f"prompt texts: {args.out} (lengths {', '.join(texts)}; each round-trips to its ids)")


if __name__ == "__main__":
    main()
