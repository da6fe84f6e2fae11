//! A seeded synthetic video dataset whose classes differ only in the order of events.
//!
//! Every clip is `F` grayscale frames (`F` drawn from `[min_frames, max_frames]`, 30 to 120 by
//! default) of a textured, noisy background with one moving object and, in half the clips, a
//! static distractor. Six classes come in three time-reversed pairs: a clip of
//! [`Class::RightToLeft`] has exactly the distribution of a [`Class::LeftToRight`] clip played
//! backwards, and so on for approaching/receding and appearing/disappearing. The set of frames
//! of a clip therefore says nothing about which class of its pair it belongs to; only their
//! order does. Two order-free classes ([`Class::Static`], [`Class::Oscillating`], whose
//! distributions are symmetric under time reversal) are controls that any model can learn.
//!
//! The split is fixed by the dataset seed alone: training seeds change the model's
//! initialisation, the batch order and the frames sampled, never the data.

use rayon::prelude::*;

use mixcore::{FrameView, Geometry};

use crate::error::{Error, Result};
use crate::rng::{Rng, substream};

/// The classes, in label order.
pub const CLASSES: [Class; 8] = [
    Class::LeftToRight,
    Class::RightToLeft,
    Class::Approaching,
    Class::Receding,
    Class::Appearing,
    Class::Disappearing,
    Class::Static,
    Class::Oscillating,
];

/// What happens in a clip.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    /// The object crosses the frame from left to right.
    LeftToRight,
    /// [`Class::LeftToRight`] played backwards.
    RightToLeft,
    /// The object grows (comes closer).
    Approaching,
    /// [`Class::Approaching`] played backwards.
    Receding,
    /// The object is absent, then present from a random moment on.
    Appearing,
    /// [`Class::Appearing`] played backwards.
    Disappearing,
    /// The object stays where it is for the whole clip (order-free control).
    Static,
    /// The object swings left and right around a point with a random phase (order-free
    /// control: its time reversal has the same distribution).
    Oscillating,
}

impl Class {
    /// The class's label, its index in [`CLASSES`].
    #[must_use]
    pub fn label(self) -> u32 {
        CLASSES.iter().position(|&c| c == self).unwrap_or(0) as u32
    }

    /// The class named `name` (as [`Class::name`] writes it).
    ///
    /// # Errors
    /// [`Error::Config`] listing the valid names.
    pub fn parse(name: &str) -> Result<Class> {
        CLASSES
            .iter()
            .copied()
            .find(|c| c.name() == name.trim())
            .ok_or_else(|| {
                let names: Vec<_> = CLASSES.iter().map(|c| c.name()).collect();
                Error::Config(format!(
                    "unknown class {name:?}; expected one of {}",
                    names.join(", ")
                ))
            })
    }

    /// The class with label `label`, if any.
    #[must_use]
    pub fn from_label(label: u32) -> Option<Class> {
        CLASSES.get(label as usize).copied()
    }

    /// A short name for tables.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Class::LeftToRight => "left-to-right",
            Class::RightToLeft => "right-to-left",
            Class::Approaching => "approaching",
            Class::Receding => "receding",
            Class::Appearing => "appearing",
            Class::Disappearing => "disappearing",
            Class::Static => "static",
            Class::Oscillating => "oscillating",
        }
    }

    /// The class that is this one played backwards, for the six order-sensitive classes;
    /// `None` for the order-free controls.
    #[must_use]
    pub fn reversal(self) -> Option<Class> {
        match self {
            Class::LeftToRight => Some(Class::RightToLeft),
            Class::RightToLeft => Some(Class::LeftToRight),
            Class::Approaching => Some(Class::Receding),
            Class::Receding => Some(Class::Approaching),
            Class::Appearing => Some(Class::Disappearing),
            Class::Disappearing => Some(Class::Appearing),
            Class::Static | Class::Oscillating => None,
        }
    }

    /// True for the classes generated as the time reversal of their partner's event.
    fn is_backwards(self) -> bool {
        matches!(
            self,
            Class::RightToLeft | Class::Receding | Class::Disappearing
        )
    }
}

/// Which split a clip belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// Training clips.
    Train,
    /// Held-out test clips.
    Test,
}

impl Split {
    fn stream(self) -> u64 {
        match self {
            Split::Train => 1,
            Split::Test => 2,
        }
    }
}

