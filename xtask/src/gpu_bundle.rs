//! `cargo xtask gpu-bundle`: a folder to copy to a CUDA machine that has PyTorch 2.11 but no
//! Rust: the release `fpt`, `run.sh` (points the loader at that machine's torch) and
//! `smoke.sh` (CUDA visible, a tiny suite on CUDA, GPT-2 step throughput in TFLOP/s), plus,
//! with --with-weights, GPT-2's checkpoint without the tensors FPT never reads.
//!
//! The folder stays under [`BUDGET_MIB`] without weights, so it can travel with a working
//! tree to a lent GPU machine; trimmed GPT-2 weights alone are ~330 MiB.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{bail, ensure, Context, Result};

use crate::flags::GpuBundleFlags;
use crate::libtorch::{self, venv_python};
use crate::{build_release_fpt, target_dir, workspace_root};

/// What a bundle without weights may weigh.
const BUDGET_MIB: u64 = 60;
/// Marks a folder as ours, so a rerun may empty it.
const MARKER: &str = "README.txt";

const RUN_SH: &str = r#"#!/usr/bin/env bash
# Runs the bundled fpt against an installed torch 2.11 (whose lib/ holds libtorch):
#   run.sh [--torch TORCH_DIR] FPT_ARGS...
# TORCH_DIR is a torch package folder (.../site-packages/torch); without it, the first of
# $FPT_PYTHON, /opt/torch/.venv/bin/python, python3, python that imports torch says where.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
torch_dir=""
if [[ "${1:-}" == "--torch" ]]; then
  torch_dir=${2:?run.sh: --torch needs a folder}
  shift 2
else
  for py in ${FPT_PYTHON:-} /opt/torch/.venv/bin/python python3 python; do
    if torch_dir=$("$py" -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null); then
      break
    fi
    torch_dir=""
  done
fi
if [[ -z "$torch_dir" || ! -e "$torch_dir/lib/libtorch_cpu.so" ]]; then
  echo "run.sh: no torch 2.11 found (looked at '${torch_dir}'); pass --torch TORCH_DIR or set FPT_PYTHON" >&2
  exit 2
fi
version=$(sed -n "s/^__version__ = ['\"]\(.*\)['\"]/\1/p" "$torch_dir/version.py" 2>/dev/null || true)
if [[ "$version" != 2.11.0* ]]; then
  echo "run.sh: warning: $torch_dir is torch '${version:-unknown}', fpt was built for 2.11.0" >&2
fi
export LD_LIBRARY_PATH="$torch_dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export FPT_HOME=${FPT_HOME:-$here/fpt-home}
exec "$here/fpt" "$@"
"#;

const SMOKE_SH: &str = r#"#!/usr/bin/env bash
# GPU smoke test of the bundle: fpt sees CUDA, a tiny suite trains on CUDA, and one GPT-2
# training step on the CIFAR-10 shape at a large batch reports its TFLOP/s.
#   smoke.sh [--torch TORCH_DIR] [OUT_DIR]      (BATCH=512 by default)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
torch_args=()
if [[ "${1:-}" == "--torch" ]]; then
  torch_args=(--torch "${2:?smoke.sh: --torch needs a folder}")
  shift 2
fi
out=${1:-$(mktemp -d)}
batch=${BATCH:-512}
mkdir -p "$out"
fpt() { "$here/run.sh" "${torch_args[@]}" "$@"; }

echo "== fpt info"
fpt info | tee "$out/info.txt"
if ! grep -q '^cuda available: true' "$out/info.txt"; then
  echo "smoke.sh: FAIL: fpt does not see CUDA" >&2
  exit 1
fi

echo "== smoke suite on cuda"
fpt reproduce --profile smoke --device cuda --offline --jobs 1 \
  --out "$out/runs" --report-dir "$out/report"

echo "== gpt2 training step, cifar10 shape, batch $batch"
model=(--model gpt2 --init random)
if [[ -f "$here/gpt2/model.safetensors" ]]; then
  model=(--model-dir "$here/gpt2" --init pretrained)
fi
fpt bench step --task cifar10 "${model[@]}" --batch-size "$batch" --micro-batch-size "$batch" \
  --steps 10 --warmup 3 --device cuda --json | tee "$out/bench.json"
tflops=$(sed -n 's/.*"gflops_per_s":\([0-9.eE+-]*\).*/\1/p' "$out/bench.json")
step=$(sed -n 's/.*"median_step_s":\([0-9.eE+-]*\).*/\1/p' "$out/bench.json")
awk -v g="$tflops" -v s="$step" -v b="$batch" \
  'BEGIN { printf "gpt2 cifar10 batch %d: %.4f s/step, %.2f TFLOP/s (fp32 matmuls)\n", b, s, g / 1000 }'
echo "smoke.sh: OK ($out)"
"#;

