//! [`Pages`]: a paged listing read page by page, following `nextPageStart` until
//! `isLastPage`.
//!
//! The client asks for its configured page size; the server silently caps it (1000 projects,
//! 100 pull requests, 500 activities...) and the client then asks for what it got. A server
//! that does not advance (`nextPageStart` missing or not beyond `start` on a page that is not
//! the last, or a long run of empty pages) fails the listing with
//! [`ErrorKind::NoProgress`] instead of looping forever.

use std::marker::PhantomData;

use serde::de::DeserializeOwned;

use super::client::BitbucketClient;
use super::endpoints::Endpoint;
use super::error::{ClientError, ErrorKind};
use super::model::Page;
use super::target::Target;

/// Empty pages in a row tolerated before a listing counts as stuck.
const MAX_EMPTY_PAGES: u32 = 10;

/// A listing in progress. `next_page` yields each page's values; the store can write them as
/// they come, so a long history never sits in memory whole.
#[derive(Debug)]
pub struct Pages<T> {
    client: BitbucketClient,
    endpoint: &'static Endpoint,
    target: Target,
    limit: u32,
    next: Option<u64>,
    pages: u64,
    items: u64,
    empty_run: u32,
    _values: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> Pages<T> {
    pub(crate) fn new(
        client: BitbucketClient,
        endpoint: &'static Endpoint,
        target: Target,
        limit: u32,
    ) -> Self {
        Pages {
            client,
            endpoint,
            target,
            limit: limit.max(1),
            next: Some(0),
            pages: 0,
            items: 0,
            empty_run: 0,
            _values: PhantomData,
        }
    }

    /// Asks for pages of `limit` items instead of the client's largest page (e.g. 1 to peek at
    /// the newest item only).
    pub fn with_limit(mut self, limit: u32) -> Self {
        self.limit = limit.max(1);
        self
    }

    /// Starts at offset `start` instead of 0 (resuming a listing).
    pub fn starting_at(mut self, start: u64) -> Self {
        self.next = Some(start);
        self
    }

    /// The next page's values, or `None` after the last page.
    pub async fn next_page(&mut self) -> Result<Option<Vec<T>>, ClientError> {
        let Some(start) = self.next else {
            return Ok(None);
        };
        let page = self.fetch(start).await?;
        self.pages += 1;
        self.items += page.values.len() as u64;
        self.next = self.advance(start, &page)?;
        Ok(Some(page.values))
    }

    /// Fetches one page at `start` without advancing (the caller pages itself).
    pub async fn fetch(&self, start: u64) -> Result<Page<T>, ClientError> {
        let target = self.target.with_page(start, self.limit);
        self.client.get_json(self.endpoint, &target).await
    }

    /// Where the page after `page` (fetched at `start`) starts, if any.
    fn advance(&mut self, start: u64, page: &Page<T>) -> Result<Option<u64>, ClientError> {
        if page.limit > 0 && page.limit < u64::from(self.limit) {
            // The server capped us: ask for what it gives (u32 by the comparison).
            self.limit = u32::try_from(page.limit).unwrap_or(self.limit);
        }
        if page.is_last_page {
            return Ok(None);
        }
        self.empty_run = if page.values.is_empty() {
            self.empty_run + 1
        } else {
            0
        };
        match page.next_page_start {
            Some(next) if next > start && self.empty_run < MAX_EMPTY_PAGES => Ok(Some(next)),
            _ => Err(self
                .client
                .error(self.endpoint, ErrorKind::NoProgress { start }, 1)),
        }
    }

    /// Every remaining value.
    pub async fn collect_all(mut self) -> Result<Vec<T>, ClientError> {
        let mut all = Vec::new();
        while let Some(values) = self.next_page().await? {
            all.extend(values);
        }
        Ok(all)
    }

    /// Pages fetched so far.
    pub fn pages(&self) -> u64 {
        self.pages
    }

    /// Values returned so far.
    pub fn items(&self) -> u64 {
        self.items
    }

    /// The offset of the next page (`None` when done): a checkpoint to resume from.
    pub fn next_start(&self) -> Option<u64> {
        self.next
    }
}
