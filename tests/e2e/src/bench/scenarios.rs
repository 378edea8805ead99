//! The four scenarios. Each resets the child processes' peak RSS when it starts, so the peak
//! it reports is its own.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use relay_agent::agent::Agent;
use relay_shared::shutdown::Shutdown;
use serde_json::{Map, json};

use crate::bench::client::{Connection, Target, fetch};
use crate::bench::cpu::{CpuUse, cpu_per_call};
use crate::bench::load::{Phase, Samples, closed_loop};
use crate::bench::options::{CONCURRENCY, Options};
use crate::bench::report::{Record, note};
use crate::bench::stack::{IDLE_ALIAS, Stack};

/// The small GET: the first page of projects, as the sync engine asks for it.
pub const SMALL_GET: &str = "/rest/api/1.0/projects?limit=25";

/// Small GET at each concurrency level, direct and relayed, in alternating rounds (ABBA, so a
/// machine that drifts during a level penalises neither side).
pub async fn small_get(stack: &Stack, options: &Options) -> Result<Vec<Record>> {
    let direct = stack.direct(SMALL_GET);
    let relay = stack.relay(SMALL_GET);
    let mut records = Vec::new();
    for concurrency in CONCURRENCY {
        reset_peaks(stack);
        let phase = Phase {
            concurrency,
            warmup: options.warmup(),
            measure: options.measure() / options.rounds(),
        };
        let (mut d, mut r) = (Samples::default(), Samples::default());
        let (mut d_cpu, mut r_cpu) = (CpuUse::default(), CpuUse::default());
        for round in 0..options.rounds() {
            let order = if round % 2 == 0 {
                [(&direct, false), (&relay, true)]
            } else {
                [(&relay, true), (&direct, false)]
            };
            for (target, relayed) in order {
                note(&format!(
                    "small_get c={concurrency} {} round {}/{}",
                    if relayed { "relay" } else { "direct" },
                    round + 1,
                    options.rounds()
                ));
                let before = CpuUse::now(stack)?;
                let samples = closed_loop(target, phase).await?;
                let used = CpuUse::now(stack)?.since(before);
                if relayed {
                    r.merge(samples);
                    r_cpu.add(used);
                } else {
                    d.merge(samples);
                    d_cpu.add(used);
                }
            }
        }
        let cpu = cpu_per_call(&d_cpu, d.completed, &r_cpu, r.completed);
        let mut record = small_get_record(stack, concurrency, d, r)?;
        record.extra.extend(cpu);
        records.push(record);
    }
    Ok(records)
}

fn small_get_record(
    stack: &Stack,
    concurrency: usize,
    mut direct: Samples,
    mut relay: Samples,
) -> Result<Record> {
    for (name, samples) in [("direct", &direct), ("relay", &relay)] {
        if samples.latencies_ns.is_empty() {
            bail!(
                "small_get c={concurrency}: no {name} request succeeded ({})",
                samples
                    .first_error
                    .as_deref()
                    .unwrap_or("no error recorded")
            );
        }
        if let Some(err) = &samples.first_error {
            note(&format!(
                "small_get c={concurrency} {name}: {} errors, first: {err}",
                samples.errors
            ));
        }
    }
    direct.sort();
    relay.sort();
    let mut extra = Map::new();
    extra.insert("direct_errors".into(), json!(direct.errors));
    extra.insert("relay_errors".into(), json!(relay.errors));
    extra.insert("direct_requests".into(), json!(direct.latencies_ns.len()));
    extra.insert("relay_requests".into(), json!(relay.latencies_ns.len()));
    extra.insert("measured_secs".into(), json!(direct.window.as_secs_f64()));
    extra.insert(
        "response_bytes".into(),
        json!(super::origin::PROJECTS_PAGE.len()),
    );
    let (broker, agent) = peaks(stack)?;
    Ok(Record {
        scenario: "small_get",
        concurrency: Some(concurrency),
        direct_rps: Some(round1(direct.requests_per_sec())),
        relay_rps: Some(round1(relay.requests_per_sec())),
        direct_p50_us: Some(round1(direct.quantile_us(0.50))),
        relay_p50_us: Some(round1(relay.quantile_us(0.50))),
        direct_p99_us: Some(round1(direct.quantile_us(0.99))),
        relay_p99_us: Some(round1(relay.quantile_us(0.99))),
        broker_peak_rss_bytes: Some(broker),
        agent_peak_rss_bytes: Some(agent),
        extra,
        targets: Vec::new(),
    })
}

