"""Writes the BERT parity fixtures that harness/fpt/tests/bert_parity.rs checks against.

A small random BERT (2 layers, 32 wide, 4 heads, intermediate 64), saved by Hugging Face
itself from `BertModel` (unprefixed names: embeddings.*, encoder.layer.{i}.*, pooler.*), a
batch of `inputs_embeds`, and the `last_hidden_state` HF's BertModel computes from them in
eval mode (token type 0, positions 0..T, embedding LayerNorm included).

A second fixture holds the same weights in the old bert-base-uncased naming: a `bert.`
prefix, LayerNorm `gamma`/`beta`, and a pre-training head tensor (`cls.predictions.bias`);
HF itself loads it back and must give the same output, which this script checks.

Regenerate (needs torch and transformers; `cargo xtask setup` makes the torch venv):
    ~/.cache/fpt/libtorch/torch-2.11.0/bin/pip install 'transformers==4.*'
    ~/.cache/fpt/libtorch/torch-2.11.0/bin/python tools/golden/make_bert_golden.py
"""

import shutil

import torch
from safetensors.torch import load_file, save_file
from transformers import BertConfig, BertModel

from fixture import FIXTURES, widen, write_io, write_source

OUT = FIXTURES / "bert-golden"
LEGACY = FIXTURES / "bert-legacy-golden"


def legacy_name(name: str) -> str:
    if name.endswith("LayerNorm.weight"):
        name = name[: -len("weight")] + "gamma"
    elif name.endswith("LayerNorm.bias"):
        name = name[: -len("bias")] + "beta"
    return "bert." + name


def main() -> None:
    torch.manual_seed(20260530)
    config = BertConfig(
        num_hidden_layers=2,
        hidden_size=32,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=16,
        type_vocab_size=2,
        vocab_size=11,
    )
    config._attn_implementation = "eager"
    model = BertModel(config).eval()
    widen(model, "LayerNorm")
    OUT.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(OUT, safe_serialization=True)
    inputs = torch.randn(2, 7, config.hidden_size)
    with torch.no_grad():
        expected = model(inputs_embeds=inputs).last_hidden_state
    write_io(OUT, inputs, expected)
    write_source(
        OUT,
        "make_bert_golden.py",
        note="random BertModel saved by save_pretrained (unprefixed names)",
    )

    LEGACY.mkdir(parents=True, exist_ok=True)
    tensors = {legacy_name(k): v for k, v in load_file(OUT / "model.safetensors").items()}
    tensors["cls.predictions.bias"] = 0.1 * torch.randn(config.vocab_size)
    save_file(tensors, LEGACY / "model.safetensors", metadata={"format": "pt"})
    for name in ["config.json", "inputs.safetensors", "expected.safetensors"]:
        shutil.copyfile(OUT / name, LEGACY / name)
    write_source(
        LEGACY,
        "make_bert_golden.py",
        note="the bert-golden weights renamed as bert-base-uncased names them: 'bert.' prefix, "
        "LayerNorm gamma/beta, plus cls.predictions.bias",
    )
    reloaded = BertModel.from_pretrained(LEGACY, attn_implementation="eager").eval()
    with torch.no_grad():
        again = reloaded(inputs_embeds=inputs).last_hidden_state
    assert torch.equal(again, expected), "HF does not read the legacy names back"
    print(f"wrote {OUT} and {LEGACY}")


if __name__ == "__main__":
    main()
