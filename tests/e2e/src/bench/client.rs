//! The bench's HTTP client: one keep-alive HTTP/1.1 connection per caller, straight on hyper,
//! so the load generator adds as little of its own cost as possible and the same code calls
//! the origin and the broker.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, HOST, HeaderValue};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// What to call: a server and a request target, with the credentials it needs.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    /// Origin-form target: path and query.
    pub path: String,
    pub authorization: Option<HeaderValue>,
}

impl Target {
    pub fn new(addr: SocketAddr, path: impl Into<String>) -> Self {
        Target {
            addr,
            path: path.into(),
            authorization: None,
        }
    }

    pub fn bearer(mut self, token: &str) -> Self {
        self.authorization = HeaderValue::from_str(&format!("Bearer {token}")).ok();
        self
    }

    pub fn with_path(&self, path: impl Into<String>) -> Self {
        Target {
            path: path.into(),
            ..self.clone()
        }
    }

    fn request(&self) -> Result<Request<Empty<Bytes>>> {
        let mut builder = Request::get(self.path.as_str()).header(HOST, self.addr.to_string());
        if let Some(value) = &self.authorization {
            builder = builder.header(AUTHORIZATION, value.clone());
        }
        Ok(builder.body(Empty::new())?)
    }
}

/// One open keep-alive connection.
pub struct Connection {
    sender: SendRequest<Empty<Bytes>>,
}

impl Connection {
    pub async fn open(addr: SocketAddr) -> Result<Connection> {
        let tcp = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        tcp.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
        tokio::spawn(conn);
        Ok(Connection { sender })
    }

    /// Sends a GET and reads the whole body, discarding it. Returns the status and body size.
    pub async fn get(&mut self, target: &Target) -> Result<(StatusCode, u64)> {
        self.sender.ready().await?;
        let response = self.sender.send_request(target.request()?).await?;
        let status = response.status();
        let mut body = response.into_body();
        let mut bytes = 0u64;
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame?.into_data() {
                bytes += data.len() as u64;
            }
        }
        Ok((status, bytes))
    }

    /// Like [`Connection::get`] but keeps the body (small answers only).
    pub async fn get_text(&mut self, target: &Target) -> Result<(StatusCode, String)> {
        self.sender.ready().await?;
        let response = self.sender.send_request(target.request()?).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}

/// One GET on a fresh connection, bounded by `limit` (for polling and probes).
pub async fn fetch(target: &Target, limit: Duration) -> Result<(StatusCode, String)> {
    let call = async {
        let mut conn = Connection::open(target.addr).await?;
        conn.get_text(target).await
    };
    match tokio::time::timeout(limit, call).await {
        Ok(result) => result,
        Err(_) => bail!(
            "GET {} on {}: no answer within {limit:?}",
            target.path,
            target.addr
        ),
    }
}
