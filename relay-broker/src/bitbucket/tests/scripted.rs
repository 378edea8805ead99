//! The client's behaviour against a scripted transport, under paused time: retries and
//! `Retry-After`, errors that say what happened, paging guards, limits and timeouts.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use tokio::time::Instant;

use crate::bitbucket::client::{AccountLabel, BitbucketClient, ClientConfig};
use crate::bitbucket::error::ErrorKind;
use crate::bitbucket::model::Project;
use crate::bitbucket::transport::{Transport, TransportError, TransportResponse};

type Answer = Result<TransportResponse, TransportError>;
type Responder = dyn Fn(usize, &str) -> Answer + Send + Sync;

/// A transport answering from a function of (call number, target); records every request.
pub(super) struct Script {
    respond: Box<Responder>,
    log: Mutex<Vec<(Method, String)>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    delay: Duration,
}

impl std::fmt::Debug for Script {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Script")
    }
}

impl Script {
    pub(super) fn answering(f: impl Fn(usize, &str) -> Answer + Send + Sync + 'static) -> Script {
        Script {
            respond: Box::new(f),
            log: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            delay: Duration::ZERO,
        }
    }

    pub(super) fn json(status: u16, body: &str) -> Answer {
        Ok(TransportResponse {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: Bytes::from(body.to_owned()),
        })
    }

    fn with_header(answer: Answer, name: http::HeaderName, value: &str) -> Answer {
        answer.map(|mut r| {
            r.headers
                .insert(name, HeaderValue::from_str(value).unwrap());
            r
        })
    }

