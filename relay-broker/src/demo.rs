//! `relay-broker demo`: the whole product on one machine, in one command.
//!
//! Starts the Bitbucket Server simulator (`demo` profile) on 127.0.0.1, creates a throwaway PKI,
//! writes real broker and agent config files, starts a broker on a SQLite file and an agent that
//! dials it over mutual TLS, runs a full sync through the tunnel, prints what it synced and what
//! it cost, and keeps the API serving until Ctrl-C (or exits at once with `--exit-after-sync`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bitbucket_sim::{Profile, RateLimitConfig, SimConfig, Simulator};
use relay_agent::agent::Agent;
use relay_agent::config::AgentConfig;
use relay_shared::shutdown::Shutdown;
use tokio::net::TcpListener;

use crate::config::BrokerConfig;
use crate::pki::{AgentCertRequest, Ca};
use crate::server::Broker;
use crate::store::SyncKind;

pub const TENANT: &str = "demo";
pub const ALIAS: &str = "bitbucket";
const AGENT_ID: &str = "demo-agent";

/// Demo options (see `relay-broker demo --help`).
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Where config, PKI, the SQLite file and the audit log go; a fresh temp dir when `None`.
    pub dir: Option<PathBuf>,
    pub exit_after_sync: bool,
    /// The API address (`127.0.0.1:0` picks a free port).
    pub api: SocketAddr,
}

/// What the demo did, for the summary (and for tests).
#[derive(Debug, Clone)]
pub struct DemoSummary {
    pub dir: PathBuf,
    pub api: SocketAddr,
    pub token: String,
    pub counts: crate::store::Counts,
    pub calls: u64,
    pub sim_requests: u64,
    pub errors: Vec<String>,
    pub elapsed: Duration,
}

/// A running demo: simulator, broker and agent.
pub struct Demo {
    pub summary: DemoSummary,
    pub broker: Broker,
    pub agent: Agent,
    pub sim: Simulator,
    shutdown: Shutdown,
    remove_dir: bool,
}

impl std::fmt::Debug for Demo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Demo")
            .field("summary", &self.summary)
            .finish_non_exhaustive()
    }
}

fn io(what: &str) -> impl Fn(std::io::Error) -> anyhow::Error + '_ {
    move |e| anyhow::anyhow!("{what}: {e}")
}

/// Starts everything and runs the first full sync.
pub async fn start(options: DemoOptions) -> anyhow::Result<Demo> {
    let started = Instant::now();
    relay_shared::tls::install_crypto_provider();
    let remove_dir = options.dir.is_none();
    let dir = options.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!(
            "bitbucket-relay-demo-{}",
            relay_shared::protocol::new_request_id()
        ))
    });
    std::fs::create_dir_all(dir.join("pki")).map_err(io("creating the demo directory"))?;
    let shutdown = Shutdown::new();

    let sim_listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(io("binding the simulator"))?;
    let sim_url = format!("http://{}", sim_listener.local_addr()?);
    let sim = Simulator::new(SimConfig {
        profile: Profile::Demo,
        base_url: sim_url.clone(),
        // A generous limit: the demo shows the sync, not Bitbucket's throttling.
        rate_limit: RateLimitConfig {
            burst: 1000,
            refill_per_second: 1000.0,
            ..RateLimitConfig::default()
        },
        ..SimConfig::default()
    });
    let sim_stop = shutdown.clone();
    let serving = sim.clone();
    shutdown.spawn(async move {
        serving
            .serve(sim_listener, async move { sim_stop.stopped().await })
            .await
    });

    let token = format!("demo-{}", relay_shared::protocol::new_request_id());
    write_pki(&dir)?;
    std::fs::write(dir.join("demo.token"), &token).map_err(io("writing the token"))?;
    let credentials = sim.credentials();
    std::fs::write(dir.join("bitbucket.password"), &credentials.admin_password)
        .map_err(io("writing the password"))?;
    std::fs::write(dir.join("broker.toml"), broker_toml()).map_err(io("writing broker.toml"))?;
    std::fs::write(
        dir.join("agent.toml"),
        agent_toml(&sim_url, &credentials.admin_user),
    )
    .map_err(io("writing agent.toml"))?;

    let config =
        BrokerConfig::load(&dir.join("broker.toml")).map_err(|e| anyhow::anyhow!("{e}"))?;
    let tunnel = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(io("binding the tunnel listener"))?;
    let api_listener = TcpListener::bind(options.api)
        .await
        .map_err(io("binding the API"))?;
    let broker = Broker::start(config, tunnel, api_listener, shutdown.clone()).await?;
    rewrite_agent_port(&dir, broker.tunnel_addr)?;
    let agent_config =
        AgentConfig::load(&dir.join("agent.toml")).map_err(|e| anyhow::anyhow!("{e}"))?;
    let ops = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(io("binding the agent ops port"))?;
    let agent = Agent::start(agent_config, ops, shutdown.clone())?;
    wait_for_agent(&broker).await?;

    let reports = broker.engine.full_sync(TENANT, ALIAS).await?;
    let counts = broker.store.counts(TENANT).await?;
    let summary = DemoSummary {
        dir: dir.clone(),
        api: broker.api_addr,
        token,
        counts,
        calls: reports.iter().map(|r| r.calls).sum(),
        sim_requests: sim.counters().total,
        errors: reports
            .iter()
            .flat_map(|r| r.errors.iter().map(|e| format!("{}: {e}", r.kind.as_str())))
            .collect(),
        elapsed: started.elapsed(),
    };
    debug_assert!(reports.iter().any(|r| r.kind == SyncKind::Repositories));
    Ok(Demo {
        summary,
        broker,
        agent,
        sim,
        shutdown,
        remove_dir,
    })
}

