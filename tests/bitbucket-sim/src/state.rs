//! The shared state behind every request: generated data with overlays, webhooks, counters,
//! faults, OAuth tokens, rate-limit buckets and the webhook dispatcher.

use std::collections::HashMap;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde::Serialize;

use crate::api::render::Render;
use crate::auth::OAuthStore;
use crate::config::SimConfig;
use crate::counters::CounterStore;
use crate::credentials::Credentials;
use crate::faults::FaultStore;
use crate::generate::World;
use crate::overlay::RepoOverlay;
use crate::ratelimit::RateLimiter;
use crate::repo_view::RepoView;
use crate::webhooks::Dispatcher;

/// Where a webhook is registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum HookScope {
    /// A repository id.
    Repository(u32),
    /// A project index.
    Project(usize),
}

/// A registered webhook.
#[derive(Debug, Clone, Serialize)]
pub struct Webhook {
    pub id: u32,
    pub scope: HookScope,
    pub name: String,
    pub url: String,
    pub events: Vec<String>,
    pub active: bool,
    #[serde(skip)]
    pub secret: Option<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub ssl_verification_required: bool,
}

/// Everything that can change, behind one lock.
#[derive(Debug)]
pub struct Data {
    pub world: World,
    pub overlays: HashMap<u32, RepoOverlay>,
    pub webhooks: Vec<Webhook>,
}

impl Data {
    /// The repository with this index, seen with its overlay.
    pub fn view(&self, repo: usize) -> Option<RepoView<'_>> {
        let r = self.world.repos.get(repo)?;
        Some(RepoView::new(&self.world, r, self.overlays.get(&r.id)))
    }
}

#[derive(Debug)]
pub struct Shared {
    pub config: SimConfig,
    pub credentials: Credentials,
    data: RwLock<Data>,
    pub counters: CounterStore,
    pub faults: FaultStore,
    pub oauth: OAuthStore,
    pub limiter: RateLimiter,
    pub hooks: Dispatcher,
}

impl Shared {
    pub fn new(config: SimConfig) -> Shared {
        let world = World::generate(config.seed, config.profile);
        Shared {
            credentials: Credentials::documented(),
            data: RwLock::new(Data {
                world,
                overlays: HashMap::new(),
                webhooks: Vec::new(),
            }),
            counters: CounterStore::default(),
            faults: FaultStore::new(config.seed),
            oauth: OAuthStore::new(config.seed, config.oauth_access_token_ttl),
            limiter: RateLimiter::new(config.rate_limit),
            hooks: Dispatcher::new(
                config.seed,
                config.webhook_queue_capacity,
                config.webhook_timeout,
            ),
            config,
        }
    }

    pub fn read(&self) -> RwLockReadGuard<'_, Data> {
        self.data.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The JSON renderer over `data`, with this server's base URL for links.
    pub fn render<'a>(&'a self, data: &'a Data) -> Render<'a> {
        Render {
            world: &data.world,
            base: &self.config.base_url,
        }
    }

    pub fn write(&self) -> RwLockWriteGuard<'_, Data> {
        self.data.write().unwrap_or_else(|e| e.into_inner())
    }
}
