//! The `relay-broker` command line.
//!
//! Exit codes: 0 success, 1 runtime failure, 64 bad config or usage (EX_USAGE), checked before
//! any port is bound. `healthcheck` exits 0 when the local `/readyz` answers 200, else 1.
//! Under systemd (`Type=notify`), `serve` reports READY=1 once listening, RELOADING=1/READY=1
//! around a SIGHUP reload, STOPPING=1 when draining, and pings the watchdog when `WatchdogSec=`
//! is set (no-ops elsewhere).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use relay_shared::shutdown::{Shutdown, hangups, stop_signal};
use relay_shared::telemetry::init_tracing;
use sd_notify::NotifyState;
use tracing::{error, info, warn};

use crate::config::BrokerConfig;
use crate::pki::{self, AgentCertRequest, InitOptions};
use crate::server::Broker;

/// Exit code for bad configuration or usage.
pub const EXIT_CONFIG: u8 = 64;

#[derive(Debug, Parser)]
#[command(
    name = "relay-broker",
    version,
    about = "Bitbucket Relay broker: accepts agents, relays calls, serves the API"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the broker.
    Serve(ConfigArg),
    /// Validate the config file and exit (64 if invalid).
    Check(ConfigArg),
    /// Manage the agent CA and certificates.
    #[command(subcommand)]
    Pki(PkiCommand),
    /// Run everything on this machine: a Bitbucket simulator, a broker and an agent with fresh
    /// certificates; sync through the tunnel, print a summary, serve the API until Ctrl-C.
    Demo(DemoArgs),
    /// Test all configurations of a tenant's accounts (through the API); exit 1 on any failure.
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// Trigger a sync of one account now and wait for it (through the API).
    Sync(SyncArgs),
    /// List the agents connected for a tenant (through the API).
    Agents(AgentsArgs),
    /// Ask the local API listener whether the broker is ready (exit 0) or not (exit 1).
    Healthcheck(HealthcheckArgs),
}

#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    /// Address of the API listener, which serves `/readyz` (`[listen] api`).
    #[arg(long, env = "RELAY_BROKER_API_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: String,
}

#[derive(Debug, Args)]
pub struct ConfigArg {
    /// Path of the broker config file (TOML).
    #[arg(
        long,
        short,
        env = "RELAY_BROKER_CONFIG",
        default_value = "/etc/relay-broker/broker.toml"
    )]
    pub config: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum PkiCommand {
    /// Create the agent CA and the broker's server certificate.
    Init {
        /// Directory for agent-ca.pem/.key and broker.pem/.key.
        #[arg(long, default_value = "pki")]
        dir: PathBuf,
        /// DNS name or IP address agents use to reach the broker (repeatable).
        #[arg(long = "name", default_values = ["localhost", "127.0.0.1"])]
        names: Vec<String>,
        #[arg(long, default_value_t = 3650)]
        ca_days: i64,
        #[arg(long, default_value_t = 397)]
        broker_days: i64,
        /// Replace existing files.
        #[arg(long)]
        force: bool,
    },
    /// Issue a certificate and key for one agent.
    IssueAgent {
        /// Directory holding agent-ca.pem and agent-ca.key.
        #[arg(long, default_value = "pki")]
        dir: PathBuf,
        /// Where to write <agent-id>.pem and <agent-id>.key.
        #[arg(long, default_value = "pki/agents")]
        out: PathBuf,
        #[arg(long)]
        agent_id: String,
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        alias: String,
        #[arg(long, default_value_t = 90)]
        days: i64,
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep config, PKI, SQLite file and audit log here (a temp dir, removed at exit, otherwise).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Exit once the first sync is done (for scripts).
    #[arg(long)]
    pub exit_after_sync: bool,
    /// Address of the API (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub api: std::net::SocketAddr,
}

/// Where the broker's API is and the tenant token to use.
#[derive(Debug, Args)]
pub struct ApiArgs {
    /// Base URL of the broker API.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub api: String,
    /// Tenant API token.
    #[arg(long, env = "RELAY_API_TOKEN", hide_env_values = true)]
    pub token: String,
}

#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// Check each account (agent, reachability, version, credentials, projects, admin access).
    Test(ApiArgs),
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// The account alias.
    #[arg(long)]
    pub alias: String,
    /// all, identities, repositories or pull_requests.
    #[arg(long, default_value = "all")]
    pub kind: String,
}

