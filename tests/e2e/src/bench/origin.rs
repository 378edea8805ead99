//! The stand-in Bitbucket origin for the bench: plain hyper, HTTP/1.1 keep-alive, no logging
//! and no shared state per request, so it costs the same whether called directly or through
//! the relay and stays out of the way of what is measured.
//!
//! - `/rest/api/1.0/projects`: one page of projects, about 300 bytes of JSON, the size of a
//!   typical small Bitbucket answer.
//! - `.../raw/size-<N>`: `N` bytes streamed in 64 KiB chunks (allowed by the default
//!   allow-list's `repos.raw` rule).
//! - anything else: 404 with a Bitbucket-style error body.

use std::convert::Infallible;
use std::net::SocketAddr;

use anyhow::{Context, Result};
use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// The small page (≈ 300 bytes), shaped like Bitbucket Server's `GET /rest/api/1.0/projects`.
pub const PROJECTS_PAGE: &str = concat!(
    r#"{"size":1,"limit":25,"isLastPage":true,"values":[{"key":"PAY","id":1,"#,
    r#""name":"Payments Platform","description":"Services and libraries of the payments team.","#,
    r#""public":false,"type":"NORMAL","links":{"self":[{"href":"#,
    r#""https://bitbucket.example.com/projects/PAY"}]}}],"start":0}"#
);

const CHUNK: usize = 64 << 10;

type OriginBody = BoxBody<Bytes, Infallible>;

/// A running origin; it lives as long as the bench's runtime.
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    pub addr: SocketAddr,
}

impl Origin {
    pub async fn start() -> Result<Origin> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the origin on 127.0.0.1")?;
        let addr = listener.local_addr()?;
        tokio::spawn(accept_loop(listener));
        Ok(Origin { addr })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

async fn accept_loop(listener: TcpListener) {
    let chunk = Bytes::from(vec![b'x'; CHUNK]);
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let chunk = chunk.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let chunk = chunk.clone();
                async move { Ok::<_, Infallible>(handle(&request, chunk)) }
            });
            // A client going away mid-body is expected (aborted bench phases): not an error.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        });
    }
}

fn handle(request: &Request<Incoming>, chunk: Bytes) -> Response<OriginBody> {
    let path = request.uri().path();
    if path == "/rest/api/1.0/projects" {
        return respond(
            StatusCode::OK,
            "application/json;charset=UTF-8",
            Full::new(Bytes::from_static(PROJECTS_PAGE.as_bytes())).boxed(),
            Some(PROJECTS_PAGE.len() as u64),
        );
    }
    if let Some(size) = path
        .rsplit_once("/raw/size-")
        .and_then(|(_, n)| n.parse::<u64>().ok())
    {
        return respond(
            StatusCode::OK,
            "application/octet-stream",
            sized_body(size, chunk),
            Some(size),
        );
    }
    let body = r#"{"errors":[{"context":null,"message":"No such resource in the bench origin."}]}"#;
    respond(
        StatusCode::NOT_FOUND,
        "application/json;charset=UTF-8",
        Full::new(Bytes::from_static(body.as_bytes())).boxed(),
        Some(body.len() as u64),
    )
}

fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: OriginBody,
    length: Option<u64>,
) -> Response<OriginBody> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    if let Some(length) = length {
        headers.insert(hyper::header::CONTENT_LENGTH, length.into());
    }
    response
}

/// `total` bytes as 64 KiB slices of one shared buffer (no copying on the origin side).
fn sized_body(total: u64, chunk: Bytes) -> OriginBody {
    let stream = futures_util::stream::unfold(total, move |left| {
        let chunk = chunk.clone();
        async move {
            if left == 0 {
                return None;
            }
            let n = usize::try_from(left).map_or(chunk.len(), |l| l.min(chunk.len()));
            Some((chunk.slice(..n), left - n as u64))
        }
    })
    .map(|data| Ok::<_, Infallible>(Frame::data(data)));
    BodyExt::boxed(StreamBody::new(stream))
}
