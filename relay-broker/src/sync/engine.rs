//! [`SyncEngine`]: every account with its client, and the passes run on them.
//!
//! One sync per account at a time: a pass takes the account's lock; a manual trigger that finds
//! it held is told so ([`SyncError::AlreadyRunning`]) while the scheduler waits its turn. Each
//! pass is recorded in the store as a run (calls made, duration, errors, status); a pass that
//! fails on some repositories completes the rest and ends `partial`.

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use tokio::sync::{Mutex, MutexGuard};
use tracing::{info, warn};

use crate::accounts::{Account, AccountKind};
use crate::bitbucket::{
    AccountLabel, BitbucketClient, ClientConfig, ClientError, DirectOptions, DirectTransport,
    RelayTransport, Transport,
};
use crate::relay::Relay;
use crate::store::{AccountKey, PersonRecord, RunOutcome, RunStatus, Store, StoreError, SyncKind};

/// Why a pass could not run or failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("no account {alias:?} for tenant {tenant:?}")]
    UnknownAccount { tenant: String, alias: String },
    #[error("a sync of {account} is already running; try again when it has finished")]
    AlreadyRunning { account: String },
    #[error("{0}")]
    Client(#[from] ClientError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("account {account}: {message}")]
    Setup { account: String, message: String },
}

/// What one pass did.
#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    pub tenant: String,
    pub alias: String,
    pub kind: SyncKind,
    pub status: RunStatus,
    pub calls: u64,
    pub duration_ms: u64,
    pub errors: Vec<String>,
    pub detail: serde_json::Value,
}

/// What a pass hands back to the engine for its report.
#[derive(Debug, Default)]
pub struct PassResult {
    pub errors: Vec<String>,
    pub detail: serde_json::Value,
}

/// One account: config, client, lock.
#[derive(Debug)]
pub struct AccountRuntime {
    pub account: Account,
    pub key: AccountKey,
    pub client: BitbucketClient,
    running: Mutex<()>,
}

impl AccountRuntime {
    fn new(account: Account, relay: &Relay) -> Result<AccountRuntime, SyncError> {
        let key = AccountKey::new(account.tenant.clone(), account.alias.clone());
        let setup = |message: String| SyncError::Setup {
            account: key.to_string(),
            message,
        };
        let transport: Arc<dyn Transport> = match account.kind {
            AccountKind::ServerRelay => Arc::new(RelayTransport::new(
                relay.clone(),
                account.tenant.clone(),
                account.alias.clone(),
            )),
            AccountKind::ServerDirect => {
                let direct = account
                    .direct
                    .as_ref()
                    .ok_or_else(|| setup("server-direct without settings".into()))?;
                let options = DirectOptions {
                    ca_file: direct.ca_file.clone(),
                    read_timeout: account.limits.timeout,
                    ..DirectOptions::default()
                };
                Arc::new(
                    DirectTransport::new(&direct.url, &direct.auth, options)
                        .map_err(|e| setup(e.to_string()))?,
                )
            }
            other => {
                return Err(setup(format!(
                    "{} accounts are not supported yet",
                    other.as_str()
                )));
            }
        };
        let config = ClientConfig {
            concurrency: account.limits.concurrency,
            rate_per_second: account.limits.rate_per_second,
            burst: account.limits.burst,
            timeout: account.limits.timeout,
            ..ClientConfig::default()
        };
        let label = AccountLabel::new(account.tenant.clone(), account.alias.clone());
        let client = BitbucketClient::new(label, transport, config);
        Ok(AccountRuntime {
            account,
            key,
            client,
            running: Mutex::new(()),
        })
    }

    /// Whether `project` passes the account's project filter.
    pub fn includes_project(&self, project: &str) -> bool {
        self.account
            .projects
            .as_ref()
            .is_none_or(|keys| keys.iter().any(|k| k.eq_ignore_ascii_case(project)))
    }
}

