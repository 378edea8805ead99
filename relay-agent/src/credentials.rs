//! Bitbucket credentials (basic, bearer, OAuth 2.0 with rotating refresh tokens) live in
//! [`relay_shared::credentials`], shared with the broker's direct accounts; re-exported here
//! because this is where the agent's call path picks them up.

pub use relay_shared::credentials::{CredentialError, Credentials};
