#!/usr/bin/env python3
"""Regenerates the Gemma 3 reference fixtures under tests/reference/fixtures/.

    bash tests/reference/setup_venv.sh
    tests/reference/.venv/bin/python tests/reference/make_gemma3_fixtures.py            # both
    tests/reference/.venv/bin/python tests/reference/make_gemma3_fixtures.py tokenizer  # one
        (sections: tokenizer, model)

Both come from models/gemma-3-270m-q4_k_m.gguf (the base model: no chat template) through
transformers alone: the tokenizer is `AutoTokenizer.from_pretrained(models/, gguf_file=...)`
(transformers turns the GGUF's SentencePiece vocabulary into a `tokenizers` BPE with byte
fallback and merges generated from the vocabulary), the model is
`AutoModelForCausalLM.from_pretrained(..., gguf_file=..., dtype=float32)` (Q4_K_M dequantized to
f32), run on the CPU with 2 torch threads. See fixtures/README.md.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

# the shared helpers (versions, hashing, the one-object-a-line JSON writer, f32 rounding)
from make_fixtures import FIX, LONG_PARAGRAPH, MODEL_DIR, ROOT, f32, sha256, versions, write_json  # noqa: E402

MODEL_FILE = "gemma-3-270m-q4_k_m.gguf"
MODEL_PATH = MODEL_DIR / MODEL_FILE
MODEL_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
TORCH_THREADS = 2


def check_model() -> None:
    if not MODEL_PATH.exists():
        sys.exit(f"model missing: {MODEL_PATH}")
    got = sha256(MODEL_PATH)
    if got != MODEL_SHA256:
        sys.exit(f"{MODEL_PATH}: sha256 {got}, expected {MODEL_SHA256}")


def load_tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(MODEL_DIR), gguf_file=MODEL_FILE)


def gguf_tokenizer_metadata() -> dict:
    from gguf import GGUFReader

    r = GGUFReader(str(MODEL_PATH))
    keep = ["tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.bos_token_id",
            "tokenizer.ggml.eos_token_id", "tokenizer.ggml.unknown_token_id",
            "tokenizer.ggml.padding_token_id", "tokenizer.ggml.add_bos_token",
            "tokenizer.ggml.add_eos_token", "tokenizer.ggml.add_space_prefix"]
    md = {k: r.fields[k].contents() for k in keep if k in r.fields}
    md["tokens"] = r.fields["tokenizer.ggml.tokens"].contents()
    md["token_type"] = r.fields["tokenizer.ggml.token_type"].contents()
    return md


# --------------------------------------------------------------------------------------------
# tokenizer

# Gemma-specific strings beside corpus.py's (whose special-token literals are SmolLM's).
GEMMA_CASES = [
    ("gemma_special", "<start_of_turn>user\n"),
    ("gemma_special", "<start_of_turn>user\nWhat is 2+2?<end_of_turn>\n<start_of_turn>model\n"),
    ("gemma_special", "<start_of_turn>model\nFour.<end_of_turn>"),
    ("gemma_special", "<bos><start_of_turn>user\nhi<end_of_turn>\n"),
    ("gemma_special", "<eos>"), ("gemma_special", "<pad>"), ("gemma_special", "<unk>"),
    ("gemma_special", "<mask>"), ("gemma_special", "[multimodal]"),
    ("gemma_special", "<start_of_image>"), ("gemma_special", "<end_of_image>"),
    ("gemma_special", "Look: <start_of_image><end_of_image> done"),
    ("gemma_special", "<unused0><unused1> <unused99>"),
    ("gemma_special", "text<end_of_turn>text<start_of_turn>"),
    ("gemma_special", "<start_of_turn"), ("gemma_special", "start_of_turn>"),
    ("gemma_special", " <start_of_turn> "), ("gemma_special", "<<start_of_turn>>"),
    ("gemma_html", "<table><tr><td>1</td><td>2</td></tr></table>"),
    ("gemma_html", "<h1>Title</h1>\n<p>Some <b>bold</b> and <i>italic</i> text.</p>"),
    ("gemma_html", "<ul>\n  <li>one</li>\n  <li>two</li>\n</ul>"),
    ("gemma_html", "<div class=\"x\"><br/><hr></div>"),
    ("gemma_whitespace", " "), ("gemma_whitespace", "  "), ("gemma_whitespace", "   x"),
    ("gemma_whitespace", "x" + " " * 31 + "y"), ("gemma_whitespace", "x" + " " * 40 + "y"),
    ("gemma_whitespace", "\n" * 31), ("gemma_whitespace", "\n" * 40), ("gemma_whitespace", "a\n \n b"),
    ("gemma_whitespace", "\t\t\tindent"), ("gemma_whitespace", " \t \n \r\n "),
    ("gemma_whitespace", "trailing   "), ("gemma_whitespace", "   leading"),
    ("gemma_whitespace", "\u00a0nbsp\u2009thin\u3000ideographic"),
    ("gemma_multilingual", "日本の首都は東京です。"), ("gemma_multilingual", "Привет, как дела?"),
    ("gemma_multilingual", "مرحبا بالعالم"), ("gemma_multilingual", "नमस्ते दुनिया"),
    ("gemma_multilingual", "안녕하세요 세계"), ("gemma_multilingual", "Γειά σου Κόσμε"),
    ("gemma_multilingual", "שלום עולם"), ("gemma_multilingual", "สวัสดีชาวโลก"),
    ("gemma_multilingual", "Xin chào thế giới"), ("gemma_multilingual", "你好，世界！"),
    ("gemma_emoji", "👩‍👩‍👧 family"), ("gemma_emoji", "🦀🐍☕"), ("gemma_emoji", "🏳️‍🌈 flag"),
    ("gemma_emoji", "👍🏽 thumbs"), ("gemma_emoji", "\U0001fae8 shaking face (Unicode 15)"),
    ("gemma_bytes", "\x00\x01\x02 control"), ("gemma_bytes", "\U000e0001 tag"),
    ("gemma_bytes", "\U0010ffff max"), ("gemma_bytes", "\ufffd replacement"),
    ("gemma_unk_literal", "<0x41> is not A"), ("gemma_unk_literal", "▁ lower block"),
    ("gemma_unk_literal", "▁▁two"),
]


def make_tokenizer() -> None:
    import corpus

    tok = load_tokenizer()
    md = gguf_tokenizer_metadata()
    backend = tok.backend_tokenizer
    cases = corpus.all_cases() + GEMMA_CASES
    seen, uniq = set(), []
    for cat, text in cases:
        if text not in seen:
            seen.add(text)
            uniq.append((cat, text))
    items = []
    for i, (cat, text) in enumerate(uniq):
        ids = tok.encode(text, add_special_tokens=False)
        ids_special = tok.encode(text, add_special_tokens=True)
        # the backend alone must agree (no Python-side pre-processing hides in `encode`)
        assert backend.encode(text, add_special_tokens=False).ids == ids, text
        decoded = tok.decode(ids, skip_special_tokens=False)
        item = {"id": i, "category": cat, "text": text, "ids": ids}
        if ids_special != ids:
            item["ids_with_special"] = ids_special
        item["decoded"] = decoded
        skip = tok.decode(ids, skip_special_tokens=True)
        if skip != decoded:
            item["decoded_skip_special"] = skip
        items.append(item)
    roundtrip_fail = [it["id"] for it in items if it["decoded"] != it["text"]]
    special = {t: i for i, (t, ty) in enumerate(zip(md["tokens"], md["token_type"])) if ty == 3}
    named = {t: special[t] for t in ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "<start_of_turn>",
                                     "<end_of_turn>", "<start_of_image>", "<end_of_image>"] if t in special}
    header = {
        "description": "Reference tokenization of Gemma 3 270M (see fixtures/README.md)",
        "reference": "transformers AutoTokenizer.from_pretrained(models/, gguf_file=...) "
                     "(GGUF SentencePiece vocab -> tokenizers BPE, byte fallback, merges from the vocab)",
        "model_file": MODEL_FILE,
        "model_sha256": MODEL_SHA256,
        "versions": versions(),
        "tokenizer_class": type(tok).__name__,
        "gguf_tokenizer_model": md["tokenizer.ggml.model"],
        "gguf_tokenizer_pre": md.get("tokenizer.ggml.pre"),
        "gguf_add_space_prefix": md.get("tokenizer.ggml.add_space_prefix"),
        "vocab_size": len(md["tokens"]),
        "hf_vocab_size": len(tok),
        "num_merges": len(__import__("json").loads(backend.to_str())["model"]["merges"]),
        "num_control_tokens": len(special),
        "num_user_defined_tokens": sum(1 for ty in md["token_type"] if ty == 4),
        "special_tokens": named,
        "bos_token_id": md["tokenizer.ggml.bos_token_id"],
        "eos_token_id": md["tokenizer.ggml.eos_token_id"],
        "unk_token_id": md.get("tokenizer.ggml.unknown_token_id"),
        "pad_token_id": md.get("tokenizer.ggml.padding_token_id"),
        "add_bos_token": md["tokenizer.ggml.add_bos_token"],
        "add_eos_token": md.get("tokenizer.ggml.add_eos_token", False),
        "num_cases": len(items),
        "roundtrip_failures": roundtrip_fail,
    }
    path = FIX / "gemma3_tokenizer_cases.json"
    write_json(path, header, "cases", items)
    print(f"tokenizer: {path.relative_to(ROOT)} ({len(items)} cases, {len(roundtrip_fail)} do not "
          f"round-trip, {path.stat().st_size} bytes)")


# --------------------------------------------------------------------------------------------
# model parity

PROMPTS = [
    ("capital_france", "The capital of France is"),
    ("fibonacci", "def fibonacci(n):"),
    ("long_paragraph", LONG_PARAGRAPH),
    ("numbers", "In 2023, the company sold 1,250,000 units at $19.99 each, for revenue of about $"),
    ("unicode", "Voici une liste de mots français avec accents : café, élève, garçon, où, "),
    ("once_upon", "Once upon a time, in a small village by the sea,"),
    ("rust_code", "fn main() {\n    let numbers = vec![1, 2, 3, 4, 5];\n    let sum: i32 ="),
    ("counting", "1, 2, 3, 4, 5, 6, 7,"),
    ("japanese", "日本の首都は"),
    ("html", "<table>\n  <tr>\n    <td>Name</td>\n    <td>Age</td>\n  </tr>\n  <tr>\n    <td>"),
    ("turn_markup", "<start_of_turn>user\nWhat is the capital of France?<end_of_turn>\n<start_of_turn>model\n"),
    ("long_over_window", None),  # built below: more than the 512-token sliding window
]
N_NEW = 32
# the long prompt's length, in tokens: past the sliding window (512) by a good margin
LONG_MIN_TOKENS = 600
# vocabulary ids whose logits at the last prompt position are recorded for every prompt
PROBE_IDS = [0, 1, 2, 3, 105, 106, 107, 108, 138, 236743, 1000, 10000, 50000, 100000, 200000, 262143]


def long_prompt(tok) -> str:
    """Paragraphs of stdlib docstrings (corpus.py's source of prose), joined until past the window."""
    import corpus

    paragraphs = []
    for rel in ["textwrap.py", "heapq.py", "bisect.py", "difflib.py", "shlex.py"]:
        for doc in corpus._docstrings(rel):
            paragraphs += [p.strip() for p in doc.split("\n\n") if len(p.strip()) > 80 and ">>>" not in p]
    text = ""
    for p in paragraphs:
        text = f"{text}\n\n{p}" if text else p
        if len(tok.encode(text)) >= LONG_MIN_TOKENS:
            return text
    raise SystemExit("not enough prose for the long prompt")


# config fields that say where the file was loaded from or are classification-head filler
CONFIG_SKIP = {"_name_or_path", "id2label", "label2id"}


def config_dict(cfg) -> dict:
    """Every JSON-representable field of the text config (Gemma3TextConfig), but CONFIG_SKIP."""
    import json

    out = {}
    for k, v in sorted(cfg.to_dict().items()):
        if k in CONFIG_SKIP:
            continue
        try:
            json.dumps(v)
        except TypeError:
            continue
        out[k] = v
    return out


def make_model() -> None:
    import torch
    from transformers import AutoModelForCausalLM

    torch.set_num_threads(TORCH_THREADS)
    torch.manual_seed(0)
    tok = load_tokenizer()
    md = gguf_tokenizer_metadata()
    add_bos = bool(md["tokenizer.ggml.add_bos_token"])
    t0 = time.time()
    model = AutoModelForCausalLM.from_pretrained(str(MODEL_DIR), gguf_file=MODEL_FILE, dtype=torch.float32)
    model.eval()
    print(f"  loaded {type(model).__name__} in {time.time() - t0:.0f} s")
    cfg = model.config
    assert model.lm_head.weight.dtype == torch.float32
    vocab = cfg.vocab_size

    items = []
    with torch.no_grad():
        for name, prompt in PROMPTS:
            if prompt is None:
                prompt = long_prompt(tok)
            ids = tok.encode(prompt, add_special_tokens=add_bos)
            assert (ids[0] == md["tokenizer.ggml.bos_token_id"]) == add_bos
            inp = torch.tensor([ids], dtype=torch.long)
            out = model(input_ids=inp, use_cache=True)
            cache = out.cache
            logits = out.logits[0, -1].float()
            assert logits.shape[0] == vocab
            top = torch.topk(logits, 5)
            last_top5 = [[int(i), f32(v)] for v, i in zip(top.values.tolist(), top.indices.tolist())]
            probe = [f32(logits[i]) for i in PROBE_IDS]
            stats = {"mean": f32(logits.mean()), "std": f32(logits.std()), "min": f32(logits.min()),
                     "max": f32(logits.max())}
            greedy, glogits, margins, step_top5 = [], [], [], []
            for step in range(N_NEW):
                t5 = torch.topk(logits, 5)
                nxt = int(torch.argmax(logits))
                assert nxt == int(t5.indices[0])
                greedy.append(nxt)
                glogits.append(f32(logits[nxt]))
                margins.append(f32(t5.values[0] - t5.values[1]))
                step_top5.append([[int(i), f32(v)] for v, i in zip(t5.values.tolist(), t5.indices.tolist())])
                out = model(input_ids=torch.tensor([[nxt]]), cache=cache, use_cache=True)
                cache = out.cache
                logits = out.logits[0, -1].float()
            item = {
                "name": name, "chat": False, "prompt": prompt, "prompt_ids": ids,
                "greedy_ids": greedy, "greedy_logits": glogits, "greedy_margins": margins,
                "last_prompt_top5": last_top5,
                "last_prompt_logits_probe": probe,
                "last_prompt_logits_stats": stats,
                "step_top5": step_top5,
                "greedy_text": tok.decode(greedy, skip_special_tokens=False),
            }
            items.append(item)
            print(f"  {name}: {len(ids)} prompt tokens -> {item['greedy_text']!r} "
                  f"(min margin {min(margins):.4f})", flush=True)

    # cross-check against transformers' own generate() (its own cache handling): it stops at the
    # EOS, so it must equal our tokens up to and including the first EOS
    eos = md["tokenizer.ggml.eos_token_id"]
    with torch.no_grad():
        for it in items:
            gen = model.generate(torch.tensor([it["prompt_ids"]]), max_new_tokens=N_NEW, do_sample=False,
                                 num_beams=1, repetition_penalty=1.0, eos_token_id=eos,
                                 pad_token_id=md["tokenizer.ggml.padding_token_id"])
            new = gen[0, len(it["prompt_ids"]):].tolist()
            want = it["greedy_ids"][: it["greedy_ids"].index(eos) + 1] if eos in it["greedy_ids"] else it["greedy_ids"]
            assert new == want, (it["name"], new, want)

    header = {
        "description": "Greedy decoding reference for Gemma 3 270M: GGUF dequantized to float32 by transformers, CPU",
        "model_file": MODEL_FILE,
        "model_sha256": MODEL_SHA256,
        "versions": versions(),
        "torch_num_threads": torch.get_num_threads(),
        "dtype": "float32",
        "model_class": type(model).__name__,
        "attn_implementation": getattr(cfg, "_attn_implementation", None),
        "add_bos": add_bos,
        "bos_token_id": md["tokenizer.ggml.bos_token_id"],
        "eos_token_id": eos,
        "n_new_tokens": N_NEW,
        "probe_ids": PROBE_IDS,
        "decoding": "manual greedy argmax with the KV cache (transformers Cache), EOS ignored, no penalties; "
                    "cross-checked against model.generate() up to the first EOS",
        "config": config_dict(cfg),
    }
    path = FIX / "gemma3_model_parity.json"
    write_json(path, header, "prompts", items)
    print(f"model: {path.relative_to(ROOT)} ({len(items)} prompts, {path.stat().st_size} bytes)")


# --------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    all_sections = ["tokenizer", "model"]
    ap.add_argument("sections", nargs="*", metavar="SECTION", help=f"any of {all_sections} (default: all)")
    args = ap.parse_args()
    args.sections = args.sections or all_sections
    for s in args.sections:
        if s not in all_sections:
            ap.error(f"unknown section {s!r}; choose from {all_sections}")
    check_model()
    FIX.mkdir(parents=True, exist_ok=True)
    for s in args.sections:
        t0 = time.time()
        {"tokenizer": make_tokenizer, "model": make_model}[s]()
        print(f"{s}: {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
