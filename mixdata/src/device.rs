//! Where the mixing runs: the one function, [`mix_streaming`], that picks the backend for a
//! [`Device`] (mixcli's `--device`). The CPU path is mixcore's buffered streaming
//! [`mixcore::Mixer`]; the CUDA path is mixcuda's [`StreamMixer`](https://docs.rs/mixcuda) when
//! mixdata is built with its `cuda` feature (mixcli's `cuda` feature turns it on; without it
//! `--device cuda` answers "built without CUDA support"). Everything
//! before (decoding) and after (writing) is the same for every device, and so are the bits:
//! both backends implement `docs/contract.md` exactly.

use mixcore::{FrameView, Geometry, MixSpec, Mixer, Plan};

use crate::error::Problem;

/// The device that mixes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Device {
    /// mixcore on the CPU. Default.
    #[default]
    Cpu,
    /// mixcuda on an NVIDIA GPU (bit-identical to the CPU); needs mixcli (mixdata) built with
    /// the `cuda` feature.
    Cuda,
}

/// True when this build of mixdata can mix on CUDA devices (its `cuda` feature).
pub const CUDA_SUPPORT: bool = cfg!(feature = "cuda");

/// Why a sink refused a frame.
#[derive(Debug)]
pub enum PushError {
    /// mixcore's rules, the same on every device: frame out of range, pushed twice, of the
    /// wrong geometry.
    Mix(mixcore::Error),
    /// The device failed (a CUDA error), naming the device and the driver's message.
    Device(String),
}

impl From<PushError> for Problem {
    fn from(e: PushError) -> Self {
        match e {
            PushError::Mix(e) => Problem::Mix(e),
            PushError::Device(reason) => Problem::Device { reason },
        }
    }
}

/// Where decoded frames go: a streaming mixer on some device.
pub trait FrameSink {
    /// True when frame `f` is mixed into some segment (others need no colour conversion).
    fn is_needed(&self, f: u32) -> bool;
    /// Adds frame `f`. The frame is consumed (mixed or copied) before this returns.
    ///
    /// # Errors
    /// [`PushError::Mix`] for mixcore's refusals (out of range, pushed twice, wrong
    /// geometry), [`PushError::Device`] when the device fails.
    fn push(&mut self, f: u32, frame: &FrameView<'_>) -> Result<(), PushError>;

    /// True when [`FrameSink::push_with`] takes frames. Default: false.
    fn can_fill(&self) -> bool {
        false
    }

    /// Adds frame `f`, having `fill` write it straight into the sink's own buffer, packed
    /// (`H * W * C` bytes, rows of `W * C` bytes, no padding): no copy of a converted frame.
    /// `fill` is called once for a needed frame and not at all for another. Only for a sink
    /// that [`FrameSink::can_fill`].
    ///
    /// # Errors
    /// As [`FrameSink::push`]; [`PushError::Device`] for a sink that cannot fill.
    fn push_with(&mut self, f: u32, fill: &mut dyn FnMut(&mut [u8])) -> Result<(), PushError> {
        let _ = (f, fill);
        Err(PushError::Device(
            "this device takes frames by copy only (a bug: please report it)".into(),
        ))
    }
}

impl FrameSink for Mixer<'_, '_> {
    fn is_needed(&self, f: u32) -> bool {
        Mixer::is_needed(self, f)
    }

    fn push(&mut self, f: u32, frame: &FrameView<'_>) -> Result<(), PushError> {
        Mixer::push(self, f, frame).map_err(PushError::Mix)
    }

    fn can_fill(&self) -> bool {
        true
    }

