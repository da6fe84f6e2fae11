//! Training-time augmentation that keeps every class's meaning: a vertical flip and a small
//! translation, the same for every segment of a clip. (A horizontal flip would turn
//! left-to-right into right-to-left, so there is none.)
//!
//! Mixing is linear in the frames, so transforming the mixed images is the same as
//! transforming every frame before mixing, at a fraction of the cost.

use crate::rng::Rng;

/// One clip's augmentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Augment {
    /// Mirror top and bottom.
    pub flip_vertical: bool,
    /// Horizontal shift in pixels (positive: content moves right); edges are replicated.
    pub dx: i32,
    /// Vertical shift in pixels (positive: content moves down).
    pub dy: i32,
}

impl Augment {
    /// No change.
    pub const IDENTITY: Augment = Augment {
        flip_vertical: false,
        dx: 0,
        dy: 0,
    };

    /// A flip with probability 1/2 and shifts uniform in `[-max_shift, max_shift]`.
    pub fn random(rng: &mut Rng, max_shift: u32) -> Augment {
        let span = 2 * u64::from(max_shift) + 1;
        let flip_vertical = rng.chance(0.5);
        let dx = rng.below(span) as i32 - max_shift as i32;
        let dy = rng.below(span) as i32 - max_shift as i32;
        Augment {
            flip_vertical,
            dx,
            dy,
        }
    }

    /// Applies the augmentation to every `w x h` image of `images` (one channel, row-major,
    /// images back to back), in place.
    pub fn apply(&self, images: &mut [f32], w: usize, h: usize) {
        if *self == Augment::IDENTITY || w == 0 || h == 0 {
            return;
        }
        let clamp = |v: i64, n: usize| v.clamp(0, n as i64 - 1) as usize;
        let mut src = vec![0.0f32; w * h];
        for image in images.chunks_exact_mut(w * h) {
            src.copy_from_slice(image);
            for y in 0..h {
                let sy = clamp(y as i64 - i64::from(self.dy), h);
                let sy = if self.flip_vertical { h - 1 - sy } else { sy };
                for x in 0..w {
                    let sx = clamp(x as i64 - i64::from(self.dx), w);
                    image[y * w + x] = src[sy * w + sx];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn augment_identity_changes_nothing() {
        let mut v: Vec<f32> = (0..24).map(|i| i as f32).collect();
        let before = v.clone();
        Augment::IDENTITY.apply(&mut v, 4, 3);
        assert_eq!(v, before);
    }

    #[test]
    fn augment_shift_and_flip() {
        // One 3x2 image: rows [0 1 2], [3 4 5].
        let mut v = vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        Augment {
            flip_vertical: false,
            dx: 1,
            dy: 0,
        }
        .apply(&mut v, 3, 2);
        assert_eq!(v, [0.0, 0.0, 1.0, 3.0, 3.0, 4.0]);
        let mut v = vec![
            0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0,
        ];
        Augment {
            flip_vertical: true,
            dx: 0,
            dy: 0,
        }
        .apply(&mut v, 3, 2);
        // Both images flipped the same way.
        assert_eq!(
            v,
            [
                3.0, 4.0, 5.0, 0.0, 1.0, 2.0, 13.0, 14.0, 15.0, 10.0, 11.0, 12.0
            ]
        );
    }

    #[test]
    fn augment_random_within_bounds() {
        let mut rng = Rng::new(4);
        let mut flips = 0;
        for _ in 0..200 {
            let a = Augment::random(&mut rng, 3);
            assert!((-3..=3).contains(&a.dx) && (-3..=3).contains(&a.dy));
            flips += u32::from(a.flip_vertical);
        }
        assert!((60..140).contains(&flips), "{flips}");
    }
}