/// The small-GET closed loop against someone else's endpoint (one connection per task).
pub async fn external(url: &str, options: &Options) -> Result<Vec<Record>> {
    let rest = url
        .strip_prefix("http://")
        .with_context(|| format!("{url}: only http:// URLs are supported"))?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let addr = authority
        .parse()
        .with_context(|| format!("{url}: the host must be an IP address and port"))?;
    let target = Target::new(addr, if path.is_empty() { "/" } else { path });
    let mut records = Vec::new();
    for concurrency in CONCURRENCY {
        note(&format!("external c={concurrency}"));
        let phase = Phase {
            concurrency,
            warmup: options.warmup(),
            measure: options.measure(),
        };
        // Someone else's server may give up under load: report the levels it managed.
        let mut samples = match closed_loop(&target, phase).await {
            Ok(samples) => samples,
            Err(err) => {
                note(&format!("c={concurrency}: {err:#}; stopping here"));
                break;
            }
        };
        samples.sort();
        let mut extra = Map::new();
        extra.insert("url".into(), json!(url));
        extra.insert("errors".into(), json!(samples.errors));
        if let Some(err) = &samples.first_error {
            note(&format!(
                "c={concurrency}: {} errors, first: {err}",
                samples.errors
            ));
        }
        records.push(Record {
            scenario: "external",
            concurrency: Some(concurrency),
            relay_rps: Some(round1(samples.requests_per_sec())),
            relay_p50_us: Some(round1(samples.quantile_us(0.50))),
            relay_p99_us: Some(round1(samples.quantile_us(0.99))),
            extra,
            ..Record::default()
        });
    }
    Ok(records)
}

/// One body of `--body-mb` MiB, direct then relayed, read and discarded.
pub async fn large_body(stack: &Stack, options: &Options) -> Result<Record> {
    let bytes = options.body_bytes();
    let path = format!("/rest/api/1.0/projects/BENCH/repos/bench/raw/size-{bytes}");
    reset_peaks(stack);
    note(&format!("large_body {} MiB direct", bytes >> 20));
    let before = CpuUse::now(stack)?;
    let direct = download(&stack.direct(&path), bytes).await?;
    let direct_cpu = CpuUse::now(stack)?.since(before);
    note(&format!("large_body {} MiB relay", bytes >> 20));
    let before = CpuUse::now(stack)?;
    let relay = download(&stack.relay(&path), bytes).await?;
    let relay_cpu = CpuUse::now(stack)?.since(before);
    let (broker, agent) = peaks(stack)?;
    let mib_s = |d: Duration| round1(bytes as f64 / (1u64 << 20) as f64 / d.as_secs_f64());
    let mut extra = Map::new();
    extra.insert("direct_mb_s".into(), json!(mib_s(direct)));
    extra.insert("relay_mb_s".into(), json!(mib_s(relay)));
    extra.insert("body_bytes".into(), json!(bytes));
    extra.insert("direct_secs".into(), json!(direct.as_secs_f64()));
    extra.insert("relay_secs".into(), json!(relay.as_secs_f64()));
    extra.insert(
        "direct_bench_cpu_s".into(),
        json!(direct_cpu.bench.as_secs_f64()),
    );
    extra.insert(
        "relay_bench_cpu_s".into(),
        json!(relay_cpu.bench.as_secs_f64()),
    );
    extra.insert(
        "relay_broker_cpu_s".into(),
        json!(relay_cpu.broker.as_secs_f64()),
    );
    extra.insert(
        "relay_agent_cpu_s".into(),
        json!(relay_cpu.agent.as_secs_f64()),
    );
    Ok(Record {
        scenario: "large_body",
        concurrency: Some(1),
        broker_peak_rss_bytes: Some(broker),
        agent_peak_rss_bytes: Some(agent),
        extra,
        ..Record::default()
    })
}

/// Time from sending the request to the last body byte.
async fn download(target: &Target, expected: u64) -> Result<Duration> {
    let limit = Duration::from_secs(30) + Duration::from_millis(expected >> 20) * 100;
    let call = async {
        let mut conn = Connection::open(target.addr).await?;
        let started = Instant::now();
        let (status, got) = conn.get(target).await?;
        anyhow::Ok((status, got, started.elapsed()))
    };
    let (status, got, elapsed) = tokio::time::timeout(limit, call)
        .await
        .with_context(|| format!("GET {} took more than {limit:?}", target.path))??;
    if !status.is_success() || got != expected {
        bail!("GET {}: {status}, {got} of {expected} bytes", target.path);
    }
    Ok(elapsed)
}

/// SIGKILL the broker, restart it on the same ports, poll until a relayed call succeeds.
pub async fn reconnect(stack: &mut Stack, options: &Options) -> Result<Record> {
    reset_peaks(stack);
    let mut runs = Vec::new();
    for run in 0..options.restarts() {
        note(&format!("reconnect {}/{}", run + 1, options.restarts()));
        runs.push(one_restart(stack).await?);
    }
    let (broker, agent) = peaks(stack)?;
    let median_of = |pick: fn(&Restart) -> f64| {
        let mut values: Vec<f64> = runs.iter().map(pick).collect();
        round1(median(&mut values))
    };
    let mut extra = Map::new();
    extra.insert("runs".into(), json!(runs.len()));
    extra.insert("reconnect_ms".into(), json!(median_of(|r| r.relay_ok_ms)));
    extra.insert(
        "broker_ready_ms".into(),
        json!(median_of(|r| r.broker_up_ms)),
    );
    extra.insert(
        "agent_reconnect_ms".into(),
        json!(median_of(|r| r.agent_ms)),
    );
    let each: Vec<f64> = runs.iter().map(|r| round1(r.relay_ok_ms)).collect();
    extra.insert("reconnect_runs_ms".into(), json!(each));
    Ok(Record {
        scenario: "reconnect",
        broker_peak_rss_bytes: Some(broker),
        agent_peak_rss_bytes: Some(agent),
        extra,
        ..Record::default()
    })
}

