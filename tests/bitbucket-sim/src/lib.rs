//! A Bitbucket Server / Data Center simulator for tests, benchmarks and the demo.
//!
//! Module map:
//! - `config`      — [`SimConfig`]: profile, seed, rate limit, page caps.
//! - `credentials` — the documented accounts, passwords, tokens and OAuth client.
//! - `seed`        — deterministic seed derivation and the SplitMix64 generator.
//! - `model`       — users, groups, projects, compact repository descriptors, commits, refs.
//! - `generate`    — the deterministic generator: world, commits, files, packages,
//!   descriptors, pull requests (contents derived lazily from per-repo seeds).
//! - `overlay`     — mutations stored on top of generated data (pushed commits, PR changes).
//! - `repo_view`   — one repository with its overlay: refs, history walks, trees, PRs.
//! - `state`       — the shared state behind every request.
//! - `permissions` — who may see and change which project and repository.
//! - `auth`        — basic, Bearer access tokens, OAuth 2.0 tokens (codes, rotation).
//! - `ratelimit`   — per-user token buckets (429 with optional `Retry-After`).
//! - `faults`      — per-endpoint fault injection (latency, errors, resets, slow bodies).
//! - `counters`    — per-endpoint-template request counters.
//! - `api`         — the REST API router, the request gate, the JSON shapes, the errors.
//! - `webhooks`    — signed webhook payloads and their asynchronous delivery.
//! - `mutate`      — typed control operations (push, PR lifecycle, users, groups) that emit webhooks.
//! - `control`     — the `/sim/...` HTTP control API over `mutate`, faults and counters.
//! - `server`      — [`Simulator`]: construction, router, serving with graceful shutdown.

pub mod api;
pub mod auth;
pub mod config;
pub mod control;
pub mod counters;
pub mod credentials;
pub mod faults;
pub mod generate;
pub mod model;
pub mod mutate;
pub mod overlay;
pub mod permissions;
pub mod ratelimit;
pub mod repo_view;
pub mod seed;
mod server;
pub mod state;
pub mod webhooks;

pub use config::{PageCaps, Profile, RateLimitConfig, SimConfig};
pub use counters::Counters;
pub use credentials::{AccessToken, Credentials, TokenScope};
pub use faults::Fault;
pub use model::DataSummary;
pub use mutate::{
    FileWrite, MutationError, NewPullRequest, NewUser, PermissionTarget, PushRequest, RepoRef,
};
pub use server::{RepoInfo, Simulator};
pub use webhooks::{Delivery, Outcome};
