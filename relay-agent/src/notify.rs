//! systemd service notifications for `Type=notify` units (sd-notify; no-ops outside systemd).
//!
//! - `READY=1` once the first connection attempt to the broker has ended, connected or not: the
//!   agent keeps retrying by itself, so a broker that is down must not fail the unit's start, but
//!   `systemctl start` should not return before the agent has tried once either.
//! - `RELOADING=1` with `MONOTONIC_USEC` (systemd insists on both in one message) before a SIGHUP
//!   reload, `READY=1` after it, whatever its outcome (a refused allow-list keeps the old one).
//! - `STOPPING=1` when draining starts.
//! - `WATCHDOG=1` every half of `WATCHDOG_USEC` while the async runtime is responsive.
//!
//! Failures to notify are logged and otherwise ignored: a missing notification shows up in
//! `systemctl status` (start timeout, watchdog), and stopping the agent over it would be worse.

use std::sync::Arc;
use std::time::Duration;

use relay_shared::telemetry::Readiness;
use sd_notify::NotifyState;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::metrics::AgentMetrics;

/// The readiness check the tunnel loop keeps, and its value before the first attempt ended.
const TUNNEL_PREFIX: &str = "tunnel: ";
const TUNNEL_CONNECTING: &str = "tunnel: connecting";

/// How often the first-attempt wait looks at the readiness checks.
const POLL: Duration = Duration::from_millis(50);

fn send(states: &[NotifyState<'_>]) {
    if let Err(err) = sd_notify::notify(states) {
        warn!(error = %err, "cannot notify systemd");
    }
}

/// `READY=1` (also after a reload).
pub fn ready() {
    send(&[NotifyState::Ready]);
}

/// `STOPPING=1`.
pub fn stopping() {
    send(&[NotifyState::Stopping]);
}

/// `STATUS=...`, shown by `systemctl status`.
pub fn status(text: &str) {
    send(&[NotifyState::Status(text)]);
}

/// `RELOADING=1` and `MONOTONIC_USEC=<now>` in one message.
pub fn reloading() {
    match reloading_states() {
        Ok(states) => send(&states),
        Err(err) => warn!(error = %err, "cannot read the monotonic clock for RELOADING=1"),
    }
}

/// The message that announces a reload.
pub fn reloading_states() -> std::io::Result<Vec<NotifyState<'static>>> {
    Ok(vec![
        NotifyState::Reloading,
        NotifyState::monotonic_usec_now()?,
    ])
}

/// Whether the tunnel loop has finished its first attempt: a session was established, or the
/// `tunnel` readiness check holds a failure reason other than "connecting" (it is absent until
/// the loop starts, so an empty list of failed checks alone proves nothing).
pub fn first_attempt_done(readiness: &Readiness, metrics: &AgentMetrics) -> bool {
    if metrics.tunnel_connects.get() > 0 {
        return true;
    }
    match readiness.state() {
        Ok(()) => false,
        Err(failed) => failed
            .iter()
            .any(|check| check.starts_with(TUNNEL_PREFIX) && check != TUNNEL_CONNECTING),
    }
}

/// Waits until the first connection attempt ended, at most `limit`; returns whether it did.
pub async fn wait_first_attempt(
    readiness: &Readiness,
    metrics: &AgentMetrics,
    limit: Duration,
) -> bool {
    let wait = async {
        while !first_attempt_done(readiness, metrics) {
            tokio::time::sleep(POLL).await;
        }
    };
    tokio::time::timeout(limit, wait).await.is_ok()
}

/// Sends `READY=1` once the first attempt ended (or `limit` passed, or `stop` fired first).
pub async fn announce_ready(
    readiness: Arc<Readiness>,
    metrics: AgentMetrics,
    limit: Duration,
    stop: CancellationToken,
) {
    tokio::select! {
        done = wait_first_attempt(&readiness, &metrics, limit) => {
            if !done {
                warn!(?limit, "first broker connection attempt still running; reporting ready anyway");
            }
            ready();
            let text = match readiness.state() {
                Ok(()) => "connected to the broker".to_owned(),
                Err(failed) => format!("not ready: {}", failed.join("; ")),
            };
            status(&text);
        }
        () = stop.cancelled() => {}
    }
}

/// Pings the systemd watchdog while running; a no-op handle when no watchdog is configured.
#[derive(Debug)]
pub struct Watchdog {
    stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Watchdog {
    /// Starts pinging at half of `WATCHDOG_USEC` if systemd set it for this process.
    pub fn start() -> Watchdog {
        Self::start_with(sd_notify::watchdog_enabled())
    }

    /// Starts pinging at half of `timeout` (none: do nothing).
    pub fn start_with(timeout: Option<Duration>) -> Watchdog {
        let stop = CancellationToken::new();
        let task = timeout.map(|timeout| {
            let period = (timeout / 2).max(Duration::from_millis(100));
            debug!(?period, "systemd watchdog enabled");
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut ticks = tokio::time::interval(period);
                loop {
                    tokio::select! {
                        _ = ticks.tick() => send(&[NotifyState::Watchdog]),
                        () = stop.cancelled() => break,
                    }
                }
            })
        });
        Watchdog { stop, task }
    }

    /// Whether pings are being sent.
    pub fn is_active(&self) -> bool {
        self.task.is_some()
    }

    /// Stops pinging (after the drain, right before exit) and waits for the task to end.
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reload_message_carries_the_monotonic_time() {
        let states = reloading_states().unwrap();
        let text: Vec<String> = states.iter().map(ToString::to_string).collect();
        assert_eq!(text[0], "RELOADING=1");
        let usec: u64 = text[1]
            .strip_prefix("MONOTONIC_USEC=")
            .unwrap()
            .parse()
            .unwrap();
        assert!(usec > 0);
    }

    #[test]
    fn first_attempt_is_done_when_the_tunnel_is_up_or_failed() {
        let metrics = AgentMetrics::register(&mut prometheus_client::registry::Registry::default());
        let readiness = Readiness::new();
        readiness.set("allowlist", Ok(()));
        assert!(
            !first_attempt_done(&readiness, &metrics),
            "loop not started yet"
        );
        readiness.set("tunnel", Err("connecting".into()));
        assert!(!first_attempt_done(&readiness, &metrics));
        readiness.set("tunnel", Err("connect_failed: refused".into()));
        assert!(first_attempt_done(&readiness, &metrics));
        readiness.set("tunnel", Ok(()));
        assert!(!first_attempt_done(&readiness, &metrics));
        metrics.tunnel_connects.inc();
        assert!(first_attempt_done(&readiness, &metrics));
    }

    #[tokio::test]
    async fn watchdog_runs_only_when_configured_and_stops() {
        let off = Watchdog::start_with(None);
        assert!(!off.is_active());
        off.stop().await;
        let on = Watchdog::start_with(Some(Duration::from_secs(10)));
        assert!(on.is_active());
        on.stop().await;
    }
}
