//! relay-broker: the central half of Bitbucket Relay.
//!
//! Agents dial in over mutually-authenticated WebSockets; the broker multiplexes Bitbucket API
//! calls to them as HTTP/2 streams and serves an API (see `docs/architecture.md`).
//!
//! Module map:
//! - [`accounts`]: Bitbucket accounts per tenant (kind, alias, project filter, schedules, limits).
//! - [`bitbucket`]: the typed Bitbucket Server client (transports, paging, retries, rate budget).
//! - [`checks`]: "test all configurations": per-account checks with a verdict and fixes.
//! - [`cli`]: the command line (`serve`, `check`, `pki ...`, `agents`, `healthcheck`), exit codes.
//! - [`config`]: the TOML config, validated as a whole before any port is bound.
//! - [`demo`]: `relay-broker demo`: simulator, broker and agent on one machine, synced.
//! - [`pki`]: agent CA, broker certificate and agent certificates (rcgen).
//! - [`tunnel`]: the agent listener: mTLS, identity, WebSocket upgrade, hello, HTTP/2.
//! - [`sessions`]: live agent sessions and least-loaded selection with failover.
//! - [`sync`]: the sync engine: accounts' passes (identities, repositories, pull requests), schedules.
//! - [`remote`]: the CLI's client for a running broker's API (agents, accounts test, sync).
//! - [`relay`]: the internal call API (`Relay::send`), the seam for the sync engine.
//! - [`api`]: the HTTP API router (relay endpoint, agents, ops endpoints).
//! - [`metrics`]: Prometheus metrics.
//! - [`server`]: wiring it together on bound listeners, reload and drain.
//! - [`store`]: the `Store` trait (sync status, Bitbucket data, identities per tenant) and SQLite.

pub mod accounts;
pub mod api;
pub mod bitbucket;
pub mod checks;
pub mod cli;
pub mod config;
pub mod demo;
pub mod metrics;
pub mod pki;
pub mod relay;
pub mod remote;
pub mod server;
pub mod sessions;
pub mod store;
pub mod sync;
pub mod tunnel;
