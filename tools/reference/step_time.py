"""The reference FPT recipe in PyTorch and Hugging Face transformers, timed step by step.

The side of `cargo xtask bench --compare-reference` that our Rust harness is measured
against. It builds the model the way the paper's code does (kzl/universal-computation):

- backbone: HF `GPT2Model` or `BertModel` fed `inputs_embeds` (random init: a step costs
  the same with pretrained weights; `--model-dir` loads a local HF folder instead);
- FPT freezing by the reference name rule: a backbone parameter trains when its lower-cased
  name contains 'ln' or 'norm' (layer norms) or 'wpe' / 'position_embeddings' (positions);
  everything else, feed-forward ('mlp') and attention ('attn') included, is frozen;
- input layer: Linear(input_dim, hidden) with orthogonal init (gain 1.41), zero bias, then
  dropout 0.1; an Embedding for token inputs (ListOps);
- output layer: Linear(hidden, classes) on the last token;
- Adam (lr 1e-3, PyTorch defaults otherwise), gradient-norm clipping at 1.0, micro-batches
  of 16 whose losses are scaled so the gradients accumulate to the batch mean.

Steps are timed as `fpt bench step` times them: untimed warm-up steps, then the median of
the timed ones, on random inputs of the task's shape. Subcommands:

  step     one JSON line: median step seconds and the forward / backward / optimiser split
  profile  torch.profiler's table of the operators a step spends its time in
  peak     fp32 GEMM GFLOP/s of this machine at the given thread count
"""

import argparse
import json
import statistics
import sys
import time

import torch
from torch import nn

# (tokens, input features per token or None for token ids, vocabulary, classes); must
# agree with `fpt bench step` (compare.py checks the token count).
TASK_SHAPES = {
    "mnist": (49, 16, None, 10),
    "cifar10": (64, 48, None, 10),
    "listops": (512, None, 15, 10),
}


def build_backbone(model, model_dir, attn):
    """An HF backbone and its hidden width."""
    from transformers import AutoModel, BertConfig, BertModel, GPT2Config, GPT2Model

    if model_dir:
        backbone = AutoModel.from_pretrained(model_dir, attn_implementation=attn)
    elif model == "gpt2":
        backbone = GPT2Model(GPT2Config(attn_implementation=attn))
    elif model == "minilm-l6":
        config = BertConfig(
            hidden_size=384,
            num_hidden_layers=6,
            num_attention_heads=12,
            intermediate_size=1536,
            max_position_embeddings=512,
            layer_norm_eps=1e-12,
            attn_implementation=attn,
        )
        # FPT reads hidden states, not BERT's pooled output.
        backbone = BertModel(config, add_pooling_layer=False)
    else:
        sys.exit(f"step_time.py: unknown model {model!r}; use gpt2, minilm-l6 or --model-dir")
    return backbone, backbone.config.hidden_size


def reference_trains(name):
    """The reference code's freezing rule with its defaults (layer norms and positions train)."""
    name = name.lower()
    if "ln" in name or "norm" in name:
        return True
    if "wpe" in name or "position_embeddings" in name:
        return True
    return False


class Fpt(nn.Module):
    def __init__(self, backbone, hidden, input_dim, vocab, classes):
        super().__init__()
        self.backbone = backbone
        if input_dim is None:
            self.input = nn.Embedding(vocab, hidden)
            self.dropout = nn.Identity()
        else:
            self.input = nn.Linear(input_dim, hidden)
            nn.init.orthogonal_(self.input.weight, gain=1.41)
            nn.init.zeros_(self.input.bias)
            self.dropout = nn.Dropout(0.1)
        self.output = nn.Linear(hidden, classes)
        for name, p in self.backbone.named_parameters():
            p.requires_grad = reference_trains(name)

    def forward(self, x):
        hidden = self.backbone(inputs_embeds=self.dropout(self.input(x))).last_hidden_state
        return self.output(hidden[:, -1])


