"""What the golden-fixture scripts share: where fixtures go, widening a random model's
weights so every term of its forward pass matters, and writing inputs, outputs and the
SOURCE.json that says how they were made."""

import json
import pathlib

import torch
from safetensors.torch import save_file

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "harness" / "fpt" / "tests" / "fixtures"


def widen(model: torch.nn.Module, layer_norm_marker: str) -> None:
    """HF's init (std 0.02, LayerNorm 1/0) leaves blocks near the identity and attention
    near uniform; wider weights and a non-trivial LayerNorm affine make every term count."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if layer_norm_marker in name and name.endswith("weight"):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            else:
                p.copy_(0.3 * torch.randn_like(p))


def write_io(out: pathlib.Path, inputs: torch.Tensor, expected: torch.Tensor) -> None:
    """inputs.safetensors (`inputs_embeds`) and expected.safetensors (`last_hidden_state`)."""
    out.mkdir(parents=True, exist_ok=True)
    save_file({"inputs_embeds": inputs.contiguous()}, out / "inputs.safetensors")
    save_file({"last_hidden_state": expected.contiguous()}, out / "expected.safetensors")


def write_source(out: pathlib.Path, generator: str, **facts: str) -> None:
    """SOURCE.json: the generator, anything else worth knowing, and the library versions."""
    record = {"generator": f"tools/golden/{generator}", **facts}
    record["torch"] = torch.__version__
    record["transformers"] = __import__("transformers").__version__
    (out / "SOURCE.json").write_text(json.dumps(record, indent=2) + "\n")
