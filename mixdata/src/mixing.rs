//! The pipeline of one clip: count, plan, decode and mix in one streaming pass (re-planned
//! once if the decoder disagrees with the count).
//!
//! ```text
//! Source::count ─► Plan::new(F) ─► Reader::peek_size ─► Transform::for_clip(source size, mode)
//!      ─► Reader::set_size(exact resize) ─► decode frame by frame ─► convert the frames the
//!      plan needs ─► crop (a FrameView, no copy) or resample (bicubic) ─► Mixer (device)
//!      ─► flip the output when drawn ─► out
//! ```
//!
//! The transform ([`MixRequest::transform`], [`crate::transform`]) is planned once per clip
//! from its own decoded size and the plan's mode (train mode: the sample's seed).
//!
//! # Views
//!
//! Three-crop testing ([`crate::transform::CropMode::Three`]) makes three views of a clip:
//! three crops of the same resized frames (left, right, middle, or top, bottom, middle:
//! mmaction2's `ThreeCrop` order), each mixed with the same plan. The frames are decoded (and
//! resampled) once; each view has its own mixer ([`crate::device::mix_streaming_views`]). The
//! output holds the views one after the other, each in the layout's shape
//! ([`Mixed::shape`]): `[V, S, 3, H, W]` for `tchw` ([`Mixed::full_shape`], V = 3), and view
//! `v` is exactly what a single crop at view `v`'s offset gives. Every other crop mode makes
//! one view, and the output keeps the layout's 4-axis shape.

use mixcore::{Epilogue, FrameView, Geometry, Layout, MixSpec, Plan, PlanConfig};

use crate::damage::Damage;
use crate::device::{self, Device, MixFailure};
use crate::error::{Error, Problem, Result};
use crate::source::{ReaderOptions, Source};
use crate::transform::{ClipGeometry, ClipTransform, Rect, Resampler, Transform, flip_output};

/// Everything about a mix besides the input.
#[derive(Clone, Copy, Debug)]
pub struct MixRequest<'a> {
    /// The plan options.
    pub plan: PlanConfig<'a>,
    /// Output layout.
    pub layout: Layout,
    /// Output scale.
    pub epilogue: Epilogue,
    /// The spatial transform of every clip (resize, crop, flip; [`crate::transform`]).
    /// Default: none (every frame at its own size).
    pub transform: Transform,
    /// Where the mixing runs.
    pub device: Device,
    /// Decoder threads per video (0: FFmpeg decides). Other than 1, a video also decodes on a
    /// thread of its own, a few frames ahead of the colour conversion and the mix on the
    /// calling thread ([`crate::Reader::decode_ahead`]); 1 keeps everything on the calling
    /// thread, which is what many workers on as many cores want (the hand-over between two
    /// threads costs about 5% more CPU time and gains nothing without a spare core).
    pub threads: usize,
    /// Apply the stream's display matrix (rotation by 90/180/270 degrees, flips) as the
    /// `ffmpeg` program does. Default: true (`--no-autorotate` clears it).
    pub autorotate: bool,
    /// Accept damaged input (decoder errors, concealed or lost frames) and report it in
    /// [`Mixed::damage`] instead of failing. Default: false (`--allow-damaged` sets it).
    pub allow_damaged: bool,
}

/// What came out of a mix, besides the values.
#[derive(Clone, Debug)]
pub struct MixedInfo {
    /// F: the frames that decoded (the plan's frame count).
    pub frames: u32,
    /// The cheap count the first plan was made from (packets or files).
    pub counted: u32,
    /// Size of the mixed frames (RGB, 3 channels).
    pub geometry: Geometry,
    /// The shape of one view's output in its layout (the whole output's with one view; see
    /// [`MixedInfo::full_shape`]).
    pub shape: [usize; 4],
    /// What was damaged in the input ([`Damage::is_clean`] unless
    /// [`MixRequest::allow_damaged`] let a damaged input through).
    pub damage: Damage,
    /// The rotation applied to the frames, in degrees clockwise (0, 90, 180 or 270; 0 when
    /// none or with autorotation off).
    pub rotation: i32,
    /// The clip's own frame size (displayed, before any resize).
    pub source_size: (u32, u32),
    /// The transform applied to every frame of the first view (the only one but for three
    /// crops): the converter's size and the view's geometry.
    pub transform: ClipTransform,
    /// Every view's transform, in the order of the output's views: one, or three for
    /// three crops ([module docs](self#views)).
    pub views: Vec<ClipTransform>,
}