/// Every account's sync, over one store. Accounts come from the config file and may be added
/// and removed at runtime through the admin API.
#[derive(Debug)]
pub struct SyncEngine {
    store: Arc<dyn Store>,
    relay: Relay,
    accounts: std::sync::RwLock<Vec<Arc<AccountRuntime>>>,
}

impl SyncEngine {
    /// Builds a client per account (relay accounts go through `relay`).
    pub fn new(
        store: Arc<dyn Store>,
        accounts: &[Account],
        relay: &Relay,
    ) -> Result<SyncEngine, SyncError> {
        let accounts = accounts
            .iter()
            .map(|a| AccountRuntime::new(a.clone(), relay).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SyncEngine {
            store,
            relay: relay.clone(),
            accounts: std::sync::RwLock::new(accounts),
        })
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Prepares the store at startup: runs left `running` by a previous process become
    /// `interrupted`, and each tenant's people directory from config is loaded.
    pub async fn prepare(
        &self,
        people: &std::collections::HashMap<String, Vec<crate::config::RawPerson>>,
    ) -> Result<(), SyncError> {
        let interrupted = self.store.interrupt_unfinished_runs().await?;
        if interrupted > 0 {
            warn!(
                interrupted,
                "runs of a previous process did not finish; their checkpoints resume them"
            );
        }
        for (tenant, list) in people {
            if list.is_empty() {
                continue;
            }
            let records: Vec<PersonRecord> = list
                .iter()
                .map(|p| PersonRecord {
                    email: p.email.clone(),
                    name: p.name.clone(),
                })
                .collect();
            self.store.replace_people(tenant, &records).await?;
        }
        Ok(())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Arc<AccountRuntime>>> {
        self.accounts
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The accounts of a tenant.
    pub fn accounts(&self, tenant: &str) -> Vec<Account> {
        self.read()
            .iter()
            .filter(|a| a.account.tenant == tenant)
            .map(|a| a.account.clone())
            .collect()
    }

    /// Every account runtime (the scheduler walks them).
    pub fn runtimes(&self) -> Vec<Arc<AccountRuntime>> {
        self.read().clone()
    }

    pub fn runtime(&self, tenant: &str, alias: &str) -> Result<Arc<AccountRuntime>, SyncError> {
        self.read()
            .iter()
            .find(|a| a.account.tenant == tenant && a.account.alias == alias)
            .cloned()
            .ok_or_else(|| SyncError::UnknownAccount {
                tenant: tenant.to_owned(),
                alias: alias.to_owned(),
            })
    }

    /// Adds an account at runtime; refused if its alias is taken. Returns its runtime (start its
    /// schedules with [`super::scheduler::start_account`]).
    pub fn add_account(&self, account: Account) -> Result<Arc<AccountRuntime>, SyncError> {
        let rt = Arc::new(AccountRuntime::new(account, &self.relay)?);
        let mut accounts = self
            .accounts
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if accounts.iter().any(|a| a.key == rt.key) {
            return Err(SyncError::Setup {
                account: rt.key.to_string(),
                message: "the alias is already in use".into(),
            });
        }
        accounts.push(Arc::clone(&rt));
        Ok(rt)
    }

    /// Removes an account; its schedules end at their next wake-up, its data stays in the store.
    pub fn remove_account(&self, tenant: &str, alias: &str) -> Result<(), SyncError> {
        let mut accounts = self
            .accounts
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let before = accounts.len();
        accounts.retain(|a| !(a.account.tenant == tenant && a.account.alias == alias));
        if accounts.len() == before {
            return Err(SyncError::UnknownAccount {
                tenant: tenant.to_owned(),
                alias: alias.to_owned(),
            });
        }
        Ok(())
    }

    /// Runs one pass now if the account is free, else [`SyncError::AlreadyRunning`].
    pub async fn try_run(
        &self,
        tenant: &str,
        alias: &str,
        kind: SyncKind,
    ) -> Result<SyncReport, SyncError> {
        let rt = self.runtime(tenant, alias)?;
        let guard = rt
            .running
            .try_lock()
            .map_err(|_| SyncError::AlreadyRunning {
                account: rt.key.to_string(),
            })?;
        self.run_pass(&rt, kind, None, guard).await
    }

    /// Runs one pass, waiting for the account's previous pass to finish first.
    pub async fn run(
        &self,
        tenant: &str,
        alias: &str,
        kind: SyncKind,
    ) -> Result<SyncReport, SyncError> {
        let rt = self.runtime(tenant, alias)?;
        let guard = rt.running.lock().await;
        self.run_pass(&rt, kind, None, guard).await
    }

    /// A pull-request pass with the given coverage (scheduled window, webhook targets).
    pub async fn run_pulls(
        &self,
        tenant: &str,
        alias: &str,
        coverage: super::pulls::Coverage,
    ) -> Result<SyncReport, SyncError> {
        let rt = self.runtime(tenant, alias)?;
        let guard = rt.running.lock().await;
        self.run_pass(&rt, SyncKind::PullRequests, Some(coverage), guard)
            .await
    }

    /// Identities, repositories, then pull requests, for one account.
    pub async fn full_sync(&self, tenant: &str, alias: &str) -> Result<Vec<SyncReport>, SyncError> {
        let mut reports = Vec::new();
        for kind in [
            SyncKind::Identities,
            SyncKind::Repositories,
            SyncKind::PullRequests,
        ] {
            reports.push(self.run(tenant, alias, kind).await?);
        }
        Ok(reports)
    }

    /// Whether the account is in a pass right now.
    pub fn is_running(&self, tenant: &str, alias: &str) -> bool {
        self.runtime(tenant, alias)
            .is_ok_and(|rt| rt.running.try_lock().is_err())
    }

    async fn run_pass(
        &self,
        rt: &Arc<AccountRuntime>,
        kind: SyncKind,
        coverage: Option<super::pulls::Coverage>,
        _guard: MutexGuard<'_, ()>,
    ) -> Result<SyncReport, SyncError> {
        // When the previous pass of this kind started (before this one is recorded).
        let previous_start = self
            .store
            .last_runs(&rt.key.tenant)
            .await?
            .into_iter()
            .find(|r| r.alias == rt.key.alias && r.kind == kind && r.status != RunStatus::Running)
            .map(|r| r.started_at);
        let run_id = self.store.begin_run(&rt.key, kind).await?;
        let calls_before = rt.client.calls();
        let started = Instant::now();
        info!(account = %rt.key, kind = kind.as_str(), "sync pass started");
        let result = match kind {
            SyncKind::Identities => super::identities::pass(rt, self.store.as_ref()).await,
            SyncKind::Repositories => super::repositories::pass(rt, self.store.as_ref()).await,
            SyncKind::PullRequests | SyncKind::Webhook => {
                super::pulls::pass(rt, self.store.as_ref(), coverage, previous_start).await
            }
        };
        let calls = rt.client.calls().saturating_sub(calls_before);
        let (status, errors, detail) = match result {
            Ok(pass) if pass.errors.is_empty() => (RunStatus::Ok, pass.errors, pass.detail),
            Ok(pass) => (RunStatus::Partial, pass.errors, pass.detail),
            Err(err) => (
                RunStatus::Failed,
                vec![err.to_string()],
                serde_json::Value::Null,
            ),
        };
        let outcome = RunOutcome {
            status,
            calls,
            errors: errors.clone(),
            detail: detail.clone(),
        };
        self.store.finish_run(run_id, &outcome).await?;
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        info!(account = %rt.key, kind = kind.as_str(), status = status.as_str(), calls, duration_ms, errors = errors.len(), "sync pass finished");
        Ok(SyncReport {
            tenant: rt.key.tenant.clone(),
            alias: rt.key.alias.clone(),
            kind,
            status,
            calls,
            duration_ms,
            errors,
            detail,
        })
    }
}