    fn push_with(&mut self, f: u32, fill: &mut dyn FnMut(&mut [u8])) -> Result<(), PushError> {
        Mixer::push_with(self, f, fill).map_err(PushError::Mix)
    }
}

/// Why a streaming mix did not produce output.
#[derive(Debug)]
pub enum MixFailure<E> {
    /// The device is unavailable (not compiled in, no GPU) or failed (a CUDA error).
    Device(String),
    /// mixcore refused the plan, the spec or the output buffer.
    Mix(mixcore::Error),
    /// The feeder failed (decoding, or a push it reported).
    Feed(E),
}

thread_local! {
    /// The CPU mixer's scratch of this thread's last streaming mix (accumulators and frame
    /// buffer), kept for the next: at most the largest clip's, freed when the thread ends.
    static SCRATCH: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
}

#[cfg(not(feature = "cuda"))]
const NO_CUDA: &str = "--device cuda: mixcli was built without CUDA support \
                       (rebuild it with `cargo build --release -p mixcli --features cuda`; \
                       a library user enables mixdata's `cuda` feature)";

/// Checks that `device` can be used, before any input is decoded. For CUDA this opens the
/// first device (once per process; every later mix reuses it).
///
/// # Errors
/// Why the device is unavailable: "built without CUDA support", or the driver's reason
/// (`no CUDA-capable device is detected`, ...).
pub fn check(device: Device) -> Result<(), String> {
    match device {
        Device::Cpu => Ok(()),
        #[cfg(feature = "cuda")]
        Device::Cuda => cuda::gpu().map(|_| ()),
        #[cfg(not(feature = "cuda"))]
        Device::Cuda => Err(NO_CUDA.into()),
    }
}

/// Mixes with `plan` on `device`: builds the device's streaming mixer for `geometry` and
/// `spec`, lets `feed` push every frame into it, and finishes into `out` (at least
/// [`mixcore::output_len`] values). `feed` returns `Ok(false)` to abandon the mix without
/// finishing (the input turned out to have another frame count); then this returns
/// `Ok(false)` and `out` is unspecified.
///
/// On the CPU, frames that arrive in order (as decoders deliver them) are buffered
/// [`Mixer::RECOMMENDED_BUFFER`] at a time and mixed by whole windows with mixcore's fused
/// kernels straight into `out`; the result is the same bits as frame-by-frame mixing.
///
/// # Errors
/// [`MixFailure::Device`] for an unavailable or failing device, [`MixFailure::Mix`] for
/// mixcore's refusals, [`MixFailure::Feed`] for the feeder's own errors.
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
            let buffered = Mixer::RECOMMENDED_BUFFER;
            let len = Mixer::scratch_len_buffered(plan, geometry, &spec, buffered)
                .map_err(MixFailure::Mix)?;
            // The mixer initialises what it uses, so the scratch of this thread's last mix
            // is reused as it is: a loader worker or a batch job mixing clip after clip pays
            // for its pages (faults, zeroing) once, not per clip.
            let mut scratch = SCRATCH.with(|s| std::mem::take(&mut *s.borrow_mut()));
            if scratch.len() < len {
                // Zeroed lazily by the allocator.
                scratch = vec![0u64; len];
            }
            let result = (|| {
                let mut mixer =
                    Mixer::with_output(plan, geometry, spec, buffered, &mut scratch[..len], out)
                        .map_err(MixFailure::Mix)?;
                if !feed(&mut mixer).map_err(MixFailure::Feed)? {
                    return Ok(false);
                }
                mixer.finish_output().map_err(MixFailure::Mix)?;
                Ok(true)
            })();
            SCRATCH.with(|s| *s.borrow_mut() = scratch);
            result
        }
        #[cfg(feature = "cuda")]
        Device::Cuda => cuda::mix_streaming(plan, geometry, spec, out, feed),
        #[cfg(not(feature = "cuda"))]
        Device::Cuda => Err(MixFailure::Device(NO_CUDA.into())),
    }
}

/// The CUDA backend: mixcuda's streaming mixer on the process's one [`mixcuda::Gpu`].
#[cfg(feature = "cuda")]
mod cuda {
    use std::sync::OnceLock;

    use mixcore::{FrameView, Geometry, MixSpec, Plan};
    use mixcuda::{Gpu, StreamMixer};