class Rig:
    """A model, Adam and one random batch; `step()` is one timed unit."""

    def __init__(self, args):
        torch.manual_seed(0)
        tokens, input_dim, vocab, classes = TASK_SHAPES[args.task]
        backbone, hidden = build_backbone(args.model, args.model_dir, args.attn)
        self.model = Fpt(backbone, hidden, input_dim, vocab, classes).train()
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.Adam(self.params, lr=1e-3)
        if input_dim is None:
            self.inputs = torch.randint(vocab, (args.batch_size, tokens))
        else:
            self.inputs = torch.randn(args.batch_size, tokens, input_dim)
        self.targets = torch.randint(classes, (args.batch_size,))
        self.micro = min(args.micro_batch_size, args.batch_size)
        self.tokens = tokens

    def step(self):
        """One training step; returns its seconds and their split into phases."""
        started = time.perf_counter()
        phases = {"forward": 0.0, "backward": 0.0}
        self.optimizer.zero_grad()
        n = len(self.targets)
        for start in range(0, n, self.micro):
            t0 = time.perf_counter()
            logits = self.model(self.inputs[start : start + self.micro])
            loss = nn.functional.cross_entropy(logits, self.targets[start : start + self.micro])
            loss = loss * (self.micro / n)
            t1 = time.perf_counter()
            loss.backward()
            loss.item()
            phases["forward"] += t1 - t0
            phases["backward"] += time.perf_counter() - t1
        t2 = time.perf_counter()
        nn.utils.clip_grad_norm_(self.params, 1.0)
        self.optimizer.step()
        phases["optimizer"] = time.perf_counter() - t2
        return time.perf_counter() - started, phases


def step_command(args):
    torch.set_num_threads(args.threads)
    rig = Rig(args)
    for _ in range(args.warmup):
        rig.step()
    steps = [rig.step() for _ in range(args.steps)]
    times = [seconds for seconds, _ in steps]
    median = statistics.median(times)
    report = {
        "model": args.model_dir or args.model,
        "task": args.task,
        "attn": args.attn,
        "threads": torch.get_num_threads(),
        "batch_size": args.batch_size,
        "micro_batch_size": rig.micro,
        "seq_len": rig.tokens,
        "steps": args.steps,
        "warmup": args.warmup,
        "median_step_s": median,
        "min_step_s": min(times),
        "tokens_per_s": args.batch_size * rig.tokens / median,
        **{
            f"{phase}_s": statistics.median(split[phase] for _, split in steps)
            for phase in ("forward", "backward", "optimizer")
        },
        "trainable_params": sum(p.numel() for p in rig.params),
        "torch": torch.__version__,
    }
    print(json.dumps(report))


def profile_command(args):
    torch.set_num_threads(args.threads)
    rig = Rig(args)
    for _ in range(args.warmup):
        rig.step()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(args.steps):
            rig.step()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows))


def peak_command(args):
    """The best GEMM rate over a few square sizes (median of repeats per size)."""
    torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    best = {"gflops_per_s": 0.0}
    for n in args.sizes:
        a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
        a @ b  # warm-up
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            a @ b
            times.append(time.perf_counter() - started)
        rate = 2 * n**3 / statistics.median(times) / 1e9
        if rate > best["gflops_per_s"]:
            best = {"gflops_per_s": rate, "size": n}
    best["dtype"] = args.dtype
    best["threads"] = torch.get_num_threads()
    best["torch"] = torch.__version__
    print(json.dumps(best))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("step", "profile"):
        p = sub.add_parser(name)
        p.add_argument("--model", default="gpt2", help="gpt2 or minilm-l6 (random init)")
        p.add_argument("--model-dir", help="a local Hugging Face folder instead of --model")
        p.add_argument("--task", default="mnist", choices=sorted(TASK_SHAPES))
        p.add_argument("--batch-size", type=int, default=16)
        p.add_argument("--micro-batch-size", type=int, default=16)
        p.add_argument("--steps", type=int, default=5)
        p.add_argument("--warmup", type=int, default=2)
        p.add_argument("--threads", type=int, default=torch.get_num_threads())
        p.add_argument("--attn", default="sdpa", choices=["sdpa", "eager"],
                       help="HF attention implementation (sdpa: transformers' default)")
        if name == "profile":
            p.add_argument("--rows", type=int, default=20)
    p = sub.add_parser("peak")
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048, 3072])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    args = parser.parse_args()
    {"step": step_command, "profile": profile_command, "peak": peak_command}[args.command](args)


if __name__ == "__main__":
    main()
