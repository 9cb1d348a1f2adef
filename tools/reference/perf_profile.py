"""Where a training step's CPU time goes, ours and the reference's, by `perf` sampling.

Run by `cargo xtask bench --perf-profile`, with the Python that holds the torch libtorch comes
from. Each side (`fpt bench step` and step_time.py step) is sampled twice under
`perf record -e cpu-clock`, once with --steps SHORT and once with --steps LONG; the
difference of the two runs' per-symbol sample counts is what LONG - SHORT steady-state steps
cost, with process start, model build, warm-up and Python imports cancelled out. Symbols are
grouped into categories (GEMM kernels, element-wise loops, LayerNorm, softmax/attention,
random numbers, copies, OpenMP waiting, the allocator and dispatcher, Python, the kernel) and
printed as shares of the steady-state samples, with the top symbols of each side.

Needs `perf` (Debian: linux-perf) and kernel.perf_event_paranoid <= 2; a software clock
event, so it works in VMs without hardware counters.
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent

# First match wins; tested against the symbol, then the shared object's name.
CATEGORIES = [
    ("GEMM kernels", r"gemm|mkl_blas|sgemm|dnnl.*(matmul|inner_product)|brg|jit_avx"),
    ("OpenMP spin/wait", r"gomp|omp_|kmp_|__kmp|libgomp|libiomp"),
    ("LayerNorm", r"layer_?norm|LayerNorm"),
    ("softmax / attention", r"softmax|flash_attention|_scaled_dot_product|sdpa"),
    ("random numbers (dropout)", r"bernoulli|mt19937|philox|uniform_real|random"),
    ("GELU (tanh)", r"gelu|GeluKernel|tanh"),
    ("copies / fills", r"memcpy|memmove|memset|copy_kernel|copy_|fill_kernel|cat_serial|cat_"),
    ("element-wise loops", r"vectorized_loop|VectorizedLoop|cpu_kernel|binary_|unary_|basic_loop|"
                           r"add_kernel|mul_kernel|div_|where_kernel|threshold|clamp|"
                           r"reduce|sum_kernel|norm_kernel|addcmul|addcdiv|sqrt|lerp"),
    ("allocator / dispatch", r"malloc|free|c10::|at::_ops|Dispatcher|intrusive_ptr|"
                             r"TensorImpl|autograd|torch::|at::|std::"),
    ("Python", r"libpython|_PyEval|PyObject|\.cpython"),
    ("kernel (page faults, syscalls)", r"\[kernel|kallsyms"),
]


def category(dso, symbol):
    for name, pattern in CATEGORIES:
        if re.search(pattern, symbol) or re.search(pattern, dso):
            return name
    return "other"


def perf_counts(command, out):
    """Per-(dso, symbol) sample counts of `command` under perf record."""
    subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-F", "997", "-o", out, "--"]
                   + [str(c) for c in command], check=True, stdout=subprocess.DEVNULL)
    report = subprocess.run(
        ["perf", "report", "-i", out, "--stdio", "--no-children", "-n", "--sort", "dso,sym",
         "--percent-limit", "0", "-t", "\t"],
        check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    counts = Counter()
    for line in report.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        fields = [f.strip() for f in line.split("\t")]
        if len(fields) < 4:
            continue
        samples, dso, symbol = int(fields[1]), fields[2], fields[3]
        counts[(dso, re.sub(r"^\[.\]\s*", "", symbol))] += samples
    return counts


def steady_state(side_command, args, workdir, label):
    """Samples of LONG - SHORT steps, per (dso, symbol); negative noise clipped to 0."""
    runs = {}
    for steps in (args.short, args.long):
        out = str(Path(workdir) / f"{label}-{steps}.data")
        print(f"perf: {label}, {steps} steps", file=sys.stderr)
        runs[steps] = perf_counts(side_command(steps), out)
    diff = Counter()
    for key in set(runs[args.long]) | set(runs[args.short]):
        d = runs[args.long][key] - runs[args.short][key]
        if d > 0:
            diff[key] = d
    return diff


def shares(counts):
    total = sum(counts.values()) or 1
    by_category = Counter()
    for (dso, symbol), n in counts.items():
        by_category[category(dso, symbol)] += n
    return {c: 100.0 * n / total for c, n in by_category.most_common()}, total


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fpt", required=True, help="the release fpt binary")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", default="gpt2")
    parser.add_argument("--task", default="mnist")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--short", type=int, default=1, help="timed steps of the short run")
    parser.add_argument("--long", type=int, default=6, help="timed steps of the long run")
    parser.add_argument("--top", type=int, default=12, help="symbols listed per side")
    parser.add_argument("--out", type=Path, help="write profile.json and profile.md here")
    args = parser.parse_args()
    if args.long <= args.short:
        sys.exit("perf_profile.py: --long must be more steps than --short")

    shape = ["--model", args.model, "--task", args.task, "--batch-size", str(args.batch_size),
             "--micro-batch-size", "16", "--warmup", "1"]
    sides = {
        "ours": lambda steps: [args.fpt, "--threads", args.threads, "bench", "step", "--init",
                               "random", *shape, "--steps", steps, "--no-phases", "--json"],
        "reference": lambda steps: [sys.executable, HERE / "step_time.py", "step",
                                    "--threads", args.threads, *shape, "--steps", steps],
    }
    with tempfile.TemporaryDirectory() as workdir:
        profiles = {label: steady_state(command, args, workdir, label)
                    for label, command in sides.items()}

    summary = {label: shares(counts) for label, counts in profiles.items()}
    categories = [c for c, _ in CATEGORIES] + ["other"]
    lines = [
        f"Steady-state CPU samples of {args.long - args.short} steps ({args.model}, {args.task}, "
        f"batch {args.batch_size}, {args.threads} threads; runs of {args.long} minus "
        f"{args.short} steps), share of each side's samples:",
        "",
        "| category | reference % | ours % |",
        "|---|---|---|",
    ]
    for c in categories:
        ref, ours = summary["reference"][0].get(c, 0.0), summary["ours"][0].get(c, 0.0)
        if ref >= 0.05 or ours >= 0.05:
            lines.append(f"| {c} | {ref:.1f} | {ours:.1f} |")
    lines.append(f"| samples (1 ms each) | {summary['reference'][1]} | {summary['ours'][1]} |")
    for label, counts in profiles.items():
        total = sum(counts.values()) or 1
        lines += ["", f"Top symbols, {label}:", "", "| % | object | symbol |", "|---|---|---|"]
        for (dso, symbol), n in counts.most_common(args.top):
            lines.append(f"| {100.0 * n / total:.1f} | {dso} | {symbol[:90]} |")
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "profile.md").write_text(text + "\n")
        data = {label: {"categories": s[0], "samples": s[1],
                        "top": [{"dso": d, "symbol": sym, "samples": n}
                                for (d, sym), n in profiles[label].most_common(50)]}
                for label, s in summary.items()}
        (args.out / "profile.json").write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    main()
