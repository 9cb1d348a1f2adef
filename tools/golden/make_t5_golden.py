"""Writes the T5 encoder parity fixtures (`t5-golden`, `t5-gated-golden`).

Two small random T5s (d_model 32, 4 heads of d_kv 8, d_ff 64, 2 encoder blocks and 1
decoder block, 8 relative-position buckets, max distance 16), saved by Hugging Face itself
from `T5ForConditionalGeneration`, so each folder has the layout t5-base publishes: a
model.safetensors holding shared.weight, encoder.*, decoder.* (and lm_head.weight where the
embeddings are untied), and a config.json with model_type "t5". FPT uses the encoder only.

- `t5-golden`: ReLU feed-forward (feed_forward_proj "relu", DenseReluDense.wi/wo), tied
  embeddings, as t5-base.
- `t5-gated-golden`: gated-GELU feed-forward (feed_forward_proj "gated-gelu",
  DenseReluDense.wi_0/wi_1/wo, gelu_new), untied lm_head, as T5 v1.1.

Each has a batch of `inputs_embeds` (20 tokens, so relative distances pass max_exact = 2,
fill the log-spaced buckets and reach the max-distance cap) and the `last_hidden_state` HF's
encoder computes from them in eval mode: `model.get_encoder()(inputs_embeds=x)`, which is
what `T5EncoderModel` returns (checked here by loading the folder back as one).

T5 attention has no 1/sqrt(d_kv) scaling, so after widening the q/k weights are scaled
down to keep softmax away from one-hot; block 0's relative_attention_bias is drawn at
std 1 so the position term matters.

Regenerate (needs torch and transformers; `cargo xtask setup` makes the torch venv):
    ~/.cache/fpt/libtorch/torch-2.11.0/bin/pip install 'transformers==4.*'
    ~/.cache/fpt/libtorch/torch-2.11.0/bin/python tools/golden/make_t5_golden.py
"""

import torch
from safetensors import safe_open
from transformers import T5Config, T5EncoderModel, T5ForConditionalGeneration
from transformers.models.t5.modeling_t5 import T5Attention

from fixture import FIXTURES, widen, write_io, write_source

QK_SCALE = 0.35


def make(name: str, seed: int, **ff: object) -> None:
    out = FIXTURES / name
    torch.manual_seed(seed)
    config = T5Config(
        d_model=32,
        d_kv=8,
        num_heads=4,
        d_ff=64,
        num_layers=2,
        num_decoder_layers=1,
        relative_attention_num_buckets=8,
        relative_attention_max_distance=16,
        vocab_size=11,
        dropout_rate=0.1,
        layer_norm_epsilon=1e-6,
        **ff,
    )
    config._attn_implementation = "eager"
    model = T5ForConditionalGeneration(config).eval()
    widen(model, "layer_norm")
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if pname.endswith((".q.weight", ".k.weight")):
                p.mul_(QK_SCALE)
            elif pname.endswith("relative_attention_bias.weight"):
                p.copy_(torch.randn_like(p))
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)

    inputs = torch.randn(2, 20, config.d_model)
    with torch.no_grad():
        encoded = model.get_encoder()(inputs_embeds=inputs, output_attentions=True)
    expected = encoded.last_hidden_state
    for i, probs in enumerate(encoded.attentions):
        peak = probs.max(dim=-1).values.mean().item()
        print(f"{name}: encoder block {i} mean max attention prob {peak:.3f}")
        assert peak < 0.9, "attention is saturated"
    attention = model.encoder.block[0].layer[0].SelfAttention
    steps = torch.arange(inputs.shape[1])
    buckets = T5Attention._relative_position_bucket(
        steps[None, :] - steps[:, None],
        bidirectional=True,
        num_buckets=config.relative_attention_num_buckets,
        max_distance=config.relative_attention_max_distance,
    )
    used = sorted(buckets.unique().tolist())
    # Bidirectional: half the buckets per direction; bucket num_buckets/2 ("later, distance 0")
    # is unreachable by construction. Distances >= max_distance (16..19 here) hit the cap.
    print(f"{name}: relative-position buckets used {used}")
    half = config.relative_attention_num_buckets // 2
    assert used == [b for b in range(2 * half) if b != half], "some bucket is never reached"
    with torch.no_grad():
        bias = attention.relative_attention_bias.weight.clone()
        attention.relative_attention_bias.weight.zero_()
        unbiased = model.get_encoder()(inputs_embeds=inputs).last_hidden_state
        attention.relative_attention_bias.weight.copy_(bias)
    effect = (unbiased - expected).abs().max().item()
    print(f"{name}: zeroing the relative bias changes the output by {effect:.4f}")
    assert effect > 1e-2, "the relative-position bias does not matter"
    write_io(out, inputs, expected)
    write_source(
        out,
        "make_t5_golden.py",
        note="random T5ForConditionalGeneration saved by save_pretrained; "
        "expected = its encoder's last_hidden_state",
        feed_forward_proj=config.feed_forward_proj,
    )

    reloaded = T5EncoderModel.from_pretrained(out, attn_implementation="eager").eval()
    with torch.no_grad():
        again = reloaded(inputs_embeds=inputs).last_hidden_state
    diff = (again - expected).abs().max().item()
    print(f"{name}: T5EncoderModel.from_pretrained max |diff| {diff}")
    assert torch.equal(again, expected), "T5EncoderModel does not read the layout back"

    with safe_open(out / "model.safetensors", "pt") as f:
        names = sorted(f.keys())
    print(f"{name}: model.safetensors tensors ({len(names)}):")
    for n in names:
        print(f"    {n}")
    print(f"{name}: max |last_hidden_state| {expected.abs().max().item():.4f}")
    print(f"wrote {out}")


def main() -> None:
    make("t5-golden", 20260601, feed_forward_proj="relu")
    make("t5-gated-golden", 20260602, feed_forward_proj="gated-gelu", tie_word_embeddings=False)


if __name__ == "__main__":
    main()
