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
    /// A frame pushed to a view a [`ViewSinks`] does not have.
    NoSuchView {
        /// The view asked for.
        view: usize,
        /// The views there are.
        views: usize,
    },
}

impl From<mixcore::Error> for PushError {
    fn from(e: mixcore::Error) -> Self {
        PushError::Mix(e)
    }
}

impl From<PushError> for Problem {
    fn from(e: PushError) -> Self {
        match e {
            PushError::Mix(e) => Problem::Mix(e),
            PushError::Device(reason) => Problem::Device { reason },
            PushError::NoSuchView { view, views } => Problem::Usage(format!(
                "internal: a frame for view {view} of a clip mixed with {views} views"
            )),
        }
    }
}

/// Where decoded frames go, on whichever device mixes: mixcore's device-neutral
/// [`mixcore::FrameSink`] (one admission rule everywhere), with this crate's [`PushError`].
pub type FrameSink<'a> = dyn mixcore::FrameSink<Error = PushError> + 'a;

/// A device's streaming mixer seen as a [`FrameSink`]: its pushes' errors become
/// [`PushError`]s (mixcore's refusals stay mixcore's, the device's own failures are named).
struct Pushes<S>(S);

impl<S: mixcore::FrameSink> mixcore::FrameSink for Pushes<S>
where
    PushError: From<S::Error>,
{
    type Error = PushError;
    type Output = S::Output;

    fn is_needed(&self, f: u32) -> bool {
        self.0.is_needed(f)
    }

    fn push(&mut self, f: u32, frame: &FrameView<'_>) -> Result<(), PushError> {
        self.0.push(f, frame).map_err(PushError::from)
    }

    fn can_fill(&self) -> bool {
        self.0.can_fill()
    }

    fn push_with(&mut self, f: u32, fill: &mut dyn FnMut(&mut [u8])) -> Result<(), PushError> {
        self.0.push_with(f, fill).map_err(PushError::from)
    }

    fn finish(self, out: &mut S::Output) -> Result<(), PushError> {
        self.0.finish(out).map_err(PushError::from)
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
    feed: &mut dyn FnMut(&mut FrameSink<'_>) -> Result<bool, E>,
) -> Result<bool, MixFailure<E>> {
    match device {
        Device::Cpu => {
            let buffered = Mixer::RECOMMENDED_BUFFER;
            let len = Mixer::scratch_len_buffered(plan, geometry, &spec, buffered)
                .map_err(MixFailure::Mix)?;
            // The mixer initialises what it uses, so the scratch of this thread's last mix
            // is reused as it is: a loader worker or a batch job mixing clip after clip pays
            // for its pages (faults, zeroing) once, not per clip. (Views nest mixes: the inner
            // ones find the scratch taken and allocate their own.)
            let mut scratch = SCRATCH.with(|s| std::mem::take(&mut *s.borrow_mut()));
            if scratch.len() < len {
                // Zeroed lazily by the allocator.
                scratch = vec![0u64; len];
            }
            let result = (|| {
                let mixer =
                    Mixer::with_output(plan, geometry, spec, buffered, &mut scratch[..len], out)
                        .map_err(MixFailure::Mix)?;
                let mut sink = Pushes(mixer);
                if !feed(&mut sink).map_err(MixFailure::Feed)? {
                    return Ok(false);
                }
                sink.0.finish_output().map_err(MixFailure::Mix)?;
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

/// The sinks of several views of one clip (three crops), each a streaming mixer of its own
/// ([`mix_streaming_views`]).
pub trait ViewSinks {
    /// The number of views.
    fn views(&self) -> usize;
    /// True when frame `f` is mixed into some segment (the plan is the same for every view).
    fn is_needed(&self, f: u32) -> bool;
    /// Adds frame `f` of view `view` (`0 <= view < views()`). Every view must be given every
    /// needed frame.
    ///
    /// # Errors
    /// As [`FrameSink::push`]; [`PushError::NoSuchView`] for a view out of range.
    fn push(&mut self, view: usize, f: u32, frame: &FrameView<'_>) -> Result<(), PushError>;
}

/// No views: where [`mix_streaming_views`] starts.
struct NoViews;

impl ViewSinks for NoViews {
    fn views(&self) -> usize {
        0
    }

    fn is_needed(&self, _f: u32) -> bool {
        false
    }

    fn push(&mut self, view: usize, _f: u32, _frame: &FrameView<'_>) -> Result<(), PushError> {
        Err(PushError::NoSuchView { view, views: 0 })
    }
}

/// The views before, and one more.
struct OneMore<'a> {
    before: &'a mut dyn ViewSinks,
    last: &'a mut FrameSink<'a>,
}

impl ViewSinks for OneMore<'_> {
    fn views(&self) -> usize {
        self.before.views() + 1
    }

    fn is_needed(&self, f: u32) -> bool {
        self.last.is_needed(f)
    }

    fn push(&mut self, view: usize, f: u32, frame: &FrameView<'_>) -> Result<(), PushError> {
        let before = self.before.views();
        match view.cmp(&before) {
            std::cmp::Ordering::Less => self.before.push(view, f, frame),
            std::cmp::Ordering::Equal => self.last.push(f, frame),
            std::cmp::Ordering::Greater => Err(PushError::NoSuchView {
                view,
                views: before + 1,
            }),
        }
    }
}

/// As [`mix_streaming`] for several views of one clip: one streaming mixer per view (each of
/// its own geometry, all with `plan` and `spec`), fed together by `feed`, which pushes each
/// needed frame to every view ([`ViewSinks`]); view `v` is finished into `outs[v]`. The frames
/// are decoded once for all views. `geometries` and `outs` have one entry per view.
///
/// # Errors
/// As [`mix_streaming`].
pub fn mix_streaming_views<E>(
    device: Device,
    plan: &Plan<'_>,
    geometries: &[Geometry],
    spec: MixSpec<'_>,
    outs: &mut [&mut [f32]],
    feed: &mut dyn FnMut(&mut dyn ViewSinks) -> Result<bool, E>,
) -> Result<bool, MixFailure<E>> {
    if geometries.len() != outs.len() || outs.is_empty() {
        // One output buffer per view, and at least one view.
        return Err(MixFailure::Mix(mixcore::Error::BufferTooSmall {
            len: outs.len(),
            needed: geometries.len().max(1),
        }));
    }
    nest(device, plan, geometries, spec, outs, &mut NoViews, feed)
}

/// One mixer per level of recursion: view `before.views()` is mixed by this level's
/// [`mix_streaming`], whose feeder opens the next level; the last level calls `feed` with all.
fn nest<E>(
    device: Device,
    plan: &Plan<'_>,
    geometries: &[Geometry],
    spec: MixSpec<'_>,
    outs: &mut [&mut [f32]],
    before: &mut dyn ViewSinks,
    feed: &mut dyn FnMut(&mut dyn ViewSinks) -> Result<bool, E>,
) -> Result<bool, MixFailure<E>> {
    let (Some((&geometry, geometries)), Some((out, outs))) =
        (geometries.split_first(), outs.split_first_mut())
    else {
        return feed(before).map_err(MixFailure::Feed);
    };
    let done = mix_streaming(device, plan, geometry, spec, out, &mut |sink| {
        let mut all = OneMore {
            before: &mut *before,
            last: sink,
        };
        nest(device, plan, geometries, spec, outs, &mut all, &mut *feed)
    });
    match done {
        Ok(done) => Ok(done),
        Err(MixFailure::Feed(inner)) => Err(inner),
        Err(MixFailure::Device(reason)) => Err(MixFailure::Device(reason)),
        Err(MixFailure::Mix(e)) => Err(MixFailure::Mix(e)),
    }
}

/// The CUDA backend: mixcuda's streaming mixer on the process's one [`mixcuda::Gpu`].
#[cfg(feature = "cuda")]
mod cuda {
    use std::sync::OnceLock;

    use mixcore::{Geometry, MixSpec, Plan};
    use mixcuda::Gpu;

    use super::{FrameSink, MixFailure, PushError, Pushes};

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

    impl From<mixcuda::Error> for PushError {
        fn from(e: mixcuda::Error) -> Self {
            match e {
                mixcuda::Error::Mix(m) | mixcuda::Error::Video { error: m, .. } => {
                    PushError::Mix(m)
                }
                other => PushError::Device(describe(&other)),
            }
        }
    }

    pub(super) fn mix_streaming<E>(
        plan: &Plan<'_>,
        geometry: Geometry,
        spec: MixSpec<'_>,
        out: &mut [f32],
        feed: &mut dyn FnMut(&mut FrameSink<'_>) -> Result<bool, E>,
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
        // Each needed frame is copied once, row by row (dropping the decoder's row padding),
        // into pinned memory and uploaded in groups while earlier groups are accumulated.
        let mut sink = Pushes(gpu.stream_mixer(&on_gpu, geometry).map_err(failure)?);
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

    /// Three views of `frames` frames, view `v` reading each frame at byte offset `3 * v`
    /// (as three crops of one wider frame do), through `mix_streaming_views` on `device`.
    fn stream_views(
        device: Device,
        plan: &Plan<'_>,
        g: Geometry,
        spec: MixSpec<'_>,
        frames: &[Vec<u8>],
        stride: usize,
    ) -> Result<Vec<Vec<f32>>, MixFailure<PushError>> {
        let len = mixcore::output_len(plan, g).unwrap();
        let mut out = vec![f32::NAN; 3 * len];
        let mut outs: Vec<&mut [f32]> = out.chunks_exact_mut(len).collect();
        let done = mix_streaming_views(device, plan, &[g; 3], spec, &mut outs, &mut |sinks| {
            assert_eq!(sinks.views(), 3);
            for (f, data) in (0..).zip(frames) {
                if sinks.is_needed(f) {
                    for v in 0..3 {
                        sinks.push(v, f, &FrameView::new(&data[3 * v..], g, stride).unwrap())?;
                    }
                }
            }
            Ok(true)
        })?;
        assert!(done);
        Ok(out.chunks_exact(len).map(<[f32]>::to_vec).collect())
    }

    /// Each view of `mix_streaming_views` is the single-view stream of its own frames; a push
    /// to a fourth view, a missing frame and mismatched buffers are errors, not panics.
    #[test]
    fn cpu_streaming_views_match_one_stream_per_view() {
        let wide = Geometry::new(15, 5, 3).unwrap();
        let g = Geometry::new(13, 5, 3).unwrap();
        for (frames, config, spec) in cases() {
            let plan = Plan::new(frames, &config).unwrap();
            let (data, stride) = padded_frames(frames, wide, 7);
            let views = stream_views(Device::Cpu, &plan, g, spec, &data, stride).unwrap();
            for (v, got) in views.iter().enumerate() {
                let shifted: Vec<Vec<u8>> = data.iter().map(|d| d[3 * v..].to_vec()).collect();
                let want = stream(Device::Cpu, &plan, g, spec, &shifted, stride).unwrap();
                assert!(same_bits(got, &want), "view {v}, F = {frames}, {config:?}");
            }
        }
        let plan = Plan::new(6, &PlanConfig::default()).unwrap();
        let spec = MixSpec::default();
        let len = mixcore::output_len(&plan, g).unwrap();
        let frame = vec![7u8; 13 * 5 * 3];
        let mut out = vec![0.0; 2 * len];
        let mut outs: Vec<&mut [f32]> = out.chunks_exact_mut(len).collect();
        let fourth = mix_streaming_views::<PushError>(
            Device::Cpu,
            &plan,
            &[g; 2],
            spec,
            &mut outs,
            &mut |s| {
                s.push(2, 0, &FrameView::packed(&frame, g).unwrap())?;
                Ok(true)
            },
        );
        assert!(
            matches!(
                fourth,
                Err(MixFailure::Feed(PushError::NoSuchView {
                    view: 2,
                    views: 2
                }))
            ),
            "{fourth:?}"
        );
        let missing = mix_streaming_views::<PushError>(
            Device::Cpu,
            &plan,
            &[g; 2],
            spec,
            &mut outs,
            &mut |s| {
                for f in 0..6 {
                    s.push(0, f, &FrameView::packed(&frame, g).unwrap())?;
                }
                Ok(true)
            },
        );
        assert!(
            matches!(
                missing,
                Err(MixFailure::Mix(mixcore::Error::FramesMissing { .. }))
            ),
            "{missing:?}"
        );
        let abandoned =
            mix_streaming_views::<()>(Device::Cpu, &plan, &[g; 2], spec, &mut outs, &mut |_| {
                Ok(false)
            });
        assert!(matches!(abandoned, Ok(false)));
        let mismatched =
            mix_streaming_views::<()>(Device::Cpu, &plan, &[g; 3], spec, &mut outs, &mut |_| {
                panic!("no frame may be pushed for mismatched buffers")
            });
        assert!(
            matches!(mismatched, Err(MixFailure::Mix(_))),
            "{mismatched:?}"
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
            // Three views (three crops): one GPU mixer each, the CPU's bits.
            let wide = Geometry::new(15, 5, 3).unwrap();
            let (data, stride) = padded_frames(frames, wide, 7);
            let got = stream_views(Device::Cuda, &plan, g, spec, &data, stride).unwrap();
            let want = stream_views(Device::Cpu, &plan, g, spec, &data, stride).unwrap();
            for (a, b) in got.iter().zip(&want) {
                assert!(same_bits(a, b), "views, F = {frames}, {config:?}, {spec:?}");
            }
        }
    }
}
