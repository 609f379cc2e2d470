#!/usr/bin/env python3
"""Regenerates every reference fixture under tests/reference/fixtures/.

    bash tests/reference/setup_venv.sh
    tests/reference/.venv/bin/python tests/reference/make_fixtures.py            # all fixtures
    tests/reference/.venv/bin/python tests/reference/make_fixtures.py dequant    # only some
        (sections: dequant, tokenizer, chat, model)

Optional: --genuine-tokenizer PATH (or $LMFAST_GENUINE_TOKENIZER) names a copy of Hugging Face's
own SmolLM2 tokenizer.json; the script then checks that the reference tokenizer it builds is
identical to it (vocab, merges, pipeline, and the ids of every tokenizer case) and fails if not.

Everything is deterministic (fixed seeds, greedy decoding, CPU float32). See fixtures/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import struct
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FIX = HERE / "fixtures"
MODEL_DIR = ROOT / "models"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_PATH = MODEL_DIR / MODEL_FILE
MODEL_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

sys.path.insert(0, str(HERE))


# --------------------------------------------------------------------------------------------
# helpers


def versions() -> dict:
    import gguf  # noqa: F401
    from importlib import metadata

    out = {"python": platform.python_version()}
    for pkg in ["torch", "transformers", "tokenizers", "gguf", "numpy", "jinja2"]:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def jdump(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def write_json(path: Path, header: dict, list_key: str, items: list) -> None:
    """Pretty header, then one compact JSON object per line for the list (small, diffable)."""
    lines = ["{"]
    for k, v in header.items():
        lines.append(f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False, indent=None)},")
    lines.append(f"  {json.dumps(list_key)}: [")
    for i, it in enumerate(items):
        lines.append("    " + jdump(it) + ("," if i + 1 < len(items) else ""))
    lines.append("  ]")
    lines.append("}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    json.loads(path.read_text(encoding="utf-8"))  # sanity: valid JSON


def f32(x) -> float:
    """A float32 value as a JSON number that parses back to the same float32."""
    return float(np.float32(x))


def check_model() -> None:
    if not MODEL_PATH.exists():
        sys.exit(f"model missing: {MODEL_PATH} (run target/release/lmfast pull smollm2-135m)")


# --------------------------------------------------------------------------------------------
# a. dequantization

DEQUANT_TYPES = ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K"]
# byte offsets, inside one block, of the f16 scale fields (d, and m/dmin where the type has one)
F16_FIELDS = {
    "Q4_0": [0], "Q4_1": [0, 2], "Q5_0": [0], "Q5_1": [0, 2], "Q8_0": [0],
    "Q4_K": [0, 2], "Q5_K": [0, 2], "Q6_K": [208],
}
DEQUANT_SEED = 20250101
ROWS, COLS = 2, 512


def make_dequant() -> None:
    import gguf
    from gguf import GGMLQuantizationType as T
    from gguf.constants import GGML_QUANT_SIZES

    rng = np.random.default_rng(DEQUANT_SEED)
    path = FIX / "dequant.gguf"
    w = gguf.GGUFWriter(str(path), arch="lmfast-dequant-test")
    w.add_uint32("lmfast.dequant.seed", DEQUANT_SEED)
    w.add_string("lmfast.dequant.note",
                 "each <type> tensor holds seeded random blocks; <type>.expected is gguf.quants.dequantize of it")
    for name in DEQUANT_TYPES:
        qt = T[name]
        block, tsize = GGML_QUANT_SIZES[qt]
        lname = name.lower()
        if name == "F32":
            vals = rng.standard_normal((ROWS, COLS)).astype(np.float32)
            vals[0, :6] = [0.0, -0.0, 1.0, -1.0, 1e-40, 3.0e38]  # incl. a subnormal
            w.add_tensor(lname, vals)
            raw = vals
        elif name == "F16":
            vals = (rng.standard_normal((ROWS, COLS)) * 4).astype(np.float16)
            vals[0, :8] = np.array([0.0, -0.0, 1.0, -2.0, 65504.0, -65504.0, 2.0 ** -24, 6.1e-5], np.float32)
            w.add_tensor(lname, vals)
            raw = vals
        elif name == "BF16":
            src = (rng.standard_normal((ROWS, COLS)) * 4).astype(np.float32)
            src[0, :6] = [0.0, -0.0, 1.0, -3.0, 3.0e38, 1e-39]
            bits = (src.view(np.uint32) >> 16).astype(np.uint16)  # truncate: exact bf16 values
            raw = bits.view(np.uint8).reshape(ROWS, COLS * 2)
            w.add_tensor(lname, raw, raw_dtype=qt)
        else:
            nb = COLS // block
            blocks = rng.integers(0, 256, size=(ROWS, nb, tsize), dtype=np.uint8)
            for off in F16_FIELDS[name]:
                # scales are k/64 with |k| <= 128: finite, in [-2, 2], and few mantissa bits, so
                # every dequantized value is exact in f32 whatever the order of operations
                k = rng.integers(-128, 129, size=(ROWS, nb))
                d = (k / 64.0).astype(np.float16)
                blocks[:, :, off:off + 2] = d.view(np.uint8).reshape(ROWS, nb, 2)
            raw = blocks.reshape(ROWS, nb * tsize)
            w.add_tensor(lname, raw, raw_dtype=qt)
        expected = gguf.quants.dequantize(raw, qt)
        expected = np.ascontiguousarray(expected, dtype=np.float32).reshape(ROWS, COLS)
        assert np.isfinite(expected).all(), name
        w.add_tensor(lname + ".expected", expected)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    # verify with the gguf reader
    r = gguf.GGUFReader(str(path))
    assert r.fields["GGUF.version"].contents() == 3
    by = {t.name: t for t in r.tensors}
    for name in DEQUANT_TYPES:
        t = by[name.lower()]
        e = by[name.lower() + ".expected"]
        assert t.tensor_type == T[name] and list(t.shape) == [COLS, ROWS], (name, t.shape)
        assert e.tensor_type == T.F32 and list(e.shape) == [COLS, ROWS]
        got = gguf.quants.dequantize(np.asarray(t.data), T[name]).reshape(ROWS, COLS)
        assert np.array_equal(got.view(np.uint32), np.asarray(e.data).reshape(ROWS, COLS).view(np.uint32)), name
    print(f"dequant: {path.relative_to(ROOT)} ({path.stat().st_size} bytes)")
    make_dequant_v2()


# GGUF value types
GT = dict(UINT8=0, INT8=1, UINT16=2, INT16=3, UINT32=4, INT32=5, FLOAT32=6, BOOL=7, STRING=8,
          ARRAY=9, UINT64=10, INT64=11, FLOAT64=12)
_FMT = {"UINT8": "<B", "INT8": "<b", "UINT16": "<H", "INT16": "<h", "UINT32": "<I", "INT32": "<i",
        "FLOAT32": "<f", "BOOL": "<?", "UINT64": "<Q", "INT64": "<q", "FLOAT64": "<d"}

V2_KV = [
    ("general.architecture", "STRING", "lmfast-v2-test"),
    ("test.u8", "UINT8", 200),
    ("test.i8", "INT8", -100),
    ("test.u16", "UINT16", 65000),
    ("test.i16", "INT16", -32000),
    ("test.u32", "UINT32", 4000000000),
    ("test.i32", "INT32", -2000000000),
    ("test.u64", "UINT64", 18000000000000000123),
    ("test.i64", "INT64", -9000000000000000123),
    ("test.f32", "FLOAT32", 0.15625),
    ("test.f64", "FLOAT64", 3.141592653589793),
    ("test.bool_true", "BOOL", True),
    ("test.bool_false", "BOOL", False),
    ("test.string", "STRING", "héllo wörld ✓ 日本"),
    ("test.empty_string", "STRING", ""),
    ("test.array_str", ("ARRAY", "STRING"), ["a", "bc", "", "日本語", "<|im_end|>"]),
    ("test.array_i32", ("ARRAY", "INT32"), [1, -2, 3, 2147483647, -2147483648]),
    ("test.array_f32", ("ARRAY", "FLOAT32"), [0.5, -1.25, 1024.0]),
    ("test.array_empty_u8", ("ARRAY", "UINT8"), []),
]
V2_TENSOR = {"name": "tensor.f32", "ne": [4, 3]}  # 3 rows of 4


def _gstr(s: str) -> bytes:
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def _gval(typ: str, v) -> bytes:
    if typ == "STRING":
        return _gstr(v)
    return struct.pack(_FMT[typ], v)


def make_dequant_v2() -> None:
    import gguf

    out = bytearray()
    out += b"GGUF" + struct.pack("<I", 2) + struct.pack("<Q", 1) + struct.pack("<Q", len(V2_KV))
    for key, typ, val in V2_KV:
        out += _gstr(key)
        if isinstance(typ, tuple):
            out += struct.pack("<I", GT["ARRAY"]) + struct.pack("<I", GT[typ[1]]) + struct.pack("<Q", len(val))
            for x in val:
                out += _gval(typ[1], x)
        else:
            out += struct.pack("<I", GT[typ]) + _gval(typ, val)
    ne = V2_TENSOR["ne"]
    values = (np.arange(ne[0] * ne[1], dtype=np.float32) * 0.25 - 1.0).astype(np.float32)
    out += _gstr(V2_TENSOR["name"]) + struct.pack("<I", len(ne))
    for d in ne:
        out += struct.pack("<Q", d)
    out += struct.pack("<I", 0)  # ggml type F32
    out += struct.pack("<Q", 0)  # offset inside the data section
    alignment = 32
    data_offset = (len(out) + alignment - 1) // alignment * alignment
    out += b"\0" * (data_offset - len(out))
    out += values.tobytes()
    path = FIX / "dequant_v2.gguf"
    path.write_bytes(bytes(out))

    # verify with the gguf reader (it reads v2 and v3)
    r = gguf.GGUFReader(str(path))
    assert r.fields["GGUF.version"].contents() == 2
    for key, typ, val in V2_KV:
        got = r.fields[key].contents()
        if typ == "FLOAT32" or typ == ("ARRAY", "FLOAT32"):
            assert np.allclose(got, val, rtol=0, atol=0), key
        else:
            assert got == val, (key, got, val)
    t = r.tensors[0]
    assert t.name == V2_TENSOR["name"] and list(t.shape) == ne and int(t.data_offset) == data_offset
    assert np.array_equal(np.asarray(t.data).reshape(-1), values)

    kv = []
    for key, typ, val in V2_KV:
        if isinstance(typ, tuple):
            kv.append({"key": key, "type": "ARRAY", "array_type": typ[1], "value": val})
        else:
            kv.append({"key": key, "type": typ, "value": val})
    desc = {
        "file": "dequant_v2.gguf",
        "version": 2,
        "tensor_count": 1,
        "kv_count": len(V2_KV),
        "alignment": alignment,
        "data_offset": data_offset,
        "file_size": len(out),
        "kv": kv,
        "tensors": [{
            "name": V2_TENSOR["name"], "ggml_type": "F32", "ggml_type_id": 0, "ne": ne, "offset": 0,
            "values": [f32(x) for x in values],
        }],
    }
    (FIX / "dequant_v2.json").write_text(json.dumps(desc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"dequant: {path.relative_to(ROOT)} ({len(out)} bytes) + dequant_v2.json")


# --------------------------------------------------------------------------------------------
# tokenizer


def gguf_metadata() -> dict:
    from gguf import GGUFReader

    r = GGUFReader(str(MODEL_PATH))
    keep = ["tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.bos_token_id",
            "tokenizer.ggml.eos_token_id", "tokenizer.ggml.unknown_token_id",
            "tokenizer.ggml.padding_token_id", "tokenizer.ggml.add_bos_token",
            "tokenizer.ggml.add_space_prefix", "tokenizer.chat_template"]
    md = {k: r.fields[k].contents() for k in keep if k in r.fields}
    md["tokens"] = r.fields["tokenizer.ggml.tokens"].contents()
    md["merges"] = r.fields["tokenizer.ggml.merges"].contents()
    md["token_type"] = r.fields["tokenizer.ggml.token_type"].contents()
    return md


def build_reference_tokenizer(md: dict):
    """Hugging Face's SmolLM2 tokenizer.json pipeline, rebuilt from the GGUF's vocab and merges.

    The GGUF's vocab and merges are byte-for-byte those of HF's tokenizer.json; what the GGUF does
    not carry is the pipeline, which is (HF SmolLM2-135M-Instruct tokenizer.json):
      normalizer: null
      pre_tokenizer: Sequence[Digits(individual_digits=true),
                              ByteLevel(add_prefix_space=false, trim_offsets=true, use_regex=true)]
      post_processor: null
      decoder: ByteLevel(add_prefix_space=true, trim_offsets=true, use_regex=true)
      model: BPE(dropout=null, unk_token=null, fuse_unk=false, byte_fallback=false, ignore_merges=false)
      added_tokens: ids 0..16 (<|endoftext|> .. <empty_output>), special, normalized=false
    """
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    vocab = {t: i for i, t in enumerate(md["tokens"])}
    merges = [tuple(m.split(" ")) for m in md["merges"]]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, dropout=None, unk_token=None,
                               fuse_unk=False, byte_fallback=False, ignore_merges=False))
    tok.normalizer = None
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
    ])
    tok.post_processor = None
    tok.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    control = [t for t, ty in zip(md["tokens"], md["token_type"]) if ty == 3]
    tok.add_special_tokens([AddedToken(t, single_word=False, lstrip=False, rstrip=False,
                                       normalized=False, special=True) for t in control])
    for t in control:
        assert tok.token_to_id(t) == vocab[t]
    assert tok.get_vocab_size(with_added_tokens=True) == len(md["tokens"])
    return tok


def hf_wrapper(tok, md: dict):
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<|im_start|>", eos_token="<|im_end|>",
        unk_token="<|endoftext|>", pad_token="<|im_end|>", chat_template=md["tokenizer.chat_template"],
        clean_up_tokenization_spaces=False, add_bos_token=False, add_eos_token=False,
    )


def load_converted_tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(MODEL_DIR), gguf_file=MODEL_FILE)


def check_genuine(ref, genuine_path: str, cases) -> dict:
    from tokenizers import Tokenizer

    g = Tokenizer.from_file(genuine_path)
    gj, rj = json.loads(g.to_str()), json.loads(ref.to_str())
    report = {"path_sha256": sha256(Path(genuine_path))}
    for part in ["normalizer", "pre_tokenizer", "post_processor", "decoder", "added_tokens"]:
        report[f"same_{part}"] = gj[part] == rj[part]
    report["same_vocab"] = gj["model"]["vocab"] == rj["model"]["vocab"]
    report["same_merges"] = [" ".join(m) if isinstance(m, list) else m for m in gj["model"]["merges"]] == \
        [" ".join(m) if isinstance(m, list) else m for m in rj["model"]["merges"]]
    diffs = 0
    for _cat, text in cases:
        for add in (False, True):
            if g.encode(text, add_special_tokens=add).ids != ref.encode(text, add_special_tokens=add).ids:
                diffs += 1
    report["encode_differences"] = diffs
    ok = all(v for k, v in report.items() if k.startswith("same_")) and diffs == 0
    report["identical"] = ok
    if not ok:
        raise SystemExit(f"reference tokenizer differs from the genuine tokenizer.json: {report}")
    return report


def make_tokenizer(genuine: str | None) -> None:
    import corpus

    md = gguf_metadata()
    ref = build_reference_tokenizer(md)
    conv = load_converted_tokenizer()
    cases = corpus.all_cases()
    if genuine:
        print(f"tokenizer: identical to the genuine tokenizer.json: {check_genuine(ref, genuine, cases)}")

    items, n_conv_diff = [], 0
    for i, (cat, text) in enumerate(cases):
        ids = ref.encode(text, add_special_tokens=False).ids
        decoded = ref.decode(ids, skip_special_tokens=False)
        item = {"id": i, "category": cat, "text": text, "add_special_tokens": False, "ids": ids,
                "decoded": decoded}
        skip = ref.decode(ids, skip_special_tokens=True)
        if skip != decoded:
            item["decoded_skip_special"] = skip
        cids = conv.encode(text, add_special_tokens=False)
        if cids != ids:
            item["gguf_converted_ids"] = cids
            n_conv_diff += 1
        # the transformers-side decode of the reference ids must agree
        assert conv.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False) == decoded
        items.append(item)
    for text in corpus.ADD_SPECIAL_CASES:
        ids = ref.encode(text, add_special_tokens=True).ids
        item = {"id": len(items), "category": "add_special_tokens", "text": text, "add_special_tokens": True,
                "ids": ids, "decoded": ref.decode(ids, skip_special_tokens=False)}
        cids = conv.encode(text, add_special_tokens=True)
        if cids != ids:
            item["gguf_converted_ids"] = cids
            n_conv_diff += 1
        items.append(item)

    roundtrip_fail = [it["id"] for it in items if it["decoded"] != it["text"]]
    header = {
        "description": "Reference tokenization of SmolLM2-135M-Instruct (see fixtures/README.md)",
        "reference": "HF SmolLM2 tokenizer.json pipeline (Digits(individual)+ByteLevel pre-tokenizer, "
                     "ByteLevel decoder) over the GGUF's vocab and merges",
        "model_file": MODEL_FILE,
        "model_sha256": MODEL_SHA256,
        "versions": versions(),
        "gguf_tokenizer_model": md["tokenizer.ggml.model"],
        "gguf_tokenizer_pre": md["tokenizer.ggml.pre"],
        "vocab_size": len(md["tokens"]),
        "special_tokens": {t: i for i, (t, ty) in enumerate(zip(md["tokens"], md["token_type"])) if ty == 3},
        "bos_token_id": md["tokenizer.ggml.bos_token_id"],
        "eos_token_id": md["tokenizer.ggml.eos_token_id"],
        "unk_token_id": md["tokenizer.ggml.unknown_token_id"],
        "pad_token_id": md["tokenizer.ggml.padding_token_id"],
        "add_bos_token": md["tokenizer.ggml.add_bos_token"],
        "num_cases": len(items),
        "num_gguf_converted_differences": n_conv_diff,
        "roundtrip_failures": roundtrip_fail,
    }
    path = FIX / "tokenizer_cases.json"
    write_json(path, header, "cases", items)
    print(f"tokenizer: {path.relative_to(ROOT)} ({len(items)} cases, {n_conv_diff} differ with the "
          f"transformers GGUF conversion, {path.stat().st_size} bytes)")


# --------------------------------------------------------------------------------------------
# chat template

CONVERSATIONS = [
    ("user_only", [{"role": "user", "content": "Hello!"}]),
    ("user_only_question", [{"role": "user", "content": "What is the capital of France?"}]),
    ("system_user", [{"role": "system", "content": "You are a pirate. Answer like one."},
                     {"role": "user", "content": "Where is the treasure?"}]),
    ("system_only", [{"role": "system", "content": "You are terse."}]),
    ("multi_turn", [{"role": "user", "content": "Hi, who are you?"},
                    {"role": "assistant", "content": "I am SmolLM, an AI assistant."},
                    {"role": "user", "content": "Can you count to 3?"}]),
    ("multi_turn_with_system", [{"role": "system", "content": "Be helpful."},
                                {"role": "user", "content": "2+2?"},
                                {"role": "assistant", "content": "4"},
                                {"role": "user", "content": "And 3+3?"},
                                {"role": "assistant", "content": "6"}]),
    ("ends_with_assistant", [{"role": "user", "content": "Say hi."},
                             {"role": "assistant", "content": "Hi!"}]),
    ("unicode", [{"role": "user", "content": "Traduis « bonjour » en 日本語 s'il te plaît 🙏"}]),
    ("empty_content", [{"role": "user", "content": ""}]),
    ("empty_system", [{"role": "system", "content": ""}, {"role": "user", "content": "Hi"}]),
    ("multiline_content", [{"role": "user", "content": "Fix this code:\n\ndef f(x):\n\treturn x +\n\n"}]),
    ("whitespace_content", [{"role": "user", "content": "  padded  \n"}]),
    ("numbers_content", [{"role": "user", "content": "What is 1,234 + 5,678? Reply by 2024-12-31."}]),
    ("special_in_content", [{"role": "user", "content": "What does <|im_end|> mean?"}]),
    ("assistant_first", [{"role": "assistant", "content": "How can I help?"},
                         {"role": "user", "content": "Tell me a joke."}]),
]


def _ids_of(x) -> list[int]:
    if isinstance(x, dict) or hasattr(x, "keys"):
        x = x["input_ids"]
    if hasattr(x, "tolist"):
        x = x.tolist()
    if x and isinstance(x[0], list):
        assert len(x) == 1
        x = x[0]
    return list(x)


def make_chat() -> None:
    md = gguf_metadata()
    ref = build_reference_tokenizer(md)
    wrap = hf_wrapper(ref, md)
    conv = load_converted_tokenizer()
    template = md["tokenizer.chat_template"]
    assert conv.chat_template == template
    items = []
    for name, msgs in CONVERSATIONS:
        for agp in (False, True):
            text = conv.apply_chat_template(msgs, tokenize=False, add_generation_prompt=agp)
            text2 = wrap.apply_chat_template(msgs, tokenize=False, add_generation_prompt=agp)
            assert text == text2, (name, text, text2)
            ids = _ids_of(wrap.apply_chat_template(msgs, tokenize=True, add_generation_prompt=agp))
            assert ids == ref.encode(text, add_special_tokens=False).ids, name
            item = {"name": name, "messages": msgs, "add_generation_prompt": agp, "text": text, "ids": ids}
            cids = _ids_of(conv.apply_chat_template(msgs, tokenize=True, add_generation_prompt=agp))
            if cids != ids:
                item["gguf_converted_ids"] = cids
            items.append(item)
    default_system = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
    assert default_system in template
    header = {
        "description": "SmolLM2 chat template rendered by transformers' apply_chat_template",
        "template": template,
        "default_system_prompt": default_system,
        "versions": versions(),
        "renderer": "transformers apply_chat_template (jinja2 sandbox, trim_blocks/lstrip_blocks); "
                    "ids = reference tokenizer, add_special_tokens=False",
    }
    path = FIX / "chat_template_cases.json"
    write_json(path, header, "cases", items)
    print(f"chat: {path.relative_to(ROOT)} ({len(items)} cases)")


# --------------------------------------------------------------------------------------------
# model parity

LONG_PARAGRAPH = (
    "The history of computing is a story of steadily shrinking machines and steadily growing "
    "ambitions. Early computers filled entire rooms, consumed enormous amounts of power, and could "
    "perform only a few thousand operations per second. The invention of the transistor, and later "
    "the integrated circuit, made it possible to pack millions and then billions of switches onto a "
    "single chip. Today a phone in your pocket is far more powerful than the machines that guided "
    "the first astronauts to the Moon, and small language models can run entirely inside a web "
    "browser. The next step in this story is"
)

PROMPTS = [
    ("capital_france", "The capital of France is", None),
    ("fibonacci", "def fibonacci(n):", None),
    ("long_paragraph", LONG_PARAGRAPH, None),
    ("numbers", "In 2023, the company sold 1,250,000 units at $19.99 each, for revenue of about $", None),
    ("unicode", "Voici une liste de mots français avec accents : café, élève, garçon, où, ", None),
    ("once_upon", "Once upon a time, in a small village by the sea,", None),
    ("rust_code", "fn main() {\n    let numbers = vec![1, 2, 3, 4, 5];\n    let sum: i32 =", None),
    ("counting", "1, 2, 3, 4, 5, 6, 7,", None),
    ("chat_capital", None, [{"role": "user", "content": "What is the capital of France?"}]),
    ("chat_haiku", None, [{"role": "system", "content": "You are a poet."},
                          {"role": "user", "content": "Write a haiku about the sea."}]),
    ("chat_multi_turn", None, [{"role": "user", "content": "Hi! What's your name?"},
                               {"role": "assistant", "content": "I'm SmolLM, an AI assistant."},
                               {"role": "user", "content": "Nice to meet you. What can you do?"}]),
    ("chat_code", None, [{"role": "user", "content": "Write a Python function that returns the square of a number."}]),
    ("chat_math", None, [{"role": "user", "content": "What is 12 + 35?"}]),
    ("chat_unicode", None, [{"role": "user", "content": "Translate 'good morning' into Spanish and Japanese. 🙂"}]),
]
N_NEW = 32
# vocabulary ids whose logits at the last prompt position are recorded for every prompt
PROBE_IDS = [0, 1, 2, 17, 198, 216, 260, 504, 1000, 4649, 10000, 20000, 30000, 40000, 49151]


def make_model() -> None:
    import torch
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    md = gguf_metadata()
    ref = build_reference_tokenizer(md)
    wrap = hf_wrapper(ref, md)
    conv = load_converted_tokenizer()
    got_sha = sha256(MODEL_PATH)
    assert got_sha == MODEL_SHA256, got_sha
    model = AutoModelForCausalLM.from_pretrained(str(MODEL_DIR), gguf_file=MODEL_FILE, dtype=torch.float32)
    model.eval()
    cfg = model.config
    assert model.lm_head.weight.dtype == torch.float32

    items = []
    with torch.no_grad():
        for name, prompt, msgs in PROMPTS:
            chat = msgs is not None
            if chat:
                prompt = wrap.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
            ids = ref.encode(prompt, add_special_tokens=False).ids
            # the converted transformers tokenizer (no BOS: the GGUF says add_bos_token=false)
            cids = conv.encode(prompt)
            inp = torch.tensor([ids], dtype=torch.long)
            out = model(input_ids=inp, use_cache=True)
            cache = out.cache
            logits = out.logits[0, -1].float()
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
                "name": name, "chat": chat, "prompt": prompt, "prompt_ids": ids,
                "greedy_ids": greedy, "greedy_logits": glogits, "greedy_margins": margins,
                "last_prompt_top5": last_top5,
                "last_prompt_logits_probe": probe,
                "last_prompt_logits_stats": stats,
                "step_top5": step_top5,
                "greedy_text": ref.decode(greedy, skip_special_tokens=False),
            }
            if chat:
                item["messages"] = msgs
            if cids != ids:
                item["gguf_converted_prompt_ids"] = cids
            items.append(item)
            print(f"  {name}: {len(ids)} prompt tokens -> {item['greedy_text']!r}")

    # cross-check against transformers' own generate() (full re-run, its own cache handling): it
    # stops at the EOS (<|im_end|>), so it must equal our tokens up to and including the first EOS
    eos = md["tokenizer.ggml.eos_token_id"]
    with torch.no_grad():
        for it in items:
            gen = model.generate(torch.tensor([it["prompt_ids"]]), max_new_tokens=N_NEW, do_sample=False,
                                 num_beams=1, repetition_penalty=1.0, eos_token_id=eos, pad_token_id=eos)
            new = gen[0, len(it["prompt_ids"]):].tolist()
            want = it["greedy_ids"][: it["greedy_ids"].index(eos) + 1] if eos in it["greedy_ids"] else it["greedy_ids"]
            assert new == want, (it["name"], new, want)

    header = {
        "description": "Greedy decoding reference: GGUF dequantized to float32 by transformers, CPU",
        "model_file": MODEL_FILE,
        "model_sha256": got_sha,
        "versions": versions(),
        "torch_num_threads": torch.get_num_threads(),
        "dtype": "float32",
        "add_bos": False,
        "eos_token_id": md["tokenizer.ggml.eos_token_id"],
        "n_new_tokens": N_NEW,
        "probe_ids": PROBE_IDS,
        "decoding": "manual greedy argmax with the KV cache (transformers Cache), EOS ignored, no penalties; cross-checked against model.generate() up to the first EOS",
        "config": {
            "vocab_size": cfg.vocab_size, "hidden_size": cfg.hidden_size, "intermediate_size": cfg.intermediate_size,
            "num_hidden_layers": cfg.num_hidden_layers, "num_attention_heads": cfg.num_attention_heads,
            "num_key_value_heads": cfg.num_key_value_heads, "rms_norm_eps": cfg.rms_norm_eps,
            "rope_theta": float(getattr(cfg, "rope_theta", None) or cfg.rope_parameters["rope_theta"]),
            "tie_word_embeddings": bool(cfg.tie_word_embeddings),
            "max_position_embeddings": cfg.max_position_embeddings,
        },
    }
    path = FIX / "model_parity.json"
    write_json(path, header, "prompts", items)
    print(f"model: {path.relative_to(ROOT)} ({len(items)} prompts)")


# --------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    all_sections = ["dequant", "tokenizer", "chat", "model"]
    ap.add_argument("sections", nargs="*", metavar="SECTION", help=f"any of {all_sections} (default: all)")
    ap.add_argument("--genuine-tokenizer", default=os.environ.get("LMFAST_GENUINE_TOKENIZER"))
    args = ap.parse_args()
    args.sections = args.sections or all_sections
    for s in args.sections:
        if s not in all_sections:
            ap.error(f"unknown section {s!r}; choose from {all_sections}")
    FIX.mkdir(parents=True, exist_ok=True)
    if set(args.sections) - {"dequant"}:
        check_model()
    for s in args.sections:
        if s == "dequant":
            make_dequant()
        elif s == "tokenizer":
            make_tokenizer(args.genuine_tokenizer)
        elif s == "chat":
            make_chat()
        elif s == "model":
            make_model()


if __name__ == "__main__":
    main()
