//! Output: one JSON object per line per scenario (`--json`), or a readable table with the
//! relay/direct ratios; either way the targets are checked and marked PASS or MISS.
//! Progress notes go to stderr so `--json` output stays machine-readable.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::bench::machine::Machine;

const MIB: f64 = (1u64 << 20) as f64;

/// One scenario's result. Every record carries every common field (null where it does not
/// apply), so consumers can read the JSON lines without knowing each scenario.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Record {
    pub scenario: &'static str,
    pub concurrency: Option<usize>,
    pub direct_rps: Option<f64>,
    pub relay_rps: Option<f64>,
    pub direct_p50_us: Option<f64>,
    pub relay_p50_us: Option<f64>,
    pub direct_p99_us: Option<f64>,
    pub relay_p99_us: Option<f64>,
    pub broker_peak_rss_bytes: Option<u64>,
    pub agent_peak_rss_bytes: Option<u64>,
    /// Scenario-specific fields (MiB/s, reconnect times, bytes per idle agent, error counts).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Check>,
}

impl Record {
    pub fn extra_f64(&self, key: &str) -> Option<f64> {
        self.extra.get(key).and_then(Value::as_f64)
    }
}

/// One of the targets, checked against a record.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub target: &'static str,
    pub measured: String,
    pub pass: bool,
}

/// A progress note (stderr, so it never mixes with `--json` output).
pub fn note(text: &str) {
    eprintln!("· {text}");
}

/// Collects records and prints them.
pub struct Report {
    json: bool,
    machine: Machine,
    records: Vec<Record>,
}

impl Report {
    pub fn new(json: bool, machine: Machine) -> Report {
        Report {
            json,
            machine,
            records: Vec::new(),
        }
    }

    /// The machine and commit, before any figure.
    pub fn header(&self) {
        let m = &self.machine;
        let line = format!(
            "relay-bench on {} cores ({}), {:.1} GiB RAM, Linux {}, commit {}, {}, load average {:.2}",
            m.cores,
            m.cpu_model,
            m.mem_total_bytes as f64 / MIB / 1024.0,
            m.kernel,
            m.commit,
            m.date,
            m.loadavg_at_start
        );
        if self.json {
            eprintln!("{line}");
        } else {
            println!("{line}\n");
        }
        if m.loadavg_at_start > m.cores as f64 / 2.0 {
            note("the machine is busy with other work: expect noisy figures");
        }
    }

    /// Checks the record's targets, prints it at once in JSON mode, keeps it for the summary.
    pub fn add(&mut self, mut record: Record) {
        record.targets = checks(&record);
        if self.json {
            let mut value = serde_json::to_value(&record).unwrap_or(Value::Null);
            if let Value::Object(map) = &mut value {
                map.insert("machine".into(), json!(self.machine));
            }
            println!("{value}");
        } else {
            for check in &record.targets {
                note(&format!(
                    "{}: {} {}",
                    check.target,
                    check.measured,
                    verdict(check.pass)
                ));
            }
        }
        self.records.push(record);
    }

    /// The tables and the targets (nothing more in JSON mode: each line is already out).
    pub fn summary(&self) {
        if self.json {
            return;
        }
        if self.records.iter().any(|r| r.scenario == "external") {
            self.external_table();
            return;
        }
        self.small_get_table();
        self.cpu_table();
        for record in &self.records {
            match record.scenario {
                "large_body" => large_body_line(record),
                "reconnect" => reconnect_line(record),
                "idle_agents" => idle_line(record),
                _ => {}
            }
        }
        println!(
            "\nLoad average: {:.2} at the start, {:.2} at the end",
            self.machine.loadavg_at_start,
            crate::bench::machine::loadavg().unwrap_or(f64::NAN)
        );
        println!("\nTargets (issue 2; the floor, not the goal):");
        for check in self.records.iter().flat_map(|r| &r.targets) {
            println!(
                "  {:<52} {:>22}  {}",
                check.target,
                check.measured,
                verdict(check.pass)
            );
        }
    }

