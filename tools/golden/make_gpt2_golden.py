"""Writes the GPT-2 parity fixture that harness/tests/gpt2_parity.rs checks against.

A small random GPT-2 (2 layers, 32 wide, 4 heads), saved by Hugging Face itself (so the
tensor names and the Conv1D [in, out] layout are HF's), a batch of `inputs_embeds`, and the
`last_hidden_state` HF's GPT2Model computes from them in eval mode.

Regenerate (needs torch and transformers; `cargo xtask setup` makes the torch venv):
    ~/.cache/fpt/libtorch/torch-2.11.0/bin/pip install 'transformers==4.*'
    ~/.cache/fpt/libtorch/torch-2.11.0/bin/python tools/golden/make_gpt2_golden.py
"""

import json
import pathlib

import torch
from safetensors.torch import save_file
from transformers import GPT2Config, GPT2Model

OUT = pathlib.Path(__file__).resolve().parents[2] / "harness" / "tests" / "fixtures" / "gpt2-golden"


def main() -> None:
    torch.manual_seed(20260529)
    config = GPT2Config(n_layer=2, n_embd=32, n_head=4, n_positions=16, vocab_size=11)
    config._attn_implementation = "eager"
    model = GPT2Model(config).eval()
    # HF's init (std 0.02, LayerNorm 1/0) would leave the blocks near the identity; wider
    # weights and non-trivial LayerNorm affine make every term of the forward pass matter.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "ln" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            else:
                p.copy_(0.3 * torch.randn_like(p))
    OUT.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(OUT, safe_serialization=True)
    inputs = torch.randn(2, 7, config.n_embd)
    with torch.no_grad():
        expected = model(inputs_embeds=inputs).last_hidden_state
    save_file({"inputs_embeds": inputs.contiguous()}, OUT / "inputs.safetensors")
    save_file({"last_hidden_state": expected.contiguous()}, OUT / "expected.safetensors")
    (OUT / "SOURCE.json").write_text(
        json.dumps(
            {
                "generator": "tools/golden/make_gpt2_golden.py",
                "torch": torch.__version__,
                "transformers": __import__("transformers").__version__,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
