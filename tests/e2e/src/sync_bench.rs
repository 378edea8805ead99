//! `sync-bench`: the sync engine against the Bitbucket simulator through the relay, in one
//! process (simulator → agent with the default allow-list → mTLS tunnel → broker → SQLite in a
//! temp dir). Figures only, no assertions on time; see `docs/benchmarks.md` ("Sync").
//!
//! Scenarios, in order on one stack:
//! - `full`: identities, repositories and pull requests into an empty store: wall time, calls
//!   (the engine's count and the simulator's counters, which must agree), calls by endpoint,
//!   peak RSS (and the simulator's share), SQLite size.
//! - `nothing_changed`: repositories and pull requests again; targets: repositories pass calls ≤
//!   repos + listing pages, pull-requests pass calls ≤ repos with a default branch, well under
//!   a minute.
//! - `changed`: a commit pushed to 1% of the repositories, a new approved pull request in some.
//! - `settled`: nothing changed again, after the changes were synced: back to the baseline.
//! - `freshness`: scheduled pull-request passes under the default budget (5 requests/s),
//!   emulated at a scaled rate and window with the same call budget (see [`freshness`]).
//!
//! Module map:
//! - [`options`]: the command line.
//! - [`stack`]: simulator, broker and agent in this process, wired through real config files.
//! - [`memory`]: RSS and its peak from `/proc/self/status`; file sizes.
//! - [`scenarios`]: full, nothing changed, changed.
//! - [`freshness`]: scheduled passes within the default budget, and how stale PR data gets.
//! - [`audit`]: the agent's audit log: which repositories a pass polled, response sizes.
//! - [`report`]: [`report::Record`], JSON lines and the readable report.

pub mod audit;
pub mod freshness;
pub mod memory;
pub mod options;
pub mod report;
pub mod scenarios;
pub mod stack;

use anyhow::Result;

use crate::bench::machine::Machine;
use options::Options;
use report::print;
use stack::Stack;

/// Runs every scenario and prints each record as it completes.
pub async fn run(options: Options) -> Result<()> {
    relay_shared::tls::install_crypto_provider();
    let profile = options.profile();
    if !options.json {
        println!("{}", report::header(&Machine::detect()));
        println!("starting the {} profile ...", profile.name());
    }
    let stack = Stack::start(profile).await?;
    print(&scenarios::full(&stack).await?, options.json);
    let (record, baseline) = scenarios::nothing_changed(&stack, "nothing_changed").await?;
    print(&record, options.json);
    let record =
        scenarios::changed(&stack, options.changed_percent, options.pr_every, baseline).await?;
    print(&record, options.json);
    print(
        &scenarios::nothing_changed(&stack, "settled").await?.0,
        options.json,
    );
    if !options.no_freshness {
        print(
            &freshness::run(&stack, options.max_passes).await?,
            options.json,
        );
    }
    if let Some(dir) = stack.stop(options.keep_dir).await? {
        eprintln!("sync-bench: kept {}", dir.display());
    }
    Ok(())
}
