//! The closed-loop load generator: `concurrency` tasks, each with its own keep-alive
//! connection, each sending the next request as soon as the previous answer's body is read.
//!
//! A phase is a warm-up (connections opened, nothing recorded) followed by the measured
//! window. Every request that completes inside the window counts towards requests/s and gives
//! one latency sample (request sent → body fully read); requests straddling the window's end
//! are dropped. A non-200 answer or a transport error counts as an error, not a sample.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::bench::client::{Connection, Target};

/// One phase of load against one target.
#[derive(Debug, Clone, Copy)]
pub struct Phase {
    pub concurrency: usize,
    pub warmup: Duration,
    pub measure: Duration,
}

/// What one or more phases measured.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    /// Latency of each request completed in the window, nanoseconds.
    pub latencies_ns: Vec<u64>,
    pub errors: u64,
    pub first_error: Option<String>,
    /// Successful requests including the warm-up (what CPU time is divided by).
    pub completed: u64,
    /// Sum of the measured windows.
    pub window: Duration,
}

impl Samples {
    pub fn merge(&mut self, other: Samples) {
        self.latencies_ns.extend(other.latencies_ns);
        self.errors += other.errors;
        self.first_error = self.first_error.take().or(other.first_error);
        self.completed += other.completed;
        self.window += other.window;
    }

    pub fn requests_per_sec(&self) -> f64 {
        self.latencies_ns.len() as f64 / self.window.as_secs_f64().max(f64::EPSILON)
    }

    /// The `q` quantile (0..=1) in microseconds; call [`Samples::sort`] first.
    pub fn quantile_us(&self, q: f64) -> f64 {
        let n = self.latencies_ns.len();
        if n == 0 {
            return f64::NAN;
        }
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
        self.latencies_ns[rank - 1] as f64 / 1000.0
    }

    pub fn sort(&mut self) {
        self.latencies_ns.sort_unstable();
    }
}

/// Runs one phase against `target` and returns what the window saw.
pub async fn closed_loop(target: &Target, phase: Phase) -> Result<Samples> {
    let start = Instant::now();
    let window_start = start + phase.warmup;
    let window_end = window_start + phase.measure;
    let workers: Vec<_> = (0..phase.concurrency)
        .map(|_| {
            let target = target.clone();
            tokio::spawn(worker(target, window_start, window_end))
        })
        .collect();
    let mut total = Samples {
        window: phase.measure,
        ..Samples::default()
    };
    // A request stuck past this point means the system under test hung: fail, do not wait.
    let limit = phase.warmup + phase.measure + Duration::from_secs(30);
    for handle in workers {
        let abort = handle.abort_handle();
        let deadline = tokio::time::Instant::from_std(start + limit);
        let samples = match tokio::time::timeout_at(deadline, handle).await {
            Ok(joined) => joined.context("a load task panicked")?,
            Err(_) => {
                abort.abort();
                bail!("a request to {} hung for more than 30 s", target.path);
            }
        };
        total.latencies_ns.extend(samples.latencies_ns);
        total.errors += samples.errors;
        total.completed += samples.completed;
        total.first_error = total.first_error.or(samples.first_error);
    }
    Ok(total)
}

async fn worker(target: Target, window_start: Instant, window_end: Instant) -> Samples {
    let mut samples = Samples::default();
    let mut conn: Option<Connection> = None;
    while Instant::now() < window_end {
        let open = match conn.take() {
            Some(open) => open,
            None => match Connection::open(target.addr).await {
                Ok(open) => open,
                Err(err) => {
                    note_error(&mut samples, format!("{err:#}"));
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    continue;
                }
            },
        };
        let mut open = open;
        let sent = Instant::now();
        let result = open.get(&target).await;
        let done = Instant::now();
        let in_window = done >= window_start && done <= window_end;
        match result {
            Ok((status, _)) if status.is_success() => {
                samples.completed += 1;
                if in_window {
                    samples
                        .latencies_ns
                        .push(u64::try_from((done - sent).as_nanos()).unwrap_or(u64::MAX));
                }
                conn = Some(open);
            }
            Ok((status, _)) => {
                note_error(&mut samples, format!("{} answered {status}", target.path));
                conn = Some(open);
            }
            Err(err) => note_error(&mut samples, format!("{err:#}")),
        }
    }
    samples
}

fn note_error(samples: &mut Samples, message: String) {
    samples.errors += 1;
    if samples.first_error.is_none() {
        samples.first_error = Some(message);
    }
}
