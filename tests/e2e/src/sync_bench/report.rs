//! What a scenario measured ([`Record`]), printed as JSON lines or as a readable report.

use std::fmt::Write as _;

use bitbucket_sim::Counters;
use relay_broker::sync::SyncReport;
use serde::Serialize;

use crate::bench::machine::Machine;

/// One pass of the engine within a scenario.
#[derive(Debug, Clone, Serialize)]
pub struct PassFigure {
    pub kind: String,
    pub status: String,
    pub calls: u64,
    pub seconds: f64,
    pub errors: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

impl PassFigure {
    pub fn of(report: &SyncReport) -> PassFigure {
        PassFigure {
            kind: report.kind.as_str().to_owned(),
            status: report.status.as_str().to_owned(),
            calls: report.calls,
            seconds: report.duration_ms as f64 / 1000.0,
            errors: report.errors.len(),
            first_error: report.errors.first().cloned(),
        }
    }
}

/// A target with its verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub name: String,
    pub limit: f64,
    pub measured: f64,
    pub pass: bool,
}

impl Target {
    /// `measured ≤ limit`.
    pub fn at_most(name: impl Into<String>, measured: f64, limit: f64) -> Target {
        Target {
            name: name.into(),
            limit,
            measured,
            pass: measured <= limit,
        }
    }
}

/// Everything one scenario measured.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    pub scenario: &'static str,
    pub profile: &'static str,
    pub repos: usize,
    pub wall_s: f64,
    /// Calls the engine counted (sum over its passes).
    pub engine_calls: u64,
    /// Requests the simulator served during the scenario.
    pub sim_calls: u64,
    pub passes: Vec<PassFigure>,
    /// Simulator requests by endpoint template, most first (top 10).
    pub top_endpoints: Vec<(String, u64)>,
    pub targets: Vec<Target>,
    /// Scenario-specific figures.
    pub detail: serde_json::Value,
    pub machine: Machine,
}

/// The endpoint templates by count, most first.
pub fn by_endpoint(counters: &Counters) -> Vec<(String, u64)> {
    let mut list: Vec<(String, u64)> = counters
        .by_endpoint
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    list
}

/// Prints a record: one JSON line, or the readable form.
pub fn print(record: &Record, json: bool) {
    if json {
        match serde_json::to_string(record) {
            Ok(line) => println!("{line}"),
            Err(err) => eprintln!("sync-bench: cannot serialise a record: {err}"),
        }
    } else {
        print!("{}", render(record));
    }
}

/// The readable form of one record.
pub fn render(r: &Record) -> String {
    let mut out = String::new();
    let agree = if r.engine_calls == r.sim_calls {
        "agree"
    } else {
        "DISAGREE"
    };
    let _ = writeln!(
        out,
        "\n== {} ({} profile, {} repos) ==\nwall {:.2} s; Bitbucket calls: engine {}, simulator {} ({agree})",
        r.scenario, r.profile, r.repos, r.wall_s, r.engine_calls, r.sim_calls
    );
    for p in &r.passes {
        let _ = writeln!(
            out,
            "  pass {:<14} {:<8} {:>9} calls {:>9.2} s {:>6} errors{}",
            p.kind,
            p.status,
            p.calls,
            p.seconds,
            p.errors,
            p.first_error
                .as_ref()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
        );
    }
    if !r.top_endpoints.is_empty() {
        let _ = writeln!(out, "  calls by endpoint:");
        for (template, n) in &r.top_endpoints {
            let _ = writeln!(out, "    {n:>9}  {template}");
        }
    }
    if let Some(map) = r.detail.as_object() {
        for (key, value) in map {
            let _ = writeln!(out, "  {key}: {value}");
        }
    }
    for t in &r.targets {
        let verdict = if t.pass { "PASS" } else { "MISS" };
        let _ = writeln!(
            out,
            "  {verdict}  {}: {} (limit {})",
            t.name, t.measured, t.limit
        );
    }
    out
}

/// The header of the readable report.
pub fn header(machine: &Machine) -> String {
    format!(
        "sync-bench on {} cores ({}), {:.1} GiB, kernel {}, commit {}, {} (load average {})",
        machine.cores,
        machine.cpu_model,
        machine.mem_total_bytes as f64 / f64::from(1u32 << 30),
        machine.kernel,
        machine.commit,
        machine.date,
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .next()
            .unwrap_or("unknown"),
    )
}