/// How the dataset is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DatasetConfig {
    /// The seed of the data and of the split. Default: 2024.
    pub seed: u64,
    /// Frame width and height in pixels. Default: 32.
    pub size: u32,
    /// Fewest frames in a clip. Default: 30.
    pub min_frames: u32,
    /// Most frames in a clip. Default: 120.
    pub max_frames: u32,
    /// Training clips per class. Default: 60.
    pub train_per_class: u32,
    /// Test clips per class. Default: 40.
    pub test_per_class: u32,
}

impl Default for DatasetConfig {
    fn default() -> Self {
        DatasetConfig {
            seed: 2024,
            size: 32,
            min_frames: 30,
            max_frames: 120,
            train_per_class: 60,
            test_per_class: 40,
        }
    }
}

impl DatasetConfig {
    /// Checks every field's range.
    ///
    /// # Errors
    /// [`Error::Config`] naming the field.
    pub fn validate(&self) -> Result<()> {
        if !(16..=256).contains(&self.size) {
            return Err(Error::Config(format!(
                "frame size {} is outside 16..=256",
                self.size
            )));
        }
        if self.min_frames == 0 || self.min_frames > self.max_frames || self.max_frames > 10_000 {
            return Err(Error::Config(format!(
                "clip lengths {}..={} must satisfy 1 <= min <= max <= 10000",
                self.min_frames, self.max_frames
            )));
        }
        if self.train_per_class == 0 || self.test_per_class == 0 {
            return Err(Error::Config(
                "train and test clips per class must be at least 1".into(),
            ));
        }
        if self.train_per_class > 100_000 || self.test_per_class > 100_000 {
            return Err(Error::Config(
                "at most 100000 clips per class and split".into(),
            ));
        }
        Ok(())
    }

    /// The geometry of every frame: `size x size`, one channel.
    ///
    /// # Errors
    /// mixcore's geometry errors (none for a validated config).
    pub fn geometry(&self) -> Result<Geometry> {
        Ok(Geometry::new(self.size, self.size, 1)?)
    }
}

/// One clip: its class and its frames, packed one after the other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clip {
    /// What happens in it.
    pub class: Class,
    /// `F`.
    pub frames: u32,
    /// `F * size * size` bytes, frame after frame.
    pub data: Vec<u8>,
    /// Frame geometry.
    pub geometry: Geometry,
}

impl Clip {
    /// Bytes of frame `f` (`f < frames`).
    #[must_use]
    pub fn frame(&self, f: u32) -> &[u8] {
        let n = self.data.len() / self.frames.max(1) as usize;
        &self.data[f as usize * n..(f as usize + 1) * n]
    }

    /// mixcore views of every frame, in order.
    ///
    /// # Errors
    /// mixcore's frame errors (none for a generated clip).
    pub fn views(&self) -> Result<Vec<FrameView<'_>>> {
        (0..self.frames)
            .map(|f| FrameView::packed(self.frame(f), self.geometry).map_err(Error::from))
            .collect()
    }
}

/// The generated dataset: a fixed train/test split.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// How it was made.
    pub config: DatasetConfig,
    /// Training clips, classes interleaved (`train[i].class == CLASSES[i % 8]`).
    pub train: Vec<Clip>,
    /// Test clips, classes interleaved.
    pub test: Vec<Clip>,
}

impl Dataset {
    /// Generates the dataset (in parallel; the result does not depend on the thread count).
    ///
    /// # Errors
    /// [`Error::Config`] for a config out of range.
    pub fn generate(config: &DatasetConfig) -> Result<Dataset> {
        config.validate()?;
        let geometry = config.geometry()?;
        let make = |split: Split, per_class: u32| -> Vec<Clip> {
            let n = per_class as usize * CLASSES.len();
            (0..n)
                .into_par_iter()
                .map(|i| {
                    let class = CLASSES[i % CLASSES.len()];
                    let seed = substream(config.seed, split.stream(), i as u64);
                    render_clip(class, seed, config, geometry)
                })
                .collect()
        };
        Ok(Dataset {
            config: *config,
            train: make(Split::Train, config.train_per_class),
            test: make(Split::Test, config.test_per_class),
        })
    }

