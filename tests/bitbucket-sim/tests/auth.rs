//! Each auth mode, token restrictions, OAuth 2.0 rotation and rate limiting.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use bitbucket_sim::{Profile, RateLimitConfig, SimConfig, Simulator};
use common::{Auth, admin, alice, get, post_json, send, tiny};
use http::StatusCode;
use serde_json::json;

fn read_token(sim: &Simulator) -> Auth {
    Auth::Bearer(sim.credentials().read_token.token.clone())
}

fn write_token(sim: &Simulator) -> Auth {
    Auth::Bearer(sim.credentials().write_token.token.clone())
}

fn a_repo(sim: &Simulator) -> (String, String) {
    let r = sim.repos().into_iter().find(|r| !r.personal).unwrap();
    (r.project_key, r.slug)
}

#[tokio::test]
async fn basic_password_basic_token_and_bearer_token_all_authenticate() {
    let sim = tiny();
    let router = sim.router();
    let token = sim.credentials().read_token.token.clone();
    for auth in [
        admin(&sim),
        alice(&sim),
        Auth::Basic("admin".into(), token),
        read_token(&sim),
        write_token(&sim),
    ] {
        let r = get(&router, "/rest/api/1.0/projects", &auth).await;
        assert_eq!(r.status, StatusCode::OK, "{auth:?}");
    }
    let wrong = get(
        &router,
        "/rest/api/1.0/projects",
        &Auth::Bearer("BBDC-nope".into()),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn access_tokens_are_refused_on_admin_endpoints_whatever_their_scope() {
    let sim = tiny();
    let router = sim.router();
    for auth in [read_token(&sim), write_token(&sim)] {
        let r = get(&router, "/rest/api/1.0/admin/groups", &auth).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            r.json()["errors"][0]["exceptionName"],
            "com.atlassian.bitbucket.AuthorisationException"
        );
    }
    assert_eq!(
        get(&router, "/rest/api/1.0/admin/groups", &admin(&sim))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn read_scoped_token_cannot_create_webhooks_but_write_scoped_can() {
    let sim = tiny();
    let router = sim.router();
    let (key, slug) = a_repo(&sim);
    let uri = format!("/rest/api/1.0/projects/{key}/repos/{slug}/webhooks");
    let body = json!({"name": "sync", "url": "http://127.0.0.1:9/hook", "events": ["repo:refs_changed"], "configuration": {"secret": "s3cret"}});
    let refused = post_json(&router, &uri, &read_token(&sim), body.clone()).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let created = post_json(&router, &uri, &write_token(&sim), body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    assert_eq!(created.json()["scopeType"], "repository");
    let listed = get(&router, &uri, &read_token(&sim)).await.json();
    assert_eq!(listed["size"], 1);
    assert!(
        listed["values"][0]
            .get("configuration")
            .unwrap()
            .get("secret")
            .is_none(),
        "secret not echoed"
    );
}

async fn token_request(router: &axum::Router, form: &str) -> common::Reply {
    send(
        router,
        "POST",
        "/rest/oauth2/latest/token",
        &Auth::None,
        Some((
            "application/x-www-form-urlencoded",
            form.as_bytes().to_vec(),
        )),
    )
    .await
}

#[tokio::test]
async fn oauth_code_exchange_then_refresh_rotates_and_old_refresh_token_dies() {
    let sim = tiny();
    let router = sim.router();
    let c = sim.credentials().clone();
    let code = post_json(
        &router,
        "/sim/oauth/codes",
        &Auth::None,
        json!({"user": "alice"}),
    )
    .await
    .json()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let client = format!(
        "client_id={}&client_secret={}",
        c.oauth_client_id, c.oauth_client_secret
    );
    let redirect = format!("redirect_uri={}", c.oauth_redirect_uri);
    let first = token_request(
        &router,
        &format!("grant_type=authorization_code&code={code}&{client}&{redirect}"),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    let first = first.json();
    assert_eq!(first["token_type"], "bearer");
    assert!(first["expires_in"].as_u64().unwrap() > 0);
    let access = first["access_token"].as_str().unwrap().to_owned();
    let r = get(
        &router,
        "/rest/api/1.0/projects",
        &Auth::Bearer(access.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    // The code is single-use.
    let again = token_request(
        &router,
        &format!("grant_type=authorization_code&code={code}&{client}&{redirect}"),
    )
    .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(again.json()["error"], "invalid_grant");

    let refresh = first["refresh_token"].as_str().unwrap();
    let second = token_request(
        &router,
        &format!("grant_type=refresh_token&refresh_token={refresh}&{client}"),
    )
    .await
    .json();
    let new_refresh = second["refresh_token"].as_str().unwrap();
    assert_ne!(new_refresh, refresh, "refresh tokens rotate");
    let reuse = token_request(
        &router,
        &format!("grant_type=refresh_token&refresh_token={refresh}&{client}"),
    )
    .await;
    assert_eq!(
        reuse.status,
        StatusCode::BAD_REQUEST,
        "the old refresh token stops working"
    );
    let third = token_request(
        &router,
        &format!("grant_type=refresh_token&refresh_token={new_refresh}&{client}"),
    )
    .await;
    assert_eq!(third.status, StatusCode::OK);

    // Expired access tokens are refused.
    sim.expire_oauth_access_tokens();
    let expired = get(&router, "/rest/api/1.0/projects", &Auth::Bearer(access)).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    let bad_client = token_request(
        &router,
        "grant_type=refresh_token&refresh_token=x&client_id=evil&client_secret=x",
    )
    .await;
    assert_eq!(bad_client.status, StatusCode::UNAUTHORIZED);
}

fn limited(burst: u32, retry_after_header: bool) -> Simulator {
    Simulator::new(SimConfig {
        rate_limit: RateLimitConfig {
            enabled: true,
            burst,
            refill_per_second: 0.001,
            retry_after_header,
        },
        ..SimConfig::with_profile(Profile::Tiny)
    })
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after_when_the_bucket_is_empty() {
    let sim = limited(3, true);
    let router = sim.router();
    for _ in 0..3 {
        assert_eq!(
            get(&router, "/rest/api/1.0/projects", &alice(&sim))
                .await
                .status,
            StatusCode::OK
        );
    }
    let r = get(&router, "/rest/api/1.0/projects", &alice(&sim)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
    assert!(r.json()["errors"][0]["message"].is_string());
    // Buckets are per user.
    assert_eq!(
        get(&router, "/rest/api/1.0/projects", &admin(&sim))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn retry_after_header_can_be_switched_off() {
    let sim = limited(1, false);
    let router = sim.router();
    get(&router, "/rest/api/1.0/projects", &alice(&sim)).await;
    let r = get(&router, "/rest/api/1.0/projects", &alice(&sim)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers.get("retry-after").is_none());
    // And rate limiting can be turned off at run time.
    sim.set_rate_limit(RateLimitConfig {
        enabled: false,
        ..RateLimitConfig::default()
    });
    assert_eq!(
        get(&router, "/rest/api/1.0/projects", &alice(&sim))
            .await
            .status,
        StatusCode::OK
    );
}
