//! The broker's HTTP API: one router that grows by module.
//!
//! - [`auth`]: tenant API tokens (`Authorization: Bearer ...`) → the tenant, as an extractor.
//! - [`error`]: the one mapping from failures to JSON error responses.
//! - [`relay_endpoint`]: `ANY /relay/{alias}/{bitbucket path...}` for operators and benchmarks.
//! - [`agents`]: `GET /api/v1/agents`, the connected agents of the caller's tenant.
//! - [`accounts`]: accounts with sync status, "test all configurations", manual sync triggers.
//! - [`repos`]: projects, repositories, the repository page, events.
//! - [`pulls`]: pull requests.
//! - [`identity`]: users, groups, identity mapping, the people directory.
//! - ops endpoints (`/healthz`, `/readyz`, `/metrics`) come from `relay_shared::telemetry`.

pub mod accounts;
pub mod agents;
pub mod auth;
pub mod error;
pub mod identity;
pub mod pulls;
pub mod relay_endpoint;
pub mod repos;

use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::Router;
use axum::routing::{any, delete, get, post, put};
use relay_shared::telemetry::{OpsState, ops_router};

use crate::config::Directory;
use crate::relay::Relay;
use crate::store::Store;
use crate::sync::SyncEngine;

/// Shared state of every API handler.
#[derive(Debug, Clone)]
pub struct ApiState {
    pub relay: Relay,
    pub directory: Arc<ArcSwap<Directory>>,
    pub store: Arc<dyn Store>,
    pub engine: Arc<SyncEngine>,
    /// For tasks started by API calls (schedules of accounts added at runtime).
    pub shutdown: relay_shared::shutdown::Shutdown,
}

/// The whole API router.
pub fn router(state: ApiState, ops: OpsState) -> Router {
    Router::new()
        .route("/relay/{alias}/{*path}", any(relay_endpoint::relay))
        .route("/api/v1/agents", get(agents::list))
        .route(
            "/api/v1/accounts",
            get(accounts::list).post(accounts::create),
        )
        .route("/api/v1/accounts/{alias}", delete(accounts::delete))
        .route("/api/v1/accounts/test", post(accounts::test_all))
        .route("/api/v1/accounts/{alias}/sync", post(accounts::trigger))
        .route("/api/v1/projects", get(repos::projects))
        .route("/api/v1/repos", get(repos::repos))
        .route("/api/v1/repos/{alias}/{project}/{slug}", get(repos::repo))
        .route(
            "/api/v1/repos/{alias}/{project}/{slug}/events",
            get(repos::events),
        )
        .route("/api/v1/pull-requests", get(pulls::list))
        .route("/api/v1/users", get(identity::users))
        .route("/api/v1/groups", get(identity::groups))
        .route("/api/v1/identity", get(identity::mapping))
        .route("/api/v1/people", put(identity::replace_people))
        .with_state(state)
        .merge(ops_router(ops))
}