    fn small_get_table(&self) {
        println!(
            "Small GET (~300 B JSON), closed loop, keep-alive; latency in µs, RSS = peak during the level\n"
        );
        println!(
            "{:>5} {:>11} {:>11} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8} {:>7}",
            "conc",
            "direct r/s",
            "relay r/s",
            "ratio",
            "dir p50",
            "rel p50",
            "added",
            "dir p99",
            "rel p99",
            "brk MiB",
            "agt MiB",
            "errors"
        );
        for r in self.records.iter().filter(|r| r.scenario == "small_get") {
            let num = |v: Option<f64>| v.unwrap_or(f64::NAN);
            let (d_rps, r_rps) = (num(r.direct_rps), num(r.relay_rps));
            let (d50, r50) = (num(r.direct_p50_us), num(r.relay_p50_us));
            println!(
                "{:>5} {:>11.0} {:>11.0} {:>6.2} {:>9.0} {:>9.0} {:>9.0} {:>9.0} {:>9.0} {:>8.1} {:>8.1} {:>7}",
                r.concurrency.unwrap_or(0),
                d_rps,
                r_rps,
                r_rps / d_rps,
                d50,
                r50,
                r50 - d50,
                num(r.direct_p99_us),
                num(r.relay_p99_us),
                mib(r.broker_peak_rss_bytes),
                mib(r.agent_peak_rss_bytes),
                r.extra_f64("direct_errors").unwrap_or(0.0)
                    + r.extra_f64("relay_errors").unwrap_or(0.0)
            );
        }
    }
}

impl Report {
    fn external_table(&self) {
        println!("External endpoint, small GET, closed loop, keep-alive; latency in µs\n");
        println!(
            "{:>5} {:>10} {:>9} {:>9} {:>7}",
            "conc", "req/s", "p50", "p99", "errors"
        );
        for r in &self.records {
            println!(
                "{:>5} {:>10.1} {:>9.0} {:>9.0} {:>7}",
                r.concurrency.unwrap_or(0),
                r.relay_rps.unwrap_or(f64::NAN),
                r.relay_p50_us.unwrap_or(f64::NAN),
                r.relay_p99_us.unwrap_or(f64::NAN),
                r.extra_f64("errors").unwrap_or(0.0)
            );
        }
    }

    /// Where the CPU goes per call: a 2-core machine tops out near 2 s / (sum of the three).
    fn cpu_table(&self) {
        println!(
            "\nCPU µs per successful call (warm-up included; bench = load generator + origin)\n"
        );
        println!(
            "{:>5} {:>13} {:>12} {:>13} {:>12} {:>12}",
            "conc", "direct bench", "relay bench", "relay broker", "relay agent", "relay total"
        );
        for r in self.records.iter().filter(|r| r.scenario == "small_get") {
            let v = |k: &str| r.extra_f64(k).unwrap_or(f64::NAN);
            let (bench, broker, agent) = (
                v("relay_bench_cpu_us_per_call"),
                v("relay_broker_cpu_us_per_call"),
                v("relay_agent_cpu_us_per_call"),
            );
            println!(
                "{:>5} {:>13.1} {:>12.1} {:>13.1} {:>12.1} {:>12.1}",
                r.concurrency.unwrap_or(0),
                v("direct_bench_cpu_us_per_call"),
                bench,
                broker,
                agent,
                bench + broker + agent
            );
        }
    }
}

