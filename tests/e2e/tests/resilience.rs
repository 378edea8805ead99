//! The tunnel under stress and failure: restarts, dead links, failover, cancellation,
//! concurrency, big bodies, proxies and graceful shutdown.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use relay_e2e::harness::{ALIAS, AgentOptions, Harness, TENANT, TOKEN, wait_until};
use relay_e2e::tcp_relay::{ConnectProxy, TcpRelay};

#[tokio::test]
async fn after_a_broker_restart_the_agent_reconnects_and_calls_work_again() {
    let (mut h, agent) = Harness::start().await;
    assert_eq!(h.get("/rest/api/1.0/projects").await.status(), 200);
    let tunnel_addr = h.broker.tunnel_addr;

    assert!(h.broker.shutdown().await, "the old broker drained");
    let (broker, shutdown) = h.start_broker(Some(tunnel_addr)).await;
    h.broker = broker;
    h.broker_shutdown = shutdown;
    h.wait_connected(TENANT, ALIAS, 1).await;
    assert_eq!(h.get("/rest/api/1.0/projects").await.status(), 200);
    let connects =
        relay_e2e::harness::metric_value(&agent.metrics(), "relay_agent_tunnel_connects_total");
    assert!(connects >= 2.0, "{}", agent.metrics());
}

#[tokio::test]
async fn a_dead_link_is_detected_by_keepalives_and_the_agent_reconnects() {
    let h = Harness::start_without_agent().await;
    let relay = TcpRelay::start(h.broker.tunnel_addr).await;
    let agent = h
        .start_agent(AgentOptions {
            broker_addr: Some(relay.addr),
            keepalive: "300ms",
            ..AgentOptions::new("dc-1")
        })
        .await;
    h.wait_connected(TENANT, ALIAS, 1).await;
    // The link goes silent without closing: only keepalives can tell.
    relay.freeze();
    let failures = "relay_agent_tunnel_failures_total{reason=\"session_failed\"}";
    wait_until(Duration::from_secs(20), || {
        relay_e2e::harness::metric_value(&agent.metrics(), failures) >= 1.0
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "the agent never noticed the dead link:\n{}",
            agent.metrics()
        )
    });
    relay.thaw();
    wait_until(Duration::from_secs(20), || {
        relay_e2e::harness::metric_value(&agent.metrics(), "relay_agent_tunnel_connects_total")
            >= 2.0
    })
    .await
    .expect("the agent reconnected");
    h.wait_connected(TENANT, ALIAS, 1).await;
    assert_eq!(h.get("/rest/api/1.0/projects").await.status(), 200);
}

