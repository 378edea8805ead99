//! Command-line options, and the durations and sizes each mode implies.

use std::time::Duration;

use clap::Parser;

/// Concurrency levels of the small-GET scenario.
pub const CONCURRENCY: [usize; 4] = [1, 16, 64, 256];

#[derive(Debug, Clone, Parser)]
#[command(
    name = "relay-bench",
    about = "Benchmarks the relay (origin ← agent ← broker) against calling the origin directly, on loopback"
)]
pub struct Options {
    /// Print one JSON object per line per scenario instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Short phases, a 64 MiB body and 50 idle agents (about a minute).
    #[arg(long)]
    pub quick: bool,
    /// Size of the large body in MiB (default 1024, 64 with --quick).
    #[arg(long)]
    pub body_mb: Option<u64>,
    /// Measured seconds per mode and concurrency in the small-GET scenario, split over the
    /// alternating rounds (default 4, 1 with --quick).
    #[arg(long)]
    pub duration_secs: Option<f64>,
    /// Idle tunnel sessions opened for the memory-per-agent scenario (default 200, 50 with --quick).
    #[arg(long)]
    pub idle_agents: Option<usize>,
    /// Broker restarts timed in the reconnect scenario (default 5, 3 with --quick).
    #[arg(long)]
    pub restarts: Option<usize>,
    /// Instead of the scenarios, run only the small-GET closed loop against this URL
    /// (`http://host:port/path`, e.g. another relay such as Snyk Broker) and report it.
    #[arg(long, value_name = "URL")]
    pub external_url: Option<String>,
    /// Keep the temp dir (configs, broker/agent logs, audit log) and print its path.
    #[arg(long)]
    pub keep_logs: bool,
}

impl Options {
    /// Measured time per (mode, concurrency), summed over rounds.
    pub fn measure(&self) -> Duration {
        let secs = self
            .duration_secs
            .unwrap_or(if self.quick { 1.0 } else { 4.0 });
        Duration::from_secs_f64(secs.max(0.1))
    }

    /// Unmeasured time before each round (connections opened, caches warm).
    pub fn warmup(&self) -> Duration {
        Duration::from_millis(if self.quick { 200 } else { 500 })
    }

    /// Direct/relay alternations per concurrency level.
    pub fn rounds(&self) -> u32 {
        2
    }

    pub fn body_bytes(&self) -> u64 {
        self.body_mb.unwrap_or(if self.quick { 64 } else { 1024 }) << 20
    }

    pub fn idle_agents(&self) -> usize {
        self.idle_agents
            .unwrap_or(if self.quick { 50 } else { 200 })
    }

    pub fn restarts(&self) -> usize {
        self.restarts
            .unwrap_or(if self.quick { 3 } else { 5 })
            .max(1)
    }
}
