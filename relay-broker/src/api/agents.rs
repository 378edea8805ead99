//! `GET /api/v1/agents`: the agents connected for the caller's tenant.

use axum::Json;
use axum::extract::State;

use super::ApiState;
use super::auth::TenantAuth;
use crate::sessions::SessionInfo;

pub async fn list(
    State(state): State<ApiState>,
    TenantAuth(tenant): TenantAuth,
) -> Json<Vec<SessionInfo>> {
    Json(state.relay.sessions().list(Some(&tenant)))
}

/// Client side of [`list`], for `relay-broker agents`: plain HTTP/1.1 to `base` (`http://host:port`).
pub async fn fetch(base: &str, token: &str) -> Result<Vec<SessionInfo>, String> {
    use http_body_util::{BodyExt, Empty};
    let authority = base
        .strip_prefix("http://")
        .ok_or_else(|| format!("{base}: only http:// API URLs are supported by this command"))?
        .trim_end_matches('/');
    let tcp = tokio::net::TcpStream::connect(authority)
        .await
        .map_err(|e| format!("connecting to {authority}: {e}"))?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
            .await
            .map_err(|e| format!("HTTP handshake with {authority}: {e}"))?;
    tokio::spawn(conn);
    let request = http::Request::get("/api/v1/agents")
        .header(http::header::HOST, authority)
        .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Empty::<bytes::Bytes>::new())
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("GET /api/v1/agents: {e}"))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    if !status.is_success() {
        return Err(format!(
            "GET /api/v1/agents: {status}: {}",
            String::from_utf8_lossy(&body)
        ));
    }
    serde_json::from_slice(&body).map_err(|e| format!("unexpected answer: {e}"))
}
