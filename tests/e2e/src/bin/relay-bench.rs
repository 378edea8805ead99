//! `relay-bench`: small GETs, a large body, broker restarts and idle agents, through the relay
//! and direct to the origin in the same run. See `docs/benchmarks.md` and [`relay_e2e::bench`].
//!
//! Build all three binaries (the bench starts `relay-broker` and `relay-agent` from its own
//! directory; `--bin relay-bench` alone would leave whatever agent and broker were built last):
//! `cargo build --release -p relay-agent -p relay-broker -p relay-e2e --bin relay-agent --bin relay-broker --bin relay-bench`

use std::process::ExitCode;

use clap::Parser;
use relay_e2e::bench::{self, options::Options};

fn main() -> ExitCode {
    let options = Options::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("relay-bench: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    // On Ctrl-C or SIGTERM the bench future is dropped, and with it the child-process guards
    // that kill broker and agent.
    let result = runtime.block_on(async {
        tokio::select! {
            result = bench::run(options) => result,
            signal = interrupted() => Err(anyhow::anyhow!("interrupted by {signal}")),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("relay-bench: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn interrupted() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return "SIGINT";
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}
