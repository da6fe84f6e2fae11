//! Epilogues: the last f32 operations on a mixed value `V` (docs/contract.md section 6).

use crate::error::{Error, Result};

/// What is written for a mixed value `V` in `[0, 255]`. Each variant is exactly these IEEE-754
/// `f32` operations in this order, none fused.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[non_exhaustive]
pub enum Epilogue {
    /// `y = V`. Default.
    #[default]
    Raw,
    /// `y = V / 255`.
    Unit,
    /// `y = (V / 255 - mean[c]) / std[c]` per channel `c` (unit scale). Entries past the
    /// frame's channel count are ignored.
    Normalize {
        /// Per-channel mean, unit scale.
        mean: [f32; 4],
        /// Per-channel standard deviation, unit scale; positive and finite.
        std: [f32; 4],
    },
}

impl Epilogue {
    /// ImageNet normalisation: mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225).
    pub const IMAGENET: Epilogue = Epilogue::Normalize {
        mean: [0.485, 0.456, 0.406, 0.0],
        std: [0.229, 0.224, 0.225, 1.0],
    };

    /// Checks that, for each of the first `channels` channels, `std` is positive and finite and
    /// `mean` is finite.
    ///
    /// # Errors
    /// [`Error::BadNormalization`].
    pub fn validate(&self, channels: u32) -> Result<()> {
        if let Epilogue::Normalize { mean, std } = self {
            for c in 0..(channels.min(4) as usize) {
                if !(std[c].is_finite() && std[c] > 0.0 && mean[c].is_finite()) {
                    return Err(Error::BadNormalization { channel: c as u32 });
                }
            }
        }
        Ok(())
    }

    /// `y` for a mixed value `v` of channel `c` (`c < 4`).
    #[inline(always)]
    #[must_use]
    pub fn apply(&self, v: f32, c: usize) -> f32 {
        match self {
            Epilogue::Raw => v,
            Epilogue::Unit => v / 255.0,
            Epilogue::Normalize { mean, std } => (v / 255.0 - mean[c & 3]) / std[c & 3],
        }
    }

    /// The mixed value `v` (0..=255 scale) that gave output `y` of channel `c`, as nearly as
    /// `f32` arithmetic undoes [`Epilogue::apply`]: for previews and plots, not exact.
    #[must_use]
    pub fn unapply(&self, y: f32, c: usize) -> f32 {
        match self {
            Epilogue::Raw => y,
            Epilogue::Unit => y * 255.0,
            Epilogue::Normalize { mean, std } => (y * std[c & 3] + mean[c & 3]) * 255.0,
        }
    }
}
