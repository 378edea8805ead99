//! relay-agent: the on-prem half of Bitbucket Relay.
//!
//! It dials out to the broker over a mutually-authenticated WebSocket, serves the broker's
//! calls as an HTTP/2 server on that link, lets through only what its allow-list permits,
//! adds the Bitbucket credentials that never leave it, and audits every call.
//!
//! Module map:
//! - [`cli`]: the command line (`run`, `check`, `doctor`, `healthcheck`, `allowlist ...`).
//! - [`config`]: the TOML config, validated as a whole before anything starts.
//! - [`agent`]: wiring on a bound ops listener; start and drain.
//! - [`tunnel`]: dial (direct or HTTP CONNECT), TLS, WebSocket, hello, HTTP/2 server, reconnect.
//! - [`proxy`]: one call: allow-list decision, header policy, forward, stream back, audit.
//! - [`rules`]: the allow-list in force and its hot reload (SIGHUP, file watcher).
//! - [`upstream`]: the HTTP client towards Bitbucket (exact target, no redirects).
//! - [`credentials`]: basic, bearer and OAuth 2.0 (rotating refresh token) credentials.
//! - [`audit`]: the append-only JSON-lines audit log.
//! - [`metrics`]: Prometheus metrics.
//! - [`notify`]: systemd readiness, reload, stopping and watchdog notifications.
//! - [`doctor`]: `relay-agent doctor`, every check from config to Bitbucket permissions.

pub mod agent;
pub mod audit;
pub mod cli;
pub mod config;
pub mod credentials;
pub mod doctor;
pub mod metrics;
pub mod notify;
pub mod proxy;
pub mod rules;
pub mod tunnel;
pub mod upstream;