impl Demo {
    /// Drains everything and removes the temp dir (when the demo made it).
    pub async fn stop(self) {
        self.agent.shutdown().await;
        self.broker.shutdown().await;
        self.shutdown.drain(Duration::from_secs(5)).await;
        if self.remove_dir {
            let _ = std::fs::remove_dir_all(&self.summary.dir);
        }
    }
}

async fn wait_for_agent(broker: &Broker) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while broker.sessions.connected(TENANT, ALIAS) == 0 {
        if Instant::now() > deadline {
            anyhow::bail!("the demo agent did not connect within 30 s; see the log above");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

fn write_pki(dir: &Path) -> anyhow::Result<()> {
    let ca = Ca::generate(30)?;
    let (cert, key) = ca.issue_server(&["localhost".into(), "127.0.0.1".into()], 30)?;
    let agent = ca.issue_agent(&AgentCertRequest {
        agent_id: AGENT_ID.into(),
        tenant: TENANT.into(),
        alias: ALIAS.into(),
        valid_from_days: 0,
        valid_days: 30,
    })?;
    for (name, text) in [
        ("agent-ca.pem", ca.cert_pem.as_str()),
        ("broker.pem", cert.as_str()),
        ("broker.key", key.as_str()),
        ("agent.pem", agent.cert_pem.as_str()),
        ("agent.key", agent.key_pem.as_str()),
    ] {
        relay_shared::atomic_file::write_private(&dir.join("pki").join(name), text.as_bytes())
            .map_err(io("writing the demo PKI"))?;
    }
    Ok(())
}

fn broker_toml() -> String {
    format!(
        r#"# Written by `relay-broker demo`.
[listen]
tunnel = "127.0.0.1:0"
api = "127.0.0.1:0"

[tls]
cert_file = "pki/broker.pem"
key = {{ file = "pki/broker.key" }}
agent_ca_file = "pki/agent-ca.pem"

[store]
path = "broker.sqlite"

[[tenants]]
id = "{TENANT}"
api_tokens = [{{ file = "demo.token" }}]
people = [
  {{ email = "alice@example.com", name = "Alice" }},
]

[[tenants.accounts]]
alias = "{ALIAS}"
kind = "server-relay"
limits = {{ concurrency = 8, rate_per_second = 500.0, burst = 500 }}

[[agents]]
id = "{AGENT_ID}"
tenant = "{TENANT}"
alias = "{ALIAS}"
"#
    )
}

fn agent_toml(sim_url: &str, user: &str) -> String {
    format!(
        r#"# Written by `relay-broker demo`.
[broker]
url = "wss://127.0.0.1:0"
server_name = "localhost"
ca_file = "pki/agent-ca.pem"
cert_file = "pki/agent.pem"
key = {{ file = "pki/agent.key" }}

[bitbucket]
url = "{sim_url}"
auth = {{ kind = "basic", username = "{user}", password = {{ file = "bitbucket.password" }} }}

[audit]
file = "audit.jsonl"

[ops]
listen = "127.0.0.1:0"
"#
    )
}

fn rewrite_agent_port(dir: &Path, tunnel: SocketAddr) -> anyhow::Result<()> {
    let path = dir.join("agent.toml");
    let text = std::fs::read_to_string(&path).map_err(io("reading agent.toml"))?;
    let text = text.replace(
        "wss://127.0.0.1:0",
        &format!("wss://127.0.0.1:{}", tunnel.port()),
    );
    std::fs::write(&path, text).map_err(io("writing agent.toml"))?;
    Ok(())
}

/// The summary printed by the CLI.
pub fn render(summary: &DemoSummary) -> String {
    let c = &summary.counts;
    let prs: Vec<String> = c
        .pull_requests_by_state
        .iter()
        .map(|(s, n)| format!("{n} {}", s.to_lowercase()))
        .collect();
    let mut out = format!(
        "Bitbucket Relay demo: full sync through the tunnel in {:.1}s\n\
         \n  accounts      1 ({TENANT}/{ALIAS}, server-relay through agent {AGENT_ID})\n  \
         projects      {}\n  repos         {}\n  commits       {}\n  releases      {}\n  files         {}\n  \
         pull requests {} ({})\n  activities    {}\n  users         {}\n  groups        {} ({} memberships)\n  \
         calls made    {} (the simulator counted {} requests)\n",
        summary.elapsed.as_secs_f64(),
        c.projects,
        c.repos,
        c.commits,
        c.releases,
        c.files,
        c.pull_requests,
        prs.join(", "),
        c.activities,
        c.users,
        c.groups,
        c.group_members,
        summary.calls,
        summary.sim_requests,
    );
    if !summary.errors.is_empty() {
        out.push_str(&format!("\n  {} errors:\n", summary.errors.len()));
        for err in summary.errors.iter().take(10) {
            out.push_str(&format!("    {err}\n"));
        }
    }
    out.push_str(&format!(
        "\nFiles (config, PKI, SQLite, audit log): {}\nAPI: http://{}  token: {}\n  \
         curl -H 'Authorization: Bearer {token}' http://{api}/api/v1/accounts\n  \
         curl -H 'Authorization: Bearer {token}' http://{api}/api/v1/repos\n  \
         curl -H 'Authorization: Bearer {token}' http://{api}/relay/{ALIAS}/rest/api/1.0/projects\n",
        summary.dir.display(),
        summary.api,
        summary.token,
        token = summary.token,
        api = summary.api,
    ));
    out
}
