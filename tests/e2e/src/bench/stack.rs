//! The system under test: origin (in-process), `relay-broker` and `relay-agent` (child
//! processes), configured through the same config files an operator writes, with product
//! defaults for everything the bench does not need to pin (keepalive, backoff, windows, logs).
//!
//! Readiness is always polled (broker `/readyz`, then `/api/v1/agents` with the tenant token),
//! never assumed after a sleep.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use relay_agent::config::AgentConfig;

use crate::bench::client::{Target, fetch};
use crate::bench::origin::Origin;
use crate::bench::process::{ChildProcess, modified, sibling_binary};
use crate::bench::report::note;
use crate::harness::{ALIAS, BB_PASSWORD, BB_USER, TENANT, TOKEN};
use crate::pki::{AgentFiles, TestPki};

/// The alias the idle in-process agents register under (kept apart from the measured one).
pub const IDLE_ALIAS: &str = "idle";
const AGENT_ID: &str = "dc-1";
const IDLE_AGENT_ID: &str = "idle-1";
const POLL: Duration = Duration::from_millis(2);
const PROBE_LIMIT: Duration = Duration::from_secs(2);

/// Origin, broker and agent, running.
pub struct Stack {
    pub dir: tempfile::TempDir,
    pub pki: TestPki,
    pub origin: Origin,
    pub broker: ChildProcess,
    pub agent: ChildProcess,
    /// Broker API (relay endpoint, `/api/v1/agents`, ops).
    pub api: SocketAddr,
    pub tunnel: SocketAddr,
    pub agent_ops: SocketAddr,
    broker_bin: PathBuf,
    broker_config: PathBuf,
}

impl Stack {
    /// Starts everything and returns once the agent's tunnel is registered at the broker.
    /// With `keep_dir` the temp dir (configs, logs) survives the bench.
    pub async fn start(keep_dir: bool) -> Result<Stack> {
        relay_shared::tls::install_crypto_provider();
        let broker_bin = sibling_binary("relay-broker")?;
        let agent_bin = sibling_binary("relay-agent")?;
        for bin in [&broker_bin, &agent_bin] {
            note(&format!("{} (built {})", bin.display(), modified(bin)));
        }
        let dir = tempfile::Builder::new()
            .prefix("relay-bench-")
            .disable_cleanup(keep_dir)
            .tempdir()
            .context("creating a temp dir")?;
        let pki = TestPki::new(&dir.path().join("pki"));
        std::fs::write(dir.path().join("acme.token"), TOKEN)?;
        std::fs::write(dir.path().join("bb-password"), format!("{BB_PASSWORD}\n"))?;
        let origin = Origin::start().await?;
        let (api, tunnel, agent_ops) = (free_port()?, free_port()?, free_port()?);
        let broker_config = write_broker_config(dir.path(), api, tunnel)?;
        let agent_files = pki.agent(AGENT_ID, TENANT, ALIAS);
        let agent_config = dir.path().join("agent.toml");
        let audit = dir.path().join("audit.jsonl");
        let text = agent_config_text(tunnel, &agent_files, &origin, agent_ops, &audit);
        std::fs::write(&agent_config, text)?;

        let broker = spawn_broker(&broker_bin, &broker_config, dir.path())?;
        let agent = ChildProcess::spawn(
            "relay-agent",
            &agent_bin,
            &["run", "--config", &agent_config.to_string_lossy()],
            &dir.path().join("agent.log"),
        )?;
        let mut stack = Stack {
            dir,
            pki,
            origin,
            broker,
            agent,
            api,
            tunnel,
            agent_ops,
            broker_bin,
            broker_config,
        };
        stack.wait_broker_ready(Duration::from_secs(20)).await?;
        stack
            .wait_sessions(ALIAS, 1, Duration::from_secs(20))
            .await?;
        Ok(stack)
    }

    /// The small GET (or any target) through the relay endpoint with the tenant token.
    pub fn relay(&self, bitbucket_path: &str) -> Target {
        Target::new(self.api, format!("/relay/{ALIAS}{bitbucket_path}")).bearer(TOKEN)
    }

    /// The same Bitbucket path straight at the origin.
    pub fn direct(&self, bitbucket_path: &str) -> Target {
        Target::new(self.origin.addr, bitbucket_path)
    }

    /// SIGKILLs the broker (the agent sees its tunnel die).
    pub fn kill_broker(&mut self) {
        self.broker.kill();
    }

    /// Starts a fresh broker process on the same ports with the same config.
    pub fn respawn_broker(&mut self) -> Result<()> {
        self.broker = spawn_broker(&self.broker_bin, &self.broker_config, self.dir.path())?;
        Ok(())
    }

