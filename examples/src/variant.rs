//! The six input variants compared, each a mixcore plan: TSN's one frame per segment, and
//! Frame Mix-up with average, linear and linear0 schedules over all frames or `k` of them.
//!
//! Nothing here computes a weight, a window or a rounding: [`Variant::plan_config`] names the
//! plan and [`mix_clip`] hands it to mixcore.

use std::fmt;

use mixcore::{
    Epilogue, FramesPerSegment, MixSpec, Mode, Plan, PlanConfig, Schedule, Selection, mix,
};

use crate::dataset::Clip;
use crate::error::{Error, Result};

/// Input normalisation of every variant, applied by mixcore's epilogue:
/// `(V / 255 - 0.4) / 0.25`, roughly zero mean and unit spread on this dataset.
pub const EPILOGUE: Epilogue = Epilogue::Normalize {
    mean: [0.4, 0.4, 0.4, 0.0],
    std: [0.25, 0.25, 0.25, 1.0],
};

/// One way of turning a clip into `S` images.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Variant {
    /// TSN: one frame per segment (`k = 1`): the window's centre at test time, a random frame
    /// of the window in training.
    Tsn,
    /// Frame Mix-up, every frame of the window, equal weights.
    Average,
    /// Frame Mix-up, every frame of the window, weights `t + 1`.
    Linear,
    /// Frame Mix-up, `k = 5` frames spread over the window (random per sub-bin in
    /// training), weights `t + 1`.
    LinearK5,
    /// As [`Variant::LinearK5`] with `k = 3`.
    LinearK3,
    /// Frame Mix-up, every frame, weights `t` (the paper's equation (3) as printed).
    Linear0,
}

/// Every variant, in table order.
pub const VARIANTS: [Variant; 6] = [
    Variant::Tsn,
    Variant::Average,
    Variant::Linear,
    Variant::LinearK5,
    Variant::LinearK3,
    Variant::Linear0,
];

impl Variant {
    /// The name used in flags, tables and charts.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Variant::Tsn => "tsn",
            Variant::Average => "average",
            Variant::Linear => "linear",
            Variant::LinearK5 => "linear-k5",
            Variant::LinearK3 => "linear-k3",
            Variant::Linear0 => "linear0",
        }
    }

    /// What the paper reports on Something-Something-V1 (TSN base, top-1 %), where it does.
    #[must_use]
    pub fn paper_top1(self) -> Option<f32> {
        match self {
            Variant::Tsn => Some(17.29),
            Variant::Average => Some(19.17),
            Variant::Linear => Some(19.45),
            Variant::LinearK5 => Some(19.99),
            Variant::LinearK3 | Variant::Linear0 => None,
        }
    }

    /// The variant named `name` (as [`Variant::name`] writes it).
    ///
    /// # Errors
    /// [`Error::Config`] listing the valid names.
    pub fn parse(name: &str) -> Result<Variant> {
        VARIANTS
            .iter()
            .copied()
            .find(|v| v.name() == name.trim())
            .ok_or_else(|| {
                let names: Vec<_> = VARIANTS.iter().map(|v| v.name()).collect();
                Error::Config(format!(
                    "unknown variant {name:?}; expected one of {}",
                    names.join(", ")
                ))
            })
    }

    /// The mixcore plan configuration of this variant for `segments` segments.
    #[must_use]
    pub fn plan_config(self, segments: u32, mode: Mode) -> PlanConfig<'static> {
        let (k, schedule) = match self {
            Variant::Tsn => (FramesPerSegment::Fixed(1), Schedule::Average),
            Variant::Average => (FramesPerSegment::All, Schedule::Average),
            Variant::Linear => (FramesPerSegment::All, Schedule::Linear),
            Variant::LinearK5 => (FramesPerSegment::Fixed(5), Schedule::Linear),
            Variant::LinearK3 => (FramesPerSegment::Fixed(3), Schedule::Linear),
            Variant::Linear0 => (FramesPerSegment::All, Schedule::Linear0),
        };
        PlanConfig {
            segments,
            k,
            selection: Selection::Spread,
            mode,
            schedule,
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Mixes `clip` into `out` (`segments * size * size` values, `[S][1][H][W]`) with mixcore:
/// exact path, `Tchw`, the given epilogue ([`EPILOGUE`] for the network, `Epilogue::Raw`
/// for pictures).
///
/// # Errors
/// mixcore's errors (a buffer of the wrong size, for instance).
pub fn mix_clip(
    clip: &Clip,
    variant: Variant,
    segments: u32,
    mode: Mode,
    epilogue: Epilogue,
    out: &mut [f32],
) -> Result<()> {
    let plan = Plan::new(clip.frames, &variant.plan_config(segments, mode))?;
    let frames = clip.views()?;
    let spec = MixSpec {
        epilogue,
        ..MixSpec::default()
    };
    mix(&plan, &frames, &spec, out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{Class, Dataset, DatasetConfig};

    fn clips() -> Dataset {
        Dataset::generate(&DatasetConfig {
            train_per_class: 1,
            test_per_class: 1,
            ..DatasetConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn variant_names_parse_back() {
        for v in VARIANTS {
            assert_eq!(Variant::parse(v.name()).unwrap(), v);
        }
        assert!(Variant::parse("tsm").is_err());
    }

    #[test]
    fn tsn_test_mode_is_the_centre_frame() {
        let d = clips();
        let clip = &d.train[0];
        let mut out = vec![0.0; 8 * 32 * 32];
        mix_clip(clip, Variant::Tsn, 8, Mode::Test, EPILOGUE, &mut out).unwrap();
        let plan = Plan::new(clip.frames, &Variant::Tsn.plan_config(8, Mode::Test)).unwrap();
        for seg in plan.iter() {
            let w = seg.window();
            let centre = seg.position(0);
            assert_eq!(centre, w.lo + w.len() / 2);
            let frame = clip.frame(centre);
            let i = seg.index() as usize;
            for (x, &v) in frame.iter().enumerate() {
                assert_eq!(
                    out[i * 1024 + x].to_bits(),
                    EPILOGUE.apply(f32::from(v), 0).to_bits()
                );
            }
        }
    }

    #[test]
    fn linear_mix_differs_from_average_on_moving_object() {
        let d = clips();
        let clip = d
            .train
            .iter()
            .find(|c| c.class == Class::LeftToRight)
            .unwrap();
        let mut a = vec![0.0; 8 * 1024];
        let mut l = vec![0.0; 8 * 1024];
        mix_clip(clip, Variant::Average, 8, Mode::Test, EPILOGUE, &mut a).unwrap();
        mix_clip(clip, Variant::Linear, 8, Mode::Test, EPILOGUE, &mut l).unwrap();
        assert_ne!(a, l);
    }

    #[test]
    fn mix_clip_rejects_short_buffer() {
        let d = clips();
        let mut out = vec![0.0; 10];
        assert!(matches!(
            mix_clip(
                &d.train[0],
                Variant::Linear,
                8,
                Mode::Test,
                EPILOGUE,
                &mut out
            ),
            Err(Error::Mix(_))
        ));
    }
}
