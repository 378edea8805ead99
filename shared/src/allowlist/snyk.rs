//! Import of Snyk-Broker-style accept.json filters.

use super::error::AllowListError;

/// The result of an import.
#[derive(Debug, Clone)]
pub struct ImportResult {
    pub toml: String,
    pub warnings: Vec<String>,
}

/// Convert an accept.json file.
pub fn import_snyk_accept(_json: &str, _source: &str) -> Result<ImportResult, AllowListError> {
    Err(AllowListError::new(Vec::new()))
}
