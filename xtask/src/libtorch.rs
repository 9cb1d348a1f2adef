//! Makes libtorch 2.11.0 available with no manual step.
//!
//! `$LIBTORCH` wins when set. Otherwise a Python venv under `$FPT_HOME/libtorch/` gets
//! `torch==2.11.0` from PyPI (the wheel carries libtorch), and its `torch/` folder is used
//! as `LIBTORCH`. The venv is only trusted once a stamp file says the install was verified,
//! so an interrupted setup simply resumes (pip skips what is already installed), and a lock
//! file keeps two setups from installing into the same venv at once.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, ensure, Context, Result};

/// The torch release tch 0.24.0 was built for (see the workspace Cargo.toml).
pub const TORCH_VERSION: &str = "2.11.0";
const STAMP: &str = "fpt-libtorch-ready";

pub struct Libtorch {
    pub root: PathBuf,
}

impl Libtorch {
    /// Hands the libtorch location to a cargo (or `fpt`) process we spawn.
    pub fn apply(&self, cmd: &mut Command) {
        cmd.env("LIBTORCH", &self.root)
            .env("LIBTORCH_CXX11_ABI", "1")
            .env_remove("LIBTORCH_USE_PYTORCH");
    }
}

pub fn ensure() -> Result<Libtorch> {
    if let Some(root) = std::env::var_os("LIBTORCH") {
        let root = PathBuf::from(root);
        check_layout(&root).context("LIBTORCH is set but does not hold a usable libtorch")?;
        return Ok(Libtorch { root });
    }
    let home = fpt_home()?;
    let venv = home.join("libtorch").join(format!("torch-{TORCH_VERSION}"));
    let stamp = venv.join(STAMP);
    if let Some(root) = read_stamp(&stamp) {
        return Ok(Libtorch { root });
    }
    fs::create_dir_all(venv.parent().expect("venv has a parent"))
        .with_context(|| format!("cannot create {}", venv.display()))?;
    let lock_path = venv.with_extension("lock");
    let lock = File::create(&lock_path)
        .with_context(|| format!("cannot create lock file {}", lock_path.display()))?;
    if lock.try_lock().is_err() {
        eprintln!(
            "xtask: another setup holds {}; waiting",
            lock_path.display()
        );
        lock.lock().context("cannot lock the libtorch setup")?;
    }
    // Another process may have finished the install while we waited.
    if let Some(root) = read_stamp(&stamp) {
        return Ok(Libtorch { root });
    }
    let root = install(&venv)?;
    let tmp = stamp.with_extension("tmp");
    fs::write(&tmp, root.to_string_lossy().as_bytes())
        .and_then(|()| fs::rename(&tmp, &stamp))
        .with_context(|| format!("cannot write {}", stamp.display()))?;
    eprintln!(
        "xtask: libtorch {TORCH_VERSION} ready at {}",
        root.display()
    );
    Ok(Libtorch { root })
}

fn fpt_home() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("FPT_HOME") {
        return Ok(PathBuf::from(home));
    }
    let home = std::env::var_os("HOME").context("neither FPT_HOME nor HOME is set")?;
    Ok(Path::new(&home).join(".cache").join("fpt"))
}

fn read_stamp(stamp: &Path) -> Option<PathBuf> {
    let root = PathBuf::from(fs::read_to_string(stamp).ok()?.trim());
    check_layout(&root).ok()?;
    Some(root)
}

fn check_layout(root: &Path) -> Result<()> {
    let lib = root.join("lib");
    ensure!(
        lib.join("libtorch_cpu.so").exists() || lib.join("libtorch_cpu.dylib").exists(),
        "{} has no libtorch_cpu library; point LIBTORCH at a libtorch {TORCH_VERSION} folder \
         (the one holding lib/ and include/), or unset it to let xtask install one",
        lib.display()
    );
    ensure!(
        root.join("include").is_dir(),
        "{} has no include/ folder",
        root.display()
    );
    Ok(())
}

