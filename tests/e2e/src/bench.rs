//! `relay-bench`: what the relay costs compared with calling the origin directly, on loopback.
//!
//! The bench generates a throwaway PKI and configs in a temp dir, serves a lean origin from
//! its own process (sharing the runtime with the load generator), and starts `relay-broker` and `relay-agent` as child processes (found next to
//! the bench executable) so their memory can be read from `/proc/<pid>/status`. Then it runs:
//!
//! - `small_get`: closed-loop load of a ~300-byte Bitbucket JSON page at concurrency 1, 16, 64
//!   and 256, against the origin directly and through the relay, alternating direct and relay
//!   rounds so drift on a shared machine hits both alike: requests/s, p50, p99.
//! - `large_body`: one streamed body of N MiB, read and discarded, direct and relayed: MiB/s.
//! - `reconnect`: SIGKILL the broker, restart it on the same ports, time until a relayed call
//!   succeeds again (and until the agent counts a new tunnel).
//! - `idle_agents`: K idle tunnel sessions opened by in-process agents: broker RSS per session.
//!
//! With `--external-url` it only runs the small-GET load against that URL (another relay, for
//! a comparison with the same load generator).
//!
//! Module map:
//! - [`options`]: command-line options and the per-mode durations and sizes.
//! - [`machine`]: the machine and commit the figures were taken on.
//! - [`origin`]: the stand-in Bitbucket origin (hyper, HTTP/1.1, keep-alive).
//! - [`process`]: child processes that die with the bench, and their RSS from `/proc`.
//! - [`stack`]: PKI, config files, starting and restarting broker and agent, readiness polling.
//! - [`client`]: the only HTTP client code: one keep-alive HTTP/1.1 connection per caller.
//! - [`cpu`]: CPU time by process, per call or per transfer.
//! - [`load`]: the closed-loop load generator and latency percentiles.
//! - [`scenarios`]: the four scenarios, each producing [`report::Record`]s.
//! - [`report`]: JSON lines, the readable table, and the targets with PASS/MISS.

#![warn(clippy::unwrap_used)]

pub mod client;
pub mod cpu;
pub mod load;
pub mod machine;
pub mod options;
pub mod origin;
pub mod process;
pub mod report;
pub mod scenarios;
pub mod stack;

use anyhow::Result;

use crate::bench::options::Options;
use crate::bench::report::Report;
use crate::bench::stack::Stack;

/// Runs every scenario in order and prints the report as it goes.
pub async fn run(options: Options) -> Result<()> {
    let machine = machine::Machine::detect();
    let mut report = Report::new(options.json, machine);
    report.header();
    if let Some(url) = &options.external_url {
        for record in scenarios::external(url, &options).await? {
            report.add(record);
        }
        report.summary();
        return Ok(());
    }
    let mut stack = Stack::start(options.keep_logs).await?;
    report::note(&format!(
        "broker pid {}, agent pid {}, origin {}, files in {}{}",
        stack.broker.pid(),
        stack.agent.pid(),
        stack.origin.addr,
        stack.dir.path().display(),
        if options.keep_logs { " (kept)" } else { "" }
    ));
    for record in scenarios::small_get(&stack, &options).await? {
        report.add(record);
    }
    report.add(scenarios::large_body(&stack, &options).await?);
    report.add(scenarios::reconnect(&mut stack, &options).await?);
    report.add(scenarios::idle_agents(&stack, &options).await?);
    report.summary();
    stack.stop();
    Ok(())
}