    use super::{FrameSink, MixFailure, PushError};

    /// The ordinal `--device cuda` opens: the first device the driver shows (select another
    /// with `CUDA_VISIBLE_DEVICES`).
    const ORDINAL: u32 = 0;

    /// A device failure as the CLI reports it: `--device cuda: ` and mixcuda's message (which
    /// carries the driver's).
    fn describe(e: &mixcuda::Error) -> String {
        if e.is_no_device() {
            format!("--device cuda: no usable CUDA device ({e})")
        } else {
            format!("--device cuda: {e}")
        }
    }

    /// mixcore's refusals stay mixcore errors (the same message as on the CPU); everything
    /// else is the device's.
    fn failure<E>(e: mixcuda::Error) -> MixFailure<E> {
        match e {
            mixcuda::Error::Mix(m) | mixcuda::Error::Video { error: m, .. } => MixFailure::Mix(m),
            other => MixFailure::Device(describe(&other)),
        }
    }

    /// The process's GPU, opened on first use: creating the context and loading the kernels
    /// costs tens of milliseconds or more, so `batch` pays it once and its workers share it
    /// (a `Gpu` makes its context current on whichever thread uses it).
    pub(super) fn gpu() -> Result<&'static Gpu, String> {
        static GPU: OnceLock<Result<Gpu, String>> = OnceLock::new();
        GPU.get_or_init(|| Gpu::new(ORDINAL).map_err(|e| describe(&e)))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Frames from the decoder to the device: each needed frame is copied once, row by row
    /// (dropping the decoder's row padding), into pinned memory and uploaded in groups while
    /// earlier groups are accumulated on the GPU.
    struct Sink<'g>(StreamMixer<'g>);

    impl FrameSink for Sink<'_> {
        fn is_needed(&self, f: u32) -> bool {
            self.0.is_needed(0, f)
        }

        fn push(&mut self, f: u32, frame: &FrameView<'_>) -> Result<(), PushError> {
            self.0.push(f, frame).map_err(|e| match e {
                mixcuda::Error::Mix(m) | mixcuda::Error::Video { error: m, .. } => {
                    PushError::Mix(m)
                }
                other => PushError::Device(describe(&other)),
            })
        }
    }

    pub(super) fn mix_streaming<E>(
        plan: &Plan<'_>,
        geometry: Geometry,
        spec: MixSpec<'_>,
        out: &mut [f32],
        feed: &mut dyn FnMut(&mut dyn FrameSink) -> Result<bool, E>,
    ) -> Result<bool, MixFailure<E>> {
        let gpu = gpu().map_err(MixFailure::Device)?;
        let len = mixcore::output_len(plan, geometry).map_err(MixFailure::Mix)?;
        if out.len() < len {
            return Err(MixFailure::Mix(mixcore::Error::BufferTooSmall {
                len: out.len(),
                needed: len,
            }));
        }
        let on_gpu = gpu.upload_plan(plan, &spec).map_err(failure)?;
        let mut mixed = gpu.alloc_output_for(&on_gpu, geometry).map_err(failure)?;
        let mut sink = Sink(gpu.stream_mixer(&on_gpu, geometry).map_err(failure)?);
        if !feed(&mut sink).map_err(MixFailure::Feed)? {
            return Ok(false);
        }
        sink.0.finish(&mut mixed).map_err(failure)?;
        mixed.download(&mut out[..len]).map_err(failure)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use mixcore::{Epilogue, FramesPerSegment, Layout, PlanConfig, Schedule, Selection};

    use super::*;

    /// `frames` frames of `g` with rows `pad` bytes longer than needed (as decoders pad them),
    /// filled with a reproducible pattern.
    fn padded_frames(frames: u32, g: Geometry, pad: usize) -> (Vec<Vec<u8>>, usize) {
        let stride = g.row_bytes().unwrap() + pad;
        let len = stride * g.height as usize;
        let mut x = 0x9E37_79B9_u32;
        let data = (0..frames)
            .map(|_| {
                (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        (x >> 24) as u8
                    })
                    .collect()
            })
            .collect();
        (data, stride)
    }

    /// Streams `frames` in decoder order (skipping frames no segment needs, as the CLI does)
    /// through `mix_streaming` on `device`.
    fn stream(
        device: Device,
        plan: &Plan<'_>,
        g: Geometry,
        spec: MixSpec<'_>,
        frames: &[Vec<u8>],
        stride: usize,
    ) -> Result<Vec<f32>, MixFailure<PushError>> {
        let mut out = vec![f32::NAN; mixcore::output_len(plan, g).unwrap()];
        let done = mix_streaming(device, plan, g, spec, &mut out, &mut |sink| {
            for (f, data) in (0..).zip(frames) {
                if sink.is_needed(f) {
                    sink.push(f, &FrameView::new(data, g, stride).unwrap())?;
                }
            }
            Ok(true)
        })?;
        assert!(done);
        Ok(out)
    }

    fn reference(
        plan: &Plan<'_>,
        g: Geometry,
        spec: &MixSpec<'_>,
        frames: &[Vec<u8>],
        stride: usize,
    ) -> Vec<f32> {
        let views: Vec<FrameView<'_>> = frames
            .iter()
            .map(|d| FrameView::new(d, g, stride).unwrap())
            .collect();
        mixcore::mix_to_vec(plan, &views, spec).unwrap()
    }

    fn same_bits(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
    }

    /// Plans and specs that cover every schedule, both selections, windows longer and
    /// shorter than the mixer's buffer, F < S, and every layout and epilogue.
    fn cases() -> Vec<(u32, PlanConfig<'static>, MixSpec<'static>)> {
        let config = |segments, k, selection, schedule| PlanConfig {
            segments,
            k,
            selection,
            schedule,
            ..PlanConfig::default()
        };
        let spec = |layout, epilogue| MixSpec {
            layout,
            epilogue,
            ..MixSpec::default()
        };
        vec![
            (
                61,
                config(
                    3,
                    FramesPerSegment::All,
                    Selection::Spread,
                    Schedule::Linear,
                ),
                spec(Layout::Tchw, Epilogue::Raw),
            ),
            (
                48,
                config(
                    8,
                    FramesPerSegment::Fixed(5),
                    Selection::Consecutive,
                    Schedule::Average,
                ),
                spec(Layout::Cthw, Epilogue::IMAGENET),
            ),
            (
                29,
                config(
                    4,
                    FramesPerSegment::Fixed(3),
                    Selection::Spread,
                    Schedule::Custom(&[1, 0, 7]),
                ),
                spec(Layout::Thwc, Epilogue::Unit),
            ),
            (
                3,
                config(
                    8,
                    FramesPerSegment::All,
                    Selection::Spread,
                    Schedule::Linear0,
                ),
                spec(Layout::Tchw, Epilogue::Raw),
            ),
        ]
    }

    #[test]
    fn cpu_streaming_matches_mixcore_bits() {
        let g = Geometry::new(13, 5, 3).unwrap();
        for (frames, config, spec) in cases() {
            let plan = Plan::new(frames, &config).unwrap();
            let (data, stride) = padded_frames(frames, g, 7);
            let got = stream(Device::Cpu, &plan, g, spec, &data, stride).unwrap();
            let want = reference(&plan, g, &spec, &data, stride);
            assert!(same_bits(&got, &want), "F = {frames}, {config:?}, {spec:?}");
        }
    }

    #[test]
    fn cpu_streaming_abandons_and_reports_missing_frames() {
        let g = Geometry::new(4, 3, 3).unwrap();
        let plan = Plan::new(20, &PlanConfig::default()).unwrap();
        let spec = MixSpec::default();
        let mut out = vec![0.0; mixcore::output_len(&plan, g).unwrap()];
        let abandoned =
            mix_streaming::<()>(Device::Cpu, &plan, g, spec, &mut out, &mut |_| Ok(false));
        assert!(matches!(abandoned, Ok(false)));
        let frame = vec![9u8; 4 * 3 * 3];
        let missing = mix_streaming::<PushError>(Device::Cpu, &plan, g, spec, &mut out, &mut |s| {
            for f in 0..19 {
                s.push(f, &FrameView::packed(&frame, g).unwrap())?;
            }
            Ok(true)
        });
        assert!(
            matches!(
                missing,
                Err(MixFailure::Mix(mixcore::Error::FramesMissing {
                    first: 19,
                    ..
                }))
            ),
            "{missing:?}"
        );
        let twice = mix_streaming::<PushError>(Device::Cpu, &plan, g, spec, &mut out, &mut |s| {
            let view = FrameView::packed(&frame, g).unwrap();
            s.push(0, &view)?;
            s.push(0, &view)?;
            Ok(true)
        });
        assert!(
            matches!(
                twice,
                Err(MixFailure::Feed(PushError::Mix(
                    mixcore::Error::FramePushedTwice { .. }
                )))
            ),
            "{twice:?}"
        );
    }

    #[test]
    fn push_errors_become_the_clis_problems() {
        let p: Problem = PushError::Device("--device cuda: broken".into()).into();
        assert_eq!(p.kind(), "device");
        assert_eq!(p.to_string(), "--device cuda: broken");
        let p: Problem = PushError::Mix(mixcore::Error::ZeroFrames).into();
        assert_eq!(p.kind(), "mix");
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_the_feature_is_refused_before_any_frame() {
        const { assert!(!CUDA_SUPPORT) };
        let e = check(Device::Cuda).unwrap_err();
        assert!(e.starts_with("--device cuda: "), "{e}");
        assert!(e.contains("built without CUDA support"), "{e}");
        let g = Geometry::new(2, 2, 3).unwrap();
        let plan = Plan::new(4, &PlanConfig::default()).unwrap();
        let mut out = vec![0.0; mixcore::output_len(&plan, g).unwrap()];
        let r = mix_streaming::<()>(
            Device::Cuda,
            &plan,
            g,
            MixSpec::default(),
            &mut out,
            &mut |_| panic!("no frame may be decoded for an unavailable device"),
        );
        assert!(
            matches!(r, Err(MixFailure::Device(ref m)) if m == &e),
            "{r:?}"
        );
    }

    /// With the feature: on a GPU the CUDA path gives the CPU's bits for every case; without
    /// one, both entry points name the device problem (and the test says it was skipped).
    #[cfg(feature = "cuda")]
    #[test]
    fn cuda_streaming_matches_cpu_bits_or_names_the_missing_device() {
        const { assert!(CUDA_SUPPORT) };
        let g = Geometry::new(13, 5, 3).unwrap();
        if let Err(e) = check(Device::Cuda) {
            assert!(e.starts_with("--device cuda: "), "{e}");
            let plan = Plan::new(4, &PlanConfig::default()).unwrap();
            let mut out = vec![0.0; mixcore::output_len(&plan, g).unwrap()];
            let r = mix_streaming::<()>(
                Device::Cuda,
                &plan,
                g,
                MixSpec::default(),
                &mut out,
                &mut |_| panic!("no frame may be decoded for an unavailable device"),
            );
            assert!(
                matches!(r, Err(MixFailure::Device(ref m)) if m == &e),
                "{r:?}"
            );
            println!("skipped: no CUDA device found ({e})");
            return;
        }
        for (frames, config, spec) in cases() {
            let plan = Plan::new(frames, &config).unwrap();
            let (data, stride) = padded_frames(frames, g, 7);
            let got = stream(Device::Cuda, &plan, g, spec, &data, stride).unwrap();
            let want = reference(&plan, g, &spec, &data, stride);
            assert!(same_bits(&got, &want), "F = {frames}, {config:?}, {spec:?}");
        }
    }
}
