//! OAuth 2.0 refresh: tokens are refreshed before expiry, the rotated refresh token is
//! persisted atomically with mode 0600 and used next, and concurrent callers share one refresh.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Mutex};

use axum::{Form, Json, Router, extract::State, routing::post};
use relay_agent::config::AuthSettings;
use relay_agent::credentials::Credentials;
use relay_shared::secret::SecretSource;

#[derive(Default)]
struct TokenServer {
    /// Refresh tokens presented, in order.
    presented: Vec<String>,
    /// The one refresh token currently valid (Bitbucket rotates: each works once).
    valid: String,
    issued: u32,
    expires_in: u64,
}

async fn token(
    State(server): State<Arc<Mutex<TokenServer>>>,
    Form(form): Form<Vec<(String, String)>>,
) -> (http::StatusCode, Json<serde_json::Value>) {
    let get = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut s = server.lock().unwrap();
    let presented = get("refresh_token");
    s.presented.push(presented.clone());
    if get("grant_type") != "refresh_token"
        || get("client_secret") != "client-secret"
        || presented != s.valid
    {
        return (
            http::StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"error": "invalid_grant"})),
        );
    }
    s.issued += 1;
    s.valid = format!("refresh-{}", s.issued);
    let body = serde_json::json!({"access_token": format!("access-{}", s.issued), "expires_in": s.expires_in, "refresh_token": s.valid, "token_type": "bearer"});
    (http::StatusCode::OK, Json(body))
}

async fn start(expires_in: u64) -> (String, Arc<Mutex<TokenServer>>) {
    let server = Arc::new(Mutex::new(TokenServer {
        valid: "refresh-0".into(),
        expires_in,
        ..Default::default()
    }));
    let app = Router::new()
        .route("/rest/oauth2/latest/token", post(token))
        .with_state(Arc::clone(&server));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/rest/oauth2/latest/token",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, server)
}

fn settings(dir: &std::path::Path, token_url: &str) -> AuthSettings {
    std::fs::write(dir.join("client-secret"), "client-secret\n").unwrap();
    std::fs::write(dir.join("refresh"), "refresh-0\n").unwrap();
    AuthSettings::Oauth2 {
        token_url: token_url.to_owned(),
        client_id: "relay".into(),
        client_secret: SecretSource::from_file(dir.join("client-secret")),
        refresh_token: SecretSource::from_file(dir.join("refresh")),
        state_file: dir.join("oauth-state.json"),
    }
}

#[tokio::test]
async fn rotated_refresh_tokens_are_persisted_privately_and_used_after_a_restart() {
    relay_shared::tls::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    // 30 s lifetime is inside the 60 s refresh margin: every call refreshes.
    let (url, server) = start(30).await;
    let settings = settings(dir.path(), &url);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();

    let credentials = Credentials::load(&settings, http.clone()).unwrap();
    assert_eq!(
        credentials.authorization().await.unwrap(),
        "Bearer access-1"
    );
    let state = std::fs::read_to_string(dir.path().join("oauth-state.json")).unwrap();
    assert!(state.contains("refresh-1"), "{state}");
    let mode = std::fs::metadata(dir.path().join("oauth-state.json"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(
        credentials.authorization().await.unwrap(),
        "Bearer access-2"
    );
    assert!(!format!("{credentials:?}").contains("refresh-"));

    // A restarted agent picks up the persisted token, not the spent one from its config.
    let restarted = Credentials::load(&settings, http).unwrap();
    assert_eq!(restarted.authorization().await.unwrap(), "Bearer access-3");
    assert_eq!(
        server.lock().unwrap().presented,
        ["refresh-0", "refresh-1", "refresh-2"]
    );
}

#[tokio::test]
async fn concurrent_callers_share_one_refresh_and_a_refused_refresh_says_why() {
    relay_shared::tls::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let (url, server) = start(3600).await;
    let settings = settings(dir.path(), &url);
    let credentials = Arc::new(Credentials::load(&settings, reqwest::Client::new()).unwrap());
    let calls: Vec<_> = (0..16)
        .map(|_| {
            tokio::spawn({
                let c = Arc::clone(&credentials);
                async move { c.authorization().await.unwrap() }
            })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap(), "Bearer access-1");
    }
    assert_eq!(server.lock().unwrap().issued, 1);

    // The token server forgets our refresh token (e.g. revoked by an admin).
    server.lock().unwrap().valid = "something-else".into();
    std::fs::remove_file(dir.path().join("oauth-state.json")).unwrap();
    let fresh = Credentials::load(&settings, reqwest::Client::new()).unwrap();
    let err = fresh.authorization().await.unwrap_err().to_string();
    assert!(
        err.contains("invalid_grant") && err.contains("/rest/oauth2/latest/token"),
        "{err}"
    );
    assert!(!err.contains("refresh-0"), "{err}");
}
