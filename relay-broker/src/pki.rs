//! The broker's small PKI: an agent CA, the broker's server certificate and agent certificates.
//!
//! `pki init` creates, in one directory, `agent-ca.pem` / `agent-ca.key` (the CA that signs
//! agent certificates; its key should then move offline) and `broker.pem` / `broker.key` (the
//! tunnel listener's certificate, signed by the same CA so agents can trust one file). Agent
//! certificates carry their identity as a SAN URI `urn:bitbucket-relay:agent:<id>` and the
//! client-auth EKU only; the broker certificate carries server-auth only, so neither can stand
//! in for the other. Every file is written mode 0600 and never overwritten silently.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use relay_shared::atomic_file;
use relay_shared::tls::{AGENT_URI_PREFIX, cert_info};
use time::{Duration, OffsetDateTime};

/// File names inside a PKI directory.
pub const CA_CERT: &str = "agent-ca.pem";
pub const CA_KEY: &str = "agent-ca.key";
pub const BROKER_CERT: &str = "broker.pem";
pub const BROKER_KEY: &str = "broker.key";

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("generating {what}: {source}")]
    Generate { what: String, source: rcgen::Error },
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a usable CA: {message}")]
    BadCa { path: PathBuf, message: String },
    #[error("invalid {field} {value:?}: {message}")]
    Invalid {
        field: &'static str,
        value: String,
        message: &'static str,
    },
}

/// Names and lifetimes for `pki init`.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// DNS names and IP addresses the broker is reached at.
    pub broker_names: Vec<String>,
    pub ca_days: i64,
    pub broker_days: i64,
}

/// What `pki issue-agent` needs.
#[derive(Debug, Clone)]
pub struct AgentCertRequest {
    pub agent_id: String,
    pub tenant: String,
    pub alias: String,
    /// Validity start relative to now, in days (negative backdates; tests use it for expiry).
    pub valid_from_days: i64,
    pub valid_days: i64,
}

/// An issued agent certificate, with what an operator needs to register or revoke it.
#[derive(Debug, Clone)]
pub struct IssuedAgent {
    pub cert_pem: String,
    pub key_pem: String,
    pub serial_hex: String,
    pub fingerprint: String,
    pub not_after: String,
}

impl IssuedAgent {
    /// The `[[agents]]` block to add to the broker config.
    pub fn config_snippet(&self, request: &AgentCertRequest) -> String {
        format!(
            "[[agents]]\nid = \"{}\"\ntenant = \"{}\"\nalias = \"{}\"\n# serial {} / fingerprint {}\n",
            request.agent_id, request.tenant, request.alias, self.serial_hex, self.fingerprint
        )
    }
}

fn generate(what: &str) -> impl Fn(rcgen::Error) -> PkiError + '_ {
    move |source| PkiError::Generate {
        what: what.to_owned(),
        source,
    }
}

fn random_serial() -> SerialNumber {
    let mut bytes: [u8; 16] = rand::random();
    bytes[0] &= 0x7f; // positive INTEGER
    bytes[0] |= 0x01; // and no leading zero byte to strip
    SerialNumber::from_slice(&bytes)
}

fn validity(params: &mut CertificateParams, from_days: i64, days: i64) {
    let now = OffsetDateTime::now_utc();
    params.not_before = now + Duration::days(from_days) - Duration::minutes(5);
    params.not_after = now + Duration::days(from_days + days);
}

fn ca_params(days: i64) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "Bitbucket Relay agent CA");
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.serial_number = Some(random_serial());
    validity(&mut params, 0, days);
    params
}

/// A freshly generated CA, kept in memory (for `pki init` and for tests).
pub struct Ca {
    pub cert_pem: String,
    pub key_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca")
            .field("key_pem", &"***")
            .finish_non_exhaustive()
    }
}

