//! What machine a suite ran on, for reports: host, OS, CPU model and cores.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Machine {
    pub hostname: String,
    pub os: String,
    pub cpu: String,
    pub cores: usize,
}

impl Machine {
    /// Read from /etc and /proc (Linux); "unknown" where a file says nothing.
    pub fn current() -> Self {
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        let field = |text: &str, key: &str| {
            text.lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(['=', ':'])?;
                    (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
                })
                .unwrap_or_else(|| "unknown".into())
        };
        let hostname = read("/proc/sys/kernel/hostname").trim().to_string();
        Self {
            hostname: if hostname.is_empty() {
                "unknown".into()
            } else {
                hostname
            },
            os: field(&read("/etc/os-release"), "PRETTY_NAME"),
            cpu: field(&read("/proc/cpuinfo"), "model name"),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}
