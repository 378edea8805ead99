//! Secrets: a redacted type and the places a secret may be read from.
//!
//! A secret is never written inline in a config file by accident: the config names a source
//! ([`SecretSource`]) and the value is read at start (and on reload). Sources, in order of
//! preference: a systemd credential (`$CREDENTIALS_DIRECTORY/<name>`, systemd 247+), a file
//! (Kubernetes secret mounts, older systemd), an environment variable. `Debug` and `Display`
//! print a mask; the value is zeroised on drop (secrecy).

use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// A secret value. Its `Debug` never prints it.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(SecretString::from(value.into()))
    }

    /// The value, for the few places that must use it (an `Authorization` header, a TLS key).
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(\"***\")")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where a secret comes from, as written in config: exactly one of `credential`, `file`, `env`
/// (`credential` may be combined with `file` as the fallback for hosts without systemd
/// credentials).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SecretSource {
    /// Name of a systemd credential (`LoadCredential=<name>:...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
    /// Path of a file holding the secret (trailing newline ignored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// Name of an environment variable holding the secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
}

/// Why a secret could not be read. Never contains the secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(
        "a secret source needs exactly one of `credential`, `file` or `env` (credential may add a fallback `file`)"
    )]
    BadSource,
    #[error("environment variable {0} is not set")]
    EnvMissing(String),
    #[error(
        "systemd credential {name:?} not found: $CREDENTIALS_DIRECTORY is {dir}, and no fallback `file` is configured"
    )]
    CredentialMissing { name: String, dir: String },
    #[error("reading secret file {path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("secret from {0} is empty")]
    Empty(String),
}

impl SecretSource {
    pub fn from_env(name: &str) -> Self {
        SecretSource {
            credential: None,
            file: None,
            env: Some(name.to_owned()),
        }
    }

    pub fn from_file(path: impl Into<PathBuf>) -> Self {
        SecretSource {
            credential: None,
            file: Some(path.into()),
            env: None,
        }
    }

    /// The same source with a relative `file` resolved against `base` (the config's directory).
    pub fn relative_to(&self, base: &Path) -> SecretSource {
        let mut source = self.clone();
        source.file = source.file.map(|f| crate::config::resolve_path(base, &f));
        source
    }

    /// Checks the shape without reading anything.
    pub fn validate(&self) -> Result<(), SecretError> {
        match (&self.credential, &self.file, &self.env) {
            (Some(_), _, None) | (None, Some(_), None) | (None, None, Some(_)) => Ok(()),
            _ => Err(SecretError::BadSource),
        }
    }

    /// A short description for messages ("file /etc/x", "env FOO", "credential bb-token").
    pub fn describe(&self) -> String {
        match (&self.credential, &self.file, &self.env) {
            (Some(name), _, _) => format!("systemd credential {name:?}"),
            (None, Some(path), _) => format!("file {}", path.display()),
            (None, None, Some(name)) => format!("environment variable {name}"),
            _ => "an invalid secret source".to_owned(),
        }
    }

    /// The path this source reads, if it is file-backed (credential or file).
    pub fn path(&self) -> Result<Option<PathBuf>, SecretError> {
        self.validate()?;
        if let Some(name) = &self.credential {
            if let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY") {
                let candidate = Path::new(&dir).join(name);
                if candidate.exists() || self.file.is_none() {
                    return Ok(Some(candidate));
                }
            }
            return match &self.file {
                Some(file) => Ok(Some(file.clone())),
                None => Err(SecretError::CredentialMissing {
                    name: name.clone(),
                    dir: std::env::var("CREDENTIALS_DIRECTORY")
                        .unwrap_or_else(|_| "unset".to_owned()),
                }),
            };
        }
        Ok(self.file.clone())
    }

    /// Reads raw bytes (for keys and certificates).
    pub fn read_bytes(&self) -> Result<Vec<u8>, SecretError> {
        match self.path()? {
            Some(path) => std::fs::read(&path).map_err(|source| SecretError::File { path, source }),
            None => {
                let name = self.env.clone().unwrap_or_default();
                std::env::var(&name)
                    .map(String::into_bytes)
                    .map_err(|_| SecretError::EnvMissing(name))
            }
        }
    }

    /// Reads the secret as text, trimming one trailing newline.
    pub fn read(&self) -> Result<Secret, SecretError> {
        let bytes = self.read_bytes()?;
        let mut text = String::from_utf8(bytes).map_err(|_| SecretError::Empty(self.describe()))?;
        while text.ends_with('\n') || text.ends_with('\r') {
            text.pop();
        }
        if text.is_empty() {
            return Err(SecretError::Empty(self.describe()));
        }
        Ok(Secret::new(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_are_masked() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "Secret(\"***\")");
        assert_eq!(format!("{secret}"), "***");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn reads_a_file_and_trims_the_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "abc\n").unwrap();
        let secret = SecretSource::from_file(&path).read().unwrap();
        assert_eq!(secret.expose(), "abc");
    }

    #[test]
    fn rejects_ambiguous_sources_and_reports_missing_ones() {
        let both = SecretSource {
            credential: None,
            file: Some("/x".into()),
            env: Some("Y".into()),
        };
        assert!(matches!(both.validate(), Err(SecretError::BadSource)));
        let missing = SecretSource::from_env("RELAY_TEST_SURELY_UNSET_VARIABLE");
        assert!(matches!(missing.read(), Err(SecretError::EnvMissing(_))));
        let empty = tempfile::NamedTempFile::new().unwrap();
        assert!(matches!(
            SecretSource::from_file(empty.path()).read(),
            Err(SecretError::Empty(_))
        ));
    }
}
