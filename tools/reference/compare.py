"""Side-by-side step times: the reference recipe (step_time.py) against `fpt bench step`.

Run by `cargo xtask bench --compare-reference`, with the Python that holds the torch
libtorch comes from. For each configuration it runs the reference, then ours, each in a
fresh process with the same thread count, shapes, batch and micro-batch, warm-up and timed
steps; `--rounds` repeats the alternation, and each number is the median over rounds of
each side's median step (the machine is shared, so only ratios from one run mean much).
Since other load only ever adds time, the fastest step of each side (over all rounds) is
shown too, with its ratio: on a busy machine that is the steadier comparison.
It also measures the machine's fp32 GEMM peak with the same threads (before every round;
the best is kept, since other load only lowers it), and prints:

  config | reference s | ours s | ratio (reference / ours) | ours GFLOP/s | % of peak

where our GFLOP/s is `fpt bench step`'s analytic matmul FLOP count of the trained path
(forward, input gradients through the frozen body, weight gradients of what trains; see
harness::bench::step_flops) over our median step time.
"""

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CONFIGS = ["gpt2:mnist:16", "gpt2:cifar10:16", "minilm-l6:mnist:16"]


def run_json(command):
    """The last stdout line of `command`, parsed as JSON; stderr passes through."""
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        sys.exit(f"compare.py: {' '.join(map(str, command))} failed ({done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def reference(args, model, task, batch):
    return run_json([
        sys.executable, HERE / "step_time.py", "step",
        "--model", model, "--task", task,
        "--batch-size", str(batch), "--micro-batch-size", str(args.micro_batch_size),
        "--steps", str(args.steps), "--warmup", str(args.warmup),
        "--threads", str(args.threads), "--attn", args.attn,
    ])


def ours(args, model, task, batch):
    return run_json([
        args.fpt, "--threads", str(args.threads), "bench", "step",
        "--model", model, "--task", task, "--init", "random",
        "--batch-size", str(batch), "--micro-batch-size", str(args.micro_batch_size),
        "--steps", str(args.steps), "--warmup", str(args.warmup), "--json",
    ])


def peak(args, dtype):
    return run_json([
        sys.executable, HERE / "step_time.py", "peak",
        "--threads", str(args.threads), "--dtype", dtype,
    ])


def median_of(rounds, side, key):
    return statistics.median(r[side][key] for r in rounds)


def summarise(config, rounds, peak_gflops):
    model, task, batch = config
    ref_s = median_of(rounds, "reference", "median_step_s")
    ours_s = median_of(rounds, "ours", "median_step_s")
    flops = rounds[0]["ours"].get("flops_per_step")
    gflops = flops / ours_s / 1e9 if flops else None
    return {
        "config": f"{model} {task} b{batch}",
        "model": model,
        "task": task,
        "batch_size": batch,
        "reference_step_s": ref_s,
        "ours_step_s": ours_s,
        "ratio": statistics.median(
            r["reference"]["median_step_s"] / r["ours"]["median_step_s"] for r in rounds
        ),
        "reference_min_step_s": min(r["reference"]["min_step_s"] for r in rounds),
        "ours_min_step_s": min(r["ours"]["min_step_s"] for r in rounds),
        "flops_per_step": flops,
        "ours_gflops_per_s": gflops,
        "percent_of_peak": 100 * gflops / peak_gflops if gflops else None,
        "reference_phases_s": {
            p: median_of(rounds, "reference", f"{p}_s")
            for p in ("forward", "backward", "optimizer")
        },
        "ours_phases_s": {
            "forward": median_of(rounds, "ours", "forward_train_s"),
            "backward": median_of(rounds, "ours", "backward_s"),
            "optimizer": median_of(rounds, "ours", "optimizer_s"),
        },
        "rounds": rounds,
    }


def table(rows, fp32, bf16, threads):
    fmt = lambda v, spec: "-" if v is None else format(v, spec)  # noqa: E731
    lines = [
        f"GEMM peak, {threads} threads (best measurement): fp32 {fp32['gflops_per_s']:.1f} "
        f"GFLOP/s, bf16 {bf16['gflops_per_s']:.1f} GFLOP/s",
        "",
        "| config | reference s | ours s | ratio (ref/ours) | ours GFLOP/s | % of peak "
        "| fastest: reference s | ours s | ratio |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['config']} | {r['reference_step_s']:.3f} | {r['ours_step_s']:.3f} "
            f"| {r['ratio']:.2f} | {fmt(r['ours_gflops_per_s'], '.1f')} "
            f"| {fmt(r['percent_of_peak'], '.0f')} | {r['reference_min_step_s']:.3f} "
            f"| {r['ours_min_step_s']:.3f} "
            f"| {r['reference_min_step_s'] / r['ours_min_step_s']:.2f} |"
        )
    lines += [
        "",
        "| config | phase | reference s | ours s |",
        "|---|---|---|---|",
    ]
    for r in rows:
        for phase in ("forward", "backward", "optimizer"):
            lines.append(
                f"| {r['config']} | {phase} | {r['reference_phases_s'][phase]:.3f} "
                f"| {r['ours_phases_s'][phase]:.3f} |"
            )
    return "\n".join(lines)


def parse_config(text):
    try:
        model, task, batch = text.split(":")
        return model, task, int(batch)
    except ValueError:
        sys.exit(f"compare.py: bad --config {text!r}; expected MODEL:TASK:BATCH, e.g. gpt2:mnist:16")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fpt", required=True, help="the release fpt binary")
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--config", action="append", dest="configs",
                        help=f"MODEL:TASK:BATCH (repeatable; default {' '.join(DEFAULT_CONFIGS)})")
    parser.add_argument("--micro-batch-size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--attn", default="sdpa", choices=["sdpa", "eager"])
    parser.add_argument("--out", type=Path, help="folder for compare.json and compare.md")
    args = parser.parse_args()
    configs = [parse_config(c) for c in args.configs or DEFAULT_CONFIGS]

    peaks = {"float32": [], "bfloat16": [peak(args, "bfloat16")]}
    measured = []
    for model, task, batch in configs:
        rounds = []
        for i in range(args.rounds):
            peaks["float32"].append(peak(args, "float32"))
            print(f"[{model} {task} b{batch}] round {i + 1}/{args.rounds}: fp32 GEMM "
                  f"{peaks['float32'][-1]['gflops_per_s']:.1f} GFLOP/s", file=sys.stderr)
            rounds.append({"reference": reference(args, model, task, batch),
                           "ours": ours(args, model, task, batch)})
            tokens = {side: rounds[-1][side]["seq_len"] for side in ("reference", "ours")}
            if tokens["reference"] != tokens["ours"]:
                sys.exit(f"compare.py: {task}: the reference has {tokens['reference']} tokens, "
                         f"fpt {tokens['ours']}: fix TASK_SHAPES in step_time.py")
        measured.append(((model, task, batch), rounds))
    fp32, bf16 = (max(p, key=lambda r: r["gflops_per_s"]) for p in peaks.values())
    rows = [summarise(config, rounds, fp32["gflops_per_s"]) for config, rounds in measured]

    text = table(rows, fp32, bf16, args.threads)
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "compare.md").write_text(text + "\n")
        report = {"threads": args.threads, "peak_fp32": fp32, "peak_bf16": bf16,
                  "peak_fp32_runs": peaks["float32"], "configs": rows}
        (args.out / "compare.json").write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nwrote {args.out / 'compare.md'} and compare.json", file=sys.stderr)


if __name__ == "__main__":
    main()
