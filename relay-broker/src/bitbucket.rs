//! The typed Bitbucket Server / Data Center client the sync engine reads through.
//!
//! One client per account, over a [`Transport`] that is either the relay (through the account's
//! agents) or direct HTTPS with the account's credentials. The client pages, retries, limits its
//! concurrency and spends a request-rate budget, so the engine above it only asks for data.
//!
//! Module map:
//! - [`transport`]: the [`Transport`] trait, [`RelayTransport`] and [`DirectTransport`].
//! - [`client`]: [`BitbucketClient`] and [`ClientConfig`]: one method per call the engine makes.
//! - [`paging`]: following `nextPageStart` ([`Pages`]), with a guard against endless listings.
//! - [`retry`]: which failures are retried, `Retry-After`, and the backoff between attempts.
//! - [`budget`]: the request-rate token bucket (never exceeded, retries included).
//! - [`endpoints`]: [`ENDPOINTS`], every call the client can make, checked against the allow-list.
//! - [`model`]: tolerant serde models of the JSON the server answers.
//! - [`error`]: [`ClientError`]: which account, which endpoint, what failed, retryable or not.

pub mod budget;
pub mod client;
pub mod endpoints;
pub mod error;
pub mod model;
pub mod paging;
pub mod retry;
mod target;
pub mod transport;

#[cfg(test)]
mod tests;

pub use budget::RateBudget;
pub use client::{AccountLabel, BitbucketClient, ClientConfig};
pub use endpoints::{ENDPOINTS, Endpoint};
pub use error::{ClientError, ErrorKind};
pub use model::*;
pub use paging::Pages;
pub use transport::{
    DirectOptions, DirectTransport, RelayTransport, Transport, TransportError, TransportResponse,
};
