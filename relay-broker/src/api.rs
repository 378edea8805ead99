//! The broker's HTTP API: one router that grows by module.
//!
//! - [`auth`]: tenant API tokens (`Authorization: Bearer ...`) → the tenant, as an extractor.
//! - [`error`]: the one mapping from failures to JSON error responses.
//! - [`relay_endpoint`]: `ANY /relay/{alias}/{bitbucket path...}` for operators and benchmarks.
//! - [`agents`]: `GET /api/v1/agents`, the connected agents of the caller's tenant.
//! - ops endpoints (`/healthz`, `/readyz`, `/metrics`) come from `relay_shared::telemetry`.

pub mod agents;
pub mod auth;
pub mod error;
pub mod relay_endpoint;

use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::Router;
use axum::routing::{any, get};
use relay_shared::telemetry::{OpsState, ops_router};

use crate::config::Directory;
use crate::relay::Relay;

/// Shared state of every API handler.
#[derive(Debug, Clone)]
pub struct ApiState {
    pub relay: Relay,
    pub directory: Arc<ArcSwap<Directory>>,
}

/// The whole API router.
pub fn router(state: ApiState, ops: OpsState) -> Router {
    Router::new()
        .route("/relay/{alias}/{*path}", any(relay_endpoint::relay))
        .route("/api/v1/agents", get(agents::list))
        .with_state(state)
        .merge(ops_router(ops))
}
