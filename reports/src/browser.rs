//! Opens a report in headless Chromium and checks what a reader would see: the page renders
//! (a non-blank screenshot), scripts ran without errors, and every chart image decoded.
//! The harness's smoke test can call it on a real report.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    #[error("no Chromium: {0}")]
    Unavailable(String),
    #[error("installing Chromium failed: {0}")]
    Install(String),
    #[error("running {command} failed: {reason}")]
    Run { command: String, reason: String },
    #[error("the screenshot {path} cannot be read: {reason}")]
    Screenshot { path: String, reason: String },
}

/// What headless Chromium made of a page.
#[derive(Debug, Clone, PartialEq)]
pub struct PageCheck {
    pub screenshot: PathBuf,
    /// Share of the screenshot's pixels that differ from its first pixel (the background).
    pub ink: f64,
    /// Images with naturalWidth > 0 after load, and all images, as the page's own check
    /// (#image-check) reported them; `None` when the page has no such element.
    pub images_decoded: Option<usize>,
    pub images_total: Option<usize>,
    /// Console errors and failed loads Chromium logged.
    pub errors: Vec<String>,
}

/// How long one Chromium run may take.
const TIMEOUT: Duration = Duration::from_secs(120);

const FLAGS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    // without these Chromium keeps trying (and failing) to reach Google's services
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
];

/// Chromium on PATH (or $FPT_CHROMIUM).
pub fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("FPT_CHROMIUM").map(PathBuf::from) {
        return path.is_file().then_some(path);
    }
    let dirs = std::env::var_os("PATH")?;
    std::env::split_paths(&dirs)
        .flat_map(|dir| ["chromium", "chromium-browser", "google-chrome"].map(|n| dir.join(n)))
        .find(|p| p.is_file())
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|uid| uid == "0"))
        })
        .unwrap_or(false)
}

/// For tests: Chromium (installed when missing and running as root), or `None` after a
/// visible `SKIPPED: <what> (<why>)` line when it cannot be had; with FPT_REQUIRE_BROWSER=1
/// (CI) that is a panic instead, so the check can never pass by not running.
pub fn chromium_or_skip(what: &str) -> Option<PathBuf> {
    match ensure_chromium(&mut |line| eprintln!("[chromium install] {line}")) {
        Ok(path) => Some(path),
        Err(why) => {
            let required = std::env::var("FPT_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
            assert!(!required, "FPT_REQUIRE_BROWSER=1 but {why}");
            eprintln!("SKIPPED: {what} ({why})");
            None
        }
    }
}

/// Chromium, installed with `apt-get install -y chromium` (Debian's package) when it is
/// missing and this process is root. `log` receives what the install prints.
pub fn ensure_chromium(log: &mut dyn FnMut(&str)) -> Result<PathBuf, BrowserError> {
    if let Some(path) = find_chromium() {
        return Ok(path);
    }
    if !is_root() {
        return Err(BrowserError::Unavailable(
            "chromium is not on PATH and this process is not root, so it cannot run \
             `apt-get install -y chromium`"
                .into(),
        ));
    }
    let apt = |args: &[&str], log: &mut dyn FnMut(&str)| -> Result<bool, BrowserError> {
        log(&format!("$ apt-get {}", args.join(" ")));
        // Wait for another apt (or dpkg) to finish rather than fail on its lock.
        let output = Command::new("apt-get")
            .args(["-o", "DPkg::Lock::Timeout=300"])
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .map_err(|e| BrowserError::Install(format!("apt-get: {e}")))?;
        for line in String::from_utf8_lossy(&output.stdout)
            .lines()
            .chain(String::from_utf8_lossy(&output.stderr).lines())
        {
            log(line);
        }
        Ok(output.status.success())
    };
    // An install from stale package lists can fail; update them once and retry.
    let installed = apt(&["install", "-y", "chromium"], log)?
        || (apt(&["update"], log)? && apt(&["install", "-y", "chromium"], log)?);
    if !installed {
        return Err(BrowserError::Install(
            "apt-get install -y chromium failed (its output is in the log above)".into(),
        ));
    }
    find_chromium().ok_or_else(|| {
        BrowserError::Install("apt-get installed chromium but it is not on PATH".into())
    })
}

/// Runs Chromium with `args` and returns (stdout, stderr), killing it after [`TIMEOUT`].
fn run(chromium: &Path, args: &[String]) -> Result<(String, String), BrowserError> {
    let command = format!("{} {}", chromium.display(), args.join(" "));
    let fail = |reason: String| BrowserError::Run {
        command: command.clone(),
        reason,
    };
    let mut child = Command::new(chromium)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(e.to_string()))?;
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    // Read both pipes on threads so a full pipe cannot stall Chromium.
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.as_mut().map(|o| o.read_to_string(&mut s));
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        stderr.as_mut().map(|e| e.read_to_string(&mut s));
        s
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait().map_err(|e| fail(e.to_string()))? {
            Some(status) => break status,
            None if start.elapsed() > TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(format!("no answer in {} s", TIMEOUT.as_secs())));
            }
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    };
    let (stdout, stderr) = (
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    );
    if !status.success() {
        return Err(fail(format!("{status}; stderr: {}", stderr.trim())));
    }
    Ok((stdout, stderr))
}