#[derive(Debug, Args)]
pub struct AgentsArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    relay_shared::tls::install_crypto_provider();
    match cli.command {
        Command::Pki(command) => pki_command(command),
        Command::Check(arg) => match BrokerConfig::load(&arg.config) {
            Ok(config) => {
                println!(
                    "{}: ok ({} tenants, {} agents registered)",
                    arg.config.display(),
                    config.directory.tenants.len(),
                    config.directory.agents.len()
                );
                ExitCode::SUCCESS
            }
            Err(errors) => {
                eprint!("{errors}");
                ExitCode::from(EXIT_CONFIG)
            }
        },
        Command::Serve(arg) => serve(arg),
        Command::Demo(args) => runtime().map_or(ExitCode::FAILURE, |rt| rt.block_on(demo(args))),
        Command::Accounts(AccountsCommand::Test(args)) => {
            runtime().map_or(ExitCode::FAILURE, |rt| rt.block_on(accounts_test(args)))
        }
        Command::Sync(args) => runtime().map_or(ExitCode::FAILURE, |rt| rt.block_on(sync(args))),
        Command::Agents(args) => {
            runtime().map_or(ExitCode::FAILURE, |rt| rt.block_on(agents(args)))
        }
        Command::Healthcheck(args) => healthcheck(&args.addr),
    }
}

/// Tells systemd about a state change; a no-op outside systemd, logged on failure.
fn notify(states: &[NotifyState<'_>]) {
    if let Err(err) = sd_notify::notify(states) {
        warn!(error = %err, "cannot notify systemd");
    }
}

/// `GET /readyz` over plain HTTP/1.1 with short timeouts (no curl in the container image).
pub fn healthcheck(addr: &str) -> ExitCode {
    relay_shared::healthcheck::main("relay-broker", addr)
}

fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => Some(rt),
        Err(err) => {
            eprintln!("cannot start the async runtime: {err}");
            None
        }
    }
}

fn pki_command(command: PkiCommand) -> ExitCode {
    let result = match command {
        PkiCommand::Init {
            dir,
            names,
            ca_days,
            broker_days,
            force,
        } => pki::init(
            &dir,
            &InitOptions {
                broker_names: names,
                ca_days,
                broker_days,
            },
            force,
        )
        .map(|paths| {
            for path in paths {
                println!("wrote {}", path.display());
            }
            println!(
                "Keep agent-ca.key offline once agents are issued; agents trust agent-ca.pem."
            );
        }),
        PkiCommand::IssueAgent {
            dir,
            out,
            agent_id,
            tenant,
            alias,
            days,
            force,
        } => {
            let request = AgentCertRequest {
                agent_id,
                tenant,
                alias,
                valid_from_days: 0,
                valid_days: days,
            };
            pki::issue_agent_files(&dir, &out, &request, force).map(|(issued, cert, key)| {
                println!("wrote {}\nwrote {}", cert.display(), key.display());
                println!("valid until {}\n", issued.not_after);
                println!(
                    "Register the agent in the broker config:\n\n{}",
                    issued.config_snippet(&request)
                );
            })
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("relay-broker pki: {err}");
            ExitCode::from(EXIT_CONFIG)
        }
    }
}

