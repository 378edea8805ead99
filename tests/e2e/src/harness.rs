//! Broker, agents and origin on loopback, configured through real config files (so every test
//! also exercises config parsing and validation), with TLS material generated per run.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use relay_agent::agent::Agent;
use relay_agent::config::AgentConfig;
use relay_broker::config::BrokerConfig;
use relay_broker::server::Broker;
use relay_shared::shutdown::Shutdown;
use tokio::net::TcpListener;

use crate::origin::Origin;
use crate::pki::{AgentFiles, TestPki};

pub const TENANT: &str = "acme";
pub const ALIAS: &str = "dc";
pub const TOKEN: &str = "acme-api-token-0123456789";
pub const OTHER_TENANT: &str = "globex";
pub const OTHER_ALIAS: &str = "gdc";
pub const OTHER_TOKEN: &str = "globex-api-token-9876543210";
pub const BB_USER: &str = "svc-relay";
pub const BB_PASSWORD: &str = "bitbucket-password-never-leaves-the-agent";

/// Agent ids registered in the broker config: `dc-1`..`dc-3` serve acme/dc, `gx-1` globex/gdc.
pub const AGENT_IDS: [(&str, &str, &str); 4] = [
    ("dc-1", TENANT, ALIAS),
    ("dc-2", TENANT, ALIAS),
    ("dc-3", TENANT, ALIAS),
    ("gx-1", OTHER_TENANT, OTHER_ALIAS),
];

/// Knobs for one agent.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    pub id: &'static str,
    /// Where the agent dials; the broker's tunnel address when `None`.
    pub broker_addr: Option<SocketAddr>,
    pub proxy: Option<SocketAddr>,
    pub allowlist_file: Option<PathBuf>,
    pub keepalive: &'static str,
    pub files: Option<AgentFiles>,
    /// Bitbucket to forward to (the test origin when `None`).
    pub bitbucket: Option<BitbucketTarget>,
}

/// A Bitbucket (e.g. the simulator) and the basic credentials the agent uses for it.
#[derive(Debug, Clone)]
pub struct BitbucketTarget {
    pub url: String,
    pub user: String,
    pub password: String,
}

/// Extra TOML for each tenant's `[[tenants.accounts]]` (and `people`), written right after the
/// tenant's own table.
#[derive(Debug, Clone, Default)]
pub struct TenantExtras {
    pub acme: String,
    pub globex: String,
}

impl AgentOptions {
    pub fn new(id: &'static str) -> Self {
        AgentOptions {
            id,
            broker_addr: None,
            proxy: None,
            allowlist_file: None,
            keepalive: "2s",
            files: None,
            bitbucket: None,
        }
    }
}

/// A running agent and its files.
pub struct AgentUnderTest {
    pub agent: Agent,
    pub shutdown: Shutdown,
    pub audit_file: PathBuf,
    pub files: AgentFiles,
}

impl AgentUnderTest {
    /// The audit log's records, parsed.
    pub fn audit(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.audit_file)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    pub async fn stop(&self) {
        self.agent.shutdown().await;
    }
}

/// The whole setup.
pub struct Harness {
    pub dir: tempfile::TempDir,
    pub pki: TestPki,
    pub origin: Origin,
    pub broker: Broker,
    pub broker_shutdown: Shutdown,
    pub http: reqwest::Client,
    pub revoked_serials: Vec<String>,
    pub extras: TenantExtras,
}

impl Harness {
    /// Origin and broker, no agent yet.
    pub async fn start_without_agent() -> Harness {
        Harness::start_with(TenantExtras::default()).await
    }

    /// Origin and a broker whose tenants have these accounts; no agent yet.
    pub async fn start_with(extras: TenantExtras) -> Harness {
        relay_shared::tls::install_crypto_provider();
        let dir = tempfile::tempdir().unwrap();
        let pki = TestPki::new(&dir.path().join("pki"));
        std::fs::write(dir.path().join("acme.token"), TOKEN).unwrap();
        std::fs::write(dir.path().join("globex.token"), OTHER_TOKEN).unwrap();
        std::fs::write(dir.path().join("bb-password"), format!("{BB_PASSWORD}\n")).unwrap();
        let origin = Origin::start().await;
        let (broker, broker_shutdown) = start_broker_in(dir.path(), &[], &extras, None).await;
        Harness {
            pki,
            origin,
            broker,
            broker_shutdown,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            revoked_serials: Vec::new(),
            extras,
            dir,
        }
    }

