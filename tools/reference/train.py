"""The reference FPT trainer: the paper's recipe in PyTorch and Hugging Face transformers,
trained on a run's starting point as `fpt train --export DIR` writes it.

This is the other side of `cargo xtask crosscheck` and of the trajectory-parity test. It
builds the model the way the paper's code does (kzl/universal-computation), then trains
it on exactly the batches our run draws, in the same order:

- backbone: HF `GPT2Model` or `BertModel` (no pooler) built from the export's config.json
  and fed `inputs_embeds`;
- init: every tensor from init.safetensors (ours, drawn by our seed; the trajectory
  check), or with `--own-init` the reference code's own: the pretrained checkpoint's
  tensors (from the export) or transformers' random init of the backbone, an orthogonal
  input Linear (the recipe's gain) with zero bias or PyTorch's default Embedding, and
  PyTorch's default output Linear (the distributional cross-check);
- input layer: Linear(features, hidden) then dropout (`input_dropout`), or an Embedding
  for token ids (no dropout after it); output layer: Linear(hidden, outputs per token) on
  the last `head_tokens` hidden states, read as [batch, targets, classes];
- what trains: for the fpt policy, the reference code's name rule (a backbone parameter
  trains when its lower-cased name contains 'ln' or 'norm', or 'wpe' /
  'position_embeddings'), checked against the export's list; for any other policy, the
  export's list;
- Adam (the recipe's lr, betas, eps; no weight decay), gradient-norm clipping, micro-batches
  whose losses are scaled so the gradients accumulate to the batch mean;
- evaluation: the export's evaluated examples in full, in eval mode (the reference code's
  sampled-batch evaluation is replaced by the full split, as on our side); with
  `--curve-every N`, learning-curve points every N steps on `--curve-examples M` of them
  spread evenly (example i * n // M for i < M, as ours picks them).

Writes one JSON object: per-step loss and gradient norm, the final evaluation (accuracy,
loss, each prediction) and the versions used.

    python train.py EXPORT_DIR --out reference.json [--threads N] [--own-init] [--seed S]
                    [--override KEY=VALUE] [--curve-every N --curve-examples M]
"""

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from torch import nn


def reference_trains(name):
    """The reference code's freezing rule (layer norms and positions train)."""
    name = name.lower()
    return "ln" in name or "norm" in name or "wpe" in name or "position_embeddings" in name


def build_backbone(config_path):
    from transformers import BertConfig, BertModel, GPT2Config, GPT2Model

    fields = json.loads(Path(config_path).read_text())
    model_type = fields.pop("model_type")
    if model_type == "gpt2":
        return GPT2Model(GPT2Config(**fields))
    if model_type == "bert":
        return BertModel(BertConfig(**fields), add_pooling_layer=False)
    sys.exit(f"train.py: model_type {model_type!r} is not supported (gpt2, bert)")


class Fpt(nn.Module):
    def __init__(self, backbone, recipe, init):
        super().__init__()
        self.backbone = backbone
        hidden = backbone.config.hidden_size
        weight = init["fpt_in.weight"]
        if recipe["input"] == "tokens":
            self.fpt_in = nn.Embedding(weight.shape[0], hidden)
            self.dropout = nn.Identity()
        else:
            self.fpt_in = nn.Linear(weight.shape[1], hidden)
            self.dropout = nn.Dropout(recipe["input_dropout"])
        self.fpt_out = nn.Linear(hidden, init["fpt_out.weight"].shape[0])
        self.head_tokens = recipe["head_tokens"]
        self.targets = recipe["targets_per_example"]
        self.classes = recipe["classes"]

    def forward(self, x):
        hidden = self.backbone(inputs_embeds=self.dropout(self.fpt_in(x))).last_hidden_state
        logits = self.fpt_out(hidden[:, -self.head_tokens :])
        return logits.reshape(x.shape[0], self.targets, self.classes)


# Token embeddings the model never reads (it is fed inputs_embeds): ours has none.
UNUSED = {"backbone.wte.weight", "backbone.embeddings.word_embeddings.weight"}


def load_init(model, init, recipe, own_init):
    """Our initial tensors into the model: all of them, or with --own-init only a
    pretrained backbone's (the rest keeps the reference's own init)."""
    ours = {k if k.startswith("fpt_") else f"backbone.{k}": v for k, v in init.items()}
    if own_init:
        pretrained = recipe["init"] in ("pretrained", "stats")
        ours = {k: v for k, v in ours.items() if pretrained and k.startswith("backbone.")}
        if isinstance(model.fpt_in, nn.Linear):
            nn.init.orthogonal_(model.fpt_in.weight, gain=recipe["orthogonal_gain"])
            nn.init.zeros_(model.fpt_in.bias)
    state = model.state_dict()
    unknown = sorted(set(ours) - set(state))
    missing = sorted(set(state) - set(ours) - UNUSED)
    if unknown or (missing and not own_init):
        sys.exit(f"train.py: tensors only in the export {unknown[:5]}, only in the model {missing[:5]}")
    model.load_state_dict(ours, strict=False)


