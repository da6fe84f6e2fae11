//! `mixcli info`: what an input is and what the plan does with it.

use std::fmt::Write;

use mixcore::Plan;
use serde_json::json;

use crate::args::InfoArgs;
use crate::error::{Error, Problem, Result};
use crate::json;
use crate::mixing;
use mixdata::Source;

/// Runs `mixcli info` and returns what to print.
///
/// # Errors
/// Every input error; mixcore's refusal of the plan.
pub fn run(args: &InfoArgs) -> Result<String> {
    // As `mix` plans it: clip 0, with --epoch.
    let config = args.data.plan_for(args.plan.config()?, 0);
    let template = args.data.template(None)?;
    let input = Source::open_with(
        &args.input,
        &mixdata::OpenOptions {
            template: template.as_ref(),
            ..mixdata::OpenOptions::default()
        },
    )?;
    let path = input.path().to_path_buf();
    let video = match &input {
        Source::Video(p) => Some(mixdata::probe(p)?),
        Source::Frames(_) => None,
    };
    let counted = input.count()?;
    let autorotate = !args.no_autorotate;
    let (frames, (width, height), damage) = if args.quick {
        let mut reader = input.reader(&mixdata::ReaderOptions {
            threads: 0,
            size: None,
            autorotate,
        })?;
        let size = reader
            .peek_size()?
            .ok_or_else(|| Error::at(&path, Problem::Data(mixdata::Problem::ZeroFrames)))?;
        (counted, size, None)
    } else {
        let (frames, size, damage) = mixing::decode_count(&input, 0, autorotate)?;
        (frames, size, Some(damage))
    };
    // Degrees clockwise the frames are turned by (0 with --no-autorotate), and what the
    // stream's display matrix asks for.
    let stored_rotation = video.as_ref().map_or(0, |v| v.orientation.degrees);
    let rotation = if autorotate { stored_rotation } else { 0 };
    if frames == 0 {
        return Err(Error::at(
            &path,
            Problem::Data(mixdata::Problem::ZeroFrames),
        ));
    }
    let plan = Plan::new(frames, &config).map_err(|e| Error::mix(&path, e))?;
    let rate = video.as_ref().and_then(|v| v.frame_rate);
    if args.json {
        let mut object = json!({
            "frames": frames,
            "width": width,
            "height": height,
            "segments": json::segments(&plan),
            "input": path.to_string_lossy(),
            "kind": if video.is_some() { "video" } else { "frames" },
            "counted": counted,
            "frames_exact": !args.quick,
            "rotation": rotation,
            "display_rotation": stored_rotation,
            "damage": damage.as_ref().map(|d| json!({
                "clean": d.is_clean(),
                "frames": d.frames,
                "lost": d.lost,
                "errors": d.errors,
                "description": d.description(),
            })),
        });
        if let (Some(v), Some(fields)) = (&video, object.as_object_mut()) {
            fields.insert("container".into(), json!(v.container));
            fields.insert("codec".into(), json!(v.codec));
            fields.insert("frame_rate".into(), json!(rate.map(|(n, d)| [n, d])));
            fields.insert("header_frames".into(), json!(v.header_frames));
            fields.insert("duration_s".into(), json!(v.duration_s));
        }
        return Ok(json::line(&object));
    }
    let mut s = String::new();
    let _ = writeln!(s, "input:      {}", path.display());
    match &video {
        Some(v) => {
            let _ = writeln!(s, "kind:       video ({}, {})", v.codec, v.container);
        }
        None => {
            let _ = writeln!(s, "kind:       frame folder");
        }
    }
    let _ = writeln!(
        s,
        "frames:     {frames}{}",
        if args.quick {
            " (packet count, not decoded)".to_string()
        } else {
            match video.as_ref().and_then(|v| v.header_frames) {
                Some(h) if h != u64::from(frames) => {
                    format!(" (decoded; the header says {h}, {counted} packets)")
                }
                _ => " (decoded)".to_string(),
            }
        }
    );
    let _ = writeln!(s, "size:       {width}x{height}");
    if stored_rotation != 0 {
        let _ = writeln!(
            s,
            "rotation:   {stored_rotation} degrees clockwise (display matrix){}",
            if autorotate {
                ", applied"
            } else {
                ", not applied (--no-autorotate)"
            }
        );
    }
    if let Some(d) = damage.as_ref().filter(|d| !d.is_clean()) {
        let _ = writeln!(s, "damage:     {d}");
    }
    if let Some(v) = &video {
        match rate {
            Some((n, d)) => {
                let _ = writeln!(
                    s,
                    "frame rate: {:.3} fps ({n}/{d})",
                    f64::from(n) / f64::from(d)
                );
            }
            None => {
                let _ = writeln!(s, "frame rate: unknown");
            }
        }
        if let Some(d) = v.duration_s {
            let _ = writeln!(s, "duration:   {d:.3} s");
        }
    }
    let _ = writeln!(
        s,
        "plan:       {} segments, k = {}, {:?} selection, {:?} schedule, {:?} mode",
        plan.segments(),
        match config.k {
            mixcore::FramesPerSegment::All => "all".to_string(),
            mixcore::FramesPerSegment::Fixed(k) => k.to_string(),
        },
        config.selection,
        match config.schedule {
            mixcore::Schedule::Custom(_) => mixcore::Schedule::Custom(&[]),
            other => other,
        },
        config.mode
    );
    for seg in plan.iter() {
        let w = seg.window();
        let positions: Vec<String> = seg.positions().map(|p| p.to_string()).collect();
        let numerators: Vec<String> = seg.numerators().map(|n| n.to_string()).collect();
        let _ = writeln!(
            s,
            "segment {:>3}: window [{}, {}) frames {} numerators {} / {}",
            seg.index(),
            w.lo,
            w.hi,
            positions.join(" "),
            numerators.join(" "),
            seg.denominator()
        );
    }
    Ok(s)
}
