//! The preview: a PNG grid of the S mixed frames, for people to look at.
//!
//! Tiles are laid out left to right, top to bottom, in segment order, separated by a 2-pixel
//! black gap. With three crops each view has its grid, one below the other in view order,
//! separated by a gap of 4 [`GAP`]s. Values are shown on the raw scale (the epilogue is undone, `V = 255 * y` for
//! `unit`, `V = 255 * (y * std + mean)` for `normalize`), rounded to the nearest integer and
//! clamped to `[0, 255]`: a picture, not data (use the `.npy` for numbers).

use std::path::Path;

use mixcore::{Epilogue, Geometry, Layout};

use crate::atomic::Output;
use crate::error::{Error, Result};

/// Pixels between tiles.
pub const GAP: u32 = 2;

/// Columns of the grid for `segments` tiles: 4 for the usual 8 (two rows of four), about
/// square for more.
#[must_use]
pub fn columns(segments: u32) -> u32 {
    if segments <= 8 {
        segments.min(4)
    } else {
        // ceil(sqrt(segments)) without floating point.
        let mut c = 1u32;
        while c.saturating_mul(c) < segments {
            c += 1;
        }
        c
    }
}

fn to_raw(y: f32, c: usize, epilogue: &Epilogue) -> u8 {
    let v = epilogue.unapply(y, c);
    // `as` saturates and maps NaN to 0.
    v.round_ties_even().clamp(0.0, 255.0) as u8
}

/// Renders the grid: returns (width, height, interleaved bytes with `geometry.channels`
/// channels).
///
/// # Errors
/// An output whose length does not match `segments` and `geometry`, a grid too large for PNG.
pub fn render(
    out: &[f32],
    layout: Layout,
    epilogue: &Epilogue,
    segments: u32,
    geometry: Geometry,
) -> Result<(u32, u32, Vec<u8>)> {
    let expected =
        Layout::output_len(segments, geometry).map_err(|e| Error::usage(e.to_string()))?;
    if out.len() != expected || segments == 0 {
        return Err(Error::usage(format!(
            "internal: preview of {} values, {expected} expected",
            out.len()
        )));
    }
    let cols = columns(segments);
    let rows = segments.div_ceil(cols);
    let too_big = || Error::usage("the preview grid is too large for a PNG");
    let gw = cols
        .checked_mul(geometry.width)
        .and_then(|w| w.checked_add((cols - 1) * GAP))
        .ok_or_else(too_big)?;
    let gh = rows
        .checked_mul(geometry.height)
        .and_then(|h| h.checked_add((rows - 1) * GAP))
        .ok_or_else(too_big)?;
    let ch = geometry.channels as usize;
    let row_bytes = (gw as usize).checked_mul(ch).ok_or_else(too_big)?;
    let mut img = vec![0u8; row_bytes.checked_mul(gh as usize).ok_or_else(too_big)?];
    for s in 0..segments {
        let (tx, ty) = (
            (s % cols) * (geometry.width + GAP),
            (s / cols) * (geometry.height + GAP),
        );
        for y in 0..geometry.height {
            let line = (ty + y) as usize * row_bytes;
            for x in 0..geometry.width {
                for c in 0..geometry.channels {
                    let v = out[layout.index(segments, geometry, s, y, x, c)];
                    img[line + (tx + x) as usize * ch + c as usize] =
                        to_raw(v, c as usize, epilogue);
                }
            }
        }
    }
    Ok((gw, gh, img))
}

/// Writes the preview grid of a mix to `path` as PNG, atomically (or to standard output for
/// `-`).
///
/// # Errors
/// As [`render`], and I/O failures (no file is left at `path`).
pub fn write_png(
    path: &Path,
    out: &[f32],
    layout: Layout,
    epilogue: &Epilogue,
    segments: u32,
    geometry: Geometry,
) -> Result<()> {
    encode_png(path, out, layout, epilogue, segments, geometry)?.commit()
}

/// Renders the grid of each of `views` views (`out` holds them one after the other), one below
/// the other, `4 * GAP` black rows apart: returns (width, height, interleaved bytes).
///
/// # Errors
/// As [`render`]; no views, or an output that does not split into `views` equal parts.
pub fn render_views(
    out: &[f32],
    views: usize,
    layout: Layout,
    epilogue: &Epilogue,
    segments: u32,
    geometry: Geometry,
) -> Result<(u32, u32, Vec<u8>)> {
    if views == 0 || !out.len().is_multiple_of(views) {
        return Err(Error::usage(format!(
            "internal: preview of {} values in {views} views",
            out.len()
        )));
    }
    let mut grids = out.chunks_exact(out.len() / views);
    let Some(first) = grids.next() else {
        return render(out, layout, epilogue, segments, geometry);
    };
    let (w, h, mut img) = render(first, layout, epilogue, segments, geometry)?;
    let gap = vec![0u8; (w as usize) * geometry.channels as usize * (4 * GAP) as usize];
    let mut height = h;
    for grid in grids {
        let (_, h_view, view) = render(grid, layout, epilogue, segments, geometry)?;
        img.extend_from_slice(&gap);
        img.extend_from_slice(&view);
        height = height
            .checked_add(4 * GAP + h_view)
            .ok_or_else(|| Error::usage("the preview grid is too large for a PNG"))?;
    }
    Ok((w, height, img))
}

