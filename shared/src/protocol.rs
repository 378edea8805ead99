//! The tunnel protocol: what an agent and a broker say to each other before HTTP/2 starts.
//!
//! 1. The agent sends `GET /v1/agent/connect` as a WebSocket upgrade over mutual TLS, offering
//!    the subprotocols it speaks ([`SUBPROTOCOL`]). A broker that speaks none of them answers
//!    `426` with an [`ErrorBody`] that says which version to upgrade to.
//! 2. After `101`, the agent sends one text frame, a [`Hello`]; the broker answers one text
//!    frame, a [`Welcome`] or a [`Reject`].
//! 3. From then on the WebSocket carries only binary frames: an HTTP/2 connection in which the
//!    broker is the client and the agent the server (see `docs/protocol.md`).

use serde::{Deserialize, Serialize};

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;
/// The oldest agent protocol version a broker of this build accepts.
pub const MIN_PROTOCOL_VERSION: u32 = 1;
/// WebSocket subprotocol naming [`PROTOCOL_VERSION`].
pub const SUBPROTOCOL: &str = "bitbucket-relay.v1";
/// Path of the WebSocket endpoint on the broker's tunnel listener.
pub const CONNECT_PATH: &str = "/v1/agent/connect";
/// Version of this crate, sent in the hello exchange.
pub const SOFTWARE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Request id header: set by the broker, kept by the agent, sent on to Bitbucket.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// Response header naming the allow-list rule that let a call through.
pub const RULE_ID_HEADER: &str = "x-relay-rule";
/// Response header set on answers produced by the relay itself (not by Bitbucket).
pub const RELAY_ERROR_HEADER: &str = "x-relay-error";
/// Authority the broker uses for calls answered by the agent itself (status), never forwarded.
pub const AGENT_INTERNAL_AUTHORITY: &str = "agent.relay.internal";
/// Authority the broker uses for calls the agent forwards to Bitbucket.
pub const BITBUCKET_AUTHORITY: &str = "bitbucket.relay.internal";

/// Capabilities an agent may announce in its [`Hello`].
pub mod capability {
    /// Serves Bitbucket calls over HTTP/2 (always present in v1).
    pub const PROXY: &str = "proxy";
    /// Answers `GET /status` on [`super::AGENT_INTERNAL_AUTHORITY`].
    pub const STATUS: &str = "status";
    /// Forwards webhooks it receives locally up the tunnel.
    pub const WEBHOOK_FORWARD: &str = "webhook-forward";
}

/// The parsed subprotocol version, if `name` is one of ours (`bitbucket-relay.vN`).
pub fn subprotocol_version(name: &str) -> Option<u32> {
    name.trim().strip_prefix("bitbucket-relay.v")?.parse().ok()
}

/// First message, agent to broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// Protocol version the agent will speak on this connection.
    pub protocol: u32,
    /// The agent's software version.
    pub agent_version: String,
    /// `sha256:<hex>` digest of the allow-list in force.
    pub allowlist_digest: String,
    /// Number of rules in that allow-list.
    pub allowlist_rules: usize,
    /// Capabilities, see [`capability`].
    pub capabilities: Vec<String>,
    /// Host name, for operators listing agents.
    pub hostname: String,
}

/// Broker's answer when the agent is accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    pub protocol: u32,
    pub broker_version: String,
    /// Opaque session id, for log correlation on both sides.
    pub session_id: String,
    pub tenant: String,
    pub alias: String,
}

/// Broker's answer when the agent is refused after the upgrade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reject {
    pub code: ErrorCode,
    pub message: String,
}

/// The broker's half of the hello exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HelloReply {
    Welcome(Welcome),
    Reject(Reject),
}

