//! The `healthcheck` subcommand of both binaries: asks the running process's `/readyz` whether
//! it is ready.
//!
//! Container images have no curl (and should not): Docker's `HEALTHCHECK` runs this instead. It
//! sends `GET /readyz` over plain HTTP/1.1 to the ops address and exits 0 on `200`, 1 otherwise,
//! printing what `/readyz` said. Blocking I/O with short timeouts: no async runtime is started.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

/// Connect, write and read limit of one probe.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// Why a probe did not find the process ready.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("{addr:?} is not a host:port address: {message}")]
    Address { addr: String, message: String },
    #[error("probing {addr}: {source}")]
    Io {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{addr} answered something that is not HTTP: {head:?}")]
    NotHttp { addr: SocketAddr, head: String },
    #[error("not ready (HTTP {status}): {body}")]
    NotReady { status: u16, body: String },
}

/// The outcome of `GET <path>` on a local HTTP listener: status and body.
pub fn get(addr: &str, path: &str, timeout: Duration) -> Result<(u16, String), ProbeError> {
    let target = resolve(addr)?;
    let io = |source| ProbeError::Io {
        addr: target,
        source,
    };
    let mut stream = TcpStream::connect_timeout(&target, timeout).map_err(io)?;
    stream.set_read_timeout(Some(timeout)).map_err(io)?;
    stream.set_write_timeout(Some(timeout)).map_err(io)?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\nUser-Agent: relay-healthcheck\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).map_err(io)?;
    let mut answer = Vec::new();
    stream.take(64 << 10).read_to_end(&mut answer).map_err(io)?;
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .strip_prefix("HTTP/1.")
        .and_then(|rest| rest.split_whitespace().nth(1))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| ProbeError::NotHttp {
            addr: target,
            head: head.chars().take(80).collect(),
        })?;
    Ok((status, body.trim().to_owned()))
}

/// `Ok` when `/readyz` on `addr` answers 200.
pub fn probe(addr: &str) -> Result<String, ProbeError> {
    match get(addr, "/readyz", TIMEOUT)? {
        (200, body) => Ok(body),
        (status, body) => Err(ProbeError::NotReady { status, body }),
    }
}

/// The subcommand: 0 ready, 1 not; `program` names the binary in messages.
pub fn main(program: &str, addr: &str) -> ExitCode {
    match probe(addr) {
        Ok(body) => {
            println!("ready: {body}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("{program} healthcheck: {err}");
            ExitCode::FAILURE
        }
    }
}

/// `0.0.0.0:9091` (the listen address) is probed on loopback.
fn resolve(addr: &str) -> Result<SocketAddr, ProbeError> {
    let bad = |message: String| ProbeError::Address {
        addr: addr.to_owned(),
        message,
    };
    let mut target = addr
        .to_socket_addrs()
        .map_err(|e| bad(e.to_string()))?
        .next()
        .ok_or_else(|| bad("resolves to nothing".to_owned()))?;
    if target.ip().is_unspecified() {
        let loopback = if target.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        };
        target.set_ip(loopback);
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_listen_addresses_are_probed_on_loopback() {
        assert_eq!(
            resolve("0.0.0.0:9091").unwrap().to_string(),
            "127.0.0.1:9091"
        );
        assert_eq!(resolve("[::]:9091").unwrap().to_string(), "[::1]:9091");
        assert!(resolve("no-port").is_err());
    }

    #[test]
    fn a_closed_port_is_not_ready() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        drop(listener);
        assert!(matches!(probe(&addr), Err(ProbeError::Io { .. })));
    }
}
