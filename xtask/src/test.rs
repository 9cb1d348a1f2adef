//! `cargo xtask test`: the whole test suite, after saying which CPU it runs on.

use std::ffi::OsString;
use std::process::ExitCode;

use anyhow::Result;

/// `cargo test` over the whole workspace, or over the packages named with `-p`.
pub fn run(args: &[OsString]) -> Result<ExitCode> {
    // Float results depend on the CPU's kernels: say once which CPU the tests ran on.
    println!("{}", cpu_line());
    let scoped = args.iter().any(|a| {
        let a = a.to_string_lossy();
        a == "-p" || a == "--package" || a.starts_with("--package=")
    });
    // Every test binary runs even after one fails, so one run shows every failure.
    crate::cargo(
        if scoped {
            &["test", "--no-fail-fast"]
        } else {
            &["test", "--workspace", "--no-fail-fast"]
        },
        args,
    )
}

/// `tests run on: <model>; flags avx2 avx512f ...; MKL_ENABLE_INSTRUCTIONS=...`: the CPU
/// model, the flags that choose matmul kernels, and any cap on them in the environment.
fn cpu_line() -> String {
    const FLAGS: [&str; 6] = [
        "avx2",
        "fma",
        "avx512f",
        "avx512_bf16",
        "amx_bf16",
        "amx_tile",
    ];
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |key: &str| {
        cpuinfo.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == key).then(|| v.trim().to_string())
        })
    };
    let present = field("flags").unwrap_or_default();
    let flags: Vec<&str> = FLAGS
        .into_iter()
        .filter(|f| present.split_whitespace().any(|p| p == *f))
        .collect();
    let mut line = format!(
        "tests run on: {} ({} cores); matmul flags: {}",
        field("model name").unwrap_or_else(|| "unknown CPU".into()),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        if flags.is_empty() {
            "none".into()
        } else {
            flags.join(" ")
        }
    );
    for cap in ["MKL_ENABLE_INSTRUCTIONS", "ONEDNN_MAX_CPU_ISA"] {
        if let Some(value) = std::env::var_os(cap) {
            line += &format!("; {cap}={}", value.to_string_lossy());
        }
    }
    line
}
