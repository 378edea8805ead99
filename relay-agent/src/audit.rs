//! The agent's append-only audit log: one JSON line per call made (or refused) on the broker's
//! behalf. It records what was decided and how it went, never credentials or bodies.
//!
//! Lines are written synchronously through a `LineWriter` on an `O_APPEND` file (one `write`
//! per record), so no record is dropped under load and concurrent lines never interleave.

use std::io::{LineWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use serde::Serialize;
use tracing::warn;

/// One audit record.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AuditRecord {
    /// RFC 3339 UTC time the call arrived.
    pub time: String,
    pub request_id: String,
    pub method: String,
    /// The canonical path forwarded (allowed calls) or the raw target, truncated (denials).
    pub target: String,
    /// `allowed`, `denied`, `upstream_error`, `cancelled`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
    /// Rejection reason code for denials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub status: u16,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub duration_ms: f64,
}

/// The audit log file.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    out: Mutex<LineWriter<std::fs::File>>,
}

impl AuditLog {
    /// Opens (creating, mode 0640) the log for appending.
    pub fn open(path: &Path) -> std::io::Result<AuditLog> {
        use std::os::unix::fs::OpenOptionsExt;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o640)
            .open(path)?;
        Ok(AuditLog {
            path: path.to_owned(),
            out: Mutex::new(LineWriter::new(file)),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record.
    pub fn record(&self, record: &AuditRecord) {
        let mut line = match serde_json::to_vec(record) {
            Ok(line) => line,
            Err(err) => {
                warn!(error = %err, "cannot serialise an audit record");
                return;
            }
        };
        line.push(b'\n');
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(err) = out.write_all(&line) {
            warn!(error = %err, path = %self.path.display(), "cannot write the audit log");
        }
    }
}

/// Shortens untrusted text for the audit log (denied targets can be long or hostile).
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}
