//! A real single-node Slurm cluster for tests: munged, slurmctld and slurmd run as children
//! of the test, on free local ports, with their config, state and logs in a temporary
//! folder; dropping the cluster cancels its jobs and stops them. Installs Debian's
//! slurm-wlm and munge first when they are missing and the test runs as root.

use std::io::Write;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use training::slurm::Slurm;

/// Tests share the machine's ports and cores: one cluster at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const PROGRAMS: [&str; 7] = [
    "munged",
    "slurmctld",
    "slurmd",
    "sbatch",
    "squeue",
    "sinfo",
    "scancel",
];

/// Says `line` on stderr even while the test harness captures output (it captures only the
/// print macros), so skips and installs are visible in a passing run.
pub fn announce(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// A running cluster; or, when none can start, `None` after announcing `SKIPPED: <why>`,
/// except that with FPT_REQUIRE_SLURM=1 (CI) that is a test failure.
pub fn start_or_skip() -> Option<SlurmCluster> {
    let serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    match SlurmCluster::start(serial) {
        Ok(cluster) => Some(cluster),
        Err(why) if std::env::var("FPT_REQUIRE_SLURM").as_deref() == Ok("1") => {
            panic!("FPT_REQUIRE_SLURM=1, but no Slurm cluster could start: {why}")
        }
        Err(why) => {
            announce(&format!("SKIPPED: {why}"));
            None
        }
    }
}

pub struct SlurmCluster {
    dir: tempfile::TempDir,
    conf: PathBuf,
    node: String,
    /// Stopped last to first.
    daemons: Vec<Daemon>,
    _serial: MutexGuard<'static, ()>,
}

struct Daemon {
    name: &'static str,
    child: Child,
}

impl SlurmCluster {
    fn start(serial: MutexGuard<'static, ()>) -> Result<Self, String> {
        install_if_missing()?;
        let dir = tempfile::tempdir().map_err(|e| format!("no temporary folder: {e}"))?;
        // munged wants every folder above its socket open to all.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .map_err(|e| e.to_string())?;
        let node = hostname()?;
        let mut cluster = Self {
            conf: dir.path().join("slurm.conf"),
            dir,
            node,
            daemons: Vec::new(),
            _serial: serial,
        };
        cluster.start_munge()?;
        std::fs::write(&cluster.conf, cluster.slurm_conf()?).map_err(|e| e.to_string())?;
        let conf = cluster.conf.display().to_string();
        cluster.spawn("slurmctld", &["-D", "-i", "-f", &conf])?;
        let node = cluster.node.clone();
        cluster.spawn("slurmd", &["-D", "-f", &conf, "-N", &node])?;
        cluster.wait_until_idle(Duration::from_secs(60))?;
        Ok(cluster)
    }

    /// Slurm's client commands, pointed at this cluster.
    pub fn slurm(&self) -> Slurm {
        Slurm::from_env().with_conf(&self.conf)
    }

    /// The cluster's slurm.conf: SLURM_CONF for client commands run as child processes.
    pub fn conf(&self) -> &Path {
        &self.conf
    }

    /// The node's name, as jobs see it in SLURMD_NODENAME.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// `scancel <what>`, e.g. one array task `1234_1`.
    pub fn cancel(&self, what: &str) {
        let status = self.client("scancel").arg(what).status().unwrap();
        assert!(status.success(), "scancel {what} failed");
    }

    fn client(&self, tool: &str) -> Command {
        self.slurm()
            .command(tool)
            .expect("the cluster's tools are installed")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn start_munge(&mut self) -> Result<(), String> {
        let key = self.path("munge.key");
        std::fs::write(&key, random_key()?).map_err(|e| e.to_string())?;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o400))
            .map_err(|e| e.to_string())?;
        let arg = |flag: &str, name: &str| format!("--{flag}={}", self.path(name).display());
        let args = [
            "-F".to_string(),
            arg("key-file", "munge.key"),
            arg("socket", "munge.socket"),
            arg("pid-file", "munged.pid"),
            arg("log-file", "munged.log"),
            arg("seed-file", "munged.seed"),
        ];
        self.spawn("munged", &args.each_ref().map(String::as_str))?;
        let socket = self.path("munge.socket");
        self.wait_for("munged's socket", Duration::from_secs(20), || {
            socket.exists()
        })
    }

    fn slurm_conf(&self) -> Result<String, String> {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let [ctld_port, slurmd_port] = [free_port()?, free_port()?];
        let p = |name: &str| self.path(name).display().to_string();
        Ok(format!(
            "ClusterName=fpttest
SlurmctldHost=localhost
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={socket}
StateSaveLocation={state}
SlurmdSpoolDir={spool}
SlurmctldPidFile={ctld_pid}
SlurmdPidFile={slurmd_pid}
SlurmctldLogFile={ctld_log}
SlurmdLogFile={slurmd_log}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={jobcomp}
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
KillWait=5
NodeName={node} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=1024 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
",
            socket = p("munge.socket"),
            state = p("state"),
            spool = p("spool"),
            ctld_pid = p("slurmctld.pid"),
            slurmd_pid = p("slurmd.pid"),
            ctld_log = p("slurmctld.log"),
            slurmd_log = p("slurmd.log"),
            jobcomp = p("jobcomp.txt"),
            node = self.node,
        ))
    }

    fn spawn(&mut self, name: &'static str, args: &[&str]) -> Result<(), String> {
        let program = find_program(name).ok_or_else(|| format!("{name} is not installed"))?;
        let log = std::fs::File::create(self.path(&format!("{name}.stdout")))
            .map_err(|e| e.to_string())?;
        let child = Command::new(program)
            .args(args)
            .env("SLURM_CONF", &self.conf)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        self.daemons.push(Daemon { name, child });
        Ok(())
    }

    fn wait_until_idle(&mut self, timeout: Duration) -> Result<(), String> {
        let node = self.node.clone();
        let mut sinfo = self.client("sinfo");
        sinfo.args(["--noheader", "--Node", "--format=%N %T"]);
        self.wait_for("the node to be idle", timeout, move || {
            sinfo.output().is_ok_and(|out| {
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .any(|l| l.trim() == format!("{node} idle"))
            })
        })
    }

    /// Polls `ready` until it holds; fails early when a daemon has died, and on time out,
    /// with the daemons' last log lines either way.
    fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        mut ready: impl FnMut() -> bool,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if ready() {
                return Ok(());
            }
            let dead = self
                .daemons
                .iter_mut()
                .find_map(|d| d.child.try_wait().ok().flatten().map(|_| d.name));
            let failure = match dead {
                Some(name) => format!("{name} exited while waiting for {what}"),
                None if Instant::now() > deadline => format!("timed out waiting for {what}"),
                None => {
                    std::thread::sleep(Duration::from_millis(200));
                    continue;
                }
            };
            return Err(format!("{failure}; {}", self.log_tails()));
        }
    }

    fn log_tails(&self) -> String {
        self.daemons
            .iter()
            .map(|d| {
                let text = std::fs::read_to_string(self.path(&format!("{}.stdout", d.name)))
                    .unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len().saturating_sub(5)..].join(" / ");
                format!("{}: {tail}", d.name)
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl Drop for SlurmCluster {
    fn drop(&mut self) {
        // Jobs outlive slurmd (their slurmstepd is its own process), so cancel them first.
        if self.daemons.iter().any(|d| d.name == "slurmctld") {
            let _ = self.client("scancel").arg("--partition=debug").status();
            let mut squeue = self.client("squeue");
            squeue.arg("--noheader");
            let _ = self.wait_for("the jobs to end", Duration::from_secs(30), || {
                squeue.output().is_ok_and(|out| out.stdout.is_empty())
            });
        }
        for daemon in self.daemons.iter_mut().rev() {
            daemon.stop();
        }
    }
}

impl Daemon {
    /// SIGTERM, then SIGKILL if it has not gone after 10 s.
    fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.child.try_wait().is_ok_and(|s| s.is_some()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn install_if_missing() -> Result<(), String> {
    let missing: Vec<&str> = PROGRAMS
        .into_iter()
        .filter(|p| find_program(p).is_none())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map_err(|e| e.to_string())?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Err(format!(
            "Slurm is not installed (no {}), and installing it needs root: apt-get install slurm-wlm munge",
            missing.join(", ")
        ));
    }
    announce(&format!(
        "slurm tests: installing slurm-wlm and munge (missing {})",
        missing.join(", ")
    ));
    let started = Instant::now();
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(["-o", "DPkg::Lock::Timeout=300"])
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run apt-get: {e}"))
    };
    let install = [
        "install",
        "-y",
        "--no-install-recommends",
        "slurm-wlm",
        "munge",
    ];
    let mut outcome = apt(&install)?;
    if !outcome.status.success() {
        // A fresh machine may have no package lists yet.
        apt(&["update"])?;
        outcome = apt(&install)?;
    }
    if !outcome.status.success() {
        return Err(format!(
            "apt-get install slurm-wlm munge failed: {}",
            String::from_utf8_lossy(&outcome.stderr).trim()
        ));
    }
    announce(&format!(
        "slurm tests: installed slurm-wlm and munge in {:.0} s",
        started.elapsed().as_secs_f64()
    ));
    match PROGRAMS.into_iter().find(|p| find_program(p).is_none()) {
        Some(p) => Err(format!("{p} is still missing after installing slurm-wlm")),
        None => Ok(()),
    }
}

/// `name` on PATH or in the sbin folders, which a non-login PATH may lack.
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

fn hostname() -> Result<String, String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .map_err(|e| format!("cannot read this machine's hostname: {e}"))
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free local port: {e}"))
}

fn random_key() -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut key = vec![0; 1024];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut key))
        .map_err(|e| format!("cannot read /dev/urandom: {e}"))?;
    Ok(key)
}
