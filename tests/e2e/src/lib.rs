//! Test support for end-to-end tests and benchmarks: everything runs in-process on loopback
//! with real TLS material generated per run.
//!
//! Module map:
//! - [`pki`]: a throwaway agent CA, broker certificate and agent certificates (good, expired,
//!   foreign-CA) written to a temp dir.
//! - [`origin`]: a stand-in Bitbucket origin that records what reached it (small JSON, big
//!   streamed bodies, an endless body that reports its cancellation).
//! - [`harness`]: broker + agent(s) + origin wired through real config files.
//! - [`raw_http`]: sends byte-exact HTTP/1.1 requests (URL libraries would normalise attacks).
//! - [`tcp_relay`]: a TCP relay that can be frozen (dead-link tests) and an HTTP CONNECT proxy.
//! - [`bench`]: `relay-bench`, the relay-versus-direct benchmark (child processes, load, report).
//! - [`sync_bench`]: `sync-bench`, the sync engine against the simulator through the relay.

#![allow(clippy::unwrap_used)]

pub mod bench;
pub mod harness;
pub mod origin;
pub mod pki;
pub mod raw_http;
pub mod sync_bench;
pub mod tcp_relay;