    /// Keeps only the clips of `classes` in both splits (labels are unchanged).
    pub fn retain_classes(&mut self, classes: &[Class]) {
        self.train.retain(|c| classes.contains(&c.class));
        self.test.retain(|c| classes.contains(&c.class));
    }

    /// The clips of one split.
    #[must_use]
    pub fn split(&self, split: Split) -> &[Clip] {
        match split {
            Split::Train => &self.train,
            Split::Test => &self.test,
        }
    }
}

/// Object shapes.
#[derive(Clone, Copy, Debug)]
enum Shape {
    Disc,
    Square,
}

/// A textured object: its shape, brightness and stripes that move with it.
#[derive(Clone, Copy, Debug)]
struct Object {
    shape: Shape,
    level: f32,
    stripe_amp: f32,
    stripe_freq: f32,
    stripe_dir: (f32, f32),
}

impl Object {
    fn random(rng: &mut Rng, level: (f32, f32)) -> Object {
        let angle = rng.range(0.0, core::f32::consts::TAU);
        Object {
            shape: if rng.chance(0.5) {
                Shape::Disc
            } else {
                Shape::Square
            },
            level: rng.range(level.0, level.1),
            stripe_amp: rng.range(3.0, 10.0),
            stripe_freq: rng.range(0.6, 1.4),
            stripe_dir: (angle.cos(), angle.sin()),
        }
    }

    /// Blends the object centred at `(cx, cy)` with radius `r` over the pixel `(x, y)` whose
    /// value is `under`. Edges are anti-aliased over one pixel.
    fn blend(&self, under: f32, x: f32, y: f32, cx: f32, cy: f32, r: f32) -> f32 {
        let (dx, dy) = (x - cx, y - cy);
        let d = match self.shape {
            Shape::Disc => (dx * dx + dy * dy).sqrt(),
            Shape::Square => dx.abs().max(dy.abs()),
        };
        let alpha = (r + 0.5 - d).clamp(0.0, 1.0);
        if alpha == 0.0 {
            return under;
        }
        let t = (dx * self.stripe_dir.0 + dy * self.stripe_dir.1) * self.stripe_freq;
        let value = self.level + self.stripe_amp * t.sin();
        under + alpha * (value - under)
    }
}

/// Where the object is at normalised time `u` in `[0, 1]`: `(cx, cy, r)`, or `None` while it
/// is not in the scene. Every motion is drawn for the forward event; backwards classes are
/// evaluated at `1 - u`.
#[derive(Clone, Copy, Debug)]
enum Motion {
    Translate {
        from: (f32, f32),
        to: (f32, f32),
        r: f32,
    },
    Scale {
        c: (f32, f32),
        r0: f32,
        r1: f32,
    },
    Onset {
        c: (f32, f32),
        r: f32,
        u0: f32,
    },
    Still {
        c: (f32, f32),
        r: f32,
    },
    Swing {
        c: (f32, f32),
        amplitude: f32,
        cycles: f32,
        phase: f32,
        r: f32,
    },
}

impl Motion {
    fn random(class: Class, rng: &mut Rng, s: f32) -> Motion {
        match class {
            Class::LeftToRight | Class::RightToLeft => {
                // Enters at the left and leaves at the right, crossing about 1.8 frame
                // widths in all: about a fifth of the width per segment at S = 8, so each
                // segment's window shows real motion.
                let y0 = rng.range(0.25 * s, 0.75 * s);
                Motion::Translate {
                    from: (rng.range(-0.45 * s, -0.2 * s), y0),
                    to: (
                        rng.range(1.2 * s, 1.45 * s),
                        y0 + rng.range(-0.15, 0.15) * s,
                    ),
                    r: rng.range(0.05 * s, 0.09 * s),
                }
            }
            Class::Approaching | Class::Receding => Motion::Scale {
                c: (rng.range(0.3 * s, 0.7 * s), rng.range(0.3 * s, 0.7 * s)),
                r0: rng.range(0.03 * s, 0.06 * s),
                r1: rng.range(0.32 * s, 0.42 * s),
            },
            Class::Appearing | Class::Disappearing => Motion::Onset {
                c: (rng.range(0.25 * s, 0.75 * s), rng.range(0.25 * s, 0.75 * s)),
                r: rng.range(0.10 * s, 0.18 * s),
                u0: rng.range(0.3, 0.7),
            },
            Class::Static => Motion::Still {
                c: (rng.range(0.25 * s, 0.75 * s), rng.range(0.25 * s, 0.75 * s)),
                r: rng.range(0.05 * s, 0.18 * s),
            },
            Class::Oscillating => Motion::Swing {
                c: (rng.range(0.35 * s, 0.65 * s), rng.range(0.3 * s, 0.7 * s)),
                amplitude: rng.range(0.15 * s, 0.3 * s),
                cycles: rng.range(1.0, 2.5),
                phase: rng.range(0.0, core::f32::consts::TAU),
                r: rng.range(0.05 * s, 0.09 * s),
            },
        }
    }

