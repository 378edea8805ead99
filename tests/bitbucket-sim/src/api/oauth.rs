//! `POST /rest/oauth2/latest/token`: authorization-code and refresh-token grants. Errors use
//! RFC 6749's `{"error", "error_description"}` body, as OAuth endpoints do.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde_json::json;

use super::Sim;

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// Decodes an `application/x-www-form-urlencoded` body.
pub fn parse_form(body: &[u8]) -> HashMap<String, String> {
    let decode = |s: &str| {
        let spaced = s.replace('+', " ");
        percent_encoding::percent_decode_str(&spaced)
            .decode_utf8_lossy()
            .into_owned()
    };
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(kv), String::new()),
        })
        .collect()
}

/// The client id and secret from the form or from basic auth.
fn client(form: &HashMap<String, String>, headers: &HeaderMap) -> Option<(String, String)> {
    if let (Some(id), Some(secret)) = (form.get("client_id"), form.get("client_secret")) {
        return Some((id.clone(), secret.clone()));
    }
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let text = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

pub async fn token(State(shared): Sim, headers: HeaderMap, body: Bytes) -> Response {
    let form = parse_form(&body);
    let creds = &shared.credentials;
    match client(&form, &headers) {
        Some((id, secret))
            if id == creds.oauth_client_id && secret == creds.oauth_client_secret => {}
        _ => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Unknown client or wrong secret",
            );
        }
    }
    let issued = match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            if form
                .get("redirect_uri")
                .is_some_and(|r| r != &creds.oauth_redirect_uri)
            {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "redirect_uri does not match",
                );
            }
            form.get("code").and_then(|c| shared.oauth.exchange_code(c))
        }
        Some("refresh_token") => form
            .get("refresh_token")
            .and_then(|t| shared.oauth.refresh(t)),
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "Use authorization_code or refresh_token",
            );
        }
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            );
        }
    };
    match issued {
        Some(tokens) => Json(tokens).into_response(),
        None => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "The code or refresh token is invalid, used or expired",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_forms() {
        let f = parse_form(b"grant_type=refresh_token&refresh_token=a%2Bb&x=1+2");
        assert_eq!(f["grant_type"], "refresh_token");
        assert_eq!(f["refresh_token"], "a+b");
        assert_eq!(f["x"], "1 2");
    }
}
