#!/usr/bin/env python3
"""Builds a tiny Llama-style SentencePiece tokenizer GGUF and its reference encodings.

    tests/reference/.venv/bin/python tests/reference/make_tiny_spm.py

1. Trains a real SentencePiece BPE model (512 pieces: `<unk>`, `<s>`, `</s>`, one control and two
   user-defined symbols, the 256 byte-fallback pieces `<0x00>`..`<0xFF>`, and ~250 learned
   pieces with their scores) on stdlib docstrings (corpus.py's prose source), with Llama 2's
   trainer options (BPE, byte fallback, digits split, dummy prefix, identity normalization).
2. Writes it as llama.cpp's converter does (`convert_hf_to_gguf.py`, `_create_vocab_sentencepiece`)
   into `fixtures/tiny_spm.gguf`: `tokenizer.ggml.model = llama`, tokens, scores, token types,
   bos/eos/unk ids, add_bos/add_eos. No tensors: only the tokenizer is read from it.
3. Encodes strings with transformers' tokenizer loaded from that GGUF (`AutoTokenizer` with
   `gguf_file`, a LlamaTokenizer: Metaspace pre-tokenizer, BPE with byte fallback, merges
   generated from the scores) into `fixtures/tiny_spm_cases.json`, with the decodings, and for
   information the ids of the sentencepiece model itself where they differ.

Deterministic: one training thread, no input shuffling; regenerating with the same Python (its
stdlib docstrings are the training text) and package versions gives the same bytes.
"""

from __future__ import annotations

import random
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_fixtures import FIX, ROOT, versions, write_json  # noqa: E402

GGUF_NAME = "tiny_spm.gguf"
CASES_NAME = "tiny_spm_cases.json"
VOCAB_SIZE = 512
CONTROL_SYMBOLS = ["<pad>"]
USER_SYMBOLS = ["<sep>", "<|user|>"]
# llama.cpp's token types (llama_token_type / gguf.TokenType)
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6

EXTRA_TRAINING_LINES = [
    # a few non-ASCII words often enough to get pieces of their own (the rest falls back to bytes)
    "café naïve élève", "日本語 日本 東京", "Grüße aus München",
] * 20


def training_text() -> str:
    import corpus

    lines = []
    for rel in corpus.PROSE_MODULES[:25]:
        for doc in corpus._docstrings(rel):
            lines += [l.strip() for l in doc.splitlines() if l.strip()]
    return "\n".join(lines + EXTRA_TRAINING_LINES) + "\n"


def train(workdir: Path):
    import sentencepiece as spm

    text = workdir / "train.txt"
    text.write_text(training_text(), encoding="utf-8")
    prefix = workdir / "tiny"
    spm.SentencePieceTrainer.train(
        input=str(text), model_prefix=str(prefix), model_type="bpe", vocab_size=VOCAB_SIZE,
        byte_fallback=True, split_digits=True, add_dummy_prefix=True, normalization_rule_name="identity",
        remove_extra_whitespaces=False, allow_whitespace_only_pieces=True, character_coverage=0.9995,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, control_symbols=CONTROL_SYMBOLS,
        user_defined_symbols=USER_SYMBOLS, num_threads=1, shuffle_input_sentence=False,
        input_sentence_size=0, max_sentencepiece_length=16, minloglevel=2,
    )
    return spm.SentencePieceProcessor(model_file=str(prefix) + ".model")


def write_gguf(sp, path: Path) -> dict:
    import gguf

    tokens, scores, types = [], [], []
    for i in range(sp.get_piece_size()):
        piece = sp.id_to_piece(i)
        tokens.append(piece)
        scores.append(sp.get_score(i))
        if sp.is_unknown(i):
            types.append(UNKNOWN)
        elif sp.is_control(i):
            types.append(CONTROL)
        elif sp.is_byte(i):
            types.append(BYTE)
        elif sp.is_unused(i):
            types.append(UNUSED)
        elif piece in USER_SYMBOLS:
            types.append(USER_DEFINED)
        else:
            types.append(NORMAL)
    w = gguf.GGUFWriter(str(path), arch="llama")
    w.add_name("lmfast tiny SentencePiece tokenizer (no weights)")
    # the llama hyperparameters transformers reads to pick the tokenizer class (no tensors follow)
    w.add_context_length(128)
    w.add_embedding_length(64)
    w.add_block_count(1)
    w.add_feed_forward_length(128)
    w.add_head_count(4)
    w.add_head_count_kv(4)
    w.add_rope_dimension_count(16)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(len(tokens))
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(sp.bos_id())
    w.add_eos_token_id(sp.eos_id())
    w.add_unk_token_id(sp.unk_id())
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return {"tokens": tokens, "scores": scores, "types": types}