/// Stable machine-readable error codes, shared by every JSON error the relay produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The allow-list refused the call (the `reason` field says why).
    Forbidden,
    /// No agent is connected for the requested alias.
    NoAgentConnected,
    /// The agent's tunnel broke while the call was in flight.
    TunnelFailed,
    /// The agent could not reach Bitbucket.
    UpstreamUnreachable,
    /// Bitbucket did not answer in time.
    UpstreamTimeout,
    /// A body exceeded the configured maximum.
    BodyTooLarge,
    /// The caller's API token is missing or wrong.
    Unauthorized,
    /// The alias is unknown for this tenant (or belongs to another tenant).
    UnknownAlias,
    /// The peer speaks an incompatible protocol version.
    ProtocolUnsupported,
    /// The agent certificate is valid but not registered with this broker.
    UnknownAgent,
    /// The agent certificate has been revoked.
    RevokedAgent,
    /// A malformed request.
    BadRequest,
    /// The process is shutting down.
    ShuttingDown,
    /// Anything else: a bug or an unexpected condition.
    Internal,
}

impl ErrorCode {
    /// The snake_case code as it appears in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NoAgentConnected => "no_agent_connected",
            ErrorCode::TunnelFailed => "tunnel_failed",
            ErrorCode::UpstreamUnreachable => "upstream_unreachable",
            ErrorCode::UpstreamTimeout => "upstream_timeout",
            ErrorCode::BodyTooLarge => "body_too_large",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::UnknownAlias => "unknown_alias",
            ErrorCode::ProtocolUnsupported => "protocol_unsupported",
            ErrorCode::UnknownAgent => "unknown_agent",
            ErrorCode::RevokedAgent => "revoked_agent",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::ShuttingDown => "shutting_down",
            ErrorCode::Internal => "internal",
        }
    }
}

/// The JSON body of every error the relay itself answers with (never Bitbucket's own errors,
/// which pass through untouched).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Machine-readable code.
    pub code: ErrorCode,
    /// What happened and, where possible, what to do about it.
    pub message: String,
    /// For allow-list denials: the rejection reason code (`dot_segment`, `no_matching_rule`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The request id, to find the call in the broker and agent logs and the audit log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl ErrorBody {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorBody {
            code,
            message: message.into(),
            reason: None,
            request_id: None,
        }
    }

    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    pub fn with_request_id(mut self, request_id: Option<&str>) -> Self {
        self.request_id = request_id.map(str::to_owned);
        self
    }

    /// Serialised JSON; the body type cannot fail to serialise.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_else(|_| b"{\"code\":\"internal\"}".to_vec())
    }

    /// A complete HTTP response with this body, the given status and [`RELAY_ERROR_HEADER`].
    pub fn into_response<B: From<Vec<u8>>>(self, status: http::StatusCode) -> http::Response<B> {
        let mut response = http::Response::new(B::from(self.to_json()));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        if let Ok(value) = http::HeaderValue::from_str(self.code.as_str()) {
            headers.insert(RELAY_ERROR_HEADER, value);
        }
        response
    }
}

/// What the agent answers on `GET /status` at [`AGENT_INTERNAL_AUTHORITY`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentStatus {
    pub agent_version: String,
    pub allowlist_digest: String,
    pub allowlist_rules: usize,
    pub in_flight: usize,
}

/// A fresh random request id (128 bits, hex).
pub fn new_request_id() -> String {
    let bytes: [u8; 16] = rand::random();
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subprotocol_names_its_version() {
        assert_eq!(subprotocol_version(SUBPROTOCOL), Some(PROTOCOL_VERSION));
        assert_eq!(subprotocol_version("bitbucket-relay.v7"), Some(7));
        assert_eq!(subprotocol_version("chat"), None);
    }

    #[test]
    fn hello_reply_is_tagged() {
        let reply = HelloReply::Reject(Reject {
            code: ErrorCode::ProtocolUnsupported,
            message: "upgrade".into(),
        });
        let json = serde_json::to_string(&reply).unwrap();
        assert!(json.contains("\"type\":\"reject\""), "{json}");
        assert_eq!(serde_json::from_str::<HelloReply>(&json).unwrap(), reply);
    }

    #[test]
    fn error_body_skips_empty_fields() {
        let json = String::from_utf8(ErrorBody::new(ErrorCode::Forbidden, "no").to_json()).unwrap();
        assert_eq!(json, r#"{"code":"forbidden","message":"no"}"#);
    }
}