    /// Origin, broker and agent `dc-1`, connected.
    pub async fn start() -> (Harness, AgentUnderTest) {
        let harness = Harness::start_without_agent().await;
        let agent = harness.start_agent(AgentOptions::new("dc-1")).await;
        harness.wait_connected(TENANT, ALIAS, 1).await;
        (harness, agent)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes the broker config (with the current revocation list) and returns its path.
    pub fn write_broker_config(&self) -> PathBuf {
        write_broker_config(self.dir.path(), &self.revoked_serials, &self.extras)
    }

    /// Starts a broker on `tunnel_addr` (a fresh port when `None`).
    pub async fn start_broker(&self, tunnel_addr: Option<SocketAddr>) -> (Broker, Shutdown) {
        start_broker_in(
            self.dir.path(),
            &self.revoked_serials,
            &self.extras,
            tunnel_addr,
        )
        .await
    }

    /// Starts an agent with these options.
    pub async fn start_agent(&self, options: AgentOptions) -> AgentUnderTest {
        let (tenant, alias) = AGENT_IDS
            .iter()
            .find(|(id, ..)| *id == options.id)
            .map_or((TENANT, ALIAS), |(_, t, a)| (*t, *a));
        let files = options
            .files
            .clone()
            .unwrap_or_else(|| self.pki.agent(options.id, tenant, alias));
        let broker = options.broker_addr.unwrap_or(self.broker.tunnel_addr);
        let audit_file = self.path(&format!("audit-{}-{}.jsonl", options.id, files.serial_hex));
        let mut text = format!(
            "[broker]\nurl = \"wss://127.0.0.1:{port}\"\nserver_name = \"localhost\"\nca_file = \"pki/agent-ca.pem\"\n\
             cert_file = \"{cert}\"\nkey = {{ file = \"{key}\" }}\nkeepalive_interval = \"{keepalive}\"\n\
             connect_timeout = \"5s\"\nreconnect_min = \"20ms\"\nreconnect_max = \"500ms\"\n",
            port = broker.port(),
            cert = files.cert.display(),
            key = files.key.display(),
            keepalive = options.keepalive,
        );
        if let Some(proxy) = options.proxy {
            text.push_str(&format!("proxy = \"http://{proxy}\"\n"));
        }
        let (url, user, password_file) = match &options.bitbucket {
            None => (
                self.origin.url(),
                BB_USER.to_owned(),
                "bb-password".to_owned(),
            ),
            Some(target) => {
                let file = format!("bb-password-{}", options.id);
                std::fs::write(self.path(&file), &target.password).unwrap();
                (target.url.clone(), target.user.clone(), file)
            }
        };
        text.push_str(&format!(
            "\n[bitbucket]\nurl = \"{url}\"\nauth = {{ kind = \"basic\", username = \"{user}\", password = {{ file = \"{password_file}\" }} }}\n\
             read_timeout = \"30s\"\n\n[audit]\nfile = \"{}\"\n\n[shutdown]\ngrace = \"5s\"\n",
            audit_file.display()
        ));
        if let Some(file) = &options.allowlist_file {
            text.push_str(&format!("\n[allowlist]\nfile = \"{}\"\n", file.display()));
        }
        let path = self.path(&format!("agent-{}-{}.toml", options.id, files.serial_hex));
        std::fs::write(&path, text).unwrap();
        let config = AgentConfig::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let ops = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let shutdown = Shutdown::new();
        let agent = Agent::start(config, ops, shutdown.clone()).unwrap();
        AgentUnderTest {
            agent,
            shutdown,
            audit_file,
            files,
        }
    }

    /// Waits until `n` sessions serve `tenant`/`alias` (polling the broker's registry).
    pub async fn wait_connected(&self, tenant: &str, alias: &str, n: usize) {
        wait_until(Duration::from_secs(20), || {
            self.broker.sessions.connected(tenant, alias) == n
        })
        .await
        .unwrap_or_else(|| {
            panic!(
                "expected {n} sessions for {tenant}/{alias}, have {}",
                self.broker.sessions.connected(tenant, alias)
            )
        });
    }

    /// `http://<api>/relay/<alias><target>` through reqwest (only for targets reqwest keeps as-is).
    pub fn relay_url(&self, alias: &str, target: &str) -> String {
        format!("http://{}/relay/{alias}{target}", self.broker.api_addr)
    }

    /// GET through the relay with the acme token.
    pub async fn get(&self, target: &str) -> reqwest::Response {
        self.http
            .get(self.relay_url(ALIAS, target))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
    }

    /// Writes an allow-list file and returns its path.
    pub fn write_allowlist(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        write_atomically(&path, text);
        path
    }
}

/// Replaces a file by rename, the way editors and config managers do.
pub fn write_atomically(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// Polls `condition` every 10 ms until it holds or `limit` passes. Returns `None` on timeout.
pub async fn wait_until(limit: Duration, mut condition: impl FnMut() -> bool) -> Option<()> {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if condition() {
            return Some(());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    condition().then_some(())
}

async fn bind(addr: SocketAddr) -> TcpListener {
    // A just-closed listener's port may take a moment to be free again.
    for _ in 0..200 {
        if let Ok(listener) = TcpListener::bind(addr).await {
            return listener;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    TcpListener::bind(addr).await.unwrap()
}

/// Writes a broker config into `dir` (which holds `pki/` and the token files).
pub fn write_broker_config(dir: &Path, revoked: &[String], extras: &TenantExtras) -> PathBuf {
    let mut text = format!(
        "[listen]\ntunnel = \"127.0.0.1:0\"\napi = \"127.0.0.1:0\"\n\n\
         [tls]\ncert_file = \"pki/broker.pem\"\nkey = {{ file = \"pki/broker.key\" }}\nagent_ca_file = \"pki/agent-ca.pem\"\n\n\
         [tunnel]\nkeepalive_interval = \"2s\"\nhandshake_timeout = \"5s\"\ncall_timeout = \"30s\"\n\n\
         [shutdown]\ngrace = \"5s\"\n\n[store]\npath = \"broker.sqlite\"\n\n\
         [[tenants]]\nid = \"acme\"\napi_tokens = [{{ file = \"acme.token\" }}]\n{}\n\n\
         [[tenants]]\nid = \"globex\"\napi_tokens = [{{ file = \"globex.token\" }}]\n{}\n\n",
        extras.acme, extras.globex
    );
    for (id, tenant, alias) in AGENT_IDS {
        text.push_str(&format!(
            "[[agents]]\nid = \"{id}\"\ntenant = \"{tenant}\"\nalias = \"{alias}\"\n\n"
        ));
    }
    let serials: Vec<String> = revoked.iter().map(|s| format!("\"{s}\"")).collect();
    text.push_str(&format!("[revoked]\nserials = [{}]\n", serials.join(", ")));
    let path = dir.join("broker.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Starts a broker whose config lives in `dir`, on `tunnel_addr` (a fresh port when `None`).
pub async fn start_broker_in(
    dir: &Path,
    revoked: &[String],
    extras: &TenantExtras,
    tunnel_addr: Option<SocketAddr>,
) -> (Broker, Shutdown) {
    let config = BrokerConfig::load(&write_broker_config(dir, revoked, extras))
        .unwrap_or_else(|e| panic!("{e}"));
    let tunnel = bind(tunnel_addr.unwrap_or_else(|| "127.0.0.1:0".parse().unwrap())).await;
    let api = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let shutdown = Shutdown::new();
    let broker = Broker::start(config, tunnel, api, shutdown.clone())
        .await
        .unwrap();
    (broker, shutdown)
}

impl Harness {
    /// The broker's metrics in Prometheus text format.
    pub fn broker_metrics(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.broker.registry).unwrap();
        text
    }

    /// The value of one broker counter/gauge line (exact series text), 0 when absent.
    pub fn broker_metric(&self, series: &str) -> f64 {
        metric_value(&self.broker_metrics(), series)
    }
}

/// Finds `series` (e.g. `relay_x_total{reason="y"}`) in Prometheus text and parses its value.
pub fn metric_value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| {
            line.strip_prefix(series)
                .and_then(|rest| rest.trim().parse().ok())
        })
        .unwrap_or(0.0)
}

impl AgentUnderTest {
    pub fn metrics(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.agent.registry).unwrap();
        text
    }
}
