//! 429 storms with and without `Retry-After`, a budget under the server's limit, 5xx bursts
//! and connection resets.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bitbucket_sim::{Fault, RateLimitConfig, Simulator};
use bytes::Bytes;
use http::Method;
use relay_broker::bitbucket::{
    AccountLabel, BitbucketClient, ClientConfig, DirectTransport, ErrorKind, Transport,
    TransportError, TransportResponse,
};

use super::support::{code_snapshot, quick, start, unlimited};

/// A 429 storm: the server's bucket is much smaller than the client's budget, so the client
/// keeps being refused and must back off; nothing may be lost.
async fn survive_a_429_storm(retry_after_header: bool) {
    let reference = start(unlimited()).await;
    let expected = code_snapshot(&reference.client(&reference.admin(), quick())).await;
    let env = start(unlimited()).await;
    env.sim.set_rate_limit(RateLimitConfig {
        enabled: true,
        burst: 4,
        refill_per_second: 40.0,
        retry_after_header,
    });
    let config = ClientConfig {
        max_retries: 30,
        ..quick()
    };
    let client = env.client(&env.admin(), config);
    assert_eq!(code_snapshot(&client).await, expected);
    let needed = reference.sim.counters().total;
    assert!(
        client.calls() > needed,
        "the storm caused retries ({} calls for {needed} answers)",
        client.calls()
    );
}

#[tokio::test]
async fn survives_a_429_storm_honouring_retry_after() {
    survive_a_429_storm(true).await;
}

#[tokio::test]
async fn survives_a_429_storm_without_retry_after() {
    survive_a_429_storm(false).await;
}

/// A budget below the server's own limit means no 429 at all, even with parallel callers.
#[tokio::test]
async fn a_budget_below_the_servers_limit_never_meets_a_429() {
    let env = start(unlimited()).await;
    env.sim.set_rate_limit(RateLimitConfig {
        enabled: true,
        burst: 10,
        refill_per_second: 50.0,
        retry_after_header: true,
    });
    let config = ClientConfig {
        rate_per_second: 40.0,
        burst: 8,
        max_retries: 0,
        ..quick()
    };
    let client = env.client(&env.admin(), config);
    let tasks: Vec<_> = (0..80)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.application_properties().await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(client.calls(), 80);
    assert_eq!(env.sim.counters().total, 80);
}

/// Wraps a transport and clears the simulator's faults after `n` requests.
#[derive(Debug)]
struct RecoverAfter {
    inner: DirectTransport,
    sim: Simulator,
    n: usize,
    seen: AtomicUsize,
}

#[async_trait::async_trait]
impl Transport for RecoverAfter {
    async fn send(
        &self,
        method: Method,
        target: &str,
        body: Option<Bytes>,
        max_body: usize,
    ) -> Result<TransportResponse, TransportError> {
        let response = self.inner.send(method, target, body, max_body).await;
        if self.seen.fetch_add(1, Ordering::SeqCst) + 1 == self.n {
            self.sim.clear_faults();
        }
        response
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

#[tokio::test]
async fn a_5xx_burst_is_survived_and_a_longer_one_reported() {
    let env = start(unlimited()).await;
    let fault = Fault {
        error_status: Some(503),
        error_rate: 1.0,
        ..Fault::default()
    };
    env.sim.set_fault(
        "GET /rest/api/1.0/projects/{key}/repos",
        Some(fault.clone()),
    );
    let transport: Arc<dyn Transport> = Arc::new(RecoverAfter {
        inner: env.transport(&env.admin()),
        sim: env.sim.clone(),
        n: 2,
        seen: AtomicUsize::new(0),
    });
    let client = BitbucketClient::new(AccountLabel::new("acme", "dc"), transport, quick());
    let project = env.sim.repos().into_iter().find(|r| !r.personal).unwrap();
    let repos = client.repos(&project.project_key).await.unwrap();
    assert!(!repos.is_empty());
    assert_eq!(client.calls(), 3, "two 503s, then the answer");

    env.sim.set_fault("*", Some(fault));
    let config = ClientConfig {
        max_retries: 2,
        ..quick()
    };
    let client = env.client(&env.admin(), config);
    let err = client.repos(&project.project_key).await.unwrap_err();
    assert!(
        matches!(err.kind, ErrorKind::Status { status: 503, .. }),
        "{err}"
    );
    assert!(err.retryable);
    assert_eq!(client.calls(), 3);
    assert!(
        err.to_string().contains("gave up after 3 attempts"),
        "{err}"
    );
}

#[tokio::test]
async fn connection_resets_are_retried() {
    let env = start(unlimited()).await;
    env.sim.set_fault(
        "GET /rest/api/1.0/projects",
        Some(Fault {
            reset_rate: 0.5,
            ..Fault::default()
        }),
    );
    let config = ClientConfig {
        max_retries: 20,
        ..quick()
    };
    let client = env.client(&env.admin(), config);
    for _ in 0..5 {
        assert_eq!(
            client.projects().await.unwrap().len(),
            env.sim.summary().projects
        );
    }
}

#[tokio::test]
async fn a_server_slower_than_the_timeout_is_a_retryable_timeout() {
    let env = start(unlimited()).await;
    env.sim.set_fault(
        "GET /rest/api/1.0/projects",
        Some(Fault {
            latency_ms: 5_000,
            ..Fault::default()
        }),
    );
    let config = ClientConfig {
        timeout: std::time::Duration::from_millis(300),
        max_retries: 1,
        ..quick()
    };
    let client = env.client(&env.admin(), config);
    let err = client.projects().await.unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Timeout(_)), "{err}");
    assert!(err.retryable);
    assert_eq!(client.calls(), 2);
}
