//! Child processes (broker, agent) that never outlive the bench, and their memory from `/proc`.
//!
//! Peak RSS is the kernel's `VmHWM`. Writing `5` to `/proc/<pid>/clear_refs` resets it to the
//! current RSS (Linux ≥ 4.0), which lets each scenario report its own peak.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// A child process killed (SIGKILL) and reaped when dropped, so an error or a panic in the
/// bench never leaves a broker or agent behind.
#[derive(Debug)]
pub struct ChildProcess {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl ChildProcess {
    /// Starts `program args...` with stdout and stderr appended to `log`.
    pub fn spawn(name: &'static str, program: &Path, args: &[&str], log: &Path) -> Result<Self> {
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening {}", log.display()))?;
        let err = out.try_clone()?;
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .env_remove("RUST_LOG")
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        Ok(ChildProcess {
            name,
            child,
            log: log.to_owned(),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails with the log's tail if the process has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "{} exited ({status}); last lines of {}:\n{}",
                self.name,
                self.log.display(),
                self.log_tail(20)
            );
        }
        Ok(())
    }

    /// SIGKILL and reap (a crash, as far as peers can tell).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// User + system CPU time the process has used so far.
    pub fn cpu_time(&self) -> Result<Duration> {
        cpu_time_of(&self.pid().to_string())
    }

    pub fn memory(&self) -> Result<Memory> {
        Memory::of(self.pid())
    }

    /// Resets the peak (VmHWM) to the current RSS; false when the kernel refuses.
    pub fn reset_peak(&self) -> bool {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5").is_ok()
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Resident memory of one process.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    pub rss_bytes: u64,
    pub peak_rss_bytes: u64,
}

impl Memory {
    pub fn of(pid: u32) -> Result<Memory> {
        let path = format!("/proc/{pid}/status");
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        let field = |name: &str| -> Result<u64> {
            let line = text
                .lines()
                .find(|l| l.starts_with(name))
                .with_context(|| format!("{path} has no {name}"))?;
            let kib: u64 = line
                .split_whitespace()
                .nth(1)
                .and_then(|v| v.parse().ok())
                .with_context(|| format!("unreadable {line:?} in {path}"))?;
            Ok(kib * 1024)
        };
        Ok(Memory {
            rss_bytes: field("VmRSS:")?,
            peak_rss_bytes: field("VmHWM:")?,
        })
    }
}

/// User + system CPU time of `/proc/<pid>` (all threads), e.g. `"self"`.
///
/// `/proc/<pid>/stat` counts in USER_HZ, which the kernel ABI fixes at 100 per second.
pub fn cpu_time_of(pid: &str) -> Result<Duration> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    // Fields after the command name (which may contain spaces) start at field 3 ("state").
    let rest = text
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .with_context(|| format!("unreadable {path}"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> Result<u64> {
        fields
            .get(i)
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("unreadable CPU times in {path}"))
    };
    // utime and stime are fields 14 and 15, i.e. 11 and 12 after "state" (field 3).
    Ok(Duration::from_millis((ticks(11)? + ticks(12)?) * 10))
}

/// `name` next to the running executable, or an error saying how to build it.
pub fn sibling_binary(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the relay-bench executable")?;
    let dir = exe
        .parent()
        .context("the relay-bench executable has no parent directory")?;
    let path = dir.join(name);
    if !path.is_file() {
        bail!(
            "{name} not found at {}: build the binaries with\n  \
             CARGO_TARGET_DIR={} cargo build --release -p relay-agent -p relay-broker -p relay-e2e \
             --bin relay-agent --bin relay-broker --bin relay-bench",
            path.display(),
            dir.parent().map_or(dir, |p| p).display()
        );
    }
    Ok(path)
}

/// When the file was last written (UTC), to make a stale sibling binary visible.
pub fn modified(path: &Path) -> String {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map_or_else(
            |_| "unknown".into(),
            |t| {
                chrono::DateTime::<chrono::Utc>::from(t)
                    .format("%Y-%m-%d %H:%M UTC")
                    .to_string()
            },
        )
}
