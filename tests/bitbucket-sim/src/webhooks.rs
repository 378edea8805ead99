//! Webhook delivery: a bounded queue drained by one background task that POSTs signed
//! payloads over plain HTTP and records every outcome (delivered, failed, dropped). Failed
//! deliveries are recorded, not retried.

pub mod payloads;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use ring::hmac;
use serde::Serialize;
use tokio::sync::{mpsc, watch};

use crate::seed::derive;

/// `sha256=<hex HMAC-SHA256 of body keyed with secret>`, the `X-Hub-Signature` value.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    format!("sha256={}", hex::encode(hmac::sign(&key, body).as_ref()))
}

/// One POST to make.
#[derive(Debug, Clone)]
pub struct Job {
    pub webhook_id: u32,
    pub url: String,
    pub event_key: String,
    pub request_id: String,
    pub secret: Option<String>,
    pub body: Bytes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Delivered,
    Failed,
    /// The queue was full (or no runtime was running): never sent.
    Dropped,
}

/// The record of one delivery attempt, served at `/sim/webhooks/deliveries`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub webhook_id: u32,
    pub url: String,
    pub event_key: String,
    pub request_id: String,
    pub outcome: Outcome,
    pub status: Option<u16>,
    pub error: Option<String>,
}

#[derive(Debug)]
struct Log {
    items: Mutex<Vec<Delivery>>,
    count: watch::Sender<usize>,
}

impl Log {
    fn record(&self, job: &Job, outcome: Outcome, status: Option<u16>, error: Option<String>) {
        match outcome {
            Outcome::Delivered => {
                tracing::debug!(url = %job.url, event = %job.event_key, "webhook delivered")
            }
            _ => {
                tracing::warn!(url = %job.url, event = %job.event_key, ?outcome, ?status, ?error, "webhook not delivered")
            }
        }
        let mut items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        items.push(Delivery {
            webhook_id: job.webhook_id,
            url: job.url.clone(),
            event_key: job.event_key.clone(),
            request_id: job.request_id.clone(),
            outcome,
            status,
            error,
        });
        self.count.send_replace(items.len());
    }
}

#[derive(Debug)]
pub struct Dispatcher {
    seed: u64,
    requests: AtomicU64,
    capacity: usize,
    timeout: Duration,
    sender: Mutex<Option<mpsc::Sender<Job>>>,
    worker: Mutex<Option<tokio::task::JoinHandle<()>>>,
    log: Arc<Log>,
}

impl Dispatcher {
    pub fn new(seed: u64, capacity: usize, timeout: Duration) -> Dispatcher {
        let (count, _) = watch::channel(0);
        Dispatcher {
            seed,
            requests: AtomicU64::new(0),
            capacity: capacity.max(1),
            timeout,
            sender: Mutex::new(None),
            worker: Mutex::new(None),
            log: Arc::new(Log {
                items: Mutex::new(Vec::new()),
                count,
            }),
        }
    }

    /// The queue's sender, starting the worker on the current runtime the first time.
    fn sender(&self) -> Option<mpsc::Sender<Job>> {
        let mut slot = self.sender.lock().unwrap_or_else(|e| e.into_inner());
        if slot.as_ref().is_none_or(|s| s.is_closed()) {
            let handle = tokio::runtime::Handle::try_current().ok()?;
            let (tx, rx) = mpsc::channel(self.capacity);
            let task = handle.spawn(worker(rx, Arc::clone(&self.log), self.timeout));
            *self.worker.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
            *slot = Some(tx);
        }
        slot.clone()
    }

    /// A UUID-shaped, deterministic `X-Request-Id`.
    pub fn next_request_id(&self) -> String {
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        let (a, b) = (
            derive(self.seed, "request-id", n),
            derive(self.seed, "request-id-2", n),
        );
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xFFFF,
            a & 0xFFF,
            0x8000 | (b >> 48) & 0x3FFF,
            b & 0xFFFF_FFFF_FFFF
        )
    }

    pub fn enqueue(&self, job: Job) {
        match self.sender() {
            Some(tx) => {
                if let Err(e) = tx.try_send(job) {
                    let job = match e {
                        mpsc::error::TrySendError::Full(j)
                        | mpsc::error::TrySendError::Closed(j) => j,
                    };
                    self.log.record(
                        &job,
                        Outcome::Dropped,
                        None,
                        Some("delivery queue full".into()),
                    );
                }
            }
            None => self.log.record(
                &job,
                Outcome::Dropped,
                None,
                Some("no async runtime".into()),
            ),
        }
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.log
            .items
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Stops taking new events and waits up to `grace` for the queued ones to be delivered.
    pub async fn drain(&self, grace: Duration) {
        self.sender.lock().unwrap_or_else(|e| e.into_inner()).take();
        let task = self.worker.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(task) = task
            && tokio::time::timeout(grace, task).await.is_err()
        {
            tracing::warn!(?grace, "webhook queue not drained before shutdown");
        }
    }

    /// Waits until at least `n` deliveries have been recorded.
    pub async fn wait_for(&self, n: usize) {
        let mut rx = self.log.count.subscribe();
        // The sender lives as long as `self`, so this only ends when the count is reached.
        let _ = rx.wait_for(|&c| c >= n).await;
    }
}

async fn worker(mut rx: mpsc::Receiver<Job>, log: Arc<Log>, timeout: Duration) {
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    while let Some(job) = rx.recv().await {
        match tokio::time::timeout(timeout, post(&client, &job)).await {
            Ok(Ok(status)) if (200..300).contains(&status) => {
                log.record(&job, Outcome::Delivered, Some(status), None)
            }
            Ok(Ok(status)) => log.record(&job, Outcome::Failed, Some(status), None),
            Ok(Err(e)) => log.record(&job, Outcome::Failed, None, Some(e)),
            Err(_) => log.record(
                &job,
                Outcome::Failed,
                None,
                Some(format!("timed out after {timeout:?}")),
            ),
        }
    }
}

async fn post(client: &Client<HttpConnector, Full<Bytes>>, job: &Job) -> Result<u16, String> {
    if !job.url.starts_with("http://") {
        return Err("only http:// webhook URLs are supported by the simulator".into());
    }
    let mut req = http::Request::post(&job.url)
        .header(
            http::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )
        .header("X-Event-Key", &job.event_key)
        .header("X-Request-Id", &job.request_id);
    if let Some(secret) = &job.secret {
        req = req.header("X-Hub-Signature", signature(secret, &job.body));
    }
    let req = req
        .body(Full::new(job.body.clone()))
        .map_err(|e| format!("bad request: {e}"))?;
    let resp = client
        .request(req)
        .await
        .map_err(|e| format!("POST {} failed: {e}", job.url))?;
    Ok(resp.status().as_u16())
}
