#!/usr/bin/env python3
"""Saves two tiny random Hugging Face checkpoints (llama, qwen2) with transformers and records
their logits, for `tests/hf_import.rs`.

    tests/reference/.venv/bin/python tests/reference/make_tiny_hf.py

Writes tests/reference/fixtures/tiny-hf/{llama,qwen2}/ (config.json, sharded bf16/f32
safetensors with model.safetensors.index.json, tokenizer.json, tokenizer_config.json) and
tests/reference/fixtures/tiny_hf_logits.json (for fixed id sequences: the top-5 logits at every
position and 8 greedy tokens). The weights are random (torch.manual_seed), about 100 KB each:
they exist only to test import, not to be a model.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

OUT = Path(__file__).resolve().parent / "fixtures"
VOCAB = 96
SEQUENCES = [[1, 5, 17, 33, 64, 2, 90, 41], [7, 7, 7, 3, 95, 0, 12]]


def tokenizer() -> Tokenizer:
    vocab = {"<s>": 0, "</s>": 1, "<unk>": 2}
    vocab.update({f"w{i}": i for i in range(3, VOCAB)})
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return tok


def build(kind: str):
    common = dict(
        vocab_size=VOCAB,
        hidden_size=64,
        intermediate_size=96,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
        rms_norm_eps=1e-5,
        rope_theta=10000.0,
        initializer_range=0.2,
        bos_token_id=0,
        eos_token_id=1,
    )
    if kind == "llama":
        config = LlamaConfig(**common, tie_word_embeddings=False)
        model = LlamaForCausalLM(config)
    else:
        config = Qwen2Config(**common, tie_word_embeddings=True)
        model = Qwen2ForCausalLM(config)
        # Qwen2 initializes biases to zero; make them count.
        with torch.no_grad():
            for layer in model.model.layers:
                for proj in (layer.self_attn.q_proj, layer.self_attn.k_proj, layer.self_attn.v_proj):
                    proj.bias.normal_(0.0, 0.2)
    return model


def main() -> None:
    results = {}
    for kind, dtype in [("llama", torch.bfloat16), ("qwen2", torch.float32)]:
        torch.manual_seed(1234)
        model = build(kind).eval()
        folder = OUT / "tiny-hf" / kind
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        # Round the weights to the saved dtype, so the f32 logits below are those of the saved
        # checkpoint. (Casting the whole model would also round the rotary inv_freq buffer,
        # which a bf16 checkpoint does not store and lmfast recomputes in f32.)
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p.to(dtype).float())
        copy.deepcopy(model).to(dtype).save_pretrained(
            folder, max_shard_size="60KB", safe_serialization=True
        )
        tokenizer().save(str(folder / "tokenizer.json"))
        (folder / "tokenizer_config.json").write_text(json.dumps({
            "bos_token": "<s>",
            "eos_token": "</s>",
            "add_bos_token": kind == "llama",
            "chat_template": "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}",
        }, indent=2))
        cases = []
        for ids in SEQUENCES:
            with torch.no_grad():
                logits = model(torch.tensor([ids])).logits[0]
            top = torch.topk(logits, 5, dim=-1)
            # Greedy decoding by hand (full forward each step), free of generate()'s defaults.
            seq = list(ids)
            greedy = []
            for _ in range(8):
                with torch.no_grad():
                    nxt = int(model(torch.tensor([seq])).logits[0, -1].argmax())
                greedy.append(nxt)
                seq.append(nxt)
            cases.append({
                "ids": ids,
                "top5_ids": top.indices.tolist(),
                "top5_logits": top.values.tolist(),
                "greedy": greedy,
            })
        results[kind] = {"dtype": str(dtype).replace("torch.", ""), "cases": cases}
    import transformers
    (OUT / "tiny_hf_logits.json").write_text(json.dumps({
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "models": results,
    }, indent=1))


if __name__ == "__main__":
    main()