/// Encodes the preview grid of a mix as PNG into an [`Output`] for `path` and returns it
/// uncommitted: the caller commits it (the file appears) or drops it (nothing appears).
///
/// # Errors
/// As [`render`], and I/O failures.
pub fn encode_png(
    path: &Path,
    out: &[f32],
    layout: Layout,
    epilogue: &Epilogue,
    segments: u32,
    geometry: Geometry,
) -> Result<Output> {
    encode_png_views(path, out, 1, layout, epilogue, segments, geometry)
}

/// As [`encode_png`] for an output of `views` views ([`render_views`]: three crops).
///
/// # Errors
/// As [`render_views`], and I/O failures.
pub fn encode_png_views(
    path: &Path,
    out: &[f32],
    views: usize,
    layout: Layout,
    epilogue: &Epilogue,
    segments: u32,
    geometry: Geometry,
) -> Result<Output> {
    let (w, h, img) = render_views(out, views, layout, epilogue, segments, geometry)?;
    let color = match geometry.channels {
        1 => png::ColorType::Grayscale,
        2 => png::ColorType::GrayscaleAlpha,
        3 => png::ColorType::Rgb,
        _ => png::ColorType::Rgba,
    };
    let mut file = Output::create(path)?;
    let png_err = |e: png::EncodingError| match e {
        png::EncodingError::IoError(io) => Error::io(path, "writing", io),
        other => Error::io(path, "writing", std::io::Error::other(other.to_string())),
    };
    {
        let mut encoder = png::Encoder::new(&mut file, w, h);
        encoder.set_color(color);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(png_err)?;
        writer.write_image_data(&img).map_err(png_err)?;
        writer.finish().map_err(png_err)?;
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_suit_common_segment_counts() {
        assert_eq!(columns(1), 1);
        assert_eq!(columns(3), 3);
        assert_eq!(columns(8), 4);
        assert_eq!(columns(16), 4);
        assert_eq!(columns(17), 5);
    }

    #[test]
    fn render_undoes_the_epilogue() {
        let g = Geometry::new(1, 1, 3).unwrap();
        // Two segments, tchw: [s][c][h][w].
        let raw = [10.0f32, 20.0, 30.0, 100.5, 254.6, 0.2];
        let (w, h, img) = render(&raw, Layout::Tchw, &Epilogue::Raw, 2, g).unwrap();
        assert_eq!((w, h), (1 + GAP + 1, 1));
        assert_eq!(&img[..3], &[10, 20, 30]);
        assert_eq!(&img[(1 + GAP as usize) * 3..], &[100, 255, 0]);
        let unit: Vec<f32> = raw.iter().map(|v| v / 255.0).collect();
        let (_, _, img2) = render(&unit, Layout::Tchw, &Epilogue::Unit, 2, g).unwrap();
        assert_eq!(img, img2);
    }

    #[test]
    fn render_views_stacks_each_views_grid() {
        let g = Geometry::new(1, 1, 3).unwrap();
        // Three views of two segments, tchw: [v][s][c][h][w].
        let raw: Vec<f32> = (0..18).map(|v| v as f32).collect();
        let (w, h, img) = render_views(&raw, 3, Layout::Tchw, &Epilogue::Raw, 2, g).unwrap();
        assert_eq!((w, h), (1 + GAP + 1, 3 + 2 * 4 * GAP));
        let row = w as usize * 3;
        for v in 0..3usize {
            let (_, _, one) =
                render(&raw[v * 6..(v + 1) * 6], Layout::Tchw, &Epilogue::Raw, 2, g).unwrap();
            let at = v * (1 + 4 * GAP as usize) * row;
            assert_eq!(&img[at..at + row], &one[..]);
        }
        assert!(
            img[row..row * (1 + 4 * GAP as usize)]
                .iter()
                .all(|&b| b == 0)
        );
        assert!(render_views(&raw, 4, Layout::Tchw, &Epilogue::Raw, 2, g).is_err());
    }
}