impl Ca {
    /// Generates a new CA valid for `days`.
    pub fn generate(days: i64) -> Result<Ca, PkiError> {
        let key = KeyPair::generate().map_err(generate("the CA key"))?;
        let params = ca_params(days);
        let cert = params
            .self_signed(&key)
            .map_err(generate("the CA certificate"))?;
        let key_pem = key.serialize_pem();
        Ok(Ca {
            cert_pem: cert.pem(),
            key_pem,
            issuer: Issuer::new(params, key),
        })
    }

    /// Loads a CA from PEM files written by `pki init`.
    pub fn load(dir: &Path) -> Result<Ca, PkiError> {
        let cert_path = dir.join(CA_CERT);
        let key_path = dir.join(CA_KEY);
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|source| PkiError::Read {
                path: path.to_owned(),
                source,
            })
        };
        let cert_pem = read(&cert_path)?;
        let key_pem = read(&key_path)?;
        let bad = |path: &Path, e: rcgen::Error| PkiError::BadCa {
            path: path.to_owned(),
            message: e.to_string(),
        };
        let key = KeyPair::from_pem(&key_pem).map_err(|e| bad(&key_path, e))?;
        let issuer = Issuer::from_ca_cert_pem(&cert_pem, key).map_err(|e| bad(&cert_path, e))?;
        Ok(Ca {
            cert_pem,
            key_pem,
            issuer,
        })
    }

    /// Issues the broker's server certificate for `names` (DNS names or IP addresses).
    pub fn issue_server(&self, names: &[String], days: i64) -> Result<(String, String), PkiError> {
        let mut params =
            CertificateParams::new(names.to_vec()).map_err(generate("the broker certificate"))?;
        let mut dn = DistinguishedName::new();
        dn.push(
            DnType::CommonName,
            names.first().map_or("relay-broker", String::as_str),
        );
        params.distinguished_name = dn;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.serial_number = Some(random_serial());
        validity(&mut params, 0, days);
        let key = KeyPair::generate().map_err(generate("the broker key"))?;
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(generate("the broker certificate"))?;
        Ok((cert.pem(), key.serialize_pem()))
    }

    /// Issues an agent certificate naming the agent in a SAN URI.
    pub fn issue_agent(&self, request: &AgentCertRequest) -> Result<IssuedAgent, PkiError> {
        validate_id("agent id", &request.agent_id)?;
        validate_id("tenant", &request.tenant)?;
        validate_id("alias", &request.alias)?;
        let uri = format!("{AGENT_URI_PREFIX}{}", request.agent_id);
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, request.agent_id.as_str());
        dn.push(DnType::OrganizationName, request.tenant.as_str());
        params.distinguished_name = dn;
        params.subject_alt_names = vec![SanType::URI(
            uri.try_into().map_err(generate("the agent SAN URI"))?,
        )];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.serial_number = Some(random_serial());
        validity(&mut params, request.valid_from_days, request.valid_days);
        let key = KeyPair::generate().map_err(generate("the agent key"))?;
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(generate("the agent certificate"))?;
        let info = cert_info(cert.der()).map_err(|message| PkiError::BadCa {
            path: PathBuf::from("(issued certificate)"),
            message,
        })?;
        let not_after = chrono::DateTime::from_timestamp(info.not_after_unix, 0)
            .map(|t| t.to_rfc3339())
            .unwrap_or_default();
        Ok(IssuedAgent {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            serial_hex: info.serial_hex,
            fingerprint: info.fingerprint,
            not_after,
        })
    }
}

/// Ids, tenants and aliases: `[A-Za-z0-9._-]`, 1 to 64 characters.
pub fn validate_id(field: &'static str, value: &str) -> Result<(), PkiError> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(PkiError::Invalid {
            field,
            value: value.to_owned(),
            message: "use 1-64 of A-Z a-z 0-9 . _ -",
        })
    }
}

