//! Helpers shared by the integration tests: in-process requests with `oneshot`.
#![allow(dead_code)]

use axum::Router;
use axum::body::Body;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bitbucket_sim::{Profile, SimConfig, Simulator};
use http::{HeaderMap, Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;

/// How a test request authenticates.
#[derive(Debug, Clone)]
pub enum Auth {
    None,
    Basic(String, String),
    Bearer(String),
}

pub fn admin(sim: &Simulator) -> Auth {
    let c = sim.credentials();
    Auth::Basic(c.admin_user.clone(), c.admin_password.clone())
}

pub fn alice(sim: &Simulator) -> Auth {
    let c = sim.credentials();
    Auth::Basic(c.user.clone(), c.user_password.clone())
}

pub fn tiny() -> Simulator {
    Simulator::new(SimConfig::unlimited(Profile::Tiny))
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub async fn send(
    router: &Router,
    method: &str,
    uri: &str,
    auth: &Auth,
    body: Option<(&str, Vec<u8>)>,
) -> Reply {
    let mut req = Request::builder().method(method).uri(uri);
    match auth {
        Auth::None => {}
        Auth::Basic(u, p) => {
            req = req.header(
                "authorization",
                format!("Basic {}", STANDARD.encode(format!("{u}:{p}"))),
            );
        }
        Auth::Bearer(t) => req = req.header("authorization", format!("Bearer {t}")),
    }
    let req = match body {
        Some((content_type, bytes)) => req
            .header("content-type", content_type)
            .body(Body::from(bytes)),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

pub async fn get(router: &Router, uri: &str, auth: &Auth) -> Reply {
    send(router, "GET", uri, auth, None).await
}

pub async fn post_json(router: &Router, uri: &str, auth: &Auth, body: Value) -> Reply {
    send(
        router,
        "POST",
        uri,
        auth,
        Some(("application/json", body.to_string().into_bytes())),
    )
    .await
}

/// Follows `nextPageStart` and returns every value of a paged endpoint.
pub async fn all_pages(router: &Router, uri: &str, auth: &Auth) -> Vec<Value> {
    let sep = if uri.contains('?') { '&' } else { '?' };
    let mut start = 0;
    let mut out = Vec::new();
    loop {
        let page = get(router, &format!("{uri}{sep}start={start}&limit=1000"), auth).await;
        assert_eq!(page.status, StatusCode::OK, "{uri}: {}", page.text());
        let page = page.json();
        out.extend(page["values"].as_array().unwrap().iter().cloned());
        if page["isLastPage"].as_bool().unwrap() {
            assert!(page.get("nextPageStart").is_none_or(Value::is_null));
            return out;
        }
        start = page["nextPageStart"].as_u64().unwrap();
    }
}
