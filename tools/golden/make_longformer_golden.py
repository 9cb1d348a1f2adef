"""Writes the Longformer parity fixture (`longformer-golden`).

A small random Longformer (2 layers, 32 wide, 4 heads, intermediate 64, attention windows
[4, 8] per layer), saved by Hugging Face itself from `LongformerModel` with
`safe_serialization=False`, so the folder has the layout allenai/longformer-base-4096
publishes: a pytorch_model.bin (torch.save's zip format; unprefixed names: embeddings.*,
encoder.layer.{i}.attention.self.{query,key,value,query_global,key_global,value_global}.*,
..., pooler.*) and a config.json with model_type "longformer". There is no
model.safetensors.

The windows are [4, 8], not [4, 6]: HF pads the sequence to a multiple of the largest
window only, and each layer's sliding-chunk matmul needs a multiple of its own window, so
every window has to divide the largest (13 tokens padded to 18 fails layer 0's window 4).

A batch of `inputs_embeds` (13 tokens, not a multiple of 8, so HF pads to 16 internally
and masks the pad), and in expected.safetensors what HF's LongformerModel computes from
them in eval mode (token type 0, positions 2..2+T as RoBERTa numbers them, embedding
LayerNorm included):
- `last_hidden_state`: local sliding-window attention only (no global_attention_mask);
- `global_last_hidden_state`: global attention on the last 3 tokens.

Regenerate (needs torch and transformers; `cargo xtask setup` makes the torch venv):
    ~/.cache/fpt/libtorch/torch-2.11.0/bin/pip install 'transformers==4.*'
    ~/.cache/fpt/libtorch/torch-2.11.0/bin/python tools/golden/make_longformer_golden.py
"""

import shutil
import zipfile

import torch
from safetensors.torch import save_file
from transformers import LongformerConfig, LongformerModel

from fixture import FIXTURES, widen, write_source

OUT = FIXTURES / "longformer-golden"
GLOBAL_TOKENS = 3
# One-sided 12 covers every pair of 13 tokens; 24 keeps the padded length (24) and so the
# largest position id (25) inside max_position_embeddings = 40 (a window of 40 would not).
FULL_WINDOW = [24, 24]


def make_config(attention_window: list[int]) -> LongformerConfig:
    config = LongformerConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        attention_window=attention_window,
        max_position_embeddings=40,
        pad_token_id=1,
        type_vocab_size=1,
        vocab_size=11,
        layer_norm_eps=1e-5,
        hidden_act="gelu",
    )
    config._attn_implementation = "eager"
    return config


def main() -> None:
    torch.manual_seed(20260603)
    config = make_config([4, 8])
    model = LongformerModel(config).eval()
    widen(model, "LayerNorm")
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    model.save_pretrained(OUT, safe_serialization=False)
    weights = OUT / "pytorch_model.bin"
    assert weights.exists() and not (OUT / "model.safetensors").exists()

    inputs = torch.randn(2, 13, config.hidden_size)
    global_mask = torch.zeros(2, 13, dtype=torch.long)
    global_mask[:, -GLOBAL_TOKENS:] = 1
    with torch.no_grad():
        local = model(inputs_embeds=inputs).last_hidden_state
        globl = model(inputs_embeds=inputs, global_attention_mask=global_mask).last_hidden_state
    save_file({"inputs_embeds": inputs.contiguous()}, OUT / "inputs.safetensors")
    save_file(
        {"last_hidden_state": local.contiguous(), "global_last_hidden_state": globl.contiguous()},
        OUT / "expected.safetensors",
    )
    write_source(
        OUT,
        "make_longformer_golden.py",
        note="random LongformerModel saved by save_pretrained(safe_serialization=False) "
        "(pytorch_model.bin, unprefixed names); last_hidden_state = local attention only, "
        "global_last_hidden_state = global attention on the last global_tokens tokens",
        global_tokens=str(GLOBAL_TOKENS),
    )

    global_effect = (globl - local).abs().max().item()
    print(f"global attention on the last {GLOBAL_TOKENS} tokens changes the output by {global_effect:.4f}")
    assert global_effect > 1e-2, "global attention does not matter"

    full = LongformerModel(make_config(FULL_WINDOW)).eval()
    full.load_state_dict(model.state_dict())
    with torch.no_grad():
        dense = full(inputs_embeds=inputs).last_hidden_state
    band_effect = (dense - local).abs().max().item()
    print(f"windows {config.attention_window} vs {FULL_WINDOW} on 13 tokens differ by {band_effect:.4f}")
    assert band_effect > 1e-2, "the attention band does not matter"

    reloaded = LongformerModel.from_pretrained(OUT).eval()
    with torch.no_grad():
        again = reloaded(inputs_embeds=inputs).last_hidden_state
    assert torch.equal(again, local), "HF does not read pytorch_model.bin back"

    names = list(torch.load(weights, weights_only=True).keys())
    print(f"pytorch_model.bin tensors ({len(names)}):")
    for n in names:
        print(f"    {n}")
    print(f"pytorch_model.bin is a zip archive: {zipfile.is_zipfile(weights)}; torch {torch.__version__}")
    print(f"max |last_hidden_state| {local.abs().max().item():.4f}")
    print(f"max |global_last_hidden_state| {globl.abs().max().item():.4f}")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