fn write(path: &Path, text: &str, overwrite: bool) -> Result<(), PkiError> {
    let result = if overwrite {
        atomic_file::write_private(path, text.as_bytes())
    } else {
        atomic_file::create_private(path, text.as_bytes())
    };
    result.map_err(|source| PkiError::Write {
        path: path.to_owned(),
        source,
    })
}

/// `pki init`: a CA and a broker certificate in `dir`. Refuses to overwrite unless `force`.
pub fn init(dir: &Path, options: &InitOptions, force: bool) -> Result<Vec<PathBuf>, PkiError> {
    std::fs::create_dir_all(dir).map_err(|source| PkiError::Write {
        path: dir.to_owned(),
        source,
    })?;
    let paths: Vec<PathBuf> = [CA_CERT, CA_KEY, BROKER_CERT, BROKER_KEY]
        .iter()
        .map(|f| dir.join(f))
        .collect();
    if !force && let Some(existing) = paths.iter().find(|p| p.exists()) {
        return Err(PkiError::Write {
            path: existing.clone(),
            source: std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "already exists; pass --force to replace the whole PKI",
            ),
        });
    }

    let ca = Ca::generate(options.ca_days)?;
    let (broker_cert, broker_key) = ca.issue_server(&options.broker_names, options.broker_days)?;
    write(&paths[0], &ca.cert_pem, force)?;
    write(&paths[1], &ca.key_pem, force)?;
    write(&paths[2], &broker_cert, force)?;
    write(&paths[3], &broker_key, force)?;
    Ok(paths)
}

/// `pki issue-agent`: signs a new agent certificate with the CA in `pki_dir` and writes
/// `<agent-id>.pem` / `<agent-id>.key` into `out_dir`.
pub fn issue_agent_files(
    pki_dir: &Path,
    out_dir: &Path,
    request: &AgentCertRequest,
    force: bool,
) -> Result<(IssuedAgent, PathBuf, PathBuf), PkiError> {
    let ca = Ca::load(pki_dir)?;
    let issued = ca.issue_agent(request)?;
    std::fs::create_dir_all(out_dir).map_err(|source| PkiError::Write {
        path: out_dir.to_owned(),
        source,
    })?;
    let cert_path = out_dir.join(format!("{}.pem", request.agent_id));
    let key_path = out_dir.join(format!("{}.key", request.agent_id));
    write(&cert_path, &issued.cert_pem, force)?;
    write(&key_path, &issued.key_pem, force)?;
    Ok((issued, cert_path, key_path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn request(id: &str) -> AgentCertRequest {
        AgentCertRequest {
            agent_id: id.into(),
            tenant: "acme".into(),
            alias: "dc".into(),
            valid_from_days: 0,
            valid_days: 30,
        }
    }

    #[test]
    fn init_writes_private_files_and_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let options = InitOptions {
            broker_names: vec!["localhost".into(), "127.0.0.1".into()],
            ca_days: 3650,
            broker_days: 365,
        };
        let paths = init(dir.path(), &options, false).unwrap();
        for path in &paths {
            let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", path.display());
        }
        assert!(init(dir.path(), &options, false).is_err());
        let out = dir.path().join("agents");
        let (issued, cert, _key) =
            issue_agent_files(dir.path(), &out, &request("dc-1"), false).unwrap();
        let der = relay_shared::tls::load_certs(&cert).unwrap();
        let info = cert_info(&der[0]).unwrap();
        assert_eq!(info.agent_id.as_deref(), Some("dc-1"));
        assert_eq!(info.serial_hex, issued.serial_hex);
        assert!(
            issued
                .config_snippet(&request("dc-1"))
                .contains("tenant = \"acme\"")
        );
    }

    #[test]
    fn rejects_ids_that_would_break_the_san_uri() {
        let ca = Ca::generate(1).unwrap();
        assert!(ca.issue_agent(&request("bad id/../x")).is_err());
        assert!(ca.issue_agent(&request("")).is_err());
    }
}
