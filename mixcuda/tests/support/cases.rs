//! Random data and plans shared by the emulator tests (src/emulate/tests.rs) and the device
//! tests (tests/device.rs), included by path, so both check the kernels on the same cases.
#![allow(dead_code)]

use mixcore::{Epilogue, FramesPerSegment, PlanConfig, Schedule, SplitMix64};

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

/// Epilogues for the half-precision outputs' edges. The first: channel 0 lands in
/// `[0, 1.4e-41]` (subnormal `f32`; subnormal or zero `bf16`), channel 1 in `[0, 1.6e-5]`
/// (subnormal `f16`), channel 2 in `[-1e-7, 0]` (negative `f16` subnormals and `-0`), channel 3
/// in `[3333, 10000]`. The second: channel 0 in `[33333, 100000]` (`f16` overflow to infinity
/// and the largest finite values), channel 2 in `[-50000, 50000]`. With these every rounding
/// class of docs/contract.md section 10 occurs in a mix.
pub const HALF_EDGE_EPILOGUES: [Epilogue; 2] = [
    Epilogue::Normalize {
        mean: [0.0, 0.0, 1.0, -0.5],
        std: [3.0e38, 65_504.0, 1.0e7, 1.5e-4],
    },
    Epilogue::Normalize {
        mean: [-0.5, 0.0, 0.5, 0.0],
        std: [1.5e-5, 1.0, 1.0e-5, 1.0],
    },
];

/// `f32` bit patterns for the half-rounding probes: every combination of the top 16 bits
/// (sign, exponent, 7 fraction bits: every binade of both formats, and each `bf16` value) with
/// low halves at the rounding boundaries (`2^k - 1`, `2^k`, `2^k + 1`, and ties with an odd
/// last kept bit: ties and their neighbours for `bf16`'s 16 dropped bits and for `f16`'s 13 to
/// 24), about 4.3 million patterns, plus named edge values:
/// signed zeros, `f32` subnormals, `f16`'s smallest subnormal and its half, the largest
/// subnormal, the smallest normal, 65504, 65520 (the overflow threshold, a tie), `f32`'s
/// largest finite value, the infinities and quiet and signalling NaNs of both signs.
pub fn half_probe_inputs(rng: &mut Rng) -> Vec<u32> {
    let mut lows: Vec<u32> = vec![0, 0xffff];
    // Ties with an odd last kept bit, and their neighbours: f16 normals (tie bit 12, last kept
    // bit 13), f16 subnormals with 14 and 15 dropped bits, a tie that carries through.
    for tie in [0x3000u32, 0x6000, 0xc000, 0xf000] {
        lows.extend([tie - 1, tie, tie + 1]);
    }
    for k in 0..16 {
        lows.extend([(1u32 << k) - 1, 1 << k, (1 << k) + 1]);
    }
    lows.extend((0..8).map(|_| rng.below(1 << 16) as u32));
    lows.sort_unstable();
    lows.dedup();
    let mut v: Vec<u32> = Vec::with_capacity(65_536 * lows.len() + 64);
    for hi in 0..=0xffffu32 {
        v.extend(lows.iter().map(|&lo| hi << 16 | lo));
    }
    for b in [
        0x0000_0000u32, // +0
        0x0000_0001,    // smallest f32 subnormal
        0x007f_ffff,    // largest f32 subnormal
        0x0080_0000,    // smallest f32 normal
        0x3300_0000,    // 2^-25: half of f16's smallest subnormal, ties to 0
        0x3300_0001,    // just above: rounds up to the smallest subnormal
        0x3380_0000,    // 2^-24: f16's smallest subnormal
        0x33c0_0000,    // 1.5 * 2^-24: a tie between subnormals 1 and 2, to even 2
        0x3420_0000,    // 2.5 * 2^-24: a tie, to even 2
        0x387f_c000,    // f16's largest subnormal
        0x387f_e000,    // a tie between it and the smallest normal, to even (normal)
        0x387f_dfff,    // just below that tie
        0x3880_0000,    // f16's smallest normal
        0x3f80_0000,    // 1
        0x3f80_1000,    // 1 + 2^-11: an f16 tie, to even 1
        0x3f80_3000,    // 1 + 3 * 2^-11: an f16 tie, to even 1 + 2^-9
        0x3f80_8000,    // 1 + 2^-8: a bf16 tie, to even 1
        0x3f81_8000,    // 1 + 3 * 2^-8: a bf16 tie, to even 1 + 2^-6
        0x437f_0000,    // 255
        0x477f_e000,    // 65504, f16's largest finite value
        0x477f_efff,    // just below 65520: rounds to 65504
        0x477f_f000,    // 65520: the tie to 2^16, infinity
        0x4780_0000,    // 65536
        0x7f7f_ffff,    // f32's largest finite value: bf16 infinity
        0x7f7f_7fff,    // below bf16's overflow tie
        0x7f7f_8000,    // bf16's overflow tie: infinity
        0x7f80_0000,    // +inf
        0x7f80_0001,    // signalling NaN
        0x7fbf_ffff,    // signalling NaN, every other fraction bit set
        0x7fc0_0000,    // quiet NaN
        0x7fff_ffff,    // quiet NaN, every fraction bit set
    ] {
        v.extend([b, b | 0x8000_0000]);
    }
    v
}
