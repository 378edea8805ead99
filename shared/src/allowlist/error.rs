//! Load errors: every problem in a file, each with `file:line:col`.

use std::fmt;
use std::sync::Arc;

/// One problem, located in a source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    file: Arc<str>,
    /// 1-based; 0 when the problem concerns the whole file (e.g. it cannot be read).
    line: usize,
    column: usize,
    message: String,
}

impl Located {
    /// The file (as named by the caller of `parse`/`load`).
    pub fn file(&self) -> &str {
        &self.file
    }

    /// 1-based line, if the problem has a position.
    pub fn line(&self) -> Option<usize> {
        (self.line > 0).then_some(self.line)
    }

    /// 1-based column in characters, if the problem has a position.
    pub fn column(&self) -> Option<usize> {
        (self.line > 0).then_some(self.column)
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn whole_file(file: &str, message: impl Into<String>) -> Self {
        Located {
            file: file.into(),
            line: 0,
            column: 0,
            message: message.into(),
        }
    }
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )
        } else {
            write!(f, "{}: {}", self.file, self.message)
        }
    }
}

/// An allow-list (or accept file) that could not be loaded. `Display` lists every error, one per
/// line, sorted by position.
#[derive(Debug, thiserror::Error)]
#[error("{}", render(.errors))]
pub struct AllowListError {
    errors: Vec<Located>,
    #[source]
    source: Option<std::io::Error>,
}

fn render(errors: &[Located]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl AllowListError {
    /// Every problem found, sorted by position.
    pub fn errors(&self) -> &[Located] {
        &self.errors
    }

    /// True when the file could not be read at all (as opposed to being invalid).
    pub fn is_io(&self) -> bool {
        self.source.is_some()
    }

    pub(crate) fn new(mut errors: Vec<Located>) -> Self {
        errors.sort_by_key(|e| (e.line, e.column));
        errors.dedup();
        AllowListError {
            errors,
            source: None,
        }
    }

    pub(crate) fn io(file: &str, err: std::io::Error) -> Self {
        AllowListError {
            errors: vec![Located::whole_file(file, format!("cannot read: {err}"))],
            source: Some(err),
        }
    }
}

/// Turns byte offsets in a source text into `file:line:col` locations.
pub(crate) struct Locator<'a> {
    file: Arc<str>,
    text: &'a str,
}

impl<'a> Locator<'a> {
    pub(crate) fn new(file: &str, text: &'a str) -> Self {
        Locator {
            file: file.into(),
            text,
        }
    }

    /// The source text.
    pub(crate) fn text(&self) -> &'a str {
        self.text
    }

    /// 1-based (line, column) of a byte offset; the column counts characters.
    pub(crate) fn position(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = self.text.get(..offset).unwrap_or_default();
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before.get(line_start..).unwrap_or_default().chars().count() + 1;
        (line, column)
    }

    pub(crate) fn at(&self, offset: usize, message: impl Into<String>) -> Located {
        let (line, column) = self.position(offset);
        Located {
            file: self.file.clone(),
            line,
            column,
            message: message.into(),
        }
    }
}