fn large_body_line(r: &Record) {
    let direct = r.extra_f64("direct_mb_s").unwrap_or(f64::NAN);
    let relay = r.extra_f64("relay_mb_s").unwrap_or(f64::NAN);
    println!(
        "\nLarge body {:.0} MiB, streamed and discarded: direct {direct:.0} MiB/s, relay {relay:.0} MiB/s \
         (ratio {:.2}); peak RSS broker {:.1} MiB, agent {:.1} MiB",
        r.extra_f64("body_bytes").unwrap_or(0.0) / MIB,
        relay / direct,
        mib(r.broker_peak_rss_bytes),
        mib(r.agent_peak_rss_bytes)
    );
    println!(
        "  CPU seconds for the relayed body: broker {:.2}, agent {:.2}, bench {:.2} (direct: bench {:.2})",
        r.extra_f64("relay_broker_cpu_s").unwrap_or(f64::NAN),
        r.extra_f64("relay_agent_cpu_s").unwrap_or(f64::NAN),
        r.extra_f64("relay_bench_cpu_s").unwrap_or(f64::NAN),
        r.extra_f64("direct_bench_cpu_s").unwrap_or(f64::NAN)
    );
}

fn reconnect_line(r: &Record) {
    println!(
        "\nReconnect after SIGKILL + restart of the broker ({} runs, median): relayed call OK after {:.0} ms \
         (broker ready {:.0} ms, agent reports a new tunnel {:.0} ms); runs: {}",
        r.extra.get("runs").and_then(Value::as_u64).unwrap_or(0),
        r.extra_f64("reconnect_ms").unwrap_or(f64::NAN),
        r.extra_f64("broker_ready_ms").unwrap_or(f64::NAN),
        r.extra_f64("agent_reconnect_ms").unwrap_or(f64::NAN),
        r.extra
            .get("reconnect_runs_ms")
            .map_or(String::new(), Value::to_string)
    );
}

fn idle_line(r: &Record) {
    println!(
        "\nIdle agents: {} sessions added {:.1} MiB to the broker's RSS: {:.1} KiB per idle agent",
        r.extra
            .get("idle_agents")
            .and_then(Value::as_u64)
            .unwrap_or(0),
        r.extra_f64("broker_rss_added_bytes").unwrap_or(f64::NAN) / MIB,
        r.extra_f64("broker_bytes_per_idle_agent")
            .unwrap_or(f64::NAN)
            / 1024.0
    );
}

fn mib(bytes: Option<u64>) -> f64 {
    bytes.map_or(f64::NAN, |b| b as f64 / MIB)
}

fn verdict(pass: bool) -> &'static str {
    if pass { "PASS" } else { "MISS" }
}

/// The targets that apply to this record.
fn checks(r: &Record) -> Vec<Check> {
    let mut out = Vec::new();
    match (r.scenario, r.concurrency) {
        ("small_get", Some(1)) => {
            if let (Some(relay), Some(direct)) = (r.relay_p50_us, r.direct_p50_us) {
                let added = relay - direct;
                out.push(Check {
                    target: "added p50 at concurrency 1 < 500 µs",
                    measured: format!("{added:.0} µs"),
                    pass: added < 500.0,
                });
            }
        }
        ("small_get", Some(64)) => {
            if let (Some(relay), Some(direct)) = (r.relay_rps, r.direct_rps) {
                let ratio = relay / direct;
                out.push(Check {
                    target: "relay/direct throughput at concurrency 64 ≥ 0.5",
                    measured: format!("{ratio:.2}"),
                    pass: ratio >= 0.5,
                });
            }
        }
        ("large_body", _) => {
            if let Some(relay) = r.extra_f64("relay_mb_s") {
                out.push(Check {
                    target: "large body through the relay ≥ 300 MiB/s",
                    measured: format!("{relay:.0} MiB/s"),
                    pass: relay >= 300.0,
                });
            }
            for (who, peak) in [
                ("broker", r.broker_peak_rss_bytes),
                ("agent", r.agent_peak_rss_bytes),
            ] {
                if let Some(peak) = peak {
                    out.push(Check {
                        target: if who == "broker" {
                            "broker peak RSS during the large body < 64 MiB"
                        } else {
                            "agent peak RSS during the large body < 64 MiB"
                        },
                        measured: format!("{:.1} MiB", peak as f64 / MIB),
                        pass: peak < 64 << 20,
                    });
                }
            }
        }
        _ => {}
    }
    out
}
