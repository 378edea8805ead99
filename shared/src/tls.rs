//! The one place that builds TLS configuration.
//!
//! ring is the only crypto provider in this workspace ([`install_crypto_provider`] runs first
//! thing in every `main` and test harness). The broker's tunnel listener requires a client
//! certificate chained to the agent CA (`WebPkiClientVerifier`, which also enforces validity
//! dates and the client-auth EKU); the agent verifies the broker against a configured CA or the
//! system roots. Agent identity is a SAN URI `urn:bitbucket-relay:agent:<id>` ([`AGENT_URI_PREFIX`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// SAN URI prefix naming an agent in its certificate.
pub const AGENT_URI_PREFIX: &str = "urn:bitbucket-relay:agent:";

/// A TLS setup failure, naming the file or setting involved.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading certificates from {path}: {source}")]
    ReadCerts {
        path: PathBuf,
        source: rustls::pki_types::pem::Error,
    },
    #[error("{path} holds no certificate")]
    NoCerts { path: PathBuf },
    #[error("reading the private key {what}: {source}")]
    ReadKey {
        what: String,
        source: rustls::pki_types::pem::Error,
    },
    #[error("CA certificate from {what} is not usable as a trust anchor: {source}")]
    BadCa { what: String, source: rustls::Error },
    #[error("no usable system root certificates were found")]
    NoSystemRoots,
    #[error("building the TLS configuration: {0}")]
    Config(#[from] rustls::Error),
    #[error("building the client-certificate verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
}

