//! HTTP/2 settings for the tunnel, applied identically by the broker (client) and agent (server).
//!
//! Flow control is what keeps memory flat when a 1 GB body crosses: the receiver never buffers
//! more than the connection window across all streams, and a sender is held back per stream.
//! Windows are sized for throughput on a fast link (a few MiB in flight) while bounding the
//! worst case per tunnel to `connection_window` on the receive side plus `max_send_buf` per
//! active stream on the send side.

use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioTimer};

/// Tunables for one tunnel's HTTP/2 connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Http2Settings {
    /// Per-stream receive window (bytes).
    pub stream_window: u32,
    /// Whole-connection receive window (bytes).
    pub connection_window: u32,
    /// Largest HTTP/2 frame (bytes); bigger frames mean fewer headers and wakeups.
    pub max_frame_size: u32,
    /// How much a sender buffers per stream before applying back-pressure (bytes).
    pub max_send_buf: usize,
    /// Streams the agent serves at once on one tunnel.
    pub max_concurrent_streams: u32,
    /// HTTP/2 PING interval; a link is declared dead after one more interval without an ACK,
    /// so a dead link is noticed within two intervals.
    pub keepalive_interval: Duration,
}

impl Default for Http2Settings {
    fn default() -> Self {
        Http2Settings {
            stream_window: 2 << 20,
            connection_window: 8 << 20,
            max_frame_size: 64 << 10,
            max_send_buf: 1 << 20,
            max_concurrent_streams: 1024,
            keepalive_interval: Duration::from_secs(15),
        }
    }
}

impl Http2Settings {
    /// The broker's client side of the tunnel.
    pub fn client_builder(&self) -> hyper::client::conn::http2::Builder<TokioExecutor> {
        let mut builder = hyper::client::conn::http2::Builder::new(TokioExecutor::new());
        builder
            .timer(TokioTimer::new())
            .initial_stream_window_size(self.stream_window)
            .initial_connection_window_size(self.connection_window)
            .max_frame_size(self.max_frame_size)
            .max_send_buf_size(self.max_send_buf)
            .keep_alive_interval(self.keepalive_interval)
            .keep_alive_timeout(self.keepalive_interval)
            .keep_alive_while_idle(true);
        builder
    }

    /// The agent's server side of the tunnel.
    pub fn server_builder(&self) -> hyper::server::conn::http2::Builder<TokioExecutor> {
        let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
        builder
            .timer(TokioTimer::new())
            .initial_stream_window_size(self.stream_window)
            .initial_connection_window_size(self.connection_window)
            .max_frame_size(self.max_frame_size)
            .max_send_buf_size(self.max_send_buf)
            .max_concurrent_streams(self.max_concurrent_streams)
            .keep_alive_interval(self.keepalive_interval)
            .keep_alive_timeout(self.keepalive_interval);
        builder
    }
}