/// Milliseconds after the kill at which each milestone was first observed.
struct Restart {
    /// The broker's API answered anything (a 503 "no agent" counts).
    broker_up_ms: f64,
    /// The agent's own `tunnel_connects` metric went up.
    agent_ms: f64,
    /// A relayed call answered 200.
    relay_ok_ms: f64,
}

async fn one_restart(stack: &mut Stack) -> Result<Restart> {
    let connects = stack.agent_tunnel_connects().await?;
    let probe = stack.relay(SMALL_GET);
    let killed = Instant::now();
    stack.kill_broker();
    stack.respawn_broker()?;
    let ms = |at: Instant| at.duration_since(killed).as_secs_f64() * 1000.0;
    let (mut broker_up, mut agent, mut relay_ok) = (None, None, None);
    while relay_ok.is_none() || agent.is_none() {
        stack.broker.check_alive()?;
        if killed.elapsed() > Duration::from_secs(60) {
            bail!(
                "no relayed call succeeded within 60 s of the broker restart; agent log ends with:\n{}",
                stack.agent.log_tail(20)
            );
        }
        if agent.is_none() && stack.agent_tunnel_connects().await.unwrap_or(0) > connects {
            agent = Some(ms(Instant::now()));
        }
        if relay_ok.is_none()
            && let Ok((status, _)) = fetch(&probe, Duration::from_secs(2)).await
        {
            let now = ms(Instant::now());
            broker_up.get_or_insert(now);
            if status.is_success() {
                relay_ok = Some(now);
            }
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(Restart {
        broker_up_ms: broker_up.unwrap_or(f64::NAN),
        agent_ms: agent.unwrap_or(f64::NAN),
        relay_ok_ms: relay_ok.unwrap_or(f64::NAN),
    })
}

/// K in-process agents open idle tunnels; the broker's RSS growth divided by K.
pub async fn idle_agents(stack: &Stack, options: &Options) -> Result<Record> {
    let k = options.idle_agents();
    reset_peaks(stack);
    let before = stack.broker.memory()?.rss_bytes;
    note(&format!("idle_agents: opening {k} tunnel sessions"));
    let started = Instant::now();
    let mut agents = Vec::with_capacity(k);
    for _ in 0..k {
        let ops = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let agent = Agent::start(stack.idle_agent_config()?, ops, Shutdown::new())
            .map_err(|e| anyhow::anyhow!("starting an in-process agent: {e}"))?;
        agents.push(agent);
    }
    wait_idle_sessions(stack, |n| n >= k).await?;
    let connect_all = started.elapsed();
    // Let the last HTTP/2 handshakes and TLS buffers settle before reading RSS.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = stack.broker.memory()?.rss_bytes;
    note("idle_agents: closing the sessions");
    futures_util::future::join_all(agents.iter().map(Agent::shutdown)).await;
    wait_idle_sessions(stack, |n| n == 0).await?;
    let released = stack.broker.memory()?.rss_bytes;
    let (broker, agent) = peaks(stack)?;
    let added = after.saturating_sub(before);
    let mut extra = Map::new();
    extra.insert("idle_agents".into(), json!(k));
    extra.insert("broker_rss_before_bytes".into(), json!(before));
    extra.insert("broker_rss_after_bytes".into(), json!(after));
    extra.insert("broker_rss_added_bytes".into(), json!(added));
    extra.insert(
        "broker_bytes_per_idle_agent".into(),
        json!(added / k.max(1) as u64),
    );
    extra.insert("broker_rss_after_disconnect_bytes".into(), json!(released));
    extra.insert(
        "connect_all_ms".into(),
        json!(round1(connect_all.as_secs_f64() * 1000.0)),
    );
    Ok(Record {
        scenario: "idle_agents",
        broker_peak_rss_bytes: Some(broker),
        agent_peak_rss_bytes: Some(agent),
        extra,
        ..Record::default()
    })
}

async fn wait_idle_sessions(stack: &Stack, done: impl Fn(usize) -> bool) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let n = stack.sessions(IDLE_ALIAS).await?;
        if done(n) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("idle agents: {n} sessions after 120 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn reset_peaks(stack: &Stack) {
    if !(stack.broker.reset_peak() && stack.agent.reset_peak()) {
        note("cannot reset VmHWM (clear_refs): peaks are since process start");
    }
}

/// Peak RSS (VmHWM) of broker and agent.
fn peaks(stack: &Stack) -> Result<(u64, u64)> {
    Ok((
        stack.broker.memory()?.peak_rss_bytes,
        stack.agent.memory()?.peak_rss_bytes,
    ))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}
