//! Graceful shutdown: one cancellation token tree and one task tracker per process.
//!
//! `stop` is cancelled when SIGTERM or SIGINT arrives: listeners stop accepting, tunnels send
//! GOAWAY, readiness turns false. In-flight work then has the grace period to finish
//! ([`Shutdown::drain`]); whatever is left after that is dropped with the runtime.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The shutdown handle of a process (or of one component inside a test).
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    stop: CancellationToken,
    tracker: TaskTracker,
}

impl Shutdown {
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancelled when the process should stop taking new work.
    pub fn token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// A child handle: cancelled with this one, or on its own (e.g. one tunnel session).
    pub fn child(&self) -> Shutdown {
        Shutdown {
            stop: self.stop.child_token(),
            tracker: self.tracker.clone(),
        }
    }

    pub fn is_stopping(&self) -> bool {
        self.stop.is_cancelled()
    }

    /// Resolves once stopping has begun.
    pub async fn stopped(&self) {
        self.stop.cancelled().await;
    }

    /// Starts stopping without waiting.
    pub fn trigger(&self) {
        self.stop.cancel();
    }

    /// Spawns a task that drain waits for.
    pub fn spawn<F>(&self, future: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.tracker.spawn(future)
    }

    /// Stops taking new work and waits up to `grace` for tracked tasks.
    /// Returns `true` if everything finished in time.
    pub async fn drain(&self, grace: Duration) -> bool {
        self.stop.cancel();
        self.tracker.close();
        tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_ok()
    }
}

/// Which signal asked us to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    Terminate,
    Interrupt,
}

/// Waits for SIGTERM or SIGINT (Ctrl-C).
pub async fn stop_signal() -> std::io::Result<StopSignal> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => Ok(StopSignal::Terminate),
        _ = int.recv() => Ok(StopSignal::Interrupt),
    }
}

/// A stream of SIGHUPs (reload requests).
pub fn hangups() -> std::io::Result<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn drain_waits_for_tracked_tasks_and_reports_stragglers() {
        let shutdown = Shutdown::new();
        let token = shutdown.token();
        shutdown.spawn(async move { token.cancelled().await });
        assert!(shutdown.drain(Duration::from_secs(5)).await);

        let stuck = Shutdown::new();
        stuck.spawn(std::future::pending::<()>());
        assert!(!stuck.drain(Duration::from_millis(20)).await);
    }
}
