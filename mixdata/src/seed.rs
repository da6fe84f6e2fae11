//! The seed rules: which train-mode draw each sample of each epoch gets, and the order of each
//! epoch.
//!
//! Everything is built from one function, `step(x)`, the first output of mixcore's SplitMix64
//! started at `x` ([`mixcore::SplitMix64`], docs/contract.md section 4):
//!
//! ```text
//! step(x)                   = SplitMix64::new(x).next_u64()      (= mix64(x + 0x9E3779B97F4A7C15))
//! epoch_key(seed, epoch)    = step(step(seed) ^ epoch)
//! sample_seed(seed, e, i)   = step(epoch_key(seed, e) ^ i)
//! ```
//!
//! In train mode sample `i` of epoch `e` is mixed with `Mode::Train { seed: sample_seed(seed,
//! e, i) }`, where `seed` is the dataset's ([`crate::DatasetConfig::mode`]) and `i` the sample's
//! index in the dataset (its position in the annotation list). A sample's bits therefore
//! depend on `(seed, e, i)` and the clip alone: not on the number of workers, the batch it
//! lands in, the shuffle, or the order of fetching. Each epoch draws new positions (the paper
//! samples anew every epoch). Test mode ignores seed and epoch.
//!
//! The order of an epoch, when the loader shuffles ([`crate::LoaderConfig::shuffle`]), is a
//! Fisher-Yates shuffle of `0..n` driven by SplitMix64 started at
//! `epoch_key(shuffle_seed ^ SHUFFLE_DOMAIN, e)`:
//!
//! ```text
//! order = [0, 1, ..., n-1]
//! for i in (1..n).rev():  j = U(next_u64(), i + 1);  swap(order[i], order[j])
//! ```
//!
//! with `U(x, r) = (x * r) >> 64` (mixcore's [`mixcore::select::uniform`]). The domain constant
//! keeps the shuffle's draws apart from the samples' even when both seeds are equal.
//!
//! ```
//! use mixdata::seed::{sample_seed, shuffle_order};
//! // Fixed values (computed by an independent Python transcription of the rule): the rule is
//! // part of what a dataset's samples are, like docs/contract.md's draws.
//! assert_eq!(sample_seed(0, 0, 0), 0x2382_75BC_38FC_BE91);
//! assert_ne!(sample_seed(7, 1, 3), sample_seed(7, 2, 3));
//! assert_eq!(shuffle_order(5, 0, 0), vec![3, 1, 2, 0, 4]);
//! assert_eq!(shuffle_order(10, 7, 1), vec![9, 1, 7, 4, 6, 2, 5, 3, 0, 8]);
//! ```

use mixcore::SplitMix64;
use mixcore::select::uniform;

/// XORed into the shuffle seed so the shuffle's draws never coincide with the samples':
/// `"shuffle!"` in ASCII.
pub const SHUFFLE_DOMAIN: u64 = 0x7368_7566_666c_6521;

/// The first output of SplitMix64 started at `x`.
#[must_use]
pub fn step(x: u64) -> u64 {
    SplitMix64::new(x).next_u64()
}

/// `step(step(seed) ^ epoch)`: the key of one epoch under one seed.
#[must_use]
pub fn epoch_key(seed: u64, epoch: u64) -> u64 {
    step(step(seed) ^ epoch)
}

/// The train-mode seed of sample `index` in `epoch`: `step(epoch_key(seed, epoch) ^ index)`.
#[must_use]
pub fn sample_seed(seed: u64, epoch: u64, index: u64) -> u64 {
    step(epoch_key(seed, epoch) ^ index)
}

/// The shuffled order of `len` samples in `epoch` (see the module docs).
#[must_use]
pub fn shuffle_order(len: usize, seed: u64, epoch: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    let mut rng = SplitMix64::new(epoch_key(seed ^ SHUFFLE_DOMAIN, epoch));
    for i in (1..len).rev() {
        let j = uniform(rng.next_u64(), i as u64 + 1) as usize;
        order.swap(i, j);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SplitMix64's finaliser written out again, independently of mixcore.
    fn mix64(mut z: u64) -> u64 {
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    #[test]
    fn seed_rule_is_three_splitmix_steps() {
        let s = |x: u64| mix64(x.wrapping_add(0x9E37_79B9_7F4A_7C15));
        for (seed, epoch, index) in [(0, 0, 0), (1, 2, 3), (u64::MAX, 7, 1 << 40)] {
            assert_eq!(
                sample_seed(seed, epoch, index),
                s(s(s(seed) ^ epoch) ^ index)
            );
        }
    }

    #[test]
    fn shuffle_is_a_permutation_that_changes_with_the_epoch() {
        for len in [0, 1, 2, 17, 1000] {
            let mut o = shuffle_order(len, 42, 3);
            o.sort_unstable();
            assert_eq!(o, (0..len).collect::<Vec<_>>());
        }
        assert_ne!(shuffle_order(100, 42, 0), shuffle_order(100, 42, 1));
        assert_eq!(shuffle_order(100, 42, 1), shuffle_order(100, 42, 1));
    }
}
