//! What the relay agent and the relay broker must agree on, and the plumbing both use.
//!
//! Module map (one concern each):
//! - [`allowlist`]: which Bitbucket calls the agent forwards: canonicaliser, rule matcher,
//!   file format, default list, Snyk import, lints.
//! - [`protocol`]: tunnel protocol version, WebSocket subprotocol, hello/welcome messages,
//!   well-known headers and the JSON error body both sides answer with.
//! - [`tls`]: the one place that installs the ring provider, loads PEM files and builds
//!   rustls configs (mTLS server for the broker, client for the agent).
//! - [`wsio`]: a WebSocket seen as an `AsyncRead + AsyncWrite` byte stream; HTTP/2 runs on it.
//! - [`h2`]: HTTP/2 settings (windows, frame size, keepalive) shared by both ends of the tunnel.
//! - [`healthcheck`]: the `healthcheck` subcommand's probe of a local `/readyz` (no curl in images).
//! - [`headers`]: which request/response headers may cross the tunnel.
//! - [`backoff`]: capped exponential backoff with full jitter (reconnects and retries).
//! - [`secret`]: a redacted secret type and where secrets are read from (env, file, systemd).
//! - [`shutdown`]: cancellation-token tree, task tracker and signal handling for graceful drain.
//! - [`telemetry`]: tracing setup, the metrics registry and the ops endpoints
//!   (`/healthz`, `/readyz`, `/metrics`).
//! - [`atomic_file`]: crash-safe, mode-0600 file writes (keys, rotated tokens).
//! - [`credentials`]: Bitbucket credentials (basic, bearer, OAuth 2.0 with rotating refresh tokens).
//! - [`config`]: collecting validation errors with their field paths, human durations and sizes.

pub mod allowlist;
pub mod atomic_file;
pub mod backoff;
pub mod config;
pub mod credentials;
pub mod h2;
pub mod headers;
pub mod healthcheck;
pub mod protocol;
pub mod secret;
pub mod shutdown;
pub mod telemetry;
pub mod tls;
pub mod wsio;