    pub(super) fn requests(&self) -> Vec<(Method, String)> {
        self.log.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl Transport for Script {
    async fn send(&self, method: Method, target: &str, _: Option<Bytes>, _: usize) -> Answer {
        let n = {
            let mut log = self.log.lock().unwrap();
            log.push((method, target.to_owned()));
            log.len() - 1
        };
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        (self.respond)(n, target)
    }

    fn describe(&self) -> String {
        "script".into()
    }
}

pub(super) fn client_with(script: &Arc<Script>, config: ClientConfig) -> BitbucketClient {
    let transport: Arc<dyn Transport> = Arc::clone(script) as Arc<dyn Transport>;
    BitbucketClient::new(AccountLabel::new("acme", "dc"), transport, config)
}

const ONE_PROJECT: &str = r#"{"isLastPage": true, "values": [{"key": "P"}]}"#;

#[tokio::test(start_paused = true)]
async fn retries_5xx_then_succeeds() {
    let script = Arc::new(Script::answering(|n, _| match n {
        0 | 1 => Script::json(503, r#"{"errors":[{"message":"down for maintenance"}]}"#),
        _ => Script::json(200, ONE_PROJECT),
    }));
    let client = client_with(&script, ClientConfig::default());
    let projects = client.projects().await.unwrap();
    assert_eq!(projects.len(), 1);
    assert_eq!(client.calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn gives_up_after_max_retries_and_says_so() {
    let script = Arc::new(Script::answering(|_, _| {
        Script::json(502, r#"{"errors":[{"message":"bad gateway"}]}"#)
    }));
    let config = ClientConfig {
        max_retries: 2,
        ..ClientConfig::default()
    };
    let client = client_with(&script, config);
    let err = client.projects().await.unwrap_err();
    assert_eq!(client.calls(), 3);
    assert!(err.retryable);
    assert_eq!(err.attempts, 3);
    assert_eq!(
        err.to_string(),
        "account acme/dc: GET /rest/api/1.0/projects: 502: bad gateway (gave up after 3 attempts; retryable later)"
    );
}

#[tokio::test(start_paused = true)]
async fn unauthorized_is_not_retried() {
    let script = Arc::new(Script::answering(|_, _| {
        Script::json(
            401,
            r#"{"errors":[{"message":"Authentication failed.","exceptionName":"com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException"}]}"#,
        )
    }));
    let client = client_with(&script, ClientConfig::default());
    let err = client.repo("P", "r").await.unwrap_err();
    assert_eq!(client.calls(), 1);
    assert!(!err.retryable);
    assert!(matches!(err.kind, ErrorKind::Unauthorized { .. }));
    assert_eq!(
        err.endpoint,
        "GET /rest/api/1.0/projects/{project}/repos/{repo}"
    );
    assert!(err.to_string().ends_with("(not retried)"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn rate_limits_wait_at_least_retry_after() {
    let script = Arc::new(Script::answering(|n, _| match n {
        0 => Script::with_header(Script::json(429, ""), http::header::RETRY_AFTER, "7"),
        1 => Script::json(429, ""),
        _ => Script::json(200, ONE_PROJECT),
    }));
    let client = client_with(&script, ClientConfig::default());
    let started = Instant::now();
    client.projects().await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(7));
    assert_eq!(client.calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn retries_draw_from_the_rate_budget() {
    let script = Arc::new(Script::answering(|n, _| match n {
        0 => Script::json(503, ""),
        _ => Script::json(200, ONE_PROJECT),
    }));
    let config = ClientConfig {
        rate_per_second: 0.5,
        burst: 1,
        backoff: relay_shared::backoff::Backoff::new(
            Duration::from_millis(1),
            Duration::from_millis(1),
        ),
        ..ClientConfig::default()
    };
    let client = client_with(&script, config);
    let started = Instant::now();
    client.projects().await.unwrap();
    assert_eq!(client.calls(), 2);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "the retry waited for a token"
    );
}

#[tokio::test(start_paused = true)]
async fn a_429_pauses_every_caller_of_the_account() {
    let script = Arc::new(Script::answering(|n, _| match n {
        0 => Script::with_header(Script::json(429, ""), http::header::RETRY_AFTER, "5"),
        _ => Script::json(200, ONE_PROJECT),
    }));
    let client = client_with(&script, ClientConfig::default());
    let first = tokio::spawn({
        let c = client.clone();
        async move { c.projects().await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    client.repo("P", "r").await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(4900),
        "held by the other caller's 429"
    );
    first.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_post_is_retried_on_429_but_not_on_5xx() {
    let script = Arc::new(Script::answering(|n, _| match n {
        0 => Script::json(429, ""),
        _ => Script::json(503, ""),
    }));
    let client = client_with(&script, ClientConfig::default());
    let hook = crate::bitbucket::model::NewWebhook::default();
    let err = client.create_webhook("P", "r", &hook).await.unwrap_err();
    assert_eq!(client.calls(), 2);
    assert!(matches!(err.kind, ErrorKind::Status { status: 503, .. }));
}

#[tokio::test(start_paused = true)]
async fn follows_capped_pages_and_asks_for_what_it_got() {
    let script = Arc::new(Script::answering(|_, target| {
        let start: u64 = target
            .split("start=")
            .nth(1)
            .and_then(|s| s.split('&').next())
            .unwrap()
            .parse()
            .unwrap();
        let values: Vec<String> = (start..(start + 2).min(5))
            .map(|i| format!(r#"{{"key": "P{i}"}}"#))
            .collect();
        let last = start + 2 >= 5;
        Script::json(
            200,
            &format!(
                r#"{{"limit": 2, "start": {start}, "isLastPage": {last}, "nextPageStart": {}, "values": [{}]}}"#,
                start + 2,
                values.join(",")
            ),
        )
    }));
    let client = client_with(&script, ClientConfig::default());
    let keys: Vec<String> = client
        .projects()
        .await
        .unwrap()
        .into_iter()
        .map(|p: Project| p.key)
        .collect();
    assert_eq!(keys, ["P0", "P1", "P2", "P3", "P4"]);
    let targets: Vec<String> = script.requests().into_iter().map(|(_, t)| t).collect();
    assert_eq!(
        targets,
        [
            "/rest/api/1.0/projects?start=0&limit=1000",
            "/rest/api/1.0/projects?start=2&limit=2",
            "/rest/api/1.0/projects?start=4&limit=2",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_listing_that_does_not_advance_fails() {
    for body in [
        r#"{"isLastPage": false, "start": 0, "nextPageStart": 0, "values": [{"key": "P"}]}"#,
        r#"{"isLastPage": false, "start": 0, "values": [{"key": "P"}]}"#,
    ] {
        let body = body.to_owned();
        let script = Arc::new(Script::answering(move |_, _| Script::json(200, &body)));
        let client = client_with(&script, ClientConfig::default());
        let err = client.projects().await.unwrap_err();
        assert!(
            matches!(err.kind, ErrorKind::NoProgress { start: 0 }),
            "{err}"
        );
        assert!(!err.retryable);
    }
}

#[tokio::test(start_paused = true)]
async fn timeouts_are_retried_then_reported() {
    let mut script = Script::answering(|_, _| Script::json(200, ONE_PROJECT));
    script.delay = Duration::from_secs(60);
    let script = Arc::new(script);
    let config = ClientConfig {
        timeout: Duration::from_secs(5),
        max_retries: 1,
        ..ClientConfig::default()
    };
    let client = client_with(&script, config);
    let err = client.projects().await.unwrap_err();
    assert_eq!(client.calls(), 2);
    assert!(matches!(err.kind, ErrorKind::Timeout(_)), "{err}");
    assert!(err.retryable);
}

#[tokio::test(start_paused = true)]
async fn concurrency_and_rate_budget_hold_across_clones() {
    let mut script = Script::answering(|_, _| Script::json(200, "{}"));
    script.delay = Duration::from_millis(500);
    let script = Arc::new(script);
    let config = ClientConfig {
        concurrency: 3,
        rate_per_second: 10.0,
        burst: 5,
        ..ClientConfig::default()
    };
    let client = client_with(&script, config);
    let started = Instant::now();
    let tasks: Vec<_> = (0..30)
        .map(|i| {
            let c = client.clone();
            tokio::spawn(async move { c.pull_request("P", "r", i).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(client.calls(), 30);
    assert_eq!(script.max_in_flight.load(Ordering::SeqCst), 3);
    // 3 at a time for 0.5 s each: at least 10 rounds.
    assert!(started.elapsed() >= Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn absent_things_are_none_not_errors() {
    let script = Arc::new(Script::answering(|_, target| {
        if target.contains("/default-branch") {
            Script::json(
                404,
                r#"{"errors":[{"message":"empty","exceptionName":"com.atlassian.bitbucket.repository.NoDefaultBranchException"}]}"#,
            )
        } else {
            Script::json(404, r#"{"errors":[{"message":"no such path"}]}"#)
        }
    }));
    let client = client_with(&script, ClientConfig::default());
    assert_eq!(client.default_branch("P", "r").await.unwrap(), None);
    assert_eq!(
        client.raw("P", "r", "a.txt", "main", 10).await.unwrap(),
        None
    );
    assert!(!client.file_exists("P", "r", "a.txt", "main").await.unwrap());
    assert_eq!(client.calls(), 3, "no fallback, no retries");
}

#[tokio::test(start_paused = true)]
async fn a_missing_repository_is_an_error_not_an_empty_one() {
    let script = Arc::new(Script::answering(|_, _| {
        Script::json(
            404,
            r#"{"errors":[{"message":"Repository r does not exist.","exceptionName":"com.atlassian.bitbucket.repository.NoSuchRepositoryException"}]}"#,
        )
    }));
    let client = client_with(&script, ClientConfig::default());
    let err = client.default_branch("P", "r").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test(start_paused = true)]
async fn oversized_bodies_fail_without_retry() {
    let script = Arc::new(Script::answering(|_, _| {
        Err(TransportError::BodyTooLarge { limit: 10 })
    }));
    let client = client_with(&script, ClientConfig::default());
    let err = client
        .raw("P", "r", "big.bin", "main", 10)
        .await
        .unwrap_err();
    assert!(matches!(err.kind, ErrorKind::BodyTooLarge { limit: 10 }));
    assert_eq!(client.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn old_servers_get_branches_default_once_it_proves_to_work() {
    let script = Arc::new(Script::answering(|_, target| {
        if target.ends_with("/default-branch") {
            Script::json(404, "<html>Not Found</html>")
        } else {
            Script::json(
                200,
                r#"{"id": "refs/heads/main", "displayId": "main", "latestCommit": "abc"}"#,
            )
        }
    }));
    let client = client_with(&script, ClientConfig::default());
    for _ in 0..3 {
        let branch = client.default_branch("P", "r").await.unwrap().unwrap();
        assert_eq!(branch.latest_commit, "abc");
    }
    let new_endpoint = script
        .requests()
        .iter()
        .filter(|(_, t)| t.ends_with("/default-branch"))
        .count();
    assert_eq!((new_endpoint, client.calls()), (1, 4));
}

#[tokio::test(start_paused = true)]
async fn no_default_branch_endpoint_at_all_is_an_error_not_an_empty_repository() {
    let script = Arc::new(Script::answering(|_, _| Script::json(404, "")));
    let client = client_with(&script, ClientConfig::default());
    let err = client.default_branch("P", "r").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    // Nothing was learnt: the next call tries the new endpoint again.
    client.default_branch("P", "r").await.unwrap_err();
    assert_eq!(client.calls(), 4);
}
