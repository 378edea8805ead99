//! Fault injection: errors at a rate, latency, connection resets and slow bodies, the last
//! two over a real socket.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bitbucket_sim::{Fault, Simulator};
use bytes::Bytes;
use common::{Auth, admin, get, post_json, tiny};
use http::StatusCode;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::json;

const PROJECTS: &str = "GET /rest/api/1.0/projects";

#[tokio::test]
async fn error_rate_one_always_fails_and_other_endpoints_are_untouched() {
    let sim = tiny();
    let router = sim.router();
    sim.set_fault(
        PROJECTS,
        Some(Fault {
            error_status: Some(503),
            error_rate: 1.0,
            ..Fault::default()
        }),
    );
    for _ in 0..5 {
        let r = get(&router, "/rest/api/1.0/projects", &admin(&sim)).await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(r.json()["errors"][0]["message"].is_string());
    }
    assert_eq!(
        get(&router, "/rest/api/1.0/users", &admin(&sim))
            .await
            .status,
        StatusCode::OK
    );
    // Faulted requests are still counted.
    assert_eq!(sim.counters().get(PROJECTS), 5);
    sim.clear_faults();
    assert_eq!(
        get(&router, "/rest/api/1.0/projects", &admin(&sim))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn partial_error_rates_are_reproducible_for_a_seed() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let sim = tiny();
        let router = sim.router();
        let r = post_json(
            &router,
            "/sim/faults",
            &Auth::None,
            json!({"template": "*", "fault": {"error_status": 500, "error_rate": 0.5}}),
        )
        .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        let mut statuses = Vec::new();
        for _ in 0..40 {
            statuses.push(
                get(&router, "/rest/api/1.0/projects", &admin(&sim))
                    .await
                    .status
                    .as_u16(),
            );
        }
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(
        runs[0].contains(&500) && runs[0].contains(&200),
        "{:?}",
        runs[0]
    );
}

#[tokio::test]
async fn latency_is_added_without_changing_the_answer() {
    let sim = tiny();
    sim.set_fault(
        PROJECTS,
        Some(Fault {
            latency_ms: 5,
            ..Fault::default()
        }),
    );
    assert_eq!(
        get(&sim.router(), "/rest/api/1.0/projects", &admin(&sim))
            .await
            .status,
        StatusCode::OK
    );
}

/// Serves the simulator on 127.0.0.1:0; returns the base URL and a shutdown trigger.
async fn serve(sim: &Simulator) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let sim = sim.clone();
    tokio::spawn(async move {
        sim.serve(listener, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    (base, tx)
}

async fn fetch(url: &str) -> Result<(StatusCode, Bytes), String> {
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let req = http::Request::get(url)
        .header(
            "authorization",
            format!("Basic {}", STANDARD.encode("admin:admin-secret")),
        )
        .body(Empty::new())
        .unwrap();
    let resp = client.request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, body))
}

#[tokio::test]
async fn reset_cuts_the_connection_and_slow_body_still_delivers_everything() {
    let sim = tiny();
    let (base, stop) = serve(&sim).await;
    let url = format!("{base}/rest/api/1.0/projects");
    let (status, expected) = fetch(&url).await.unwrap();
    assert_eq!(status, StatusCode::OK);

    sim.set_fault(
        PROJECTS,
        Some(Fault {
            reset_rate: 1.0,
            ..Fault::default()
        }),
    );
    assert!(
        fetch(&url).await.is_err(),
        "the client sees the connection die"
    );

    sim.set_fault(
        PROJECTS,
        Some(Fault {
            slow_body_bytes_per_sec: Some(expected.len() as u64 * 5),
            ..Fault::default()
        }),
    );
    let (status, slow) = fetch(&url).await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(slow, expected);
    stop.send(()).unwrap();
}