impl MixedInfo {
    /// The whole output's shape: [`MixedInfo::shape`] with one view, `[V, ...shape]` with
    /// V > 1 views (three crops: `[3, S, 3, H, W]` for `tchw`).
    #[must_use]
    pub fn full_shape(&self) -> Vec<usize> {
        full_shape(self.views.len(), self.shape)
    }
}

/// `shape` with one view, `[views, ...shape]` with more.
#[must_use]
pub fn full_shape(views: usize, shape: [usize; 4]) -> Vec<usize> {
    if views > 1 {
        std::iter::once(views).chain(shape).collect()
    } else {
        shape.to_vec()
    }
}

/// A finished mix.
#[derive(Clone, Debug)]
pub struct Mixed {
    /// F: the frames that decoded (the plan's frame count).
    pub frames: u32,
    /// The cheap count the first plan was made from (packets or files).
    pub counted: u32,
    /// Size of the mixed frames (RGB, 3 channels).
    pub geometry: Geometry,
    /// The shape of one view's output in its layout (the whole output's with one view; see
    /// [`Mixed::full_shape`]).
    pub shape: [usize; 4],
    /// The output values, C order: the views one after the other, each of `shape`.
    pub data: Vec<f32>,
    /// What was damaged in the input ([`Damage::is_clean`] unless
    /// [`MixRequest::allow_damaged`] let a damaged input through).
    pub damage: Damage,
    /// The rotation applied to the frames, in degrees clockwise (0, 90, 180 or 270; 0 when
    /// none or with autorotation off).
    pub rotation: i32,
    /// The clip's own frame size (displayed, before any resize).
    pub source_size: (u32, u32),
    /// The transform applied to every frame of the first view (the only one but for three
    /// crops): the converter's size and the view's geometry.
    pub transform: ClipTransform,
    /// Every view's transform, in the order of the output's views: one, or three for
    /// three crops ([module docs](self#views)).
    pub views: Vec<ClipTransform>,
}

impl Mixed {
    /// The whole output's shape: [`Mixed::shape`] with one view, `[V, ...shape]` with V > 1
    /// views (three crops: `[3, S, 3, H, W]` for `tchw`).
    #[must_use]
    pub fn full_shape(&self) -> Vec<usize> {
        full_shape(self.views.len(), self.shape)
    }

    fn new(info: MixedInfo, data: Vec<f32>) -> Self {
        Mixed {
            frames: info.frames,
            counted: info.counted,
            geometry: info.geometry,
            shape: info.shape,
            data,
            damage: info.damage,
            rotation: info.rotation,
            source_size: info.source_size,
            transform: info.transform,
            views: info.views,
        }
    }

    /// What came out, and the values.
    #[must_use]
    pub fn split(self) -> (MixedInfo, Vec<f32>) {
        let info = MixedInfo {
            frames: self.frames,
            counted: self.counted,
            geometry: self.geometry,
            shape: self.shape,
            damage: self.damage,
            rotation: self.rotation,
            source_size: self.source_size,
            transform: self.transform,
            views: self.views,
        };
        (info, self.data)
    }
}

