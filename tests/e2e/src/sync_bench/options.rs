//! Command-line options of `sync-bench`.

use bitbucket_sim::Profile;
use clap::Parser;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "sync-bench",
    about = "Benchmarks the sync engine against the Bitbucket simulator through the relay"
)]
pub struct Options {
    /// Simulator profile: tiny, demo or large.
    #[arg(long, default_value = "large", value_parser = parse_profile)]
    pub profile: Profile,
    /// The demo profile (overrides --profile).
    #[arg(long)]
    pub quick: bool,
    /// Print one JSON object per line per scenario instead of the readable report.
    #[arg(long)]
    pub json: bool,
    /// Share of repositories changed in the "changed" scenario, in percent.
    #[arg(long, default_value_t = 1.0)]
    pub changed_percent: f64,
    /// Of the changed repositories, every Nth also gets a new, approved pull request.
    #[arg(long, default_value_t = 5)]
    pub pr_every: usize,
    /// Most scheduled pull-request passes the freshness scenario emulates.
    #[arg(long, default_value_t = 60)]
    pub max_passes: usize,
    /// Keep the temp dir (configs, SQLite file, the agent's audit log) and print its path.
    #[arg(long)]
    pub keep_dir: bool,
    /// Skip the freshness scenario.
    #[arg(long)]
    pub no_freshness: bool,
}

impl Options {
    /// The profile to run (`--quick` is the demo profile).
    pub fn profile(&self) -> Profile {
        if self.quick {
            Profile::Demo
        } else {
            self.profile
        }
    }
}

fn parse_profile(text: &str) -> Result<Profile, String> {
    text.parse()
}
