//! Random data and plans shared by the emulator tests (src/emulate/tests.rs) and the device
//! tests (tests/device.rs), included by path, so both check the kernels on the same cases.
#![allow(dead_code)]

use mixcore::{FramesPerSegment, PlanConfig, Schedule, SplitMix64};

/// Reproducible test data from SplitMix64.
pub struct Rng(pub SplitMix64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(SplitMix64::new(seed))
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        mixcore::select::uniform(self.0.next_u64(), n)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// `n` random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.0.next_u64() as u8).collect()
    }

    /// One of `xs`.
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
}

/// Custom numerators near the `u32` limit.
const BIG: &[u32] = &[u32::MAX, 1, 77, u32::MAX - 5];

/// Plans at the edges of the kernels' arithmetic and launch geometry: windows of 65,536
/// frames (u64 sums, denominators above 2^29: the integer rounding route, linear and average),
/// huge custom numerators, and 70,000 segments (launches split in y).
pub fn wide_plans() -> Vec<(u32, PlanConfig<'static>)> {
    vec![
        (
            65_536,
            PlanConfig {
                segments: 1,
                ..PlanConfig::default()
            },
        ),
        (
            65_536,
            PlanConfig {
                segments: 1,
                schedule: Schedule::Average,
                ..PlanConfig::default()
            },
        ),
        (
            64,
            PlanConfig {
                segments: 16,
                k: FramesPerSegment::Fixed(4),
                schedule: Schedule::Custom(BIG),
                ..PlanConfig::default()
            },
        ),
        (
            70_000,
            PlanConfig {
                segments: 70_000,
                k: FramesPerSegment::Fixed(1),
                ..PlanConfig::default()
            },
        ),
    ]
}
