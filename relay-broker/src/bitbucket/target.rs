//! Request targets: percent-encoded path segments and query parameters.
//!
//! Everything but RFC 3986 unreserved characters is encoded, in the path and in the query
//! (a space is `%20`, never `+`). The agent's allow-list decodes each segment once and
//! re-encodes it canonically, so what is matched and what Bitbucket sees are the same text.

use std::fmt::Write;

/// Builds `/seg/seg?name=value&...`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Target {
    path: String,
    query: Vec<(String, String)>,
}

fn encode(text: &str, out: &mut String) {
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

impl Target {
    /// A path of literal segments: `["rest", "api", "1.0", "projects"]`.
    pub(crate) fn new(segments: &[&str]) -> Target {
        let mut t = Target::default();
        for s in segments {
            t = t.segment(s);
        }
        t
    }

    /// Appends one segment, encoded (a `/` inside becomes `%2F`).
    pub(crate) fn segment(mut self, segment: &str) -> Target {
        self.path.push('/');
        encode(segment, &mut self.path);
        self
    }

    /// Appends a file path as segments; empty segments are dropped.
    pub(crate) fn file_path(mut self, path: &str) -> Target {
        for segment in path.split('/').filter(|s| !s.is_empty()) {
            self = self.segment(segment);
        }
        self
    }

    pub(crate) fn query(mut self, name: &str, value: impl ToString) -> Target {
        self.query.push((name.to_owned(), value.to_string()));
        self
    }

    pub(crate) fn query_opt(self, name: &str, value: Option<&str>) -> Target {
        match value {
            Some(v) => self.query(name, v),
            None => self,
        }
    }

    /// The target with extra paging parameters (not stored).
    pub(crate) fn with_page(&self, start: u64, limit: u32) -> String {
        self.clone()
            .query("start", start)
            .query("limit", limit)
            .render()
    }

    pub(crate) fn render(&self) -> String {
        let mut out = self.path.clone();
        for (i, (name, value)) in self.query.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            encode(name, &mut out);
            out.push('=');
            encode(value, &mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_segments_and_query() {
        let t = Target::new(&["rest", "api", "1.0", "projects"])
            .segment("~JANE")
            .file_path("/dir with space//a+b.txt")
            .query("until", "refs/heads/main")
            .query("context", "platform team");
        assert_eq!(
            t.render(),
            "/rest/api/1.0/projects/~JANE/dir%20with%20space/a%2Bb.txt?until=refs%2Fheads%2Fmain&context=platform%20team"
        );
        assert_eq!(Target::new(&["x"]).with_page(5, 10), "/x?start=5&limit=10");
    }
}
