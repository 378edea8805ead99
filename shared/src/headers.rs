//! Which headers may cross the tunnel (design.md §4).
//!
//! From the broker side the agent drops hop-by-hop headers, anything that carries or implies
//! credentials or identity (`Authorization`, `Cookie`, `Proxy-*`), `Host`, and forwarding
//! headers; the agent then sets its own `Authorization`. Towards the broker, `Set-Cookie` and
//! hop-by-hop headers are never passed back. HTTP/2 forbids connection-specific headers anyway,
//! so the broker strips the same set before a request enters the tunnel.

use http::HeaderMap;
use http::header::{self, HeaderName};

/// Hop-by-hop headers (RFC 9110 §7.6.1) plus the legacy ones proxies still send.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "http2-settings",
    "proxy-authenticate",
];

/// Request headers never forwarded from the broker side.
fn is_dropped_request_header(name: &HeaderName) -> bool {
    let name = name.as_str();
    HOP_BY_HOP.contains(&name)
        || name.starts_with("proxy-")
        || name.starts_with("x-forwarded-")
        || matches!(
            name,
            "authorization" | "cookie" | "host" | "forwarded" | "x-real-ip"
        )
}

/// Removes every request header the agent must not forward to Bitbucket, including headers
/// named in `Connection`.
pub fn sanitize_request_headers(headers: &mut HeaderMap) {
    remove_connection_listed(headers);
    let doomed: Vec<HeaderName> = headers
        .keys()
        .filter(|name| is_dropped_request_header(name))
        .cloned()
        .collect();
    for name in doomed {
        headers.remove(&name);
    }
}

/// Removes hop-by-hop headers and `Set-Cookie` from a response before it goes back.
pub fn sanitize_response_headers(headers: &mut HeaderMap) {
    remove_connection_listed(headers);
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    headers.remove(header::SET_COOKIE);
}

fn remove_connection_listed(headers: &mut HeaderMap) {
    let listed: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in listed {
        headers.remove(&name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn request_policy_drops_credentials_forwarding_and_hop_by_hop() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("authorization", "Bearer tenant-token"),
            ("cookie", "a=b"),
            ("host", "evil"),
            ("proxy-authorization", "x"),
            ("forwarded", "for=1.2.3.4"),
            ("x-forwarded-for", "1.2.3.4"),
            ("connection", "x-custom, keep-alive"),
            ("x-custom", "1"),
            ("te", "trailers"),
            ("accept", "application/json"),
            ("x-request-id", "abc"),
        ] {
            headers.append(name, HeaderValue::from_static(value));
        }
        sanitize_request_headers(&mut headers);
        let left: Vec<&str> = headers.keys().map(|k| k.as_str()).collect();
        assert_eq!(left, ["accept", "x-request-id"]);
    }

    #[test]
    fn response_policy_never_returns_set_cookie() {
        let mut headers = HeaderMap::new();
        headers.insert("set-cookie", HeaderValue::from_static("JSESSIONID=1"));
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert("transfer-encoding", HeaderValue::from_static("chunked"));
        sanitize_response_headers(&mut headers);
        assert!(headers.get("set-cookie").is_none());
        assert!(headers.get("transfer-encoding").is_none());
        assert!(headers.get("content-type").is_some());
    }
}
