//! Build script shared by every crate that links libtorch (set as `build = ...` in their
//! manifests, so there is one copy; `training`'s own build.rs calls it as a module).
//!
//! - An rpath to `$LIBTORCH/lib`, so binaries and tests run without LD_LIBRARY_PATH.
//! - libtorch_cuda linked with `--no-as-needed`: nothing references it by symbol, so the
//!   linker would drop it and `tch::Cuda::is_available()` would then be false even on a
//!   CUDA machine. On CPU-only machines the library still loads (the wheel ships its
//!   CUDA runtime libraries) and simply finds no device.

use std::path::PathBuf;

pub fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    let Some(root) = std::env::var_os("LIBTORCH") else {
        println!(
            "cargo:warning=LIBTORCH is not set: build through `cargo xtask` (it installs and \
             sets libtorch), or export LIBTORCH=<libtorch 2.11.0 folder> and LIBTORCH_CXX11_ABI=1"
        );
        println!("cargo:rustc-env=FPT_TORCH_VERSION=unknown");
        return;
    };
    let root = PathBuf::from(root);
    // Recorded in every run's result.json: pip's torch has version.py, libtorch zips build-version.
    let version = std::fs::read_to_string(root.join("version.py"))
        .ok()
        .and_then(|py| {
            py.lines()
                .find_map(|l| l.strip_prefix("__version__ = "))
                .map(|v| v.trim_matches(|c| c == '\'' || c == '"').to_string())
        })
        .or_else(|| std::fs::read_to_string(root.join("build-version")).ok())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=FPT_TORCH_VERSION={}", version.trim());
    let lib = root.join("lib");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    if lib.join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-search=native={}", lib.display());
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
    }
}
