//! Where the mixing runs: the one function, [`mix_streaming`], that picks the backend for
//! `--device`. The CPU path is mixcore's streaming [`mixcore::Mixer`]; the CUDA path is
//! mixcuda's mixer once mixcli is built with it (until then `--device cuda` answers
//! "built without CUDA support"). Everything before (decoding) and after (writing) is the
//! same for every device.

use mixcore::{FrameView, Geometry, MixSpec, Mixer, Plan};

/// The device that mixes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Device {
    /// mixcore on the CPU. Default.
    #[default]
    Cpu,
    /// mixcuda on an NVIDIA GPU (bit-identical to the CPU).
    Cuda,
}

/// Where decoded frames go: a streaming mixer on some device.
pub trait FrameSink {
    /// True when frame `f` is mixed into some segment (others need no colour conversion).
    fn is_needed(&self, f: u32) -> bool;
    /// Adds frame `f`.
    ///
    /// # Errors
    /// mixcore's push errors (out of range, pushed twice, wrong geometry).
    fn push(&mut self, f: u32, frame: &FrameView<'_>) -> mixcore::Result<()>;
}

impl FrameSink for Mixer<'_, '_> {
    fn is_needed(&self, f: u32) -> bool {
        Mixer::is_needed(self, f)
    }

    fn push(&mut self, f: u32, frame: &FrameView<'_>) -> mixcore::Result<()> {
        Mixer::push(self, f, frame)
    }
}

/// Why a streaming mix did not produce output.
#[derive(Debug)]
pub enum MixFailure<E> {
    /// The device refused (not compiled in, no GPU) or mixcore refused the plan or a frame.
    Device(String),
    /// mixcore refused.
    Mix(mixcore::Error),
    /// The feeder failed (decoding).
    Feed(E),
}

const NO_CUDA: &str =
    "--device cuda: mixcli was built without CUDA support (it needs the mixcuda backend)";

/// Checks that `device` can be used, before any input is decoded.
///
/// # Errors
/// Why the device is unavailable ("built without CUDA support").
pub fn check(device: Device) -> Result<(), String> {
    match device {
        Device::Cpu => Ok(()),
        Device::Cuda => Err(NO_CUDA.into()),
    }
}

/// Mixes with `plan` on `device`: builds the device's streaming mixer for `geometry` and
/// `spec`, lets `feed` push every frame into it, and finishes into `out` (at least
/// [`mixcore::output_len`] values). `feed` returns `Ok(false)` to abandon the mix without
/// finishing (the input turned out to have another frame count); then this returns
/// `Ok(false)` and `out` is unspecified.
///
/// # Errors
/// [`MixFailure::Device`] for an unavailable device, [`MixFailure::Mix`] for mixcore's
/// refusals, [`MixFailure::Feed`] for the feeder's own errors.
pub fn mix_streaming<E>(
    device: Device,
    plan: &Plan<'_>,
    geometry: Geometry,
    spec: MixSpec<'_>,
    out: &mut [f32],
    feed: &mut dyn FnMut(&mut dyn FrameSink) -> Result<bool, E>,
) -> Result<bool, MixFailure<E>> {
    match device {
        Device::Cpu => {
            let len = Mixer::scratch_len(plan, geometry, &spec).map_err(MixFailure::Mix)?;
            let mut scratch = vec![0u64; len];
            let mut mixer =
                Mixer::new(plan, geometry, spec, &mut scratch).map_err(MixFailure::Mix)?;
            if !feed(&mut mixer).map_err(MixFailure::Feed)? {
                return Ok(false);
            }
            mixer.finish(out).map_err(MixFailure::Mix)?;
            Ok(true)
        }
        Device::Cuda => Err(MixFailure::Device(NO_CUDA.into())),
    }
}
