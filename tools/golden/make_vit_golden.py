"""Writes the ViT parity fixture that harness/fpt/tests/vit_parity.rs checks against.

A small random ViT (2 layers, 32 wide, 4 heads, intermediate 64), saved by Hugging Face
itself from `ViTModel` (unprefixed names: embeddings.*, encoder.layer.{i}.*, layernorm.*,
pooler.*), a batch of hidden states `inputs_embeds`, and what HF's encoder blocks and
final LayerNorm compute from them in eval mode: `model.layernorm(model.encoder(x))`. FPT
uses the blocks and final norm only (its own input layer and position table replace the
patch embedding, [CLS] token and HF's position table), so those are what is compared.

Regenerate (needs torch and transformers; `cargo xtask setup` makes the torch venv):
    ~/.cache/fpt/libtorch/torch-2.11.0/bin/pip install 'transformers==4.*'
    ~/.cache/fpt/libtorch/torch-2.11.0/bin/python tools/golden/make_vit_golden.py
"""

import torch
from transformers import ViTConfig, ViTModel

from fixture import FIXTURES, widen, write_io, write_source

OUT = FIXTURES / "vit-golden"


def main() -> None:
    torch.manual_seed(20260531)
    config = ViTConfig(
        num_hidden_layers=2,
        hidden_size=32,
        num_attention_heads=4,
        intermediate_size=64,
        image_size=8,
        patch_size=4,
        num_channels=1,
    )
    config._attn_implementation = "eager"
    model = ViTModel(config).eval()
    widen(model, "layernorm")
    OUT.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(OUT, safe_serialization=True)
    inputs = torch.randn(2, 7, config.hidden_size)
    with torch.no_grad():
        expected = model.layernorm(model.encoder(inputs).last_hidden_state)
    write_io(OUT, inputs, expected)
    write_source(
        OUT,
        "make_vit_golden.py",
        compares="model.layernorm(model.encoder(inputs_embeds).last_hidden_state)",
    )
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
