//! The agent's audit log: one JSON line per call, with the path it forwarded, the response
//! body's size (`bytes_out`) and the call's duration at the agent.

use std::collections::HashSet;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::json;

/// One call as the agent saw it.
pub struct Call {
    pub path: String,
    pub bytes_out: u64,
    pub duration_ms: f64,
}

/// The log's length now (read the calls after it with [`calls_since`]).
pub fn offset(audit: &Path) -> u64 {
    std::fs::metadata(audit).map_or(0, |m| m.len())
}

/// The calls logged after `offset`.
pub fn calls_since(audit: &Path, offset: u64) -> Result<Vec<Call>> {
    let mut file = std::fs::File::open(audit).context("opening the agent's audit log")?;
    file.seek(SeekFrom::Start(offset))?;
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    let mut calls = Vec::new();
    for line in text.lines() {
        let record: serde_json::Value = serde_json::from_str(line)?;
        let target = record["target"].as_str().unwrap_or_default();
        calls.push(Call {
            path: target.split('?').next().unwrap_or_default().to_owned(),
            bytes_out: record["bytes_out"].as_u64().unwrap_or(0),
            duration_ms: record["duration_ms"].as_f64().unwrap_or(0.0),
        });
    }
    Ok(calls)
}

/// The repository (project, slug) whose pull-request list `path` reads, if it does.
pub fn pull_request_list(path: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        [
            "",
            "rest",
            "api",
            "1.0",
            "projects",
            project,
            "repos",
            slug,
            "pull-requests",
        ] => Some((normalise(project), (*slug).to_owned())),
        _ => None,
    }
}

/// The repositories whose pull-request list was read among `calls`.
pub fn polled(calls: &[Call]) -> HashSet<(String, String)> {
    calls
        .iter()
        .filter_map(|c| pull_request_list(&c.path))
        .collect()
}

/// Mean response size and agent-side duration of the pull-request list calls and of the
/// other per-repository calls (`default-branch` in a nothing-changed sync).
pub fn sizes(calls: &[Call]) -> serde_json::Value {
    let (lists, others): (Vec<&Call>, Vec<&Call>) = calls
        .iter()
        .partition(|c| pull_request_list(&c.path).is_some());
    let mean = |set: &[&Call]| {
        let n = set.len().max(1) as f64;
        json!({
            "calls": set.len(),
            "mean_response_bytes": (set.iter().map(|c| c.bytes_out).sum::<u64>() as f64 / n).round(),
            "mean_agent_ms": set.iter().map(|c| c.duration_ms).sum::<f64>() / n,
        })
    };
    json!({ "pull_request_lists": mean(&lists), "other_calls": mean(&others) })
}

/// Personal project keys (`~USER`) may arrive percent-encoded.
pub fn normalise(project: &str) -> String {
    project.replace("%7E", "~").replace("%7e", "~")
}
