//! Throwaway PKI for tests, written to a temp dir with the broker's own PKI code.

use std::path::{Path, PathBuf};

use relay_broker::pki::{AgentCertRequest, Ca};

/// Files of one agent identity.
#[derive(Debug, Clone)]
pub struct AgentFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub serial_hex: String,
    pub fingerprint: String,
}

/// A CA plus the broker's server certificate.
pub struct TestPki {
    pub dir: PathBuf,
    pub ca: Ca,
    pub ca_file: PathBuf,
    pub broker_cert: PathBuf,
    pub broker_key: PathBuf,
}

impl TestPki {
    pub fn new(dir: &Path) -> TestPki {
        std::fs::create_dir_all(dir).unwrap();
        let ca = Ca::generate(30).unwrap();
        let (cert, key) = ca
            .issue_server(&["localhost".into(), "127.0.0.1".into()], 30)
            .unwrap();
        let ca_file = dir.join("agent-ca.pem");
        let broker_cert = dir.join("broker.pem");
        let broker_key = dir.join("broker.key");
        std::fs::write(&ca_file, &ca.cert_pem).unwrap();
        std::fs::write(&broker_cert, cert).unwrap();
        std::fs::write(&broker_key, key).unwrap();
        TestPki {
            dir: dir.to_owned(),
            ca,
            ca_file,
            broker_cert,
            broker_key,
        }
    }

    /// Issues an agent certificate valid from `from_days` for `days` (negative = in the past).
    pub fn agent_with_validity(
        &self,
        id: &str,
        tenant: &str,
        alias: &str,
        from_days: i64,
        days: i64,
    ) -> AgentFiles {
        issue(&self.ca, &self.dir, id, tenant, alias, from_days, days, "")
    }

    pub fn agent(&self, id: &str, tenant: &str, alias: &str) -> AgentFiles {
        self.agent_with_validity(id, tenant, alias, 0, 30)
    }

    /// An agent certificate from a CA the broker does not trust.
    pub fn foreign_agent(&self, id: &str, tenant: &str, alias: &str) -> AgentFiles {
        let other = Ca::generate(30).unwrap();
        issue(&other, &self.dir, id, tenant, alias, 0, 30, "foreign-")
    }
}

#[allow(clippy::too_many_arguments)]
fn issue(
    ca: &Ca,
    dir: &Path,
    id: &str,
    tenant: &str,
    alias: &str,
    from: i64,
    days: i64,
    prefix: &str,
) -> AgentFiles {
    let request = AgentCertRequest {
        agent_id: id.into(),
        tenant: tenant.into(),
        alias: alias.into(),
        valid_from_days: from,
        valid_days: days,
    };
    let issued = ca.issue_agent(&request).unwrap();
    let n: u32 = rand_suffix();
    let cert = dir.join(format!("{prefix}{id}-{n}.pem"));
    let key = dir.join(format!("{prefix}{id}-{n}.key"));
    std::fs::write(&cert, &issued.cert_pem).unwrap();
    std::fs::write(&key, &issued.key_pem).unwrap();
    AgentFiles {
        cert,
        key,
        serial_hex: issued.serial_hex,
        fingerprint: issued.fingerprint,
    }
}

fn rand_suffix() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