pub fn run(options: &GpuBundleFlags) -> Result<ExitCode> {
    let fpt = build_release_fpt()?;
    let out = &options
        .out
        .clone()
        .unwrap_or_else(|| target_dir().join("gpu-bundle"));
    prepare_folder(out)?;
    fs::copy(&fpt, out.join("fpt")).with_context(|| format!("cannot copy {}", fpt.display()))?;
    write_script(&out.join("run.sh"), RUN_SH)?;
    write_script(&out.join("smoke.sh"), SMOKE_SH)?;
    let weights = match options.with_weights {
        true => bundle_gpt2(out)?,
        false => "not bundled (--with-weights adds them); smoke.sh benches random-init GPT-2, \
                  which costs the same per step"
            .to_string(),
    };
    fs::write(
        out.join(MARKER),
        format!(
            "fpt GPU bundle, made by `cargo xtask gpu-bundle`.\n\
             On the CUDA machine: ./smoke.sh [--torch TORCH_DIR] [OUT_DIR]\n\
             Any command: ./run.sh [--torch TORCH_DIR] ARGS... (e.g. ./run.sh info)\n\
             GPT-2 weights: {weights}\n"
        ),
    )?;
    let mib = folder_bytes(out)? as f64 / (1024.0 * 1024.0);
    println!("gpu bundle: {} ({mib:.1} MiB)", out.display());
    if !options.with_weights && mib > BUDGET_MIB as f64 {
        bail!("the bundle is {mib:.1} MiB, over its {BUDGET_MIB} MiB budget");
    }
    Ok(ExitCode::SUCCESS)
}

/// Creates `out`, or empties it if a previous bundle is there; refuses other folders.
fn prepare_folder(out: &Path) -> Result<()> {
    if out.exists() {
        let empty = fs::read_dir(out)?.next().is_none();
        ensure!(
            empty || out.join(MARKER).is_file(),
            "{} exists and is not a gpu bundle; choose another --out",
            out.display()
        );
        fs::remove_dir_all(out).with_context(|| format!("cannot empty {}", out.display()))?;
    }
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))
}

/// Writes an executable script and checks its syntax with `bash -n`.
fn write_script(path: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))?;
    let checked = Command::new("bash").arg("-n").arg(path).status();
    ensure!(
        checked.is_ok_and(|s| s.success()),
        "{} does not pass `bash -n`",
        path.display()
    );
    Ok(())
}

/// GPT-2's cached checkpoint without wte and the mask buffers, with a config.json, as
/// out/gpt2/ (an `--model-dir` folder); says what it did.
fn bundle_gpt2(out: &Path) -> Result<String> {
    let home = std::env::var_os("FPT_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/fpt")))
        .context("neither FPT_HOME nor HOME is set")?;
    let cached = home.join("models/gpt2/model.safetensors");
    if !cached.is_file() {
        eprintln!(
            "xtask: {} is not cached (`fpt models fetch gpt2`); bundling without weights",
            cached.display()
        );
        return Ok(format!("not cached at {}", cached.display()));
    }
    let python = venv_python(&libtorch::ensure()?)?;
    let dir = out.join("gpt2");
    fs::create_dir_all(&dir)?;
    let status = Command::new(&python)
        .arg(workspace_root().join("tools/reference/trim_safetensors.py"))
        .arg(&cached)
        .arg(dir.join("model.safetensors"))
        .args(["--drop", "wte.weight"])
        .args(["--drop-suffix", ".attn.bias"])
        .args(["--drop-suffix", ".attn.masked_bias"])
        .status()
        .context("cannot run the trimming script")?;
    ensure!(status.success(), "trimming {} failed", cached.display());
    fs::write(
        dir.join("config.json"),
        r#"{"model_type": "gpt2", "n_layer": 12, "n_head": 12, "n_embd": 768, "n_positions": 1024}"#,
    )?;
    eprintln!("xtask: warning: GPT-2 weights put the bundle over {BUDGET_MIB} MiB");
    Ok("gpt2/ (trimmed)".into())
}

fn folder_bytes(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            folder_bytes(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_pass_bash_syntax_checks() {
        let dir = std::env::temp_dir().join(format!("xtask-bundle-test-{}", std::process::id()));
        prepare_folder(&dir).unwrap();
        write_script(&dir.join("run.sh"), RUN_SH).unwrap();
        write_script(&dir.join("smoke.sh"), SMOKE_SH).unwrap();
        assert!(write_script(&dir.join("bad.sh"), "if then fi (\n").is_err());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_foreign_folder_is_never_emptied() {
        let dir = std::env::temp_dir().join(format!("xtask-bundle-foreign-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("precious.txt"), "keep").unwrap();
        assert!(prepare_folder(&dir).is_err());
        assert!(dir.join("precious.txt").exists());
        fs::write(dir.join(MARKER), "").unwrap();
        prepare_folder(&dir).unwrap();
        assert!(!dir.join("precious.txt").exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