fn serve(arg: ConfigArg) -> ExitCode {
    let config = match BrokerConfig::load(&arg.config) {
        Ok(config) => config,
        Err(errors) => {
            eprint!("{errors}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    init_tracing(config.log_format, &config.log_level);
    let Some(rt) = runtime() else {
        return ExitCode::FAILURE;
    };
    rt.block_on(async move {
        let (tunnel_listener, api_listener) = match (
            tokio::net::TcpListener::bind(config.listen_tunnel).await,
            tokio::net::TcpListener::bind(config.listen_api).await,
        ) {
            (Ok(t), Ok(a)) => (t, a),
            (Err(err), _) | (_, Err(err)) => {
                error!(error = %err, "cannot bind the configured listeners");
                return ExitCode::FAILURE;
            }
        };
        let path = config.source.clone();
        let shutdown = Shutdown::new();
        let broker = match Broker::start(config, tunnel_listener, api_listener, shutdown).await {
            Ok(broker) => broker,
            Err(err) => {
                error!(error = %err, "broker failed to start");
                return ExitCode::FAILURE;
            }
        };
        let mut hup = match hangups() {
            Ok(hup) => hup,
            Err(err) => {
                error!(error = %err, "cannot listen for SIGHUP");
                return ExitCode::FAILURE;
            }
        };
        notify(&[NotifyState::Ready]);
        // WatchdogSec=: ping at half the interval from this loop, so a wedged runtime stops pinging.
        let watchdog = sd_notify::watchdog_enabled();
        let half = watchdog.unwrap_or_default() / 2;
        let mut ping = tokio::time::interval(half.max(std::time::Duration::from_millis(100)));
        let stop = stop_signal();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                signal = &mut stop => {
                    info!(?signal, "stopping: draining agents and calls");
                    break;
                }
                _ = ping.tick(), if watchdog.is_some() => notify(&[NotifyState::Watchdog]),
                _ = hup.recv() => {
                    if let Ok(now) = NotifyState::monotonic_usec_now() {
                        notify(&[NotifyState::Reloading, now]);
                    }
                    match BrokerConfig::reload_directory(&path) {
                        Ok(directory) => {
                            info!(tenants = directory.tenants.len(), agents = directory.agents.len(), "config reloaded");
                            broker.apply_directory(directory);
                        }
                        Err(errors) => {
                            broker.metrics.reload_failures.inc();
                            warn!(errors = %errors, "config reload refused; previous settings stay");
                        }
                    }
                    notify(&[NotifyState::Ready]);
                }
            }
        }
        notify(&[NotifyState::Stopping]);
        if broker.shutdown().await {
            info!("drained cleanly");
        } else {
            warn!("grace period over; exiting with calls still in flight");
        }
        ExitCode::SUCCESS
    })
}

async fn agents(args: AgentsArgs) -> ExitCode {
    let listed = crate::remote::call::<Vec<crate::sessions::SessionInfo>>(
        &args.api.api,
        &args.api.token,
        http::Method::GET,
        "/api/v1/agents",
    );
    match listed.await {
        Ok(list) if args.json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&list).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Ok(list) => {
            println!(
                "{:<16} {:<14} {:<20} {:<9} {:<25} {:>9}  ALLOW-LIST",
                "TENANT", "ALIAS", "AGENT", "VERSION", "SINCE", "IN-FLIGHT"
            );
            for s in list {
                println!(
                    "{:<16} {:<14} {:<20} {:<9} {:<25} {:>9}  {} ({} rules)",
                    s.tenant,
                    s.alias,
                    s.agent_id,
                    s.agent_version,
                    s.since.format("%Y-%m-%dT%H:%M:%SZ"),
                    s.in_flight,
                    s.allowlist_digest,
                    s.allowlist_rules
                );
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("relay-broker agents: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn demo(args: DemoArgs) -> ExitCode {
    init_tracing(relay_shared::telemetry::LogFormat::Text, "warn");
    let options = crate::demo::DemoOptions {
        dir: args.dir,
        exit_after_sync: args.exit_after_sync,
        api: args.api,
    };
    let demo = match crate::demo::start(options).await {
        Ok(demo) => demo,
        Err(err) => {
            eprintln!("relay-broker demo: {err:#}");
            return ExitCode::FAILURE;
        }
    };
    print!("{}", crate::demo::render(&demo.summary));
    let failed = !demo.summary.errors.is_empty();
    if !args.exit_after_sync {
        println!("\nServing until Ctrl-C.");
        if let Err(err) = stop_signal().await {
            eprintln!("cannot wait for Ctrl-C: {err}");
        }
    }
    demo.stop().await;
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

async fn accounts_test(args: ApiArgs) -> ExitCode {
    let verdicts = crate::remote::call::<Vec<serde_json::Value>>(
        &args.api,
        &args.token,
        http::Method::POST,
        "/api/v1/accounts/test",
    );
    let verdicts = match verdicts.await {
        Ok(v) => v,
        Err(err) => {
            eprintln!("relay-broker accounts test: {err}");
            return ExitCode::FAILURE;
        }
    };
    let mut failed = false;
    for account in &verdicts {
        let verdict = account["verdict"].as_str().unwrap_or("fail");
        failed |= verdict == "fail";
        println!(
            "{} ({}): {}",
            account["alias"].as_str().unwrap_or("?"),
            account["kind"].as_str().unwrap_or("?"),
            verdict.to_uppercase()
        );
        for check in account["checks"].as_array().into_iter().flatten() {
            println!(
                "  {:<5} {:<12} {}",
                check["status"].as_str().unwrap_or("?").to_uppercase(),
                check["name"].as_str().unwrap_or("?"),
                check["detail"].as_str().unwrap_or_default()
            );
            if let Some(fix) = check["fix"].as_str() {
                println!("        fix: {fix}");
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

async fn sync(args: SyncArgs) -> ExitCode {
    let path = format!(
        "/api/v1/accounts/{}/sync?kind={}&wait=true",
        args.alias, args.kind
    );
    match crate::remote::call::<Vec<serde_json::Value>>(
        &args.api.api,
        &args.api.token,
        http::Method::POST,
        &path,
    )
    .await
    {
        Ok(reports) => {
            let mut ok = true;
            for r in &reports {
                ok &= r["status"] == "ok";
                println!(
                    "{:<14} {:<8} {:>6} calls {:>8} ms  {} errors",
                    r["kind"].as_str().unwrap_or("?"),
                    r["status"].as_str().unwrap_or("?"),
                    r["calls"],
                    r["duration_ms"],
                    r["errors"].as_array().map_or(0, Vec::len)
                );
            }
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(err) => {
            eprintln!("relay-broker sync: {err}");
            ExitCode::FAILURE
        }
    }
}