    fn at(&self, u: f32) -> Option<(f32, f32, f32)> {
        match *self {
            Motion::Translate { from, to, r } => Some((
                from.0 + (to.0 - from.0) * u,
                from.1 + (to.1 - from.1) * u,
                r,
            )),
            Motion::Scale { c, r0, r1 } => Some((c.0, c.1, r0 + (r1 - r0) * u)),
            Motion::Onset { c, r, u0 } => (u >= u0).then_some((c.0, c.1, r)),
            Motion::Still { c, r } => Some((c.0, c.1, r)),
            Motion::Swing {
                c,
                amplitude,
                cycles,
                phase,
                r,
            } => Some((
                c.0 + amplitude * (core::f32::consts::TAU * cycles * u + phase).sin(),
                c.1,
                r,
            )),
        }
    }
}

/// A static textured background: a base level, three gratings and per-pixel speckle.
fn background(rng: &mut Rng, size: u32) -> Vec<f32> {
    let s = size as f32;
    let base = rng.range(55.0, 115.0);
    let gratings: Vec<(f32, f32, f32, f32)> = (0..3)
        .map(|_| {
            let angle = rng.range(0.0, core::f32::consts::TAU);
            let freq = rng.range(1.0, 4.0) * core::f32::consts::TAU / s;
            (
                rng.range(3.0, 8.0),
                freq * angle.cos(),
                freq * angle.sin(),
                rng.range(0.0, core::f32::consts::TAU),
            )
        })
        .collect();
    let mut tex = Vec::with_capacity((size * size) as usize);
    for y in 0..size {
        for x in 0..size {
            let (xf, yf) = (x as f32, y as f32);
            let mut v = base;
            for &(amp, fx, fy, phase) in &gratings {
                v += amp * (fx * xf + fy * yf + phase).sin();
            }
            v += rng.range(-6.0, 6.0);
            tex.push(v);
        }
    }
    tex
}

