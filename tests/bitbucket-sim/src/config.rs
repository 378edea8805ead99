//! Simulator configuration: scale profile, seed, rate limit, page caps.

use std::str::FromStr;
use std::time::Duration;

/// How big the generated company is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    /// A handful of projects and repos: fast unit and integration tests.
    Tiny,
    /// A believable small company for the demo.
    Demo,
    /// 10,000 repos, ~1,000,000 commits, ~200,000 pull requests, generated lazily.
    Large,
}

/// The knobs a profile turns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfileSizes {
    /// Generated (non-personal) users, on top of the fixed documented accounts.
    pub users: usize,
    pub groups: usize,
    pub projects: usize,
    /// Repositories in normal projects (personal repos come on top).
    pub repos: usize,
    /// Upper bound of default-branch commits per repo; the mean is about a third of it.
    pub max_commits: u64,
    /// Upper bound of pull requests per repo; the mean is about a third of it.
    pub max_pull_requests: u64,
}

impl Profile {
    pub fn sizes(self) -> ProfileSizes {
        match self {
            Profile::Tiny => ProfileSizes {
                users: 10,
                groups: 4,
                projects: 3,
                repos: 8,
                max_commits: 60,
                max_pull_requests: 9,
            },
            Profile::Demo => ProfileSizes {
                users: 45,
                groups: 8,
                projects: 8,
                repos: 60,
                max_commits: 400,
                max_pull_requests: 45,
            },
            Profile::Large => ProfileSizes {
                users: 2_000,
                groups: 60,
                projects: 250,
                repos: 10_000,
                max_commits: 270,
                max_pull_requests: 72,
            },
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Profile::Tiny => "tiny",
            Profile::Demo => "demo",
            Profile::Large => "large",
        }
    }
}

impl FromStr for Profile {
    type Err = String;

    fn from_str(s: &str) -> Result<Profile, String> {
        match s.to_ascii_lowercase().as_str() {
            "tiny" => Ok(Profile::Tiny),
            "demo" => Ok(Profile::Demo),
            "large" => Ok(Profile::Large),
            other => Err(format!(
                "unknown profile {other:?}; expected tiny, demo or large"
            )),
        }
    }
}

/// Per-user token bucket, like Bitbucket's own rate limiter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimitConfig {
    pub enabled: bool,
    /// Bucket size: requests a user may make in a burst.
    pub burst: u32,
    /// Tokens added per second.
    pub refill_per_second: f64,
    /// Whether a 429 carries `Retry-After` (real servers are not consistent about it).
    pub retry_after_header: bool,
}

impl Default for RateLimitConfig {
    fn default() -> RateLimitConfig {
        RateLimitConfig {
            enabled: true,
            burst: 60,
            refill_per_second: 5.0,
            retry_after_header: true,
        }
    }
}

/// Server-side caps on `limit`, per kind of page. A request for more silently gets the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageCaps {
    pub projects: u32,
    pub repos: u32,
    pub branches: u32,
    pub tags: u32,
    pub commits: u32,
    pub files: u32,
    pub directory_children: u32,
    pub source_lines: u32,
    pub pull_requests: u32,
    pub activities: u32,
    pub participants: u32,
    pub users: u32,
    pub groups: u32,
    pub webhooks: u32,
    pub restrictions: u32,
}

impl Default for PageCaps {
    /// Pull requests (100) and activities (500) are recorded caps (reference README); the rest
    /// follow Bitbucket's documented `page.max.*` defaults.
    fn default() -> PageCaps {
        PageCaps {
            projects: 1000,
            repos: 1000,
            branches: 1000,
            tags: 1000,
            commits: 1000,
            files: 100_000,
            directory_children: 1000,
            source_lines: 5000,
            pull_requests: 100,
            activities: 500,
            participants: 100,
            users: 1000,
            groups: 1000,
            webhooks: 100,
            restrictions: 100,
        }
    }
}

/// Everything needed to build a [`crate::Simulator`].
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub seed: u64,
    pub profile: Profile,
    pub rate_limit: RateLimitConfig,
    pub page_caps: PageCaps,
    /// Secret given to webhooks created without one (`None`: unsigned deliveries).
    pub webhook_secret_default: Option<String>,
    /// Base URL used in `links` (clone and self hrefs).
    pub base_url: String,
    /// Lifetime of OAuth 2.0 access tokens.
    pub oauth_access_token_ttl: Duration,
    /// Capacity of the webhook delivery queue; events beyond it are recorded as dropped.
    pub webhook_queue_capacity: usize,
    /// Timeout of one webhook POST.
    pub webhook_timeout: Duration,
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            seed: 42,
            profile: Profile::Tiny,
            rate_limit: RateLimitConfig::default(),
            page_caps: PageCaps::default(),
            webhook_secret_default: None,
            base_url: "http://localhost:7990".to_owned(),
            oauth_access_token_ttl: Duration::from_secs(3600),
            webhook_queue_capacity: 1024,
            webhook_timeout: Duration::from_secs(5),
        }
    }
}

impl SimConfig {
    /// The default configuration with another profile.
    pub fn with_profile(profile: Profile) -> SimConfig {
        SimConfig {
            profile,
            ..SimConfig::default()
        }
    }

    /// The default configuration without rate limiting: handy for crawling tests.
    pub fn unlimited(profile: Profile) -> SimConfig {
        SimConfig {
            profile,
            rate_limit: RateLimitConfig {
                enabled: false,
                ..RateLimitConfig::default()
            },
            ..SimConfig::default()
        }
    }
}
