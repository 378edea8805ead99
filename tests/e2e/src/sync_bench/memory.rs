//! This process's memory from `/proc/self/status` (it hosts simulator, broker and agent).

use serde::Serialize;

/// Resident set size now and its high-water mark, in MiB.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Memory {
    pub rss_mib: f64,
    pub peak_rss_mib: f64,
}

impl Memory {
    /// `VmRSS` and `VmHWM` of this process (zeros where `/proc` is unavailable).
    pub fn now() -> Memory {
        let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        Memory {
            rss_mib: field_mib(&text, "VmRSS:"),
            peak_rss_mib: field_mib(&text, "VmHWM:"),
        }
    }
}

fn field_mib(status: &str, name: &str) -> f64 {
    status
        .lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

/// Size of a file in MiB (0 when it does not exist).
pub fn file_mib(path: &std::path::Path) -> f64 {
    std::fs::metadata(path).map_or(0.0, |m| m.len() as f64 / (1024.0 * 1024.0))
}