/// Creates the venv if needed, installs torch into it and returns torch's folder.
fn install(venv: &Path) -> Result<PathBuf> {
    let python = venv.join("bin").join("python");
    if !pip_works(&python) {
        if venv.exists() {
            eprintln!("xtask: removing an incomplete venv at {}", venv.display());
            fs::remove_dir_all(venv)
                .with_context(|| format!("cannot remove {}", venv.display()))?;
        }
        create_venv(venv)?;
    }
    eprintln!(
        "xtask: installing torch=={TORCH_VERSION} into {} (about 4.6 GB, a few minutes once)",
        venv.display()
    );
    let status = Command::new(&python)
        .args(["-m", "pip", "install", "--disable-pip-version-check"])
        .arg(format!("torch=={TORCH_VERSION}"))
        .status()
        .context("cannot run pip in the venv")?;
    ensure!(
        status.success(),
        "`pip install torch=={TORCH_VERSION}` failed ({status}); see pip's messages above. \
         Rerunning resumes; or set LIBTORCH to an existing libtorch {TORCH_VERSION}"
    );
    let out = Command::new(&python)
        .args([
            "-c",
            "import os, torch; print(torch.__version__); print(os.path.dirname(torch.__file__))",
        ])
        .output()
        .context("cannot run the venv's python")?;
    ensure!(
        out.status.success(),
        "torch does not import in {}: {}",
        venv.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let version = lines.next().unwrap_or_default();
    ensure!(
        version.split('+').next() == Some(TORCH_VERSION),
        "the venv holds torch {version}, but tch needs {TORCH_VERSION}"
    );
    let root = PathBuf::from(lines.next().context("torch did not print its folder")?);
    check_layout(&root)?;
    Ok(root)
}

fn pip_works(python: &Path) -> bool {
    python.exists()
        && Command::new(python)
            .args(["-m", "pip", "--version"])
            .output()
            .is_ok_and(|o| o.status.success())
}

fn create_venv(venv: &Path) -> Result<()> {
    let python = std::env::var_os("FPT_PYTHON").unwrap_or_else(|| "python3".into());
    eprintln!("xtask: creating a Python venv at {}", venv.display());
    let status = match Command::new(&python)
        .arg("-m")
        .arg("venv")
        .arg(venv)
        .status()
    {
        Ok(status) => status,
        Err(err) => bail!(
            "cannot run {} ({err}): install Python 3.9+ with venv and pip \
             (Debian: apt-get install python3 python3-venv python3-pip), set FPT_PYTHON to one, \
             or set LIBTORCH to an existing libtorch {TORCH_VERSION}",
            python.to_string_lossy()
        ),
    };
    ensure!(
        status.success() && pip_works(&venv.join("bin").join("python")),
        "`{} -m venv` did not create a venv with pip: install the venv and pip modules \
         (Debian: apt-get install python3-venv python3-pip) or set LIBTORCH",
        python.to_string_lossy()
    );
    Ok(())
}

/// The Python of the venv that holds this libtorch: the first folder above it with a
/// pyvenv.cfg.
pub fn venv_python(torch: &Libtorch) -> Result<PathBuf> {
    torch
        .root
        .ancestors()
        .find(|dir| dir.join("pyvenv.cfg").is_file())
        .map(|venv| venv.join("bin").join("python"))
        .filter(|python| python.exists())
        .with_context(|| {
            format!(
                "LIBTORCH={} is not inside a Python venv, and the reference side needs that \
                 venv's torch: unset LIBTORCH to let xtask create one under $FPT_HOME",
                torch.root.display()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn venv_python_is_found_above_the_torch_folder() {
        let venv = scratch_dir();
        let torch = venv.join("lib/python3.11/site-packages/torch");
        std::fs::create_dir_all(&torch).unwrap();
        std::fs::create_dir_all(venv.join("bin")).unwrap();
        std::fs::write(venv.join("pyvenv.cfg"), "home = /usr/bin\n").unwrap();
        std::fs::write(venv.join("bin/python"), "").unwrap();
        let found = venv_python(&Libtorch {
            root: torch.clone(),
        })
        .unwrap();
        assert_eq!(found, venv.join("bin/python"));
        std::fs::remove_file(venv.join("pyvenv.cfg")).unwrap();
        assert!(venv_python(&Libtorch { root: torch }).is_err());
        std::fs::remove_dir_all(&venv).unwrap();
    }

    /// A fresh folder under the system temp dir (xtask has no tempfile dependency).
    fn scratch_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-libtorch-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