def trainable_names(model, recipe):
    """The parameters that train, as the export names them; for fpt, the reference rule's
    set, which must equal ours."""
    ours = set(recipe["trainable"])
    if recipe["freeze"] != "fpt":
        return ours
    rule = {"fpt_in.weight", "fpt_in.bias", "fpt_out.weight", "fpt_out.bias"}
    if recipe["input"] == "tokens":
        rule.discard("fpt_in.bias")
    for name, _ in model.backbone.named_parameters():
        if reference_trains(name):
            rule.add(name)
    if rule != ours:
        sys.exit(
            "train.py: the reference rule trains another set than ours: "
            f"only the rule's {sorted(rule - ours)}, only ours {sorted(ours - rule)}"
        )
    return ours


def export_name(name):
    return name[len("backbone.") :] if name.startswith("backbone.") else name


def evaluate(model, inputs, targets, chunk=256):
    was_training = model.training
    model.eval()
    losses, predicted = [], []
    with torch.no_grad():
        for start in range(0, len(targets), chunk):
            logits = model(inputs[start : start + chunk])
            flat = logits.reshape(-1, logits.shape[-1])
            y = targets[start : start + chunk].reshape(-1)
            losses.append(nn.functional.cross_entropy(flat, y, reduction="sum").item())
            predicted.append(flat.argmax(-1))
    model.train(was_training)
    predicted = torch.cat(predicted)
    flat_targets = targets.reshape(-1)
    return {
        "test_accuracy": (predicted == flat_targets).double().mean().item(),
        "test_loss": sum(losses) / len(flat_targets),
        "predictions": predicted.reshape(targets.shape).tolist(),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export", type=Path, help="a folder `fpt train --export` wrote")
    parser.add_argument("--out", type=Path, required=True, help="the JSON file to write")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, help="torch seed of dropout (default: the run's)")
    parser.add_argument(
        "--override",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change a number of the recipe (e.g. lr=0.0011), to see a mistake show",
    )
    parser.add_argument(
        "--own-init",
        action="store_true",
        help="initialise as the reference code does, not from our tensors",
    )
    parser.add_argument("--curve-every", type=int, help="a learning-curve point every N steps")
    parser.add_argument("--curve-examples", type=int, help="examples a curve point scores")
    args = parser.parse_args()

    from safetensors.torch import load_file
    import transformers

    torch.set_num_threads(args.threads)
    recipe = json.loads((args.export / "recipe.json").read_text())
    for change in args.override:
        key, value = change.split("=", 1)
        recipe[key] = type(recipe[key])(value)
    torch.manual_seed(recipe["seed"] if args.seed is None else args.seed)
    init = load_file(args.export / "init.safetensors")
    model = Fpt(build_backbone(args.export / "config.json"), recipe, init)
    trains = trainable_names(model, recipe)
    load_init(model, init, recipe, args.own_init)

    params = []
    for name, p in model.named_parameters():
        p.requires_grad = export_name(name) in trains
        if p.requires_grad:
            params.append(p)
    optimizer = torch.optim.Adam(
        params, lr=recipe["lr"], betas=(recipe["beta1"], recipe["beta2"]), eps=recipe["eps"]
    )
    evaluation = load_file(args.export / "eval.safetensors")
    n_eval = len(evaluation["targets"])
    m = min(args.curve_examples or n_eval, n_eval)
    subset = torch.tensor([i * n_eval // m for i in range(m)])
    curve_inputs, curve_targets = evaluation["inputs"][subset], evaluation["targets"][subset]
    curve = []
    batches = load_file(args.export / "batches.safetensors")
    inputs, targets = batches["inputs"], batches["targets"]
    n, micro = recipe["batch_size"], recipe["micro_batch_size"]
    steps = []
    started = time.perf_counter()
    model.train()
    for step in range(recipe["steps"]):
        optimizer.zero_grad()
        loss_sum = 0.0
        for start in range(0, n, micro):
            x, y = inputs[step, start : start + micro], targets[step, start : start + micro]
            logits = model(x)
            loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
            scaled = loss * (micro / n)
            scaled.backward()
            loss_sum += scaled.item()
        norm = nn.utils.clip_grad_norm_(params, recipe["clip_grad_norm"])
        optimizer.step()
        steps.append({"step": step, "loss": loss_sum, "grad_norm": norm.item()})
        done = step + 1
        if args.curve_every and done % args.curve_every == 0 and done < recipe["steps"]:
            paused = time.perf_counter()
            point = evaluate(model, curve_inputs, curve_targets)
            curve.append({"step": done, "test_accuracy": point["test_accuracy"]})
            started += time.perf_counter() - paused
    train_seconds = time.perf_counter() - started

    result = {
        "run_id": recipe["run_id"],
        "steps": steps,
        "seconds_per_step": train_seconds / max(1, recipe["steps"]),
        "trainable_params": sum(p.numel() for p in params),
        "own_init": args.own_init,
        "curve": curve,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        **evaluate(model, evaluation["inputs"], evaluation["targets"]),
    }
    args.out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
