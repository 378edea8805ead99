//! `bitbucket-sim`: runs the simulator on its own, e.g.
//! `bitbucket-sim --profile demo --listen 127.0.0.1:7990`.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use bitbucket_sim::{Credentials, Profile, RateLimitConfig, SimConfig, Simulator};
use clap::Parser;

#[derive(Debug, Parser)]
#[command(name = "bitbucket-sim", version, about = "A Bitbucket Server / Data Center simulator", after_help = Credentials::help_text())]
struct Args {
    /// Data scale: tiny, demo or large.
    #[arg(long, default_value = "demo")]
    profile: Profile,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7990")]
    listen: SocketAddr,
    /// Seed of the generated data (same seed and profile, same bytes).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Base URL used in links (defaults to http://<listen>).
    #[arg(long)]
    base_url: Option<String>,
    /// Answer 429 without a Retry-After header.
    #[arg(long)]
    no_retry_after: bool,
    /// Turn rate limiting off.
    #[arg(long)]
    no_rate_limit: bool,
    /// Requests a user may burst before 429s.
    #[arg(long, default_value_t = 60)]
    rate_limit_burst: u32,
    /// Tokens refilled per second.
    #[arg(long, default_value_t = 5.0)]
    rate_limit_refill: f64,
    /// Secret for webhooks created without one.
    #[arg(long)]
    webhook_secret: Option<String>,
}

/// Exit status for invalid configuration (EX_CONFIG-style, before any port is bound).
const EXIT_BAD_CONFIG: u8 = 64;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    if !(args.rate_limit_refill.is_finite() && args.rate_limit_refill >= 0.0) {
        eprintln!("bitbucket-sim: --rate-limit-refill must be a non-negative number");
        return ExitCode::from(EXIT_BAD_CONFIG);
    }
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bitbucket-sim: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let config = SimConfig {
        seed: args.seed,
        profile: args.profile,
        rate_limit: RateLimitConfig {
            enabled: !args.no_rate_limit,
            burst: args.rate_limit_burst,
            refill_per_second: args.rate_limit_refill,
            retry_after_header: !args.no_retry_after,
        },
        webhook_secret_default: args.webhook_secret,
        base_url: args
            .base_url
            .unwrap_or_else(|| format!("http://{}", args.listen)),
        ..SimConfig::default()
    };
    let started = std::time::Instant::now();
    let sim = Simulator::new(config);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    tracing::info!(
        profile = args.profile.name(),
        seed = args.seed,
        listen = %args.listen,
        repos = sim.repos_len(),
        startup_ms = started.elapsed().as_millis() as u64,
        "bitbucket-sim ready"
    );
    sim.serve(listener, async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    })
    .await
    .context("serving")
}
