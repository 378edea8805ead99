//! Config plumbing both binaries use: parse TOML (with file:line:col on syntax errors), then
//! validate into typed values while collecting every error with its field path, so an operator
//! sees all mistakes at once (and the process exits 64 before binding any port).

use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::de::DeserializeOwned;

/// Every problem found in one config file.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ConfigErrors {
    source: String,
    errors: Vec<(String, String)>,
}

impl ConfigErrors {
    /// Starts collecting errors for the file (or other source) `source`.
    pub fn new(source: impl Into<String>) -> Self {
        ConfigErrors {
            source: source.into(),
            errors: Vec::new(),
        }
    }

    /// Records an error at a dotted field path such as `bitbucket.auth.token`.
    pub fn push(&mut self, field: impl Into<String>, message: impl fmt::Display) {
        self.errors.push((field.into(), message.to_string()));
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn len(&self) -> usize {
        self.errors.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.errors.iter().map(|(f, m)| (f.as_str(), m.as_str()))
    }

    /// `Ok(value)` if nothing was recorded.
    pub fn finish<T>(self, value: T) -> Result<T, ConfigErrors> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }

    /// Parses an optional duration at `field`, `default` when absent (or invalid: recorded).
    pub fn duration(&mut self, field: &str, value: Option<&str>, default: Duration) -> Duration {
        match value {
            None => default,
            Some(text) => self.take(field, parse_duration(text)).unwrap_or(default),
        }
    }

    /// Unwraps a result, recording its error under `field`.
    pub fn take<T, E: fmt::Display>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(err) => {
                self.push(field, err);
                None
            }
        }
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        writeln!(
            f,
            "{}: {n} error{}",
            self.source,
            if n == 1 { "" } else { "s" }
        )?;
        for (field, message) in &self.errors {
            writeln!(f, "  {}: {field}: {message}", self.source)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// `[shutdown]`, the same in both binaries.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShutdownSection {
    /// How long calls in flight may take to finish after SIGTERM (default 30s).
    pub grace: Option<String>,
}

/// `[log]`, the same in both binaries.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSection {
    #[serde(default)]
    pub format: crate::telemetry::LogFormat,
    /// A tracing filter such as `info` or `info,relay_agent=debug` (`RUST_LOG` overrides it).
    pub level: Option<String>,
}

/// `path` if absolute, else `path` under `base` (config paths are relative to the config file).
pub fn resolve_path(base: &Path, path: &Path) -> std::path::PathBuf {
    if path.is_absolute() {
        path.to_owned()
    } else {
        base.join(path)
    }
}

/// The directory a config file's relative paths are resolved against.
pub fn config_dir(config_file: &Path) -> std::path::PathBuf {
    config_file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_owned()
}

/// Reads and deserialises a TOML file; syntax and type errors name `file:line:col`.
pub fn load_toml<T: DeserializeOwned>(path: &Path) -> Result<T, ConfigErrors> {
    let source = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|err| {
        let mut errors = ConfigErrors::new(&source);
        errors.push("(file)", format!("cannot read: {err}"));
        errors
    })?;
    parse_toml(&text, &source)
}

/// Deserialises TOML text; `source` names it in errors.
pub fn parse_toml<T: DeserializeOwned>(text: &str, source: &str) -> Result<T, ConfigErrors> {
    toml::from_str(text).map_err(|err| {
        let mut errors = ConfigErrors::new(source);
        let location = err
            .span()
            .map(|span| {
                let (line, col) = line_col(text, span.start);
                format!("line {line}, column {col}")
            })
            .unwrap_or_else(|| "(file)".to_owned());
        errors.push(location, err.message());
        errors
    })
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Parses a human duration: `250ms`, `15s`, `5m`, `2h`, `1d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let value: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (write e.g. 250ms, 15s, 5m, 2h)"))?;
    let duration = match unit.trim() {
        "ms" => Duration::from_millis(value),
        "s" => Duration::from_secs(value),
        "m" => Duration::from_secs(value.saturating_mul(60)),
        "h" => Duration::from_secs(value.saturating_mul(3600)),
        "d" => Duration::from_secs(value.saturating_mul(86_400)),
        other => {
            return Err(format!(
                "{text:?}: unknown unit {other:?} (use ms, s, m, h or d)"
            ));
        }
    };
    Ok(duration)
}

/// Parses a byte size: `1048576`, `512KiB`, `10MiB`, `2GiB` (also KB/MB/GB as powers of 1000).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let value: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size (write e.g. 10MiB)"))?;
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        other => {
            return Err(format!(
                "{text:?}: unknown unit {other:?} (use B, KiB, MiB, GiB)"
            ));
        }
    };
    value
        .checked_mul(factor)
        .ok_or_else(|| format!("{text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes_parse_or_explain() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert!(
            parse_duration("5 parsecs")
                .unwrap_err()
                .contains("unknown unit")
        );
        assert!(parse_duration("soon").is_err());
        assert_eq!(parse_size("10MiB"), Ok(10 << 20));
        assert_eq!(parse_size("42"), Ok(42));
        assert!(parse_size("1PiB").is_err());
    }

    #[test]
    fn toml_errors_carry_line_and_column() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Cfg {
            name: String,
        }
        let err = parse_toml::<Cfg>("name = \"x\"\nnmae = 1\n", "agent.toml").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("agent.toml: line 2, column 1"), "{text}");
        assert!(text.contains("nmae"), "{text}");
    }
}
