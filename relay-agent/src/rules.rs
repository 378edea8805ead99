//! The allow-list in force, and its hot reload.
//!
//! Reload triggers: SIGHUP, and changes to the file seen by a watcher on its *directory* (editors
//! replace files by rename, and a Kubernetes ConfigMap mount swaps a `..data` symlink, so
//! watching the file itself would miss updates). A file that does not parse is refused whole:
//! the previous rules stay in force, the error (file:line:col) is logged and counted.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use notify::{RecursiveMode, Watcher};
use relay_shared::allowlist::{AllowList, AllowListError};
use relay_shared::shutdown::Shutdown;
use tracing::{info, warn};

use crate::metrics::{AgentMetrics, ResultLabel};

/// What a reload did.
#[derive(Debug, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// New rules are in force (the new digest).
    Replaced(String),
    /// The file parsed to the same rules.
    Unchanged,
    /// The built-in list is in use; there is no file to reload.
    Builtin,
}

/// The current allow-list and where it comes from.
#[derive(Debug)]
pub struct Rules {
    current: ArcSwap<AllowList>,
    file: Option<PathBuf>,
    metrics: AgentMetrics,
}

impl Rules {
    /// Loads the file, or the built-in default when there is none.
    pub fn load(
        file: Option<PathBuf>,
        metrics: AgentMetrics,
    ) -> Result<Arc<Rules>, AllowListError> {
        let list = match &file {
            Some(path) => AllowList::load(path)?,
            None => AllowList::builtin_default(),
        };
        metrics
            .allowlist_rules
            .set(i64::try_from(list.rules().len()).unwrap_or(i64::MAX));
        Ok(Arc::new(Rules {
            current: ArcSwap::from_pointee(list),
            file,
            metrics,
        }))
    }

    /// The rules in force (cheap; take one per call and keep it for the whole call).
    pub fn current(&self) -> Arc<AllowList> {
        self.current.load_full()
    }

    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// Re-reads the file. On error the old rules stay and the error is returned.
    pub fn reload(&self) -> Result<ReloadOutcome, AllowListError> {
        let Some(path) = &self.file else {
            return Ok(ReloadOutcome::Builtin);
        };
        let count = |result: &str| {
            self.metrics
                .allowlist_reloads
                .get_or_create(&ResultLabel {
                    result: result.to_owned(),
                })
                .inc();
        };
        match AllowList::load(path) {
            Ok(list) if list.digest() == self.current.load().digest() => {
                count("unchanged");
                Ok(ReloadOutcome::Unchanged)
            }
            Ok(list) => {
                let digest = list.digest().to_owned();
                self.metrics
                    .allowlist_rules
                    .set(i64::try_from(list.rules().len()).unwrap_or(i64::MAX));
                self.current.store(Arc::new(list));
                count("ok");
                info!(%digest, file = %path.display(), "allow-list reloaded");
                Ok(ReloadOutcome::Replaced(digest))
            }
            Err(err) => {
                count("invalid");
                warn!(file = %path.display(), errors = %err, "allow-list reload refused; previous rules stay in force");
                Err(err)
            }
        }
    }

    /// Watches the file's directory and reloads on changes until shutdown.
    pub fn watch(self: &Arc<Self>, shutdown: &Shutdown) -> Result<(), notify::Error> {
        let Some(path) = self.file.clone() else {
            return Ok(());
        };
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_owned();
        let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(1);
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if event.is_ok() {
                    // A full channel means a reload is already pending: nothing to add.
                    let _ = tx.try_send(());
                }
            })?;
        watcher.watch(&dir, RecursiveMode::NonRecursive)?;
        let rules = Arc::clone(self);
        let stop = shutdown.token();
        shutdown.spawn(async move {
            let _watcher = watcher; // dropped (and unregistered) when the task ends
            loop {
                tokio::select! {
                    event = rx.recv() => if event.is_none() { break },
                    () = stop.cancelled() => break,
                }
                // Let a burst of events (write + rename + chmod) settle into one reload.
                tokio::time::sleep(Duration::from_millis(100)).await;
                while rx.try_recv().is_ok() {}
                let _ = rules.reload();
            }
        });
        Ok(())
    }
}
