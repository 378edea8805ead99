//! Deterministic seed derivation.
//!
//! Everything the simulator generates is a pure function of `(seed, what, index)`. Deriving a
//! fresh seed per repository (and per commit, per pull request, per file) is what lets the large
//! profile generate any page on demand without generating what comes before it.
//!
//! The generator is SplitMix64: tiny, fast, and with a fixed, documented output sequence, so the
//! generated data stays byte-identical across `rand` upgrades (rand's `SmallRng` makes no such
//! promise).

use rand::RngCore;

/// One SplitMix64 finalisation step: a good 64-bit mixer.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Derives a child seed from a parent seed, a domain tag and an index.
pub fn derive(parent: u64, domain: &str, index: u64) -> u64 {
    let mut h = mix(parent);
    for b in domain.bytes() {
        h = mix(h ^ u64::from(b));
    }
    mix(h ^ mix(index))
}

/// A SplitMix64 random number generator, usable with every `rand::Rng` method.
#[derive(Debug, Clone)]
pub struct SimRng {
    state: u64,
}

impl SimRng {
    pub fn new(seed: u64) -> SimRng {
        SimRng { state: seed }
    }

    /// A generator for `(parent, domain, index)`.
    pub fn derived(parent: u64, domain: &str, index: u64) -> SimRng {
        SimRng::new(derive(parent, domain, index))
    }

    /// A uniformly distributed value in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Multiply-shift: unbiased enough for test data and branch-free.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A uniformly distributed index into a slice of length `n`.
    pub fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// A float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// An element of a non-empty slice; `None` for an empty one.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            None
        } else {
            items.get(self.index(items.len()))
        }
    }

    /// An element of a non-empty static word list (returns "" for an empty list).
    pub fn word(&mut self, items: &[&'static str]) -> &'static str {
        self.pick(items).copied().unwrap_or("")
    }

    /// A value in `lo..=hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            lo
        } else {
            lo + self.below(hi - lo + 1)
        }
    }
}

impl RngCore for SimRng {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivation_is_stable_and_domain_separated() {
        assert_eq!(derive(42, "repo", 7), derive(42, "repo", 7));
        assert_ne!(derive(42, "repo", 7), derive(42, "pr", 7));
        assert_ne!(derive(42, "repo", 7), derive(43, "repo", 7));
    }

    #[test]
    fn below_stays_in_range() {
        let mut rng = SimRng::new(1);
        for n in [1u64, 2, 3, 10, 1000] {
            for _ in 0..200 {
                assert!(rng.below(n) < n);
            }
        }
        assert_eq!(rng.below(0), 0);
    }
}