HAND_CASES = [
    "", " ", "  ", "Hello world", " Hello world", "  two leading", "trailing ", "a  b   c",
    "The quick brown fox jumps over the lazy dog.", "hello\nworld", "tab\tseparated", "\n\nnewlines\n",
    "line one\r\nline two", "1234567890", "3.14159", "x = 42", "café", "naïve élève", "日本語",
    "東京は日本の首都です", "Grüße aus München", "😀", "👩‍👩‍👧 family", "🦀 crab and 🐍 snake",
    "Ω≈ç√∫", "\u00a0non-breaking", "\x00nul", "\U0010ffff", "<s>", "</s>", "<unk>", "<pad>", "<sep>",
    "<|user|>", "<s>Hello", "Hello</s>", "<s> Hello", "a<sep>b", "a <sep> b", "<|user|>hi<sep>there",
    "<0x41>", "▁", "▁▁x", "a▁b", "<s", "s>", "def f(x):\n    return x * 2\n", "{\"key\": [1, 2]}",
    "UPPER lower MiXeD", "don't can't won't", "e-mail: someone@example.com", "...!!!???",
]


def cases(rng: random.Random) -> list[tuple[str, str]]:
    import corpus

    out = [("hand", t) for t in HAND_CASES]
    pool = corpus.all_cases()
    by_cat: dict[str, list[str]] = {}
    for cat, text in pool:
        if len(text) <= 200:
            by_cat.setdefault(cat, []).append(text)
    for cat in sorted(by_cat):
        for text in rng.sample(by_cat[cat], min(8, len(by_cat[cat]))):
            out.append((cat, text))
    seen, uniq = set(), []
    for cat, text in out:
        if text not in seen:
            seen.add(text)
            uniq.append((cat, text))
    return uniq


def main() -> None:
    from transformers import AutoTokenizer

    FIX.mkdir(parents=True, exist_ok=True)
    gguf_path = FIX / GGUF_NAME
    with tempfile.TemporaryDirectory() as tmp:
        sp = train(Path(tmp))
        vocab = write_gguf(sp, gguf_path)
    tok = AutoTokenizer.from_pretrained(str(FIX), gguf_file=GGUF_NAME)
    backend = tok.backend_tokenizer
    items, n_spm_diff = [], 0
    for i, (cat, text) in enumerate(cases(random.Random(20260101))):
        ids = tok.encode(text, add_special_tokens=False)
        assert backend.encode(text, add_special_tokens=False).ids == ids, text
        item = {"id": i, "category": cat, "text": text, "ids": ids,
                "ids_with_special": tok.encode(text, add_special_tokens=True),
                "decoded": tok.decode(ids, skip_special_tokens=False)}
        skip = tok.decode(ids, skip_special_tokens=True)
        if skip != item["decoded"]:
            item["decoded_skip_special"] = skip
        spm_ids = sp.encode(text)
        if spm_ids != ids:
            item["sentencepiece_ids"] = spm_ids
            n_spm_diff += 1
        items.append(item)
    types = vocab["types"]
    header = {
        "description": "Reference tokenization of tiny_spm.gguf (a Llama-style SentencePiece vocabulary, "
                       "see fixtures/README.md)",
        "reference": "transformers AutoTokenizer.from_pretrained(fixtures/, gguf_file='tiny_spm.gguf')",
        "tokenizer_class": type(tok).__name__,
        "versions": {**versions(), "sentencepiece": __import__("sentencepiece").__version__},
        "vocab_size": len(vocab["tokens"]),
        "num_byte_tokens": types.count(BYTE),
        "num_control_tokens": types.count(CONTROL),
        "num_user_defined_tokens": types.count(USER_DEFINED),
        "bos_token_id": sp.bos_id(), "eos_token_id": sp.eos_id(), "unk_token_id": sp.unk_id(),
        "add_bos_token": True, "add_eos_token": False,
        "special_tokens": {t: i for i, (t, ty) in enumerate(zip(vocab["tokens"], types))
                           if ty in (UNKNOWN, CONTROL, USER_DEFINED)},
        "num_cases": len(items),
        "num_sentencepiece_differences": n_spm_diff,
        "roundtrip_failures": [it["id"] for it in items if it["decoded"] != it["text"]],
    }
    path = FIX / CASES_NAME
    write_json(path, header, "cases", items)
    print(f"{gguf_path.relative_to(ROOT)}: {gguf_path.stat().st_size} bytes; {path.relative_to(ROOT)}: "
          f"{len(items)} cases, {n_spm_diff} differ from sentencepiece itself, {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
