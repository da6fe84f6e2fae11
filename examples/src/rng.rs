//! Seeded randomness for the example, built on mixcore's SplitMix64 so that every number the
//! example draws is reproducible on every platform and no extra RNG crate is needed.

use mixcore::SplitMix64;
use mixcore::select::uniform;

/// A seed for the `index`-th item of stream `stream` under `seed`: independent streams for
/// dataset clips, weight initialisation, shuffling and frame sampling.
#[must_use]
pub fn substream(seed: u64, stream: u64, index: u64) -> u64 {
    SplitMix64::nth_output(SplitMix64::nth_output(seed, stream), index)
}

/// A small seeded generator with the draws the example needs.
#[derive(Clone, Debug)]
pub struct Rng(SplitMix64);

impl Rng {
    /// A generator started at `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Rng(SplitMix64::new(seed))
    }

    /// The next raw 64-bit output.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A uniform `f32` in `[0, 1)` (24 random bits).
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u32 << 24) as f32)
    }

    /// A uniform `f32` in `[lo, hi)`.
    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }

    /// A uniform integer in `[0, n)` (`n >= 1`), drawn as docs/contract.md's `U(n)`.
    pub fn below(&mut self, n: u64) -> u64 {
        uniform(self.next_u64(), n)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f32) -> bool {
        self.unit() < p
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_unit_in_range_and_reproducible() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for _ in 0..1000 {
            let x = a.unit();
            assert!((0.0..1.0).contains(&x));
            assert_eq!(x.to_bits(), b.unit().to_bits());
        }
    }

    #[test]
    fn rng_shuffle_is_a_permutation() {
        let mut v: Vec<u32> = (0..50).collect();
        Rng::new(3).shuffle(&mut v);
        assert_ne!(v, (0..50).collect::<Vec<_>>());
        v.sort_unstable();
        assert_eq!(v, (0..50).collect::<Vec<_>>());
    }

    #[test]
    fn substream_streams_differ() {
        assert_ne!(substream(1, 0, 0), substream(1, 1, 0));
        assert_ne!(substream(1, 0, 0), substream(1, 0, 1));
        assert_eq!(substream(9, 2, 3), substream(9, 2, 3));
    }
}
