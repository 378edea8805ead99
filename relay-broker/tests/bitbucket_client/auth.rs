//! Credentials: OAuth 2.0, access tokens on `/admin`, wrong passwords.

use bitbucket_sim::credentials::{ADMIN_USER, READ_TOKEN};
use relay_broker::bitbucket::ErrorKind;
use relay_shared::credentials::AuthSettings;

use super::support::{quick, start, unlimited};

#[tokio::test]
async fn an_access_token_is_forbidden_on_admin_groups() {
    let env = start(unlimited()).await;
    let bearer = AuthSettings::Bearer {
        token: env.secret("token", READ_TOKEN),
    };
    let client = env.client(&bearer, quick());
    assert!(!client.users().await.unwrap().is_empty(), "reads work");
    let err = client.groups().await.unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Forbidden { .. }), "{err}");
    assert!(!err.retryable);
    assert_eq!(err.endpoint, "GET /rest/api/1.0/admin/groups");
}

#[tokio::test]
async fn oauth2_refresh_tokens_work_for_admin_calls_and_rotate() {
    let env = start(unlimited()).await;
    let creds = env.sim.credentials().clone();
    let code = env.sim.issue_oauth_code(ADMIN_USER);
    let token_url = format!("{}/rest/oauth2/latest/token", env.url);
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("client_id", creds.oauth_client_id.as_str()),
        ("client_secret", creds.oauth_client_secret.as_str()),
        ("redirect_uri", creds.oauth_redirect_uri.as_str()),
    ];
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let tokens: serde_json::Value = http
        .post(&token_url)
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let state_file = env.dir.path().join("oauth-state.json");
    let auth = AuthSettings::Oauth2 {
        token_url,
        client_id: creds.oauth_client_id.clone(),
        client_secret: env.secret("client-secret", &creds.oauth_client_secret),
        refresh_token: env.secret("refresh", tokens["refresh_token"].as_str().unwrap()),
        state_file: state_file.clone(),
    };
    let client = env.client(&auth, quick());
    let groups = client.groups().await.unwrap();
    assert_eq!(
        groups.len(),
        env.sim.summary().groups,
        "OAuth 2.0 may call /admin"
    );
    assert!(
        state_file.exists(),
        "the rotated refresh token was persisted"
    );
}

#[tokio::test]
async fn bad_credentials_are_not_retried_and_say_so() {
    let env = start(unlimited()).await;
    let client = env.client(&env.basic(ADMIN_USER, "wrong"), quick());
    let err = client.projects().await.unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Unauthorized { .. }), "{err}");
    assert_eq!(client.calls(), 1);
    let text = err.to_string();
    assert!(
        text.starts_with("account acme/dc: GET /rest/api/1.0/projects: 401"),
        "{text}"
    );
    assert!(text.ends_with("(not retried)"), "{text}");
    assert_eq!(env.sim.counters().total, 1);
}
