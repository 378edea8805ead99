//! `DirectTransport` over HTTPS: a server certificate from a private CA is trusted through
//! `ca_file`, and refused (at once, not retried) without it.

use std::net::SocketAddr;
use std::sync::Arc;

use bitbucket_sim::Simulator;
use relay_broker::bitbucket::{
    AccountLabel, BitbucketClient, DirectOptions, DirectTransport, ErrorKind, Transport,
};
use relay_broker::pki::Ca;
use relay_shared::tls;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use super::support::{quick, start, unlimited};

/// TLS in front of a TCP listener, for `axum::serve`; failed handshakes are skipped.
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(stream) = self.acceptor.accept(tcp).await {
                return (stream, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// Serves `sim` over HTTPS with a certificate for `localhost` from a fresh CA; returns the
/// base URL and the CA certificate (PEM).
async fn serve_https(sim: &Simulator) -> (String, String) {
    tls::install_crypto_provider();
    let ca = Ca::generate(1).unwrap();
    let (cert_pem, key_pem) = ca
        .issue_server(&["localhost".to_owned(), "127.0.0.1".to_owned()], 1)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert_path = dir.path().join("server.pem");
    std::fs::write(&cert_path, &cert_pem).unwrap();
    let chain = tls::load_certs(&cert_path).unwrap();
    let key = tls::private_key_from_pem(key_pem.as_bytes(), "server key").unwrap();
    let config = tls::server_config(chain, key, &[b"http/1.1"]).unwrap();
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://localhost:{}", tcp.local_addr().unwrap().port());
    let listener = TlsListener {
        tcp,
        acceptor: TlsAcceptor::from(Arc::new(config)),
    };
    tokio::spawn(axum::serve(listener, sim.router()).into_future());
    (url, ca.cert_pem)
}

fn direct_client(url: &str, transport: DirectTransport) -> BitbucketClient {
    let transport: Arc<dyn Transport> = Arc::new(transport);
    assert_eq!(transport.describe(), format!("direct {url}"));
    BitbucketClient::new(AccountLabel::new("acme", "dc"), transport, quick())
}

#[tokio::test]
async fn https_with_a_private_ca_in_ca_file() {
    let env = start(unlimited()).await;
    let (url, ca_pem) = serve_https(&env.sim).await;
    let ca_file = env.dir.path().join("bitbucket-ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    let options = DirectOptions {
        ca_file: Some(ca_file),
        ..DirectOptions::default()
    };
    let trusted = DirectTransport::new(&url, &env.admin(), options).unwrap();
    let client = direct_client(&url, trusted);
    assert_eq!(
        client.projects().await.unwrap().len(),
        env.sim.summary().projects
    );

    let untrusted = DirectTransport::new(&url, &env.admin(), DirectOptions::default()).unwrap();
    let client = direct_client(&url, untrusted);
    let err = client.projects().await.unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Request(_)), "{err}");
    assert!(err.to_string().contains("TLS"), "{err}");
    assert!(!err.retryable);
    assert_eq!(client.calls(), 1, "a certificate problem is not retried");
}
