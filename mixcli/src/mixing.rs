//! The wiring of one input: count, plan, decode and mix in one streaming pass (re-planned
//! once if the decoder disagrees with the count), then write.

use std::path::Path;

use mixcore::{Epilogue, FrameView, Geometry, Layout, MixSpec, Plan, PlanConfig};

pub use crate::decode::Damage;
use crate::device::{self, Device, MixFailure};
use crate::error::{Error, Problem, Result};
use crate::input::Input;
use crate::{npy, preview};

/// Everything about a mix besides the input.
#[derive(Clone, Copy, Debug)]
pub struct MixRequest<'a> {
    /// The plan options.
    pub plan: PlanConfig<'a>,
    /// Output layout.
    pub layout: Layout,
    /// Output scale.
    pub epilogue: Epilogue,
    /// Resize every frame to (width, height) before mixing; `None`: keep the input's size.
    pub size: Option<(u32, u32)>,
    /// Where the mixing runs.
    pub device: Device,
    /// Decoder threads per video (0: FFmpeg decides).
    pub threads: usize,
    /// Apply the stream's display matrix (rotation by 90/180/270 degrees, flips) as the
    /// `ffmpeg` program does. Default: true (`--no-autorotate` clears it).
    pub autorotate: bool,
    /// Accept damaged input (decoder errors, concealed or lost frames) and report it in
    /// [`Mixed::damage`] instead of failing. Default: false (`--allow-damaged` sets it).
    pub allow_damaged: bool,
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
}

enum Pass {
    Done(Mixed),
    /// The decoder produced this many frames, not the plan's count.
    Recount(u32),
}

fn mix_failure(path: &Path, failure: MixFailure<Error>) -> Error {
    match failure {
        MixFailure::Device(reason) => Error::at(path, Problem::Device { reason }),
        MixFailure::Mix(e) => Error::mix(path, e),
        MixFailure::Feed(e) => e,
    }
}

fn one_pass(input: &Input, req: &MixRequest<'_>, frames: u32, counted: u32) -> Result<Pass> {
    let path = input.path();
    let plan = Plan::new(frames, &req.plan).map_err(|e| Error::mix(path, e))?;
    let mut reader = input.reader_with(req.threads, req.size, req.autorotate)?;
    let Some((width, height)) = reader.peek_size()? else {
        return Ok(Pass::Recount(0));
    };
    let geometry = Geometry::new(width, height, 3).map_err(|e| Error::mix(path, e))?;
    let len = mixcore::output_len(&plan, geometry).map_err(|e| Error::mix(path, e))?;
    let mut data = Vec::new();
    data.try_reserve_exact(len).map_err(|_| {
        Error::at(
            path,
            Problem::Usage(format!("the output of {len} values does not fit in memory")),
        )
    })?;
    data.resize(len, 0.0f32);
    let mut decoded = 0u32;
    let spec = MixSpec {
        layout: req.layout,
        epilogue: req.epilogue,
        ..MixSpec::default()
    };
    let finished =
        device::mix_streaming(req.device, &plan, geometry, spec, &mut data, &mut |sink| {
            while let Some(d) = reader.next_frame(|f| f < frames && sink.is_needed(f))? {
                decoded = d.index + 1;
                if let Some(rgb) = d.rgb {
                    let view = FrameView::new(rgb.data, geometry, rgb.stride)
                        .map_err(|e| Error::mix(path, e))?;
                    sink.push(d.index, &view)
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
    Ok(Pass::Done(Mixed {
        frames,
        counted,
        geometry,
        shape: req.layout.shape(plan.segments(), geometry),
        data,
        damage,
        rotation: reader.orientation().degrees,
    }))
}

/// Mixes `input`: counts its frames cheaply, plans, and decodes and mixes in one streaming
/// pass; if the number of frames that decode differs from the count, plans again with the
/// true count and decodes again. Memory is the output and the mixer's accumulators, flat in F.
///
/// # Errors
/// Every input error (not found, not a video, no video stream, truncated, zero frames,
/// unreadable frame, mismatched frame sizes), mixcore's refusals of the plan, the device's.
pub fn mix_input(input: &Input, req: &MixRequest<'_>) -> Result<Mixed> {
    let path = input.path();
    let counted = input.count()?;
    let mut frames = counted;
    for pass in 0..2 {
        if frames == 0 {
            return Err(Error::at(path, Problem::ZeroFrames));
        }
        match one_pass(input, req, frames, counted)? {
            Pass::Done(mixed) => return Ok(mixed),
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

/// Decodes every frame of `input` without colour conversion and returns the true frame count,
/// the frames' displayed size (turned by the display matrix when `autorotate`) and the damage
/// seen (what `info` reports).
///
/// # Errors
/// Every input error.
pub fn decode_count(
    input: &Input,
    threads: usize,
    autorotate: bool,
) -> Result<(u32, (u32, u32), Damage)> {
    let mut reader = input.reader_with(threads, None, autorotate)?;
    let Some(size) = reader.peek_size()? else {
        return Err(Error::at(input.path(), Problem::ZeroFrames));
    };
    let mut frames = 0;
    while let Some(d) = reader.next_frame(|_| false)? {
        frames = d.index + 1;
    }
    Ok((frames, size, reader.damage()))
}

/// Writes a finished mix, each file atomically: the preview (when asked) is encoded first and
/// renamed into place only after the `.npy`, so a failed input leaves no output file and never
/// touches an older one.
///
/// # Errors
/// I/O errors naming the output file.
pub fn write_outputs(
    mixed: &Mixed,
    req: &MixRequest<'_>,
    npy_path: &Path,
    preview_path: Option<&Path>,
) -> Result<()> {
    // The preview is encoded first and committed last: if the `.npy` cannot be written, the
    // preview's temporary file is dropped and nothing (not even an older preview) changes.
    let preview = preview_path
        .map(|png| {
            preview::encode_png(
                png,
                &mixed.data,
                req.layout,
                &req.epilogue,
                req.plan.segments,
                mixed.geometry,
            )
        })
        .transpose()?;
    npy::write_f32(npy_path, &mixed.shape, &mixed.data)?;
    if let Some(preview) = preview {
        preview.commit()?;
    }
    Ok(())
}
