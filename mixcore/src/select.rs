//! Selection: which frames of a window are mixed, in test and seeded train mode
//! (docs/contract.md section 4).

/// How the `m` mixed frames are chosen inside a window of `n`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Selection {
    /// The centres of `m` equal sub-bins (train mode: one random frame per sub-bin).
    /// `k = 1` gives TSN's centre frame; `m = n` gives every frame. Default.
    #[default]
    Spread,
    /// `m` consecutive frames, centred (train mode: at a random offset).
    Consecutive,
}

/// Test mode (deterministic) or train mode (seeded, reproducible on every platform).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Deterministic positions. Default.
    #[default]
    Test,
    /// Random positions drawn from SplitMix64 started at `seed`.
    Train {
        /// The SplitMix64 state to start from.
        seed: u64,
    },
}

/// The SplitMix64 increment.
pub const SPLITMIX64_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64, exactly as docs/contract.md section 4 writes it.
///
/// ```
/// let mut rng = mixcore::SplitMix64::new(0);
/// assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose state starts at `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64-bit output.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(SPLITMIX64_GAMMA);
        mix64(self.state)
    }

    /// The output of draw number `n` (0-based) of a generator seeded with `seed`, without
    /// drawing the ones before it (the state after `n + 1` steps is `seed + (n+1)*gamma`).
    #[must_use]
    pub fn nth_output(seed: u64, n: u64) -> u64 {
        mix64(seed.wrapping_add(n.wrapping_add(1).wrapping_mul(SPLITMIX64_GAMMA)))
    }
}

#[inline]
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `U(r)`: a uniform integer in `[0, r)` from a 64-bit draw `x`: `(x * r) >> 64`.
#[inline]
#[must_use]
pub fn uniform(x: u64, r: u64) -> u64 {
    ((u128::from(x) * u128::from(r)) >> 64) as u64
}

/// Position of mixed frame `t` of `m` in the window `[lo, lo + n)`.
///
/// `draws` is `Some((seed, index))` in train mode: the SplitMix64 draw this position uses
/// (for `Spread`, one draw per `t`; for `Consecutive`, one per window, the same for every `t`).
#[inline]
pub(crate) fn position(
    selection: Selection,
    lo: u32,
    n: u32,
    m: u32,
    t: u32,
    draw: Option<(u64, u64)>,
) -> u32 {
    let (n64, m64, t64) = (u64::from(n), u64::from(m), u64::from(t));
    let offset = match (selection, draw) {
        (Selection::Spread, None) => (2 * t64 + 1) * n64 / (2 * m64),
        (Selection::Consecutive, None) => (n64 - m64) / 2 + t64,
        (Selection::Spread, Some((seed, index))) => {
            let a = t64 * n64 / m64;
            let b = (t64 + 1) * n64 / m64;
            a + uniform(SplitMix64::nth_output(seed, index), b - a)
        }
        (Selection::Consecutive, Some((seed, index))) => {
            uniform(SplitMix64::nth_output(seed, index), n64 - m64 + 1) + t64
        }
    };
    lo + offset as u32
}

/// The `t` whose position is `f`, if frame `f` (inside the window) is selected.
pub(crate) fn index_of(
    selection: Selection,
    lo: u32,
    n: u32,
    m: u32,
    f: u32,
    draw_base: Option<(u64, u64)>,
) -> Option<u32> {
    let rel = u64::from(f - lo);
    let (n64, m64) = (u64::from(n), u64::from(m));
    let t = match selection {
        Selection::Consecutive => {
            // Every t shares one draw; the first position tells the offset.
            let first = position(selection, lo, n, m, 0, draw_base);
            let t = f.checked_sub(first)?;
            return (t < m).then_some(t);
        }
        // Train spread: f lies in exactly one sub-bin [floor(t*n/m), floor((t+1)*n/m)),
        // the largest t with floor(t*n/m) <= rel, i.e. t*n < (rel+1)*m.
        Selection::Spread if draw_base.is_some() => ((rel + 1) * m64 - 1) / n64,
        // Test spread: positions are strictly increasing, so binary search them.
        Selection::Spread => {
            let (mut a, mut b) = (0u64, m64);
            while a < b {
                let mid = (a + b) / 2;
                if (2 * mid + 1) * n64 / (2 * m64) < rel {
                    a = mid + 1;
                } else {
                    b = mid;
                }
            }
            a
        }
    };
    if t >= m64 {
        return None;
    }
    let t = t as u32;
    let draw = draw_base.map(|(seed, base)| (seed, base + u64::from(t)));
    (position(selection, lo, n, m, t, draw) == f).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_jump_equals_stream() {
        let mut rng = SplitMix64::new(12345);
        for n in 0..100 {
            assert_eq!(rng.next_u64(), SplitMix64::nth_output(12345, n));
        }
    }

    #[test]
    fn index_of_inverts_position() {
        for sel in [Selection::Spread, Selection::Consecutive] {
            for draw in [None, Some((7u64, 3u64))] {
                for n in 1..30 {
                    for m in 1..=n {
                        let mut hits = 0;
                        for f in 10..10 + n {
                            if let Some(t) = index_of(sel, 10, n, m, f, draw) {
                                let d = match sel {
                                    Selection::Spread => draw.map(|(s, b)| (s, b + u64::from(t))),
                                    Selection::Consecutive => draw,
                                };
                                assert_eq!(position(sel, 10, n, m, t, d), f);
                                hits += 1;
                            }
                        }
                        assert_eq!(hits, m, "sel={sel:?} n={n} m={m} draw={draw:?}");
                    }
                }
            }
        }
    }
}
