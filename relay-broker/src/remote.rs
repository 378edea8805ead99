//! The CLI's client for a running broker's own API (`relay-broker agents`, `accounts test`,
//! `sync`): plain HTTP/1.1 to `http://host:port` with the tenant's bearer token. Sync passes of
//! relay accounts must run in the broker that holds the agents' tunnels, so the CLI asks it.

use http_body_util::{BodyExt, Full};
use serde::de::DeserializeOwned;

/// Sends `method path` and decodes a successful JSON answer; errors say what the broker said.
pub async fn call<T: DeserializeOwned>(
    base: &str,
    token: &str,
    method: http::Method,
    path: &str,
) -> Result<T, String> {
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
    let request = http::Request::builder()
        .method(method.clone())
        .uri(path)
        .header(http::header::HOST, authority)
        .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Full::new(bytes::Bytes::new()))
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("{method} {path}: {e}"))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    if !status.is_success() {
        return Err(format!(
            "{method} {path}: {status}: {}",
            String::from_utf8_lossy(&body)
        ));
    }
    serde_json::from_slice(&body).map_err(|e| format!("{method} {path}: unexpected answer: {e}"))
}
