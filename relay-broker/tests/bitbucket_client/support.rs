//! A simulator on an ephemeral port, credentials in a temp dir, and quick client settings.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bitbucket_sim::credentials::{ADMIN_PASSWORD, ADMIN_USER};
use bitbucket_sim::{Profile, SimConfig, Simulator};
use relay_broker::bitbucket::{
    AccountLabel, BitbucketClient, ClientConfig, DirectOptions, DirectTransport, Transport,
};
use relay_shared::backoff::Backoff;
use relay_shared::credentials::AuthSettings;
use relay_shared::secret::SecretSource;
use tempfile::TempDir;

/// A simulator serving on an ephemeral port for the rest of the test.
pub struct Sim {
    pub sim: Simulator,
    pub url: String,
    pub dir: TempDir,
}

pub async fn start(config: SimConfig) -> Sim {
    // Tests build reqwest clients of their own (nextest runs each test in a fresh process).
    relay_shared::tls::install_crypto_provider();
    let sim = Simulator::new(config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(sim.clone().serve(listener, std::future::pending()));
    Sim {
        sim,
        url,
        dir: tempfile::tempdir().unwrap(),
    }
}

impl Sim {
    pub fn secret(&self, name: &str, value: &str) -> SecretSource {
        let path = self.dir.path().join(name);
        std::fs::write(&path, value).unwrap();
        SecretSource::from_file(path)
    }

    pub fn basic(&self, user: &str, password: &str) -> AuthSettings {
        AuthSettings::Basic {
            username: user.to_owned(),
            password: self.secret(&format!("{user}.password"), password),
        }
    }

    pub fn admin(&self) -> AuthSettings {
        self.basic(ADMIN_USER, ADMIN_PASSWORD)
    }

    pub fn transport(&self, auth: &AuthSettings) -> DirectTransport {
        DirectTransport::new(&self.url, auth, DirectOptions::default()).unwrap()
    }

    pub fn client(&self, auth: &AuthSettings, config: ClientConfig) -> BitbucketClient {
        let transport: Arc<dyn Transport> = Arc::new(self.transport(auth));
        BitbucketClient::new(AccountLabel::new("acme", "dc"), transport, config)
    }
}

/// Fast retries, a budget that never slows the test down.
pub fn quick() -> ClientConfig {
    ClientConfig {
        rate_per_second: 10_000.0,
        burst: 10_000,
        backoff: Backoff::new(Duration::from_millis(10), Duration::from_millis(200)),
        timeout: Duration::from_secs(10),
        ..ClientConfig::default()
    }
}

pub fn unlimited() -> SimConfig {
    SimConfig::unlimited(Profile::Tiny)
}

/// Everything the engine reads about code, as comparable sets.
pub async fn code_snapshot(client: &BitbucketClient) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for project in client.projects().await.unwrap() {
        for repo in client.repos(&project.key).await.unwrap() {
            let (p, r) = (project.key.as_str(), repo.slug.as_str());
            seen.insert(format!("repo {p}/{r}"));
            let Some(head) = client.default_branch(p, r).await.unwrap() else {
                continue;
            };
            let commits = client
                .commits(p, r, &head.latest_commit, None, None)
                .collect_all()
                .await
                .unwrap();
            seen.insert(format!("{p}/{r} commits {}", commits.len()));
            for tag in client.tags(p, r).await.unwrap() {
                seen.insert(format!("{p}/{r} tag {}", tag.display_id));
            }
        }
    }
    seen
}