    /// Polls the broker's `/readyz` until it answers 200.
    pub async fn wait_broker_ready(&mut self, limit: Duration) -> Result<()> {
        let target = Target::new(self.api, "/readyz");
        let deadline = Instant::now() + limit;
        loop {
            self.broker.check_alive()?;
            if let Ok((status, _)) = fetch(&target, PROBE_LIMIT).await
                && status.is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "broker not ready within {limit:?}; its log ends with:\n{}",
                    self.broker.log_tail(20)
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Sessions the broker lists for `alias` of the bench tenant.
    pub async fn sessions(&self, alias: &str) -> Result<usize> {
        let target = Target::new(self.api, "/api/v1/agents").bearer(TOKEN);
        let (status, body) = fetch(&target, PROBE_LIMIT).await?;
        if !status.is_success() {
            bail!("GET /api/v1/agents answered {status}: {body}");
        }
        let list: Vec<serde_json::Value> =
            serde_json::from_str(&body).context("parsing /api/v1/agents")?;
        Ok(list.iter().filter(|s| s["alias"] == alias).count())
    }

    /// Polls `/api/v1/agents` until at least `n` sessions serve `alias`.
    pub async fn wait_sessions(&mut self, alias: &str, n: usize, limit: Duration) -> Result<()> {
        let deadline = Instant::now() + limit;
        loop {
            self.broker.check_alive()?;
            self.agent.check_alive()?;
            if self.sessions(alias).await.unwrap_or(0) >= n {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "fewer than {n} agent sessions for {alias:?} after {limit:?}; agent log ends with:\n{}",
                    self.agent.log_tail(20)
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Tunnel sessions the agent process has established so far (its own metric).
    pub async fn agent_tunnel_connects(&self) -> Result<u64> {
        let (_, text) = fetch(&Target::new(self.agent_ops, "/metrics"), PROBE_LIMIT).await?;
        text.lines()
            .find_map(|l| l.strip_prefix("relay_agent_tunnel_connects_total "))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map(|v| v as u64)
            .context("the agent's /metrics has no relay_agent_tunnel_connects_total")
    }

    /// A config for in-process agents that all share the `idle-1` identity (alias `idle`).
    pub fn idle_agent_config(&self) -> Result<AgentConfig> {
        let path = self.dir.path().join("idle-agent.toml");
        if !path.exists() {
            let files = self.pki.agent(IDLE_AGENT_ID, TENANT, IDLE_ALIAS);
            let audit = self.dir.path().join("idle-audit.jsonl");
            // The ops address is unused: in-process agents get an already-bound listener.
            let ops: SocketAddr = ([127, 0, 0, 1], 9).into();
            let text = agent_config_text(self.tunnel, &files, &self.origin, ops, &audit);
            std::fs::write(&path, text)?;
        }
        AgentConfig::load(&path).map_err(|e| anyhow::anyhow!("idle agent config: {e}"))
    }

    /// Kills both processes (also done on drop).
    pub fn stop(&mut self) {
        self.agent.kill();
        self.broker.kill();
    }
}

fn spawn_broker(bin: &Path, config: &Path, dir: &Path) -> Result<ChildProcess> {
    ChildProcess::spawn(
        "relay-broker",
        bin,
        &["serve", "--config", &config.to_string_lossy()],
        &dir.join("broker.log"),
    )
}

/// A loopback port that was free a moment ago (the child processes bind from config files).
fn free_port() -> Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?)
}

fn write_broker_config(dir: &Path, api: SocketAddr, tunnel: SocketAddr) -> Result<PathBuf> {
    let text = format!(
        "[listen]\ntunnel = \"{tunnel}\"\napi = \"{api}\"\n\n\
         [tls]\ncert_file = \"pki/broker.pem\"\nkey = {{ file = \"pki/broker.key\" }}\n\
         agent_ca_file = \"pki/agent-ca.pem\"\n\n\
         [[tenants]]\nid = \"{TENANT}\"\napi_tokens = [{{ file = \"acme.token\" }}]\n\n\
         [[agents]]\nid = \"{AGENT_ID}\"\ntenant = \"{TENANT}\"\nalias = \"{ALIAS}\"\n\n\
         [[agents]]\nid = \"{IDLE_AGENT_ID}\"\ntenant = \"{TENANT}\"\nalias = \"{IDLE_ALIAS}\"\n"
    );
    let path = dir.join("broker.toml");
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

fn agent_config_text(
    tunnel: SocketAddr,
    files: &AgentFiles,
    origin: &Origin,
    ops: SocketAddr,
    audit: &Path,
) -> String {
    format!(
        "[broker]\nurl = \"wss://127.0.0.1:{port}\"\nserver_name = \"localhost\"\n\
         ca_file = \"pki/agent-ca.pem\"\ncert_file = \"{cert}\"\nkey = {{ file = \"{key}\" }}\n\n\
         [bitbucket]\nurl = \"{origin}\"\n\
         auth = {{ kind = \"basic\", username = \"{BB_USER}\", password = {{ file = \"bb-password\" }} }}\n\n\
         [audit]\nfile = \"{audit}\"\n\n[ops]\nlisten = \"{ops}\"\n",
        port = tunnel.port(),
        cert = files.cert.display(),
        key = files.key.display(),
        origin = origin.url(),
        audit = audit.display(),
    )
}
