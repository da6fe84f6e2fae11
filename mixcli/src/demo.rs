//! `mixcli demo`: a short synthetic clip with moving objects, generated in code (no input, no
//! codec), mixed with the default plan; writes the tensor, the preview of the mixed frames,
//! a sheet of the source frames at the segment centres for comparison, and the plan.

use std::path::Path;

use mixcore::{Epilogue, FrameView, Geometry, Layout, MixSpec, Plan, PlanConfig};

use crate::device::{self, Device, MixFailure};
use crate::error::{Error, Problem, Result};
use crate::{atomic, json, npy, preview};

/// Frames in the demo clip (2 s at 24 fps).
pub const FRAMES: u32 = 48;
/// Width of the demo clip.
pub const WIDTH: u32 = 192;
/// Height of the demo clip.
pub const HEIGHT: u32 = 128;

/// Draws frame `f` of the demo clip into `rgb` (`WIDTH * HEIGHT * 3` bytes): a red disc
/// crossing from left to right, a green square falling, a blue bar sliding back, over a
/// soft vertical gradient.
pub fn draw_frame(f: u32, rgb: &mut [u8]) {
    let t = f as f32 / (FRAMES - 1) as f32;
    let (w, h) = (WIDTH as f32, HEIGHT as f32);
    let disc = (16.0 + t * (w - 32.0), h * 0.35);
    let square = (w * 0.7, 10.0 + t * (h - 36.0));
    let bar_x = w - 20.0 - t * (w - 40.0);
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
            let shade = (40.0 + 50.0 * fy / h) as u8;
            let mut px = [shade / 2, shade / 2, shade];
            let dx = fx - disc.0;
            let dy = fy - disc.1;
            if dx * dx + dy * dy <= 14.0 * 14.0 {
                px = [230, 40, 40];
            }
            if (fx - square.0).abs() <= 11.0 && (fy - square.1).abs() <= 11.0 {
                px = [40, 210, 60];
            }
            if (fx - bar_x).abs() <= 4.0 && fy > h * 0.6 && fy < h * 0.95 {
                px = [60, 90, 240];
            }
            let i = (y * WIDTH + x) as usize * 3;
            if let Some(dst) = rgb.get_mut(i..i + 3) {
                dst.copy_from_slice(&px);
            }
        }
    }
}

/// Runs the demo into `out_dir` (created if missing) and prints what it wrote.
///
/// # Errors
/// The folder cannot be created or written.
pub fn run(out_dir: &Path) -> Result<()> {
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, "creating", e))?;
    let config = PlanConfig::default();
    let plan = Plan::new(FRAMES, &config).map_err(|e| Error::mix(out_dir, e))?;
    let geometry = Geometry::new(WIDTH, HEIGHT, 3).map_err(|e| Error::mix(out_dir, e))?;
    let spec = MixSpec::default();
    let len = mixcore::output_len(&plan, geometry).map_err(|e| Error::mix(out_dir, e))?;
    let mut out = vec![0.0f32; len];
    let frame_len = (WIDTH * HEIGHT * 3) as usize;
    let mut frame = vec![0u8; frame_len];
    // The source frame at the centre of each window, for the comparison sheet (thwc).
    let mut centres = vec![0.0f32; len];
    let centre_of: Vec<u32> = plan
        .iter()
        .map(|s| {
            let w = s.window();
            w.lo + (w.hi - w.lo) / 2
        })
        .collect();
    device::mix_streaming(Device::Cpu, &plan, geometry, spec, &mut out, &mut |sink| {
        for f in 0..FRAMES {
            draw_frame(f, &mut frame);
            for (s, _) in centre_of.iter().enumerate().filter(|(_, c)| **c == f) {
                let dst = &mut centres[s * frame_len..(s + 1) * frame_len];
                for (d, &v) in dst.iter_mut().zip(&frame) {
                    *d = f32::from(v);
                }
            }
            if sink.is_needed(f) {
                let view =
                    FrameView::packed(&frame, geometry).map_err(|e| Error::mix(out_dir, e))?;
                sink.push(f, &view)
                    .map_err(|e| Error::at(out_dir, Problem::Data(e.into())))?;
            }
        }
        Ok(true)
    })
    .map_err(|f| match f {
        MixFailure::Device(reason) => {
            Error::at(out_dir, Problem::Data(mixdata::Problem::Device { reason }))
        }
        MixFailure::Mix(e) => Error::mix(out_dir, e),
        MixFailure::Feed(e) => e,
    })?;

    let npy_path = out_dir.join("demo.npy");
    let preview_path = out_dir.join("demo.png");
    let source_path = out_dir.join("source.png");
    let plan_path = out_dir.join("plan.json");
    let shape = spec.layout.shape(plan.segments(), geometry);
    npy::write_f32(&npy_path, &shape, &out)?;
    preview::write_png(
        &preview_path,
        &out,
        spec.layout,
        &Epilogue::Raw,
        plan.segments(),
        geometry,
    )?;
    preview::write_png(
        &source_path,
        &centres,
        Layout::Thwc,
        &Epilogue::Raw,
        plan.segments(),
        geometry,
    )?;
    let plan_json = json::line(&serde_json::json!({
        "frames": FRAMES,
        "width": WIDTH,
        "height": HEIGHT,
        "segments": json::segments(&plan),
        "schedule": "linear",
        "select": "spread",
        "layout": "tchw",
        "scale": "raw",
    }));
    atomic::write_all(&plan_path, plan_json.as_bytes())?;

    println!(
        "demo: synthesised {FRAMES} frames of {WIDTH}x{HEIGHT} (a red disc crossing, a green square falling, a blue bar sliding back)"
    );
    println!(
        "demo: mixed them with the default plan: {} segments of {} frames, linear weights 1..{} over {}",
        plan.segments(),
        FRAMES / plan.segments(),
        FRAMES / plan.segments(),
        plan.segment(0)
            .map_err(|e| Error::mix(out_dir, e))?
            .denominator()
    );
    println!(
        "wrote {} (float32 {:?}, tchw, raw 0-255)",
        npy_path.display(),
        shape
    );
    println!(
        "wrote {} (the {} mixed frames)",
        preview_path.display(),
        plan.segments()
    );
    println!(
        "wrote {} (the centre frame of each segment, for comparison)",
        source_path.display()
    );
    println!(
        "wrote {} (frames, numerators and denominator per segment)",
        plan_path.display()
    );
    Ok(())
}
