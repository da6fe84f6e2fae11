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
//! from its own decoded size and the plan's mode (train mode: the sample's seed). Three-crop
//! testing ([`crate::transform::CropMode::Three`], three views per clip) is not wired into
//! the pipeline yet: it is refused with [`Problem::Usage`].

use mixcore::{Epilogue, FrameView, Geometry, Layout, MixSpec, Plan, PlanConfig};

use crate::damage::Damage;
use crate::device::{self, Device, MixFailure};
use crate::error::{Error, Problem, Result};
use crate::source::{ReaderOptions, Source};
use crate::transform::{ClipTransform, Resampler, Transform, flip_output};

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
    /// The output's shape in its layout.
    pub shape: [usize; 4],
    /// What was damaged in the input ([`Damage::is_clean`] unless
    /// [`MixRequest::allow_damaged`] let a damaged input through).
    pub damage: Damage,
    /// The rotation applied to the frames, in degrees clockwise (0, 90, 180 or 270; 0 when
    /// none or with autorotation off).
    pub rotation: i32,
    /// The clip's own frame size (displayed, before any resize).
    pub source_size: (u32, u32),
    /// The transform applied to every frame: the converter's size and the view's geometry.
    pub transform: ClipTransform,
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
    /// The output's shape in its layout.
    pub shape: [usize; 4],
    /// The output values, C order.
    pub data: Vec<f32>,
    /// What was damaged in the input ([`Damage::is_clean`] unless
    /// [`MixRequest::allow_damaged`] let a damaged input through).
    pub damage: Damage,
    /// The rotation applied to the frames, in degrees clockwise (0, 90, 180 or 270; 0 when
    /// none or with autorotation off).
    pub rotation: i32,
    /// The clip's own frame size (displayed, before any resize).
    pub source_size: (u32, u32),
    /// The transform applied to every frame: the converter's size and the view's geometry.
    pub transform: ClipTransform,
}

impl Mixed {
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

/// The one view of `source_size` under the request's transform, or the refusal.
fn clip_transform(
    path: &std::path::Path,
    req: &MixRequest<'_>,
    source_size: (u32, u32),
) -> Result<ClipTransform> {
    let views = req
        .transform
        .for_clip(source_size, req.plan.mode)
        .map_err(|e| Error::at(path, Problem::Usage(e.to_string())))?;
    match views[..] {
        [one] => Ok(one),
        _ => Err(Error::at(
            path,
            Problem::Usage(format!(
                "--crop-mode three makes {} views per clip, which the pipeline does not mix yet (use center)",
                views.len()
            )),
        )),
    }
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
    let clip = clip_transform(path, req, source_size)?;
    reader.set_size(clip.convert);
    let Some(converted) = reader.output_size() else {
        return Ok(Pass::Recount(0));
    };
    let view = clip.geometry;
    if converted != view.source {
        return Err(Error::at(
            path,
            Problem::Usage(format!(
                "the transform was planned for {}x{} frames, the reader writes {}x{}",
                view.source.0, view.source.1, converted.0, converted.1
            )),
        ));
    }
    let (width, height) = view.output_size();
    let geometry = Geometry::new(width, height, 3).map_err(|e| Error::mix(path, e))?;
    // A view that only crops starts at its first pixel of the converted frame.
    let crop_x = view.pre_crop.x as usize + view.crop.x as usize;
    let crop_y = view.pre_crop.y as usize + view.crop.y as usize;
    let mut resampler = view.resamples().then(Resampler::new);
    let len = mixcore::output_len(&plan, geometry).map_err(|e| Error::mix(path, e))?;
    let shape = req.layout.shape(plan.segments(), geometry);
    let out: &mut [f32] = match target {
        Target::Grow(data) => {
            // The mixer writes every value: only a longer output's new tail is initialised
            // here, so a reused buffer is not written twice.
            data.truncate(len);
            data.try_reserve_exact(len - data.len()).map_err(|_| {
                Error::at(
                    path,
                    Problem::Usage(format!("the output of {len} values does not fit in memory")),
                )
            })?;
            data.resize(len, 0.0f32);
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
        Target::Slice(out, _) if out.len() == len => out,
        Target::Slice(out, _) => {
            return Err(Error::at(
                path,
                Problem::BufferLength {
                    len: out.len(),
                    shape: shape.to_vec(),
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
    // Whole frames (no crop, no resample) are converted straight into the mixer's buffer
    // where the device has one (`push_with`): no copy of a converted frame.
    let whole = resampler.is_none() && (crop_x, crop_y) == (0, 0) && (width, height) == converted;
    let finished = device::mix_streaming(req.device, &plan, geometry, spec, out, &mut |sink| {
        let fill = whole && sink.can_fill();
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
                let frame = match resampler.as_mut() {
                    Some(r) => {
                        let pixels = r
                            .resample(rgb.data, rgb.stride, converted, &view)
                            .map_err(|e| Error::at(path, Problem::Usage(e.to_string())))?;
                        FrameView::packed(pixels, geometry)
                    }
                    None => {
                        let start = crop_y * rgb.stride + crop_x * 3;
                        let data = rgb.data.get(start..).unwrap_or_default();
                        FrameView::new(data, geometry, rgb.stride)
                    }
                }
                .map_err(|e| Error::mix(path, e))?;
                sink.push(d.index, &frame)
                    .map_err(|e| Error::at(path, e.into()))?;
            }
        }
        Ok(decoded == frames)
    })
    .map_err(|f| mix_failure(path, f))?;
    // Damage is judged before the count: frames lost to damage change the count too.
    let damage = reader.damage();
    if !damage.is_clean() && !req.allow_damaged {
        return Err(Error::at(path, Problem::Damaged { damage }));
    }
    if !finished {
        return Ok(Pass::Recount(decoded));
    }
    if view.flip {
        flip_output(out, req.layout, plan.segments(), geometry)
            .map_err(|e| Error::at(path, Problem::Usage(e.to_string())))?;
    }
    Ok(Pass::Done(MixedInfo {
        frames,
        counted,
        geometry,
        shape,
        damage,
        rotation: reader.orientation().degrees,
        source_size,
        transform: clip,
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
/// (`S * 3 * H * W` values, H and W the frames' size after the transform). On an error `out` holds
/// unspecified values.
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

/// The output shape of `source` under `req` (its transform), from its first frame alone (no
/// count, no plan): `[S, 3, H, W]` in the request's layout. What a batch of clips needs to
/// know before its first clip is mixed.
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
