//! - allowlist: which Bitbucket calls the agent forwards (canonicaliser, rule matcher, file format, import)

pub mod allowlist;
