//! Schedules: exact integer numerators over a denominator (docs/contract.md section 5).

use crate::round::round_ratio;

/// The weights of a window's mixed frames, as exact rationals `n_t / D`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Schedule<'a> {
    /// `n_t = 1`, `D = m`: order ignored.
    Average,
    /// `n_t = t + 1`, `D = m(m+1)/2`: weights grow with frame order. Default.
    #[default]
    Linear,
    /// `n_t = t`, `D = m(m-1)/2`: the paper's equation (3) as printed (the first frame gets
    /// weight 0); for `m = 1`, `n_0 = 1` and `D = 1`.
    Linear0,
    /// The caller's numerators, one per mixed frame (needs a fixed `k` of the same length),
    /// at least one non-zero.
    Custom(&'a [u32]),
}

impl Schedule<'_> {
    /// Numerator `n_t` of mixed frame `t` out of `m`. For `Custom`, `t` indexes the slice
    /// (`m` is the slice's length once the plan is checked); an index past it gives 0.
    #[inline]
    #[must_use]
    pub fn numerator(&self, t: u32, m: u32) -> u32 {
        match *self {
            Schedule::Average => 1,
            Schedule::Linear => t + 1,
            Schedule::Linear0 if m == 1 => 1,
            Schedule::Linear0 => t,
            Schedule::Custom(n) => n.get(t as usize).copied().unwrap_or(0),
        }
    }

    /// Denominator `D = sum of n_t` for `m` mixed frames.
    #[must_use]
    pub fn denominator(&self, m: u32) -> u64 {
        let m64 = u64::from(m);
        match *self {
            Schedule::Average => m64,
            Schedule::Linear => m64 * (m64 + 1) / 2,
            Schedule::Linear0 if m == 1 => 1,
            Schedule::Linear0 => m64 * (m64 - 1) / 2,
            Schedule::Custom(n) => n.iter().map(|&x| u64::from(x)).sum(),
        }
    }

    /// The weight `w_t = n_t / D` correctly rounded to `f32` (for display and the float path).
    #[must_use]
    pub fn weight_f32(&self, t: u32, m: u32) -> f32 {
        round_ratio(u64::from(self.numerator(t, m)), self.denominator(m))
    }
}

/// A [`Schedule`] that owns its custom numerators: what a front end parses
/// (`"custom:1,2,3".parse()`, see [`crate::text`]) or keeps beyond the life of a borrowed
/// slice. [`ScheduleBuf::as_schedule`] lends it to a [`crate::PlanConfig`].
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScheduleBuf {
    /// [`Schedule::Average`].
    Average,
    /// [`Schedule::Linear`]. Default.
    #[default]
    Linear,
    /// [`Schedule::Linear0`].
    Linear0,
    /// [`Schedule::Custom`], owning its numerators.
    Custom(alloc::vec::Vec<u32>),
}

#[cfg(feature = "alloc")]
impl ScheduleBuf {
    /// The schedule, borrowing the numerators.
    #[must_use]
    pub fn as_schedule(&self) -> Schedule<'_> {
        match self {
            ScheduleBuf::Average => Schedule::Average,
            ScheduleBuf::Linear => Schedule::Linear,
            ScheduleBuf::Linear0 => Schedule::Linear0,
            ScheduleBuf::Custom(n) => Schedule::Custom(n),
        }
    }
}

#[cfg(feature = "alloc")]
impl From<Schedule<'_>> for ScheduleBuf {
    fn from(s: Schedule<'_>) -> Self {
        match s {
            Schedule::Average => ScheduleBuf::Average,
            Schedule::Linear => ScheduleBuf::Linear,
            Schedule::Linear0 => ScheduleBuf::Linear0,
            Schedule::Custom(n) => ScheduleBuf::Custom(n.to_vec()),
        }
    }
}
