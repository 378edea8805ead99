//! A stand-in for Bitbucket that records every request that reaches it.
//!
//! Paths (all under the default allow-list's `raw/**` rule where a body matters):
//! - `/rest/api/1.0/projects`: a small paged JSON answer (with a `Set-Cookie` to be stripped).
//! - `/rest/api/1.0/application-properties`: a Bitbucket version (for `relay-agent doctor`).
//! - `.../raw/size-<N>`: `N` bytes streamed in 64 KiB chunks.
//! - `.../raw/forever`: an endless slow body; the origin notices when the client goes away.
//! - `.../raw/stall`: never answers; the origin notices when the request is dropped.
//! - anything else: `{"path": <target>}`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use bytes::Bytes;
use tokio::sync::Notify;

/// One request as the origin saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub target: String,
    pub authorization: Option<String>,
    pub header_names: Vec<String>,
}

/// Shared state of the origin.
#[derive(Debug, Default)]
pub struct OriginState {
    pub seen: Mutex<Vec<Seen>>,
    pub cancelled: AtomicUsize,
    pub cancel_notify: Notify,
}

impl OriginState {
    pub fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    pub fn last(&self) -> Option<Seen> {
        self.seen.lock().unwrap().last().cloned()
    }

    pub fn targets(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.target.clone())
            .collect()
    }

    /// Resolves once at least `n` requests were cancelled by the client side.
    pub async fn wait_cancelled(&self, n: usize) {
        loop {
            let notified = self.cancel_notify.notified();
            if self.cancelled.load(Ordering::SeqCst) >= n {
                return;
            }
            notified.await;
        }
    }
}

/// A running origin.
#[derive(Debug, Clone)]
pub struct Origin {
    pub addr: SocketAddr,
    pub state: Arc<OriginState>,
}

impl Origin {
    pub async fn start() -> Origin {
        let state = Arc::new(OriginState::default());
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Origin { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Signals the origin when dropped before being disarmed (the client went away).
struct CancelGuard(Option<Arc<OriginState>>);

impl Drop for CancelGuard {
    fn drop(&mut self) {
        if let Some(state) = self.0.take() {
            state.cancelled.fetch_add(1, Ordering::SeqCst);
            state.cancel_notify.notify_waiters();
        }
    }
}

async fn handle(State(state): State<Arc<OriginState>>, request: Request) -> Response {
    let target = request
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_default();
    let authorization = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let header_names = request
        .headers()
        .keys()
        .map(|k| k.as_str().to_owned())
        .collect();
    state.seen.lock().unwrap().push(Seen {
        method: request.method().to_string(),
        target: target.clone(),
        authorization,
        header_names,
    });
    let path = request.uri().path().to_owned();
    if path == "/rest/api/1.0/projects" {
        return Response::builder()
            .header("content-type", "application/json;charset=UTF-8")
            .header("set-cookie", "BITBUCKETSESSIONID=secret-session; Path=/")
            .body(Body::from(r#"{"size":1,"limit":25,"isLastPage":true,"start":0,"values":[{"key":"DEMO","id":1,"name":"Demo","public":false,"type":"NORMAL"}]}"#))
            .unwrap();
    }
    if path == "/rest/api/1.0/application-properties" {
        return Response::builder()
            .header("content-type", "application/json")
            .body(Body::from(
                r#"{"version":"8.19.1","buildNumber":"8019001","displayName":"Bitbucket"}"#,
            ))
            .unwrap();
    }
    if let Some(n) = path
        .rsplit_once("/raw/size-")
        .and_then(|(_, n)| n.parse::<u64>().ok())
    {
        return sized_body(n);
    }
    if path.ends_with("/raw/forever") {
        return endless_body(state);
    }
    if path.ends_with("/raw/stall") {
        let _guard = CancelGuard(Some(Arc::clone(&state)));
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    Response::builder()
        .header("content-type", "application/json")
        .body(Body::from(
            serde_json::json!({ "path": target }).to_string(),
        ))
        .unwrap()
}

fn sized_body(total: u64) -> Response {
    let chunk = Bytes::from(vec![b'x'; 64 << 10]);
    let stream = futures_util::stream::unfold(total, move |left| {
        let chunk = chunk.clone();
        async move {
            if left == 0 {
                return None;
            }
            let n = left.min(chunk.len() as u64) as usize;
            Some((Ok::<_, std::io::Error>(chunk.slice(..n)), left - n as u64))
        }
    });
    Response::builder()
        .header("content-type", "application/octet-stream")
        .header("content-length", total.to_string())
        .body(Body::from_stream(stream))
        .unwrap()
}

fn endless_body(state: Arc<OriginState>) -> Response {
    let guard = Arc::new(Mutex::new(CancelGuard(Some(state))));
    let stream = futures_util::stream::unfold(guard, |guard| async move {
        tokio::time::sleep(Duration::from_millis(5)).await;
        Some((
            Ok::<_, std::io::Error>(Bytes::from_static(&[b'.'; 1024])),
            guard,
        ))
    });
    // When the client disconnects, hyper drops the stream, and with it the guard.
    Response::builder().body(Body::from_stream(stream)).unwrap()
}
