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

/// One response of a crawl, labelled with the kind of endpoint it came from.
pub struct Crawled {
    pub kind: &'static str,
    pub uri: String,
    pub status: StatusCode,
    pub body: Vec<u8>,
}

/// Crawls every kind of endpoint the simulator serves, for every repo (at most `max_repos`),
/// following pagination with the given page size.
pub async fn crawl(router: &Router, auth: &Auth, max_repos: usize, limit: u32) -> Vec<Crawled> {
    let mut out = Vec::new();
    let fetch_all = |kind: &'static str, uri: String| {
        let router = router.clone();
        let auth = auth.clone();
        async move {
            let mut pages = Vec::new();
            let sep = if uri.contains('?') { '&' } else { '?' };
            let mut start = 0;
            loop {
                let page_uri = format!("{uri}{sep}start={start}&limit={limit}");
                let r = get(&router, &page_uri, &auth).await;
                let next = if r.status == StatusCode::OK {
                    let v: Value = serde_json::from_slice(&r.body).unwrap();
                    v.get("nextPageStart").and_then(Value::as_u64)
                } else {
                    None
                };
                pages.push(Crawled {
                    kind,
                    uri: page_uri,
                    status: r.status,
                    body: r.body,
                });
                match next {
                    Some(n) => start = n,
                    None => return pages,
                }
            }
        }
    };
    let one = |kind: &'static str, uri: String| {
        let router = router.clone();
        let auth = auth.clone();
        async move {
            let r = get(&router, &uri, &auth).await;
            Crawled {
                kind,
                uri,
                status: r.status,
                body: r.body,
            }
        }
    };
    out.push(
        one(
            "application-properties",
            "/rest/api/1.0/application-properties".into(),
        )
        .await,
    );
    out.extend(fetch_all("projects", "/rest/api/1.0/projects".into()).await);
    out.extend(fetch_all("users", "/rest/api/1.0/users".into()).await);
    out.extend(fetch_all("admin-groups", "/rest/api/1.0/admin/groups".into()).await);
    out.push(one("user", "/rest/api/1.0/users/alice".into()).await);
    out.extend(
        fetch_all(
            "admin-group-members",
            "/rest/api/1.0/admin/groups/more-members?context=bitbucket-admins".into(),
        )
        .await,
    );
    out.extend(
        fetch_all(
            "admin-user-groups",
            "/rest/api/1.0/admin/users/more-members?context=alice".into(),
        )
        .await,
    );
    let repos = all_pages(router, "/rest/api/1.0/repos", auth).await;
    out.extend(fetch_all("repos", "/rest/api/1.0/repos".into()).await);
    for repo in repos.iter().take(max_repos) {
        let key = repo["project"]["key"].as_str().unwrap();
        let slug = repo["slug"].as_str().unwrap();
        let base = format!("/rest/api/1.0/projects/{key}/repos/{slug}");
        out.push(one("project", format!("/rest/api/1.0/projects/{key}")).await);
        out.extend(
            fetch_all(
                "project-repos",
                format!("/rest/api/1.0/projects/{key}/repos"),
            )
            .await,
        );
        out.extend(
            fetch_all(
                "project-permission-groups",
                format!("/rest/api/1.0/projects/{key}/permissions/groups"),
            )
            .await,
        );
        out.push(one("repo", base.clone()).await);
        out.push(one("default-branch", format!("{base}/default-branch")).await);
        out.extend(fetch_all("branches", format!("{base}/branches")).await);
        out.extend(fetch_all("tags", format!("{base}/tags")).await);
        let commits = fetch_all("commits", format!("{base}/commits")).await;
        if let Some(first) = commits.first().filter(|c| c.status == StatusCode::OK) {
            let v: Value = serde_json::from_slice(&first.body).unwrap();
            if let Some(id) = v["values"][0]["id"].as_str() {
                out.push(one("commit", format!("{base}/commits/{id}")).await);
            }
        }
        out.extend(commits);
        out.extend(fetch_all("files", format!("{base}/files")).await);
        let browse = one("browse-directory", format!("{base}/browse")).await;
        if browse.status == StatusCode::OK {
            let v: Value = serde_json::from_slice(&browse.body).unwrap();
            let files: Vec<String> = v["children"]["values"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["type"] == "FILE")
                .map(|c| c["path"]["toString"].as_str().unwrap().to_owned())
                .collect();
            for f in files.iter().take(3) {
                out.extend(fetch_all("browse-file", format!("{base}/browse/{f}")).await);
                out.push(one("raw", format!("{base}/raw/{f}")).await);
            }
        }
        out.push(browse);
        out.extend(fetch_all("pull-requests", format!("{base}/pull-requests?state=ALL")).await);
        let prs = all_pages(router, &format!("{base}/pull-requests?state=ALL"), auth).await;
        for pr in prs.iter().take(5) {
            let id = pr["id"].as_u64().unwrap();
            out.push(one("pull-request", format!("{base}/pull-requests/{id}")).await);
            out.extend(
                fetch_all(
                    "activities",
                    format!("{base}/pull-requests/{id}/activities"),
                )
                .await,
            );
            out.extend(
                fetch_all(
                    "participants",
                    format!("{base}/pull-requests/{id}/participants"),
                )
                .await,
            );
        }
        out.push(
            one(
                "pull-request-settings",
                format!("{base}/settings/pull-requests"),
            )
            .await,
        );
        out.push(
            one(
                "default-reviewers",
                format!("/rest/default-reviewers/1.0/projects/{key}/repos/{slug}/conditions"),
            )
            .await,
        );
        out.extend(
            fetch_all(
                "branch-restrictions",
                format!("/rest/branch-permissions/2.0/projects/{key}/repos/{slug}/restrictions"),
            )
            .await,
        );
        out.extend(fetch_all("webhooks", format!("{base}/webhooks")).await);
    }
    out
}

/// One POST a test webhook receiver got.
pub struct Received {
    pub headers: HeaderMap,
    pub body: bytes::Bytes,
}

/// A webhook receiver on 127.0.0.1:0; returns its URL and the stream of requests.
pub async fn receiver() -> (String, tokio::sync::mpsc::UnboundedReceiver<Received>) {
    use axum::extract::State;
    use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
    let (tx, rx) = unbounded_channel();
    let app = Router::new()
        .route(
            "/hook",
            axum::routing::post(
                |State(tx): State<UnboundedSender<Received>>,
                 headers: HeaderMap,
                 body: bytes::Bytes| async move {
                    let _ = tx.send(Received { headers, body });
                    StatusCode::NO_CONTENT
                },
            ),
        )
        .with_state(tx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, rx)
}