/// Where a pass writes its output.
enum Target<'o> {
    /// A vector sized to the output after the first frame is decoded.
    Grow(&'o mut Vec<f32>),
    /// The caller's buffer, which must hold exactly the output, of this shape when given.
    Slice(&'o mut [f32], Option<[usize; 4]>),
}

enum Pass {
    Done(MixedInfo),
    /// The decoder produced this many frames, not the plan's count.
    Recount(u32),
}

fn mix_failure(path: &std::path::Path, failure: MixFailure<Error>) -> Error {
    match failure {
        MixFailure::Device(reason) => Error::at(path, Problem::Device { reason }),
        MixFailure::Mix(e) => Error::mix(path, e),
        MixFailure::Feed(e) => e,
    }
}

/// The views of `source_size` under the request's transform (one, or three for three crops),
/// and the geometry they share: the part of the frame resampled and the size it is resampled
/// to (all views alike), keeping the one view's crop, or with several views the whole
/// resampled frame. Each view is then a crop of that shared frame. Refused when the views
/// differ in anything but their crop's offset (never for [`Transform::for_clip`]'s views).
fn clip_transforms(
    path: &std::path::Path,
    req: &MixRequest<'_>,
    source_size: (u32, u32),
) -> Result<(Vec<ClipTransform>, ClipGeometry)> {
    let usage = |m: String| Error::at(path, Problem::Usage(m));
    let views = req
        .transform
        .for_clip(source_size, req.plan.mode)
        .map_err(|e| usage(e.to_string()))?;
    let Some(first) = views.first().copied() else {
        return Err(usage("internal: the transform planned no view".into()));
    };
    let g = first.geometry;
    let shared = ClipGeometry {
        crop: if views.len() == 1 {
            g.crop
        } else {
            Rect::full(g.resized)
        },
        ..g
    };
    let alike = views.iter().all(|v| {
        let h = v.geometry;
        v.convert == first.convert
            && (h.source, h.pre_crop, h.resized, h.flip)
                == (g.source, g.pre_crop, g.resized, g.flip)
            && h.output_size() == g.output_size()
            && h.crop.fits_in(g.resized)
    });
    if !alike {
        return Err(usage(format!(
            "internal: the views of one clip differ in more than their crop: {views:?}"
        )));
    }
    Ok((views, shared))
}

fn one_pass(
    source: &Source,
    req: &MixRequest<'_>,
    frames: u32,
    counted: u32,
    target: &mut Target<'_>,
) -> Result<Pass> {
    let path = source.path();
    let plan = Plan::new(frames, &req.plan).map_err(|e| Error::mix(path, e))?;
    let mut reader = source.reader(&ReaderOptions {
        threads: req.threads,
        size: None,
        autorotate: req.autorotate,
    })?;
    if reader.peek_size()?.is_none() {
        return Ok(Pass::Recount(0));
    }
    let Some(source_size) = reader.source_size() else {
        return Ok(Pass::Recount(0));
    };
    let (views, shared) = clip_transforms(path, req, source_size)?;
    reader.set_size(views[0].convert);
    let Some(converted) = reader.output_size() else {
        return Ok(Pass::Recount(0));
    };
    if converted != shared.source {
        return Err(Error::at(
            path,
            Problem::Usage(format!(
                "the transform was planned for {}x{} frames, the reader writes {}x{}",
                shared.source.0, shared.source.1, converted.0, converted.1
            )),
        ));
    }
    let (width, height) = views[0].output_size();
    let geometry = Geometry::new(width, height, 3).map_err(|e| Error::mix(path, e))?;
    // The frame every view is a crop of: the resampled frame (`shared`: the one view's crop,
    // or the whole resampled frame), or the converted frame itself when nothing is resampled
    // (then each view starts at its crop's first pixel inside the pre-crop: a FrameView, no
    // copy).
    let mut resampler = shared.resamples().then(Resampler::new);
    let resampled_stride = shared.crop.width as usize * 3;
    let offsets: Vec<(usize, usize)> = views
        .iter()
        .map(|v| {
            let c = v.geometry.crop;
            if resampler.is_some() {
                (
                    c.x.saturating_sub(shared.crop.x) as usize,
                    c.y.saturating_sub(shared.crop.y) as usize,
                )
            } else {
                (
                    shared.pre_crop.x as usize + c.x as usize,
                    shared.pre_crop.y as usize + c.y as usize,
                )
            }
        })
        .collect();
    let len = mixcore::output_len(&plan, geometry).map_err(|e| Error::mix(path, e))?;
    let shape = req.layout.shape(plan.segments(), geometry);
    let total = len.checked_mul(views.len()).ok_or_else(|| {
        Error::at(
            path,
            Problem::Usage(format!("{} views of {len} values overflow", views.len())),
        )
    })?;
    let out: &mut [f32] = match target {
        Target::Grow(data) => {
            // The mixer writes every value: only a longer output's new tail is initialised
            // here, so a reused buffer is not written twice.
            data.truncate(total);
            data.try_reserve_exact(total - data.len()).map_err(|_| {
                Error::at(
                    path,
                    Problem::Usage(format!(
                        "the output of {total} values does not fit in memory"
                    )),
                )
            })?;
            data.resize(total, 0.0f32);
            data
        }
        Target::Slice(_, Some(expected)) if *expected != shape => {
            return Err(Error::at(
                path,
                Problem::ShapeMismatch {
                    expected: expected.to_vec(),
                    found: shape.to_vec(),
                },
            ));
        }
        Target::Slice(out, _) if out.len() == total => out,
        Target::Slice(out, _) => {
            return Err(Error::at(
                path,
                Problem::BufferLength {
                    len: out.len(),
                    shape: full_shape(views.len(), shape),
                },
            ));
        }
    };
    // Videos decode on a thread of their own from here on, overlapping the conversion and
    // the mix on this one, unless the caller asked for one thread (frame folders stay here:
    // their errors name the frame's file).
    if req.threads != 1 && matches!(source, Source::Video(_)) {
        reader.decode_ahead()?;
    }
    let mut decoded = 0u32;
    let spec = MixSpec {
        layout: req.layout,
        epilogue: req.epilogue,
        ..MixSpec::default()
    };
    let geometries = vec![geometry; views.len()];
    let mut outs: Vec<&mut [f32]> = out.chunks_exact_mut(len).collect();
    // One whole frame (one view, no crop, no resample) is converted straight into the
    // mixer's buffer where the device has one (`push_with`): no copy of a converted frame.
    let whole = resampler.is_none()
        && offsets[..] == [(0, 0)]
        && (width, height) == converted
        && outs.len() == 1;
    let finished = if whole && let [out] = &mut outs[..] {
        device::mix_streaming(req.device, &plan, geometry, spec, out, &mut |sink| {
            let fill = sink.can_fill();
            while let Some(d) = reader.next_frame(|f| !fill && f < frames && sink.is_needed(f))? {
                let f = d.index;
                decoded = f + 1;
                if fill {
                    if f < frames && sink.is_needed(f) {
                        let mut written = Ok(());
                        sink.push_with(f, &mut |slot| written = reader.write_packed(f, slot))
                            .map_err(|e| Error::at(path, e.into()))?;
                        written?;
                    }
                } else if let Some(rgb) = d.rgb {
                    let frame = FrameView::new(rgb.data, geometry, rgb.stride)
                        .map_err(|e| Error::mix(path, e))?;
                    sink.push(f, &frame)
                        .map_err(|e| Error::at(path, e.into()))?;
                }
            }
            Ok(decoded == frames)
        })
    } else {
        device::mix_streaming_views(
            req.device,
            &plan,
            &geometries,
            spec,
            &mut outs,
            &mut |sinks| {
                while let Some(d) = reader.next_frame(|f| f < frames && sinks.is_needed(f))? {
                    decoded = d.index + 1;
                    let Some(rgb) = d.rgb else { continue };
                    let (base, stride) = match resampler.as_mut() {
                        Some(r) => {
                            let pixels = r
                                .resample(rgb.data, rgb.stride, converted, &shared)
                                .map_err(|e| Error::at(path, Problem::Usage(e.to_string())))?;
                            (pixels, resampled_stride)
                        }
                        None => (rgb.data, rgb.stride),
                    };
                    for (v, &(x, y)) in offsets.iter().enumerate() {
                        let data = base.get(y * stride + x * 3..).unwrap_or_default();
                        let frame = FrameView::new(data, geometry, stride)
                            .map_err(|e| Error::mix(path, e))?;
                        sinks
                            .push(v, d.index, &frame)
                            .map_err(|e| Error::at(path, e.into()))?;
                    }
                }
                Ok(decoded == frames)
            },
        )
    };
    let finished = finished.map_err(|f| mix_failure(path, f))?;
    // Damage is judged before the count: frames lost to damage change the count too.
    let damage = reader.damage();
    if !damage.is_clean() && !req.allow_damaged {
        return Err(Error::at(path, Problem::Damaged { damage }));
    }
    if !finished {
        return Ok(Pass::Recount(decoded));
    }
    if shared.flip {
        for out in outs {
            flip_output(out, req.layout, plan.segments(), geometry)
                .map_err(|e| Error::at(path, Problem::Usage(e.to_string())))?;
        }
    }
    Ok(Pass::Done(MixedInfo {
        frames,
        counted,
        geometry,
        shape,
        damage,
        rotation: reader.orientation().degrees,
        source_size,
        transform: views[0],
        views,
    }))
}

/// Counts, plans, and mixes in as many passes as the count needs (at most two).
fn mix_passes(source: &Source, req: &MixRequest<'_>, mut target: Target<'_>) -> Result<MixedInfo> {
    let path = source.path();
    let counted = source.count()?;
    let mut frames = counted;
    for pass in 0..2 {
        if frames == 0 {
            return Err(Error::at(path, Problem::ZeroFrames));
        }
        match one_pass(source, req, frames, counted, &mut target)? {
            Pass::Done(info) => return Ok(info),
            Pass::Recount(decoded) if pass == 0 => frames = decoded,
            Pass::Recount(decoded) => {
                return Err(Error::at(
                    path,
                    Problem::UnstableFrameCount {
                        first: frames,
                        second: decoded,
                    },
                ));
            }
        }
    }
    Err(Error::at(path, Problem::ZeroFrames))
}

/// Mixes `source`: counts its frames cheaply, plans, and decodes and mixes in one streaming
/// pass; if the number of frames that decode differs from the count, plans again with the
/// true count and decodes again. Memory is the output and the mixer's accumulators, flat in F.
///
/// # Errors
/// Every input error (not found, not a video, no video stream, truncated, zero frames,
/// unreadable frame, mismatched frame sizes), mixcore's refusals of the plan, the device's.
pub fn mix_input(source: &Source, req: &MixRequest<'_>) -> Result<Mixed> {
    let mut data = Vec::new();
    let info = mix_passes(source, req, Target::Grow(&mut data))?;
    Ok(Mixed::new(info, data))
}

/// As [`mix_input`], into `data`, cleared and resized to the output (its capacity reused).
pub(crate) fn mix_input_vec(
    source: &Source,
    req: &MixRequest<'_>,
    data: &mut Vec<f32>,
) -> Result<MixedInfo> {
    mix_passes(source, req, Target::Grow(data))
}

/// As [`mix_input`], writing into the caller's `out`, which must hold exactly the output
/// (`V * S * 3 * H * W` values, H and W the frames' size after the transform, V the views:
/// 3 for three crops, else 1). On an error `out` holds unspecified values.
///
/// # Errors
/// As [`mix_input`]; [`Problem::BufferLength`] when `out` does not hold exactly the output
/// (found before anything but the first frame is decoded).
pub fn mix_input_into(source: &Source, req: &MixRequest<'_>, out: &mut [f32]) -> Result<MixedInfo> {
    mix_passes(source, req, Target::Slice(out, None))
}

/// As [`mix_input_into`], refusing a clip whose output shape is not `expect` with
/// [`Problem::ShapeMismatch`].
pub(crate) fn mix_input_checked(
    source: &Source,
    req: &MixRequest<'_>,
    out: &mut [f32],
    expect: Option<[usize; 4]>,
) -> Result<MixedInfo> {
    mix_passes(source, req, Target::Slice(out, expect))
}

/// The output shape of one view of `source` under `req` (its transform), from its first frame
/// alone (no count, no plan): `[S, 3, H, W]` in the request's layout (the views are
/// [`Transform::views`]). What a batch of clips needs to know before its first clip is mixed.
///
/// # Errors
/// Open and decoding errors of the first frame; [`Problem::ZeroFrames`] when nothing decodes.
pub fn output_shape(source: &Source, req: &MixRequest<'_>) -> Result<[usize; 4]> {
    let path = source.path();
    let mut reader = source.reader(&ReaderOptions {
        threads: req.threads,
        size: None,
        autorotate: req.autorotate,
    })?;
    reader.peek_size()?;
    let Some(source_size) = reader.source_size() else {
        return Err(Error::at(path, Problem::ZeroFrames));
    };
    let (width, height) = req
        .transform
        .output_size(source_size)
        .map_err(|e| Error::at(path, Problem::Usage(e.to_string())))?;
    let geometry = Geometry::new(width, height, 3).map_err(|e| Error::mix(path, e))?;
    Ok(req.layout.shape(req.plan.segments, geometry))
}

/// Decodes every frame of `source` without colour conversion and returns the true frame count,
/// the frames' displayed size (turned by the display matrix when `autorotate`) and the damage
/// seen (what `mixcli info` reports).
///
/// # Errors
/// Every input error.
pub fn decode_count(
    source: &Source,
    threads: usize,
    autorotate: bool,
) -> Result<(u32, (u32, u32), Damage)> {
    let mut reader = source.reader(&ReaderOptions {
        threads,
        size: None,
        autorotate,
    })?;
    let Some(size) = reader.peek_size()? else {
        return Err(Error::at(source.path(), Problem::ZeroFrames));
    };
    let mut frames = 0;
    while let Some(d) = reader.next_frame(|_| false)? {
        frames = d.index + 1;
    }
    Ok((frames, size, reader.damage()))
}
