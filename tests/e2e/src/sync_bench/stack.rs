//! The system under test, in this process: the simulator (rate limit off) → an agent with the
//! default allow-list → the mTLS tunnel → a broker whose SQLite file lives in a temp dir. The
//! account has no schedule that could fire during the bench, so every call the simulator counts
//! was made by a pass the bench started. The passes run on an engine of the bench's own over the
//! broker's store and relay, whose account has [`THROUGHPUT`] limits (concurrency 8, 10,000
//! requests/s: above the broker config's cap of 1,000/s, so the rate never throttles).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bitbucket_sim::{Profile, RateLimitConfig, SimConfig, Simulator};
use relay_broker::accounts::{Account, Limits};
use relay_broker::store::{AccountKey, Store};
use relay_broker::sync::SyncEngine;

use super::memory::Memory;
use crate::harness::{
    ALIAS, AgentOptions, AgentUnderTest, BitbucketTarget, Harness, TENANT, TenantExtras,
};

/// A cron pattern that does not fire while the bench runs (midnight, 1 January).
const NEVER_DURING_THE_BENCH: &str = "0 0 1 1 *";

/// The account limits of the throughput scenarios.
pub const THROUGHPUT: Limits = Limits {
    concurrency: 8,
    rate_per_second: 10_000.0,
    burst: 10_000,
    timeout: Duration::from_secs(30),
};

/// Memory of this process at the stages of starting the stack.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct StartMemory {
    pub before: Memory,
    /// After `Simulator::new` (generated world; repository contents stay lazy).
    pub simulator_built: Memory,
    /// After broker and agent are up and connected.
    pub ready: Memory,
}

/// Simulator, broker and agent, wired and connected.
pub struct Stack {
    pub profile: Profile,
    pub sim: Simulator,
    pub harness: Harness,
    pub agent: AgentUnderTest,
    pub memory: StartMemory,
    pub simulator_build: Duration,
    engine: Arc<SyncEngine>,
}

impl Stack {
    pub async fn start(profile: Profile) -> Result<Stack> {
        let before = Memory::now();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let built = Instant::now();
        let sim = Simulator::new(SimConfig {
            profile,
            base_url: url.clone(),
            rate_limit: RateLimitConfig {
                enabled: false,
                ..RateLimitConfig::default()
            },
            ..SimConfig::default()
        });
        let simulator_build = built.elapsed();
        let simulator_built = Memory::now();
        let serving = sim.clone();
        tokio::spawn(async move { serving.serve(listener, std::future::pending()).await });

        let harness = Harness::start_with(TenantExtras {
            acme: account_toml(),
            globex: String::new(),
        })
        .await;
        let target = BitbucketTarget {
            url,
            user: bitbucket_sim::credentials::ADMIN_USER.to_owned(),
            password: bitbucket_sim::credentials::ADMIN_PASSWORD.to_owned(),
        };
        let agent = harness
            .start_agent(AgentOptions {
                bitbucket: Some(target),
                ..AgentOptions::new("dc-1")
            })
            .await;
        harness.wait_connected(TENANT, ALIAS, 1).await;
        let engine = Arc::new(engine_with(&harness, THROUGHPUT)?);
        let memory = StartMemory {
            before,
            simulator_built,
            ready: Memory::now(),
        };
        Ok(Stack {
            profile,
            sim,
            harness,
            agent,
            memory,
            simulator_build,
            engine,
        })
    }

    /// The engine the throughput scenarios run on.
    pub fn engine(&self) -> &Arc<SyncEngine> {
        &self.engine
    }

    /// Another engine over the same store and relay, whose account has these limits.
    pub fn engine_with(&self, limits: Limits) -> Result<SyncEngine> {
        engine_with(&self.harness, limits)
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.harness.broker.store
    }

    pub fn account() -> AccountKey {
        AccountKey::new(TENANT, ALIAS)
    }

    /// The broker's SQLite file and its write-ahead log.
    pub fn sqlite_files(&self) -> [std::path::PathBuf; 2] {
        [
            self.harness.path("broker.sqlite"),
            self.harness.path("broker.sqlite-wal"),
        ]
    }

    /// The agent's audit log: one line per call, with the path it forwarded.
    pub fn audit_file(&self) -> &std::path::Path {
        &self.agent.audit_file
    }

    /// Stops agent and broker; removes the temp dir unless `keep_dir` (then returns its path).
    pub async fn stop(self, keep_dir: bool) -> Result<Option<std::path::PathBuf>> {
        self.agent.stop().await;
        let drained = self.harness.broker.shutdown().await;
        drained
            .then_some(())
            .context("the broker did not drain within its grace period")?;
        Ok(keep_dir.then(|| self.harness.dir.keep()))
    }
}

fn engine_with(harness: &Harness, limits: Limits) -> Result<SyncEngine> {
    let broker = &harness.broker;
    let account = Account {
        limits,
        ..broker.engine.runtime(TENANT, ALIAS)?.account.clone()
    };
    Ok(SyncEngine::new(
        broker.store.clone(),
        &[account],
        &broker.relay,
    )?)
}

fn account_toml() -> String {
    format!(
        "[[tenants.accounts]]\nalias = \"{ALIAS}\"\nkind = \"server-relay\"\n\
         limits = {{ concurrency = 8, rate_per_second = 1000.0, burst = 1000 }}\n\
         schedule = {{ identities = \"{n}\", repositories = \"{n}\", pull_requests = \"{n}\" }}\n",
        n = NEVER_DURING_THE_BENCH
    )
}