fn attribute(dom: &str, element_id: &str, name: &str) -> Option<usize> {
    let start = dom.find(&format!("id=\"{element_id}\""))?;
    let tag_start = dom[..start].rfind('<')?;
    let tag = &dom[tag_start..tag_start + dom[tag_start..].find('>')?];
    let value = tag.split(&format!("{name}=\"")).nth(1)?;
    value[..value.find('"')?].parse().ok()
}

/// Share of pixels unlike the first one, in an 8-bit RGB or RGBA PNG.
fn ink(path: &Path) -> Result<f64, BrowserError> {
    let fail = |reason: String| BrowserError::Screenshot {
        path: path.display().to_string(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let mut reader = png::Decoder::new(file)
        .read_info()
        .map_err(|e| fail(e.to_string()))?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| fail(e.to_string()))?;
    let channels = info.color_type.samples();
    if info.bit_depth != png::BitDepth::Eight || channels < 3 {
        return Err(fail(format!(
            "{:?} {:?} is not 8-bit RGB",
            info.color_type, info.bit_depth
        )));
    }
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(channels).collect();
    let background = &pixels[0][..3];
    let inked = pixels.iter().filter(|p| &p[..3] != background).count();
    Ok(inked as f64 / pixels.len().max(1) as f64)
}

/// Loads `page` from file:// in headless Chromium: a 1280×2000 screenshot, then the DOM
/// after scripts ran. `work_dir` receives the screenshot and Chromium's profile.
pub fn check_page(
    chromium: &Path,
    page: &Path,
    work_dir: &Path,
) -> Result<PageCheck, BrowserError> {
    let page = page.canonicalize().map_err(|e| BrowserError::Run {
        command: format!("open {}", page.display()),
        reason: e.to_string(),
    })?;
    std::fs::create_dir_all(work_dir).map_err(|e| BrowserError::Run {
        command: format!("mkdir {}", work_dir.display()),
        reason: e.to_string(),
    })?;
    let screenshot = work_dir.join("page.png");
    let url = format!("file://{}", page.display());
    let base = |extra: &[String]| -> Vec<String> {
        FLAGS
            .iter()
            .map(|f| f.to_string())
            .chain([format!(
                "--user-data-dir={}",
                work_dir.join("profile").display()
            )])
            .chain(extra.iter().cloned())
            .chain([url.clone()])
            .collect()
    };
    let (_, shot_log) = run(
        chromium,
        &base(&[
            format!("--screenshot={}", screenshot.display()),
            "--window-size=1280,2000".into(),
        ]),
    )?;
    let (dom, dom_log) = run(
        chromium,
        &base(&[
            "--enable-logging=stderr".into(),
            "--v=0".into(),
            "--virtual-time-budget=10000".into(),
            "--dump-dom".into(),
        ]),
    )?;
    let errors = shot_log
        .lines()
        .chain(dom_log.lines())
        .filter(|l| l.contains("Uncaught") || l.contains("Failed to load resource"))
        .map(str::to_string)
        .collect();
    Ok(PageCheck {
        ink: ink(&screenshot)?,
        screenshot,
        images_decoded: attribute(&dom, "image-check", "data-decoded"),
        images_total: attribute(&dom, "image-check", "data-total"),
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_image_check_is_read_from_the_dom() {
        let dom = r#"<p id="image-check" data-decoded="7" data-total="8">7 of 8</p>"#;
        assert_eq!(attribute(dom, "image-check", "data-decoded"), Some(7));
        assert_eq!(attribute(dom, "image-check", "data-total"), Some(8));
        assert_eq!(
            attribute("<p id=\"image-check\">", "image-check", "data-total"),
            None
        );
    }
}