/// Installs ring as the process-wide rustls provider. Idempotent; call it before any TLS use.
pub fn install_crypto_provider() {
    // Err means a provider is already installed (by us, in an earlier call): fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Loads every certificate in a PEM file.
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|source| TlsError::ReadCerts {
            path: path.to_owned(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCerts {
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

/// Parses a private key (PKCS#8, PKCS#1 or SEC1) from PEM bytes; `what` names the source.
pub fn private_key_from_pem(pem: &[u8], what: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|source| TlsError::ReadKey {
        what: what.to_owned(),
        source,
    })
}

fn root_store(cas: &[CertificateDer<'static>], what: &str) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for ca in cas {
        roots.add(ca.clone()).map_err(|source| TlsError::BadCa {
            what: what.to_owned(),
            source,
        })?;
    }
    Ok(roots)
}

/// Where the agent gets the roots it trusts for the broker (and for Bitbucket).
#[derive(Debug, Clone)]
pub enum Trust {
    /// Only these CA certificates (from the named file).
    Cas {
        certs: Vec<CertificateDer<'static>>,
        source: String,
    },
    /// The operating system's roots.
    System,
}

impl Trust {
    /// The root store this trust setting stands for.
    pub fn root_store(&self) -> Result<RootCertStore, TlsError> {
        match self {
            Trust::Cas { certs, source } => root_store(certs, source),
            Trust::System => {
                let loaded = rustls_native_certs::load_native_certs();
                let mut roots = RootCertStore::empty();
                let (added, _ignored) = roots.add_parsable_certificates(loaded.certs);
                if added == 0 {
                    return Err(TlsError::NoSystemRoots);
                }
                Ok(roots)
            }
        }
    }
}

/// The broker's tunnel listener: its own certificate, and mandatory client certificates that
/// chain to `agent_cas`. ALPN is `http/1.1` (the WebSocket upgrade).
pub fn broker_server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    agent_cas: &[CertificateDer<'static>],
) -> Result<ServerConfig, TlsError> {
    let roots = Arc::new(root_store(agent_cas, "the agent CA")?);
    let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider()).build()?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// A plain server config (no client certificates), e.g. for test origins or an API listener.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    alpn: &[&[u8]],
) -> Result<ServerConfig, TlsError> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(config)
}

/// The agent's client config towards the broker: trusted roots plus its client certificate.
pub fn agent_client_config(
    trust: &Trust,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<ClientConfig, TlsError> {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(trust.root_store()?)
        .with_client_auth_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Why a TLS handshake failed, as a short stable label for logs and metrics.
pub fn handshake_failure_reason(err: &std::io::Error) -> &'static str {
    use rustls::{CertificateError, Error};
    let Some(tls) = err.get_ref().and_then(|e| e.downcast_ref::<Error>()) else {
        return match err.kind() {
            std::io::ErrorKind::UnexpectedEof => "eof_during_handshake",
            std::io::ErrorKind::TimedOut => "handshake_timeout",
            _ => "io_error",
        };
    };
    match tls {
        Error::NoCertificatesPresented => "no_client_certificate",
        Error::InvalidCertificate(CertificateError::Expired)
        | Error::InvalidCertificate(CertificateError::ExpiredContext { .. }) => "expired",
        Error::InvalidCertificate(CertificateError::NotValidYet)
        | Error::InvalidCertificate(CertificateError::NotValidYetContext { .. }) => "not_yet_valid",
        Error::InvalidCertificate(CertificateError::UnknownIssuer) => "unknown_ca",
        Error::InvalidCertificate(CertificateError::Revoked) => "revoked",
        Error::InvalidCertificate(CertificateError::BadSignature) => "bad_signature",
        Error::InvalidCertificate(CertificateError::InvalidPurpose)
        | Error::InvalidCertificate(CertificateError::InvalidPurposeContext { .. }) => {
            "wrong_key_usage"
        }
        Error::InvalidCertificate(_) => "invalid_certificate",
        Error::AlertReceived(_) => "alert_received",
        Error::PeerIncompatible(_) | Error::NoApplicationProtocol => "incompatible_peer",
        Error::PeerMisbehaved(_) | Error::InvalidMessage(_) => "protocol_violation",
        _ => "tls_error",
    }
}

/// What a certificate says about itself, for identity mapping, revocation and expiry checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// The agent id from the `urn:bitbucket-relay:agent:` SAN URI, if present.
    pub agent_id: Option<String>,
    /// Serial number, lowercase hex without separators.
    pub serial_hex: String,
    /// `sha256:<hex>` of the DER encoding.
    pub fingerprint: String,
    /// Subject, RFC 4514 style.
    pub subject: String,
    /// Validity end, seconds since the Unix epoch.
    pub not_after_unix: i64,
    /// DNS names in the SAN extension.
    pub dns_names: Vec<String>,
}

/// Parses the parts of a DER certificate that the relay cares about.
pub fn cert_info(der: &[u8]) -> Result<CertInfo, String> {
    use x509_parser::extensions::GeneralName;
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| e.to_string())?;
    let mut agent_id = None;
    let mut dns_names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::URI(uri) => {
                    if let Some(id) = uri.strip_prefix(AGENT_URI_PREFIX) {
                        agent_id = Some(id.to_owned());
                    }
                }
                GeneralName::DNSName(dns) => dns_names.push((*dns).to_owned()),
                _ => {}
            }
        }
    }
    Ok(CertInfo {
        agent_id,
        serial_hex: hex::encode(cert.raw_serial()),
        fingerprint: fingerprint(der),
        subject: cert.subject().to_string(),
        not_after_unix: cert.validity().not_after.timestamp(),
        dns_names,
    })
}

/// `sha256:<hex>` of some bytes (certificate fingerprints).
pub fn fingerprint(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    format!("sha256:{}", hex::encode(digest.as_ref()))
}

/// A client config for plain HTTPS calls (the agent towards Bitbucket): the system roots plus
/// any extra CAs, and an optional client certificate. ALPN offers HTTP/1.1 only.
pub fn https_client_config(
    extra_cas: &[CertificateDer<'static>],
    client_auth: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
) -> Result<ClientConfig, TlsError> {
    let mut roots = Trust::System
        .root_store()
        .unwrap_or_else(|_| RootCertStore::empty());
    for ca in extra_cas {
        roots.add(ca.clone()).map_err(|source| TlsError::BadCa {
            what: "the Bitbucket CA bundle".into(),
            source,
        })?;
    }
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    let mut config = match client_auth {
        Some((chain, key)) => builder.with_client_auth_cert(chain, key)?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