fn render_clip(class: Class, seed: u64, config: &DatasetConfig, geometry: Geometry) -> Clip {
    let mut rng = Rng::new(seed);
    let size = config.size;
    let s = size as f32;
    let span = u64::from(config.max_frames - config.min_frames) + 1;
    let frames = config.min_frames + rng.below(span) as u32;
    let tex = background(&mut rng, size);
    let object = Object::random(&mut rng, (190.0, 250.0));
    let motion = Motion::random(class, &mut rng, s);
    let distractor = rng.chance(0.5).then(|| {
        let obj = Object::random(&mut rng, (140.0, 230.0));
        let at = (rng.range(0.1 * s, 0.9 * s), rng.range(0.1 * s, 0.9 * s));
        (obj, at, rng.range(0.05 * s, 0.08 * s))
    });
    let px = (size * size) as usize;
    let mut data = Vec::with_capacity(frames as usize * px);
    for f in 0..frames {
        let u = if frames > 1 {
            f as f32 / (frames - 1) as f32
        } else {
            0.0
        };
        let u = if class.is_backwards() { 1.0 - u } else { u };
        let state = motion.at(u);
        let flicker = rng.range(-4.0, 4.0);
        for y in 0..size {
            for x in 0..size {
                let (xf, yf) = (x as f32, y as f32);
                let mut v = tex[(y * size + x) as usize] + flicker;
                if let Some((obj, (dx, dy), r)) = distractor {
                    v = obj.blend(v, xf, yf, dx, dy, r);
                }
                if let Some((cx, cy, r)) = state {
                    v = object.blend(v, xf, yf, cx, cy, r);
                }
                // Sensor noise: triangular, +-10.
                v += rng.range(-5.0, 5.0) + rng.range(-5.0, 5.0);
                data.push(v.round().clamp(0.0, 255.0) as u8);
            }
        }
    }
    Clip {
        class,
        frames,
        data,
        geometry,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> DatasetConfig {
        DatasetConfig {
            train_per_class: 6,
            test_per_class: 3,
            ..DatasetConfig::default()
        }
    }

    #[test]
    fn dataset_is_deterministic() {
        let a = Dataset::generate(&small()).unwrap();
        let b = Dataset::generate(&small()).unwrap();
        assert_eq!(a.train, b.train);
        assert_eq!(a.test, b.test);
        let c = Dataset::generate(&DatasetConfig { seed: 7, ..small() }).unwrap();
        assert_ne!(a.train[0].data, c.train[0].data);
    }

    #[test]
    fn dataset_classes_balanced() {
        let d = Dataset::generate(&small()).unwrap();
        assert_eq!(d.train.len(), 6 * 8);
        assert_eq!(d.test.len(), 3 * 8);
        for class in CLASSES {
            assert_eq!(d.train.iter().filter(|c| c.class == class).count(), 6);
            assert_eq!(d.test.iter().filter(|c| c.class == class).count(), 3);
        }
    }

    #[test]
    fn dataset_lengths_in_range_and_varied() {
        let d = Dataset::generate(&small()).unwrap();
        let lens: Vec<u32> = d.train.iter().chain(&d.test).map(|c| c.frames).collect();
        assert!(lens.iter().all(|&f| (30..=120).contains(&f)), "{lens:?}");
        let distinct: std::collections::BTreeSet<_> = lens.iter().collect();
        assert!(distinct.len() > 20, "clip lengths barely vary: {lens:?}");
        for c in d.train.iter().chain(&d.test) {
            assert_eq!(c.data.len(), c.frames as usize * 32 * 32);
        }
    }

    #[test]
    fn dataset_train_and_test_disjoint() {
        let d = Dataset::generate(&small()).unwrap();
        for t in &d.test {
            assert!(d.train.iter().all(|c| c.data != t.data));
        }
    }

    #[test]
    fn dataset_reversed_pairs_move_the_other_way() {
        // The object's horizontal centre of brightness moves right in left-to-right clips and
        // left in right-to-left clips.
        let d = Dataset::generate(&small()).unwrap();
        let centroid = |clip: &Clip, f: u32| {
            let frame = clip.frame(f);
            let (mut sum, mut wsum) = (0.0f64, 0.0f64);
            for (i, &v) in frame.iter().enumerate() {
                let w = f64::from(v.saturating_sub(160));
                sum += w * (i % 32) as f64;
                wsum += w;
            }
            sum / wsum.max(1.0)
        };
        for clip in &d.train {
            // The object is inside the frame for the middle of the clip.
            let (a, b) = (clip.frames * 3 / 10, clip.frames * 7 / 10);
            let drift = centroid(clip, b) - centroid(clip, a);
            match clip.class {
                Class::LeftToRight => assert!(drift > 4.0, "{drift}"),
                Class::RightToLeft => assert!(drift < -4.0, "{drift}"),
                _ => {}
            }
        }
    }

    #[test]
    fn class_labels_round_trip_and_reversal_pairs() {
        for (i, c) in CLASSES.iter().enumerate() {
            assert_eq!(c.label(), i as u32);
            assert_eq!(Class::from_label(i as u32), Some(*c));
            if let Some(r) = c.reversal() {
                assert_eq!(r.reversal(), Some(*c));
                assert_ne!(r, *c);
            }
        }
        assert_eq!(Class::from_label(8), None);
        for c in CLASSES {
            assert_eq!(Class::parse(c.name()).unwrap(), c);
        }
        assert!(Class::parse("sideways").is_err());
    }

    #[test]
    fn dataset_config_rejects_bad_ranges() {
        for bad in [
            DatasetConfig { size: 8, ..small() },
            DatasetConfig {
                min_frames: 0,
                ..small()
            },
            DatasetConfig {
                min_frames: 50,
                max_frames: 40,
                ..small()
            },
            DatasetConfig {
                train_per_class: 0,
                ..small()
            },
        ] {
            assert!(matches!(Dataset::generate(&bad), Err(Error::Config(_))));
        }
    }
}
