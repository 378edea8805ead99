//! The `relay-agent` command line.
//!
//! Exit codes: 0 success, 1 runtime failure, 64 bad config or allow-list (EX_USAGE), always
//! before anything is bound or dialled. `doctor` answers 0 (all passed), 1 (warnings) or 2
//! (failures); `healthcheck` 0 (ready) or 1.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use relay_shared::allowlist::{AllowList, import_snyk_accept};
use relay_shared::shutdown::{Shutdown, hangups, stop_signal};
use relay_shared::telemetry::init_tracing;
use tracing::{error, info, warn};

use crate::agent::Agent;
use crate::config::AgentConfig;
use crate::notify;

/// Exit code for bad configuration or usage.
pub const EXIT_CONFIG: u8 = 64;

#[derive(Debug, Parser)]
#[command(
    name = "relay-agent",
    version,
    about = "Bitbucket Relay agent: serves allow-listed Bitbucket calls to the broker"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Connect to the broker and serve calls until stopped.
    Run(ConfigArg),
    /// Validate the config and the allow-list, print a summary, and exit (64 if invalid).
    Check(ConfigArg),
    /// Allow-list tools.
    #[command(subcommand)]
    Allowlist(AllowlistCommand),
    /// Diagnose config, certificates, the broker link and Bitbucket; exit 0 ok, 1 warnings, 2 failures.
    Doctor(ConfigArg),
    /// Ask the local ops endpoint whether the running agent is ready (exit 0) or not (exit 1).
    Healthcheck(HealthcheckArgs),
}

#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    /// Address of the agent's ops listener (`[ops] listen`).
    #[arg(long, env = "RELAY_AGENT_OPS_ADDR", default_value = "127.0.0.1:9091")]
    pub addr: String,
}

#[derive(Debug, Args)]
pub struct ConfigArg {
    /// Path of the agent config file (TOML).
    #[arg(
        long,
        short,
        env = "RELAY_AGENT_CONFIG",
        default_value = "/etc/relay-agent/agent.toml"
    )]
    pub config: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum AllowlistCommand {
    /// Convert a Snyk Broker / Axon Relay accept.json into the native TOML format.
    Import {
        /// The accept.json file.
        accept: PathBuf,
        /// Write the result here (stdout when absent).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Print the built-in default allow-list.
    ShowDefault,
    /// Validate an allow-list file and print its rules and digest.
    Check { file: PathBuf },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    relay_shared::tls::install_crypto_provider();
    match cli.command {
        Command::Run(arg) => run(arg),
        Command::Check(arg) => check(arg),
        Command::Allowlist(command) => allowlist(command),
        Command::Doctor(arg) => crate::doctor::main(&arg.config),
        Command::Healthcheck(args) => relay_shared::healthcheck::main("relay-agent", &args.addr),
    }
}

fn check(arg: ConfigArg) -> ExitCode {
    let config = match AgentConfig::load(&arg.config) {
        Ok(config) => config,
        Err(errors) => {
            eprint!("{errors}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let rules = match &config.allowlist_file {
        Some(path) => AllowList::load(path),
        None => Ok(AllowList::builtin_default()),
    };
    match rules {
        Ok(rules) => {
            println!("{}: ok", arg.config.display());
            println!("  broker:    {}", config.broker.url);
            println!("  bitbucket: {}", config.bitbucket.url);
            println!(
                "  allow-list: {} ({} rules, {})",
                config
                    .allowlist_file
                    .as_ref()
                    .map_or("built-in default".to_owned(), |p| p.display().to_string()),
                rules.rules().len(),
                rules.digest()
            );
            println!("  audit log: {}", config.audit_file.display());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("{err}");
            ExitCode::from(EXIT_CONFIG)
        }
    }
}

fn allowlist(command: AllowlistCommand) -> ExitCode {
    match command {
        AllowlistCommand::ShowDefault => {
            print!("{}", AllowList::DEFAULT_TOML);
            ExitCode::SUCCESS
        }
        AllowlistCommand::Check { file } => match AllowList::load(&file) {
            Ok(list) => {
                for rule in list.rules() {
                    let methods: Vec<&str> = rule.methods().iter().map(|m| m.as_str()).collect();
                    println!(
                        "{:<32} {:<12} {}",
                        rule.id(),
                        methods.join(","),
                        rule.path()
                    );
                }
                for lint in list.lint() {
                    println!("warning: {lint}");
                }
                println!(
                    "{}: ok, {} rules, {}",
                    file.display(),
                    list.rules().len(),
                    list.digest()
                );
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("{err}");
                ExitCode::from(EXIT_CONFIG)
            }
        },
        AllowlistCommand::Import { accept, output } => {
            let text = match std::fs::read_to_string(&accept) {
                Ok(text) => text,
                Err(err) => {
                    eprintln!("reading {}: {err}", accept.display());
                    return ExitCode::from(EXIT_CONFIG);
                }
            };
            match import_snyk_accept(&text, &accept.display().to_string()) {
                Ok(result) => {
                    for warning in &result.warnings {
                        eprintln!("warning: {warning}");
                    }
                    match output {
                        Some(path) => {
                            if let Err(err) = std::fs::write(&path, &result.toml) {
                                eprintln!("writing {}: {err}", path.display());
                                return ExitCode::FAILURE;
                            }
                            eprintln!("wrote {}", path.display());
                        }
                        None => print!("{}", result.toml),
                    }
                    ExitCode::SUCCESS
                }
                Err(err) => {
                    eprintln!("{err}");
                    ExitCode::from(EXIT_CONFIG)
                }
            }
        }
    }
}

fn run(arg: ConfigArg) -> ExitCode {
    let config = match AgentConfig::load(&arg.config) {
        Ok(config) => config,
        Err(errors) => {
            eprint!("{errors}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    init_tracing(config.log_format, &config.log_level);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(config.ops_listen).await {
            Ok(listener) => listener,
            Err(err) => {
                error!(error = %err, addr = %config.ops_listen, "cannot bind the ops listener");
                return ExitCode::FAILURE;
            }
        };
        let shutdown = Shutdown::new();
        // Dial + TLS + upgrade + hello each have connect_timeout: the first attempt ends by then.
        let first_attempt = config.broker.connect_timeout * 4;
        let agent = match Agent::start(config, listener, shutdown.clone()) {
            Ok(agent) => agent,
            Err(err) => {
                error!(error = %err, "agent failed to start");
                return ExitCode::from(EXIT_CONFIG);
            }
        };
        let mut hup = match hangups() {
            Ok(hup) => hup,
            Err(err) => {
                error!(error = %err, "cannot listen for SIGHUP");
                return ExitCode::FAILURE;
            }
        };
        let watchdog = notify::Watchdog::start();
        shutdown.spawn(notify::announce_ready(
            Arc::clone(&agent.readiness),
            agent.metrics.clone(),
            first_attempt,
            shutdown.token(),
        ));
        let stop = stop_signal();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                signal = &mut stop => {
                    info!(?signal, "stopping: draining calls in flight");
                    break;
                }
                _ = hup.recv() => {
                    notify::reloading();
                    if let Err(err) = agent.rules.reload() {
                        warn!(errors = %err, "SIGHUP: allow-list reload refused");
                    }
                    notify::ready();
                }
            }
        }
        notify::stopping();
        if !agent.shutdown().await {
            warn!("grace period over; exiting with calls still in flight");
        }
        watchdog.stop().await;
        ExitCode::SUCCESS
    })
}
