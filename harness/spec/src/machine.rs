//! Reading what machine a suite ran on ([`Machine`], recorded in suite.json): host, OS, CPU
//! model and cores; and which matmul paths its CPU gives libtorch (AMX, AVX-512 bf16, AVX-512,
//! AVX2), which decide the last bits of every float result and whether bf16 is fast.

use crate::schema::Machine;

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
        Self {
            hostname: datasets::lock::host_name(),
            os: field(&read("/etc/os-release"), "PRETTY_NAME"),
            cpu: field(&read("/proc/cpuinfo"), "model name"),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// The widest matmul instructions MKL and oneDNN may use: ranked, so a cap (an
/// environment variable) and the hardware combine as the lower of the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MatmulPath {
    /// Neither AVX2 nor better: scalar or SSE kernels.
    Baseline,
    Avx2,
    Avx512,
    /// AVX-512 with bf16 dot products (`avx512_bf16`): e.g. AMD EPYC Zen 4, no AMX.
    Avx512Bf16,
    /// Intel AMX tiles (`amx_bf16`), the fastest bf16 path.
    Amx,
}

impl MatmulPath {
    pub fn name(self) -> &'static str {
        match self {
            MatmulPath::Baseline => "no AVX2",
            MatmulPath::Avx2 => "AVX2",
            MatmulPath::Avx512 => "AVX-512",
            MatmulPath::Avx512Bf16 => "AVX-512 bf16",
            MatmulPath::Amx => "AMX bf16",
        }
    }

    /// The best path the CPU flags of /proc/cpuinfo offer.
    fn from_cpu_flags(flags: &str) -> Self {
        let has = |flag: &str| flags.split_whitespace().any(|f| f == flag);
        if has("amx_bf16") {
            MatmulPath::Amx
        } else if has("avx512_bf16") {
            MatmulPath::Avx512Bf16
        } else if has("avx512f") {
            MatmulPath::Avx512
        } else if has("avx2") {
            MatmulPath::Avx2
        } else {
            MatmulPath::Baseline
        }
    }

    /// The highest path oneDNN allows under `ONEDNN_MAX_CPU_ISA=cap` (its ISA names).
    fn onednn_cap(cap: &str) -> Self {
        let cap = cap.to_ascii_uppercase();
        if cap == "ALL" || cap.contains("AMX") {
            MatmulPath::Amx
        } else if cap.contains("BF16") || cap.contains("FP16") || cap.starts_with("AVX10") {
            MatmulPath::Avx512Bf16
        } else if cap.starts_with("AVX512") {
            MatmulPath::Avx512
        } else if cap.starts_with("AVX2") {
            MatmulPath::Avx2
        } else {
            MatmulPath::Baseline
        }
    }
}

/// The matmul paths of this machine: what the CPU has, and what the kernel libraries are
/// allowed (`ONEDNN_MAX_CPU_ISA` caps oneDNN, which runs the bf16 matmuls;
/// `MKL_ENABLE_INSTRUCTIONS` caps MKL, which runs the fp32 ones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatmulPaths {
    pub cpu: MatmulPath,
    /// What bf16 matmuls run on: the CPU's path under oneDNN's cap.
    pub bf16: MatmulPath,
    /// The caps set in the environment, as `NAME=value`.
    pub caps: Vec<String>,
}

impl MatmulPaths {
    pub fn current() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let flags = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("flags").and_then(|r| r.split_once(':')))
            .map_or("", |(_, flags)| flags);
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self::new(
            flags,
            var("ONEDNN_MAX_CPU_ISA").as_deref(),
            var("MKL_ENABLE_INSTRUCTIONS").as_deref(),
        )
    }

    fn new(flags: &str, onednn_cap: Option<&str>, mkl_cap: Option<&str>) -> Self {
        let cpu = MatmulPath::from_cpu_flags(flags);
        let bf16 = onednn_cap.map_or(cpu, |cap| cpu.min(MatmulPath::onednn_cap(cap)));
        let caps = [
            ("ONEDNN_MAX_CPU_ISA", onednn_cap),
            ("MKL_ENABLE_INSTRUCTIONS", mkl_cap),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some(format!("{name}={}", value?)))
        .collect();
        Self { cpu, bf16, caps }
    }

    /// `AMX bf16 (bf16 matmuls: AMX bf16)`, plus the caps in force.
    pub fn summary(&self) -> String {
        let mut text = format!("{} (bf16 matmuls: {})", self.cpu.name(), self.bf16.name());
        if !self.caps.is_empty() {
            text += &format!(", capped by {}", self.caps.join(" "));
        }
        text
    }

    /// What `--frozen-precision bf16` costs and gives on this CPU. The ratios are GPT-2
    /// training steps on the CIFAR-10 shape (batch 16), bf16 against fp32, measured on a
    /// 2-core Intel Xeon with AMX whose oneDNN was held to each path in turn
    /// (benches/RESULTS.md, "bf16 by matmul path").
    pub fn bf16_advice(&self) -> &'static str {
        match self.bf16 {
            MatmulPath::Amx => "AMX: bf16 steps about 2x as fast as fp32 (GPT-2, CIFAR-10 shape); the numbers differ from fp32's from the third significant digit on",
            MatmulPath::Avx512Bf16 => "AVX-512 bf16 without AMX: bf16 steps about 1.5x SLOWER than fp32 (GPT-2, CIFAR-10 shape), and the numbers differ from fp32's from the third significant digit on; use fp32",
            _ => "no bf16 matmul units (no AMX, no AVX-512 bf16): bf16 is emulated, 3.7x (AVX-512) to 46x (AVX2, on one core) slower than fp32, and the numbers differ from fp32's; use fp32",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_come_from_the_flags_and_caps_lower_them() {
        let amd = "fpu sse2 avx2 avx512f avx512bw avx512_bf16";
        let intel = "avx2 avx512f avx512_bf16 amx_bf16 amx_tile";
        assert_eq!(
            MatmulPaths::new(amd, None, None).bf16,
            MatmulPath::Avx512Bf16
        );
        assert_eq!(MatmulPaths::new(intel, None, None).bf16, MatmulPath::Amx);
        let capped = MatmulPaths::new(intel, Some("AVX512_CORE_BF16"), Some("AVX2"));
        assert_eq!(capped.cpu, MatmulPath::Amx);
        assert_eq!(capped.bf16, MatmulPath::Avx512Bf16);
        assert!(
            capped.summary().contains("MKL_ENABLE_INSTRUCTIONS=AVX2"),
            "{}",
            capped.summary()
        );
        assert_eq!(
            MatmulPaths::new(amd, Some("AVX2"), None).bf16,
            MatmulPath::Avx2
        );
        // A cap above the hardware changes nothing.
        assert_eq!(
            MatmulPaths::new(amd, Some("ALL"), None).bf16,
            MatmulPath::Avx512Bf16
        );
        assert_eq!(
            MatmulPaths::new("sse2", None, None).cpu,
            MatmulPath::Baseline
        );
    }
}
