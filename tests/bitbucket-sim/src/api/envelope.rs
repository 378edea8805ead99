//! The paged envelope `{size, limit, isLastPage, start, nextPageStart, values}` and the
//! `start` / `limit` query parameters with server-side caps.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

/// `limit` when the request gives none.
pub const DEFAULT_LIMIT: u32 = 25;

/// The requested window of a paged list, with the cap already applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub start: u64,
    pub limit: u32,
}

impl PageRequest {
    /// Reads `start` and `limit`; unparsable values fall back to the defaults, like real
    /// servers, and `limit` is silently capped.
    pub fn from_query(query: &HashMap<String, String>, cap: u32) -> PageRequest {
        let start = query.get("start").and_then(|s| s.parse().ok()).unwrap_or(0);
        let limit = query
            .get("limit")
            .and_then(|s| s.parse::<u32>().ok())
            .filter(|&l| l > 0)
            .unwrap_or(DEFAULT_LIMIT)
            .min(cap.max(1));
        PageRequest { start, limit }
    }

    /// Takes this window from an iterator of all items, peeking one beyond it to know whether
    /// the page is the last.
    pub fn take<T>(&self, items: impl Iterator<Item = T>) -> (Vec<T>, bool) {
        let mut window: Vec<T> = items
            .skip(self.start as usize)
            .take(self.limit as usize + 1)
            .collect();
        let last = window.len() <= self.limit as usize;
        window.truncate(self.limit as usize);
        (window, last)
    }

    /// The envelope around an already-cut window.
    pub fn envelope(&self, values: Vec<Value>, is_last: bool) -> Value {
        self.envelope_named("values", values, is_last)
    }

    /// The envelope with the items under another name (`lines` for file content pages).
    pub fn envelope_named(&self, field: &str, values: Vec<Value>, is_last: bool) -> Value {
        let size = values.len();
        let mut page = Map::new();
        page.insert("size".into(), json!(size));
        page.insert("limit".into(), json!(self.limit));
        page.insert("isLastPage".into(), json!(is_last));
        page.insert("start".into(), json!(self.start));
        if !is_last {
            page.insert("nextPageStart".into(), json!(self.start + size as u64));
        }
        page.insert(field.into(), Value::Array(values));
        Value::Object(page)
    }

    /// Pages an iterator and renders each item.
    pub fn page<T>(&self, items: impl Iterator<Item = T>, render: impl Fn(T) -> Value) -> Value {
        let (window, last) = self.take(items);
        self.envelope(window.into_iter().map(render).collect(), last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn caps_limit_and_defaults_to_25() {
        assert_eq!(PageRequest::from_query(&q(&[]), 100).limit, 25);
        assert_eq!(
            PageRequest::from_query(&q(&[("limit", "200")]), 100).limit,
            100
        );
        assert_eq!(
            PageRequest::from_query(&q(&[("limit", "junk")]), 100).limit,
            25
        );
    }

    #[test]
    fn next_page_start_only_when_more() {
        let req = PageRequest { start: 2, limit: 2 };
        let page = req.page(0..5, |i| json!(i));
        assert_eq!(page["values"], json!([2, 3]));
        assert_eq!(page["nextPageStart"], json!(4));
        assert_eq!(page["isLastPage"], json!(false));
        let last = PageRequest { start: 4, limit: 2 }.page(0..5, |i| json!(i));
        assert_eq!(last["isLastPage"], json!(true));
        assert!(last.get("nextPageStart").is_none());
    }
}
