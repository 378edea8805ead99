//! `sync-bench`: the sync engine's benchmark against the Bitbucket simulator through the relay
//! (simulator, broker and agent in this process). See `docs/benchmarks.md` ("Sync") and
//! [`relay_e2e::sync_bench`].
//!
//! Build: `cargo build --release -p relay-e2e --bin sync-bench`; run
//! `target/release/sync-bench [--profile tiny|demo|large] [--quick] [--json]`.

use std::process::ExitCode;

use clap::Parser;
use relay_e2e::sync_bench::{self, options::Options};

fn main() -> ExitCode {
    let options = Options::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("sync-bench: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(sync_bench::run(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("sync-bench: {err:#}");
            ExitCode::FAILURE
        }
    }
}
