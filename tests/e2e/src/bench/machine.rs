//! The machine and commit the figures were taken on, so a table is never quoted without them.

use serde::Serialize;

/// Where the bench ran.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub cpu_model: String,
    pub mem_total_bytes: u64,
    pub kernel: String,
    pub commit: String,
    /// UTC, RFC 3339.
    pub date: String,
    /// 1-minute load average when the bench started (other work on a shared machine).
    pub loadavg_at_start: f64,
}

impl Machine {
    pub fn detect() -> Machine {
        Machine {
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            cpu_model: cpu_model().unwrap_or_else(|| "unknown".into()),
            mem_total_bytes: mem_total_bytes().unwrap_or(0),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map_or_else(|_| "unknown".into(), |s| s.trim().to_owned()),
            commit: std::env::var("RELAY_BENCH_COMMIT")
                .ok()
                .or_else(git_commit)
                .unwrap_or_else(|| "unknown".into()),
            date: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            loadavg_at_start: loadavg().unwrap_or(f64::NAN),
        }
    }
}

/// The 1-minute load average.
pub fn loadavg() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn cpu_model() -> Option<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    text.lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
}

fn mem_total_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// `git describe --always --dirty` of the current directory's checkout, if there is one
/// (`RELAY_BENCH_COMMIT` overrides it for builds from an export).
fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["describe", "--always", "--dirty", "--abbrev=12"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