#[tokio::test]
async fn the_agent_reaches_the_broker_through_an_http_connect_proxy() {
    let h = Harness::start_without_agent().await;
    let proxy = ConnectProxy::start().await;
    let _agent = h
        .start_agent(AgentOptions {
            proxy: Some(proxy.addr),
            ..AgentOptions::new("dc-1")
        })
        .await;
    h.wait_connected(TENANT, ALIAS, 1).await;
    assert_eq!(h.get("/rest/api/1.0/projects").await.status(), 200);
    assert_eq!(proxy.tunnels.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(
        proxy.last_authority.lock().unwrap().as_deref(),
        Some(h.broker.tunnel_addr.to_string().as_str())
    );
}

#[tokio::test]
async fn calls_spread_over_agents_and_fail_over_when_one_stops() {
    let (h, first) = Harness::start().await;
    let second = h.start_agent(AgentOptions::new("dc-2")).await;
    h.wait_connected(TENANT, ALIAS, 2).await;

    // Hold calls open so load is visible, and check both agents get some.
    let stalls: Vec<_> = (0..4)
        .map(|_| {
            let url = h.relay_url(ALIAS, "/rest/api/1.0/projects/P/repos/r/raw/forever");
            let http = h.http.clone();
            tokio::spawn(async move { http.get(url).bearer_auth(TOKEN).send().await })
        })
        .collect();
    wait_until(Duration::from_secs(10), || {
        h.broker
            .sessions
            .list(None)
            .iter()
            .map(|s| s.in_flight)
            .sum::<usize>()
            == 4
    })
    .await
    .expect("four calls in flight");
    let loads: Vec<usize> = h
        .broker
        .sessions
        .list(None)
        .iter()
        .map(|s| s.in_flight)
        .collect();
    assert_eq!(loads, vec![2, 2], "least-loaded selection spreads calls");
    for stall in stalls {
        stall.abort();
    }

    first.stop().await;
    h.wait_connected(TENANT, ALIAS, 1).await;
    for _ in 0..5 {
        assert_eq!(h.get("/rest/api/1.0/projects").await.status(), 200);
    }
    assert!(second.audit().iter().any(|r| r["outcome"] == "allowed"));
}

#[tokio::test]
async fn cancelling_a_call_at_the_broker_aborts_the_upstream_request() {
    let (h, agent) = Harness::start().await;
    // A body that never ends: read a little, then drop the response.
    let response = h.get("/rest/api/1.0/projects/P/repos/r/raw/forever").await;
    assert_eq!(response.status(), 200);
    let mut stream = response.bytes_stream();
    let _ = stream.next().await.unwrap().unwrap();
    drop(stream);
    tokio::time::timeout(Duration::from_secs(15), h.origin.state.wait_cancelled(1))
        .await
        .expect("the origin saw the request cancelled");

    // A call still waiting for headers, cancelled by the caller.
    let url = h.relay_url(ALIAS, "/rest/api/1.0/projects/P/repos/r/raw/stall");
    let call = tokio::spawn({
        let http = h.http.clone();
        async move { http.get(url).bearer_auth(TOKEN).send().await }
    });
    wait_until(Duration::from_secs(10), || {
        h.origin
            .state
            .targets()
            .iter()
            .any(|t| t.ends_with("/stall"))
    })
    .await
    .unwrap();
    call.abort();
    tokio::time::timeout(Duration::from_secs(15), h.origin.state.wait_cancelled(2))
        .await
        .expect("the stalled upstream request was aborted");
    wait_until(Duration::from_secs(10), || {
        agent
            .audit()
            .iter()
            .filter(|r| r["outcome"] == "cancelled")
            .count()
            == 2
    })
    .await
    .unwrap_or_else(|| panic!("audit: {:?}", agent.audit()));
}

#[tokio::test]
async fn two_hundred_fifty_six_concurrent_calls_all_succeed() {
    let (h, agent) = Harness::start().await;
    let h = Arc::new(h);
    let calls: Vec<_> = (0..256)
        .map(|i| {
            let h = Arc::clone(&h);
            tokio::spawn(async move {
                let response = h
                    .get(&format!(
                        "/rest/api/1.0/projects/P{i}/repos/r/raw/size-{}",
                        1000 + i
                    ))
                    .await;
                (
                    response.status(),
                    response.bytes().await.map(|b| b.len()).unwrap_or(0),
                    i,
                )
            })
        })
        .collect();
    for call in calls {
        let (status, len, i) = call.await.unwrap();
        assert_eq!(status, 200);
        assert_eq!(len, 1000 + i);
    }
    assert_eq!(
        agent
            .audit()
            .iter()
            .filter(|r| r["outcome"] == "allowed")
            .count(),
        256
    );
}

fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap();
    kb * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_gigabyte_body_streams_with_bounded_memory() {
    const SIZE: u64 = 1 << 30;
    let (h, agent) = Harness::start().await;
    // Warm up allocator and pools so the baseline includes steady-state buffers.
    let _ = h
        .get("/rest/api/1.0/projects/P/repos/r/raw/size-10000000")
        .await
        .bytes()
        .await
        .unwrap();
    let before = peak_rss_bytes();
    let response = h
        .get(&format!("/rest/api/1.0/projects/P/repos/r/raw/size-{SIZE}"))
        .await;
    assert_eq!(response.status(), 200);
    let mut stream = response.bytes_stream();
    let mut total = 0u64;
    while let Some(chunk) = stream.next().await {
        total += chunk.unwrap().len() as u64;
    }
    assert_eq!(total, SIZE);
    let growth = peak_rss_bytes().saturating_sub(before);
    // Origin, broker, agent and client share this process: if any of them buffered the body,
    // the peak would grow by about a gigabyte. Flow control bounds it to the windows.
    assert!(growth < 128 << 20, "peak RSS grew by {} MiB", growth >> 20);
    let audit = agent.audit();
    assert_eq!(audit.last().unwrap()["bytes_out"], SIZE);
}

#[tokio::test]
async fn graceful_shutdown_lets_calls_in_flight_finish() {
    let (h, agent) = Harness::start().await;
    // A 64 MiB body in flight while the agent is asked to stop.
    let response = h
        .get(&format!(
            "/rest/api/1.0/projects/P/repos/r/raw/size-{}",
            64u64 << 20
        ))
        .await;
    assert_eq!(response.status(), 200);
    let stopping = tokio::spawn({
        let shutdown = agent.shutdown.clone();
        async move { shutdown.drain(Duration::from_secs(20)).await }
    });
    wait_until(Duration::from_secs(10), || agent.shutdown.is_stopping())
        .await
        .unwrap();
    let body = response.bytes().await.unwrap();
    assert_eq!(body.len(), 64 << 20, "the call in flight completed");
    assert!(stopping.await.unwrap(), "drained within the grace period");
    // No new calls are taken after the drain.
    h.wait_connected(TENANT, ALIAS, 0).await;
    assert_eq!(h.get("/rest/api/1.0/projects").await.status(), 503);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_small_calls_at_concurrency_64_all_succeed_on_one_tunnel() {
    // Each relayed call ends its HTTP/2 stream; if the agent left an extra frame after the end,
    // h2 would count resets and, past its limit, tear the tunnel down with ENHANCE_YOUR_CALM.
    let (h, agent) = Harness::start().await;
    let h = Arc::new(h);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let workers: Vec<_> = (0..64)
        .map(|_| {
            let (h, next) = (Arc::clone(&h), Arc::clone(&next));
            tokio::spawn(async move {
                let mut failures = 0;
                while next.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 3000 {
                    let response = h.get("/rest/api/1.0/projects/P/repos/r/raw/size-300").await;
                    let ok = response.status() == 200
                        && response.bytes().await.map(|b| b.len()).ok() == Some(300);
                    failures += usize::from(!ok);
                }
                failures
            })
        })
        .collect();
    let mut failures = 0;
    for worker in workers {
        failures += worker.await.unwrap();
    }
    assert_eq!(failures, 0);
    let connects =
        relay_e2e::harness::metric_value(&agent.metrics(), "relay_agent_tunnel_connects_total");
    assert_eq!(connects, 1.0, "the tunnel stayed up");
}
