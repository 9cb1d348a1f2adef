"""Writes the GPT-2 parity fixture that harness/fpt/tests/gpt2_parity.rs checks against.

A small random GPT-2 (2 layers, 32 wide, 4 heads), saved by Hugging Face itself (so the
tensor names and the Conv1D [in, out] layout are HF's), a batch of `inputs_embeds`, and the
`last_hidden_state` HF's GPT2Model computes from them in eval mode.

Regenerate (needs torch and transformers; `cargo xtask setup` makes the torch venv):
    ~/.cache/fpt/libtorch/torch-2.11.0/bin/pip install 'transformers==4.*'
    ~/.cache/fpt/libtorch/torch-2.11.0/bin/python tools/golden/make_gpt2_golden.py
"""

import torch
from transformers import GPT2Config, GPT2Model

from fixture import FIXTURES, widen, write_io, write_source

OUT = FIXTURES / "gpt2-golden"


def main() -> None:
    torch.manual_seed(20260529)
    config = GPT2Config(n_layer=2, n_embd=32, n_head=4, n_positions=16, vocab_size=11)
    config._attn_implementation = "eager"
    model = GPT2Model(config).eval()
    widen(model, "ln")
    OUT.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(OUT, safe_serialization=True)
    inputs = torch.randn(2, 7, config.n_embd)
    with torch.no_grad():
        expected = model(inputs_embeds=inputs).last_hidden_state
    write_io(OUT, inputs, expected)
    write_source(OUT, "make_gpt2_golden.py")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
