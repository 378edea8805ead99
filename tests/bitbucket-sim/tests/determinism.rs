//! Same seed and profile, same bytes; another seed, other bytes.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use bitbucket_sim::{Profile, SimConfig, Simulator};
use common::{admin, crawl};
use ring::digest;

async fn crawl_hash(seed: u64, profile: Profile, max_repos: usize) -> (String, usize) {
    let sim = Simulator::new(SimConfig {
        seed,
        ..SimConfig::unlimited(profile)
    });
    let pages = crawl(&sim.router(), &admin(&sim), max_repos, 7).await;
    let mut ctx = digest::Context::new(&digest::SHA256);
    for p in &pages {
        ctx.update(p.uri.as_bytes());
        ctx.update(&[0]);
        ctx.update(&p.status.as_u16().to_be_bytes());
        ctx.update(&p.body);
    }
    (hex::encode(ctx.finish().as_ref()), pages.len())
}

#[tokio::test]
async fn same_seed_gives_byte_identical_responses() {
    let (a, n) = crawl_hash(42, Profile::Tiny, usize::MAX).await;
    let (b, _) = crawl_hash(42, Profile::Tiny, usize::MAX).await;
    assert!(n > 100, "the crawl covers the API ({n} responses)");
    assert_eq!(a, b);
}

#[tokio::test]
async fn different_seed_gives_different_responses() {
    let (a, _) = crawl_hash(42, Profile::Tiny, usize::MAX).await;
    let (b, _) = crawl_hash(43, Profile::Tiny, usize::MAX).await;
    assert_ne!(a, b);
}

#[tokio::test]
async fn demo_profile_is_deterministic_too() {
    let (a, _) = crawl_hash(7, Profile::Demo, 12).await;
    let (b, _) = crawl_hash(7, Profile::Demo, 12).await;
    assert_eq!(a, b);
}
