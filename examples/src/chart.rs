//! Pictures without a plotting stack: an RGB canvas, a bar chart of the results and a grid of
//! mixed segments, written as PNG through the `png` crate (atomically: a temporary file that
//! is renamed into place only once it is complete).

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use mixcore::{Epilogue, Mode};

use crate::dataset::Clip;
use crate::error::{Error, Result};
use crate::font::glyph;
use crate::report::Summary;
use crate::variant::{Variant, mix_clip};

/// An RGB colour.
pub type Rgb = [u8; 3];

const BLACK: Rgb = [0, 0, 0];
const GREY: Rgb = [150, 150, 150];
const LIGHT: Rgb = [225, 225, 225];
/// Bar colours: TSN grey, the mixes in blues and oranges.
const BAR_COLOURS: [Rgb; 6] = [
    [140, 140, 140],
    [86, 180, 233],
    [0, 114, 178],
    [230, 159, 0],
    [213, 94, 0],
    [0, 158, 115],
];

/// An RGB image in memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Canvas {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl Canvas {
    /// A white canvas.
    #[must_use]
    pub fn new(width: usize, height: usize) -> Canvas {
        Canvas {
            width,
            height,
            pixels: vec![255; width * height * 3],
        }
    }

    /// Width in pixels.
    #[must_use]
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    #[must_use]
    pub fn height(&self) -> usize {
        self.height
    }

    /// The colour at `(x, y)`, if inside.
    #[must_use]
    pub fn get(&self, x: usize, y: usize) -> Option<Rgb> {
        (x < self.width && y < self.height).then(|| {
            let i = (y * self.width + x) * 3;
            [self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]]
        })
    }

    /// Sets `(x, y)`; points outside are ignored.
    pub fn set(&mut self, x: i64, y: i64, c: Rgb) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            let i = (y as usize * self.width + x as usize) * 3;
            self.pixels[i..i + 3].copy_from_slice(&c);
        }
    }

    /// Fills the rectangle `[x0, x1) x [y0, y1)` (clipped).
    pub fn fill(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, c: Rgb) {
        for y in y0.max(0)..y1.min(self.height as i64) {
            for x in x0.max(0)..x1.min(self.width as i64) {
                self.set(x, y, c);
            }
        }
    }

    /// A horizontal line, dashed when `dash > 0`.
    pub fn hline(&mut self, x0: i64, x1: i64, y: i64, c: Rgb, dash: i64) {
        for x in x0..x1 {
            if dash == 0 || (x - x0) / dash % 2 == 0 {
                self.set(x, y, c);
            }
        }
    }

    /// Pixels `text` takes horizontally at `scale`.
    #[must_use]
    pub fn text_width(text: &str, scale: i64) -> i64 {
        text.chars().count() as i64 * 6 * scale - scale
    }

    /// Draws `text` with its top-left corner at `(x, y)`, each font pixel `scale` pixels wide.
    /// Characters the font lacks are drawn as blanks.
    pub fn text(&mut self, x: i64, y: i64, text: &str, scale: i64, c: Rgb) {
        for (i, ch) in text.chars().enumerate() {
            let Some(rows) = glyph(ch) else { continue };
            let gx = x + i as i64 * 6 * scale;
            for (r, bits) in rows.iter().enumerate() {
                for col in 0..5 {
                    if bits & (0x10 >> col) != 0 {
                        let px = gx + col * scale;
                        let py = y + r as i64 * scale;
                        self.fill(px, py, px + scale, py + scale, c);
                    }
                }
            }
        }
    }

    /// `text` centred on `cx`.
    pub fn text_centred(&mut self, cx: i64, y: i64, text: &str, scale: i64, c: Rgb) {
        self.text(cx - Canvas::text_width(text, scale) / 2, y, text, scale, c);
    }

    /// Copies a grayscale image (`w x h` values in `[0, 255]`) scaled by `zoom` to `(x, y)`.
    pub fn blit_gray(&mut self, x: i64, y: i64, values: &[f32], w: usize, h: usize, zoom: i64) {
        for (i, v) in values.iter().take(w * h).enumerate() {
            let g = v.round().clamp(0.0, 255.0) as u8;
            let (px, py) = ((i % w) as i64, (i / w) as i64);
            self.fill(
                x + px * zoom,
                y + py * zoom,
                x + (px + 1) * zoom,
                y + (py + 1) * zoom,
                [g, g, g],
            );
        }
    }

    /// Writes the canvas as an 8-bit RGB PNG, atomically.
    ///
    /// # Errors
    /// [`Error::Io`] or [`Error::Png`] naming `path`.
    pub fn write_png(&self, path: &Path) -> Result<()> {
        let encode = |file: File| -> std::result::Result<(), png::EncodingError> {
            let mut enc =
                png::Encoder::new(BufWriter::new(file), self.width as u32, self.height as u32);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let mut writer = enc.write_header()?;
            writer.write_image_data(&self.pixels)?;
            writer.finish()
        };
        crate::output::write_atomic(path, |file| {
            encode(file).map_err(|source| Error::Png {
                path: path.to_path_buf(),
                source,
            })
        })
    }
}

/// The bar chart of mean top-1 per variant with ± one standard deviation, each seed's value
/// as a dot, and chance level dashed.
#[must_use]
pub fn bar_chart(summaries: &[Summary], title: &str, chance: f64) -> Canvas {
    let n = summaries.len().max(1) as i64;
    let (w, h) = ((70 + 24 + 140 * n).max(400), 460i64);
    let mut c = Canvas::new(w as usize, h as usize);
    let (left, right, top, bottom) = (70i64, w - 24, 70i64, h - 70);
    c.text_centred(w / 2, 12, title, 2, BLACK);
    let y_of =
        |v: f64| bottom - ((v.clamp(0.0, 100.0) / 100.0) * (bottom - top) as f64).round() as i64;
    for tick in (0..=100).step_by(20) {
        let y = y_of(f64::from(tick));
        c.hline(left, right, y, LIGHT, 0);
        let label = format!("{tick}");
        c.text(
            left - 10 - Canvas::text_width(&label, 2),
            y - 7,
            &label,
            2,
            BLACK,
        );
    }
    c.text(left - 40, top - 24, "TOP-1 %", 1, BLACK);
    c.fill(left, top, left + 1, bottom + 1, BLACK);
    c.hline(left, right, bottom, BLACK, 0);
    let slot = (right - left) / n;
    let bar = slot * 3 / 5;
    for (i, s) in summaries.iter().enumerate() {
        let colour = BAR_COLOURS[i % BAR_COLOURS.len()];
        let x0 = left + i as i64 * slot + (slot - bar) / 2;
        let cx = x0 + bar / 2;
        c.fill(x0, y_of(s.top1.mean), x0 + bar, bottom, colour);
        // Error bar: mean ± std.
        let (ylo, yhi) = (
            y_of(s.top1.mean - s.top1.std),
            y_of(s.top1.mean + s.top1.std),
        );
        c.fill(cx - 1, yhi, cx + 2, ylo + 1, BLACK);
        c.fill(cx - 8, yhi - 1, cx + 9, yhi + 2, BLACK);
        c.fill(cx - 8, ylo - 1, cx + 9, ylo + 2, BLACK);
        for r in &s.runs {
            let y = y_of(r.top1());
            c.fill(cx + 12, y - 2, cx + 17, y + 3, BLACK);
        }
        let label = format!("{:.1}", s.top1.mean);
        c.text_centred(cx, yhi - 22, &label, 2, BLACK);
        c.text_centred(cx, bottom + 10, s.variant.name(), 2, BLACK);
    }
    let yc = y_of(chance);
    c.hline(left, right, yc, GREY, 6);
    c.text(
        right - Canvas::text_width("CHANCE", 1),
        yc - 10,
        "CHANCE",
        1,
        GREY,
    );
    let seeds = summaries.first().map_or(0, |s| s.runs.len());
    let note = format!("BARS: MEAN OVER {seeds} SEEDS, WHISKERS: +- 1 STD, DOTS: EACH SEED");
    c.text_centred(w / 2, h - 24, &note, 1, BLACK);
    c
}

/// What each variant feeds the network for some clips: for each clip, a row of `segments`
/// images per variant (mixed by mixcore in test mode, raw scale), zoomed `zoom` times.
///
/// # Errors
/// mixcore's errors.
pub fn segment_grid(
    clips: &[&Clip],
    variants: &[Variant],
    segments: u32,
    zoom: i64,
) -> Result<Canvas> {
    let Some(first) = clips.first() else {
        return Ok(Canvas::new(1, 1));
    };
    let (w, h) = (
        first.geometry.width as usize,
        first.geometry.height as usize,
    );
    let (cell_w, cell_h) = (w as i64 * zoom + 6, h as i64 * zoom + 6);
    let (left, head) = (120i64, 30i64);
    let block = head + cell_h * variants.len() as i64 + 10;
    let mut c = Canvas::new(
        (left + cell_w * i64::from(segments) + 10) as usize,
        (10 + block * clips.len() as i64) as usize,
    );
    let mut out = vec![0.0f32; segments as usize * w * h];
    for (k, clip) in clips.iter().enumerate() {
        let top = 10 + k as i64 * block;
        let title = format!(
            "TEST CLIP: {} ({} FRAMES), THE {segments} IMAGES EACH VARIANT FEEDS THE NETWORK",
            clip.class.name(),
            clip.frames
        );
        c.text(10, top, &title, 1, BLACK);
        for i in 0..segments {
            let label = format!("SEG {i}");
            c.text_centred(
                left + i64::from(i) * cell_w + cell_w / 2,
                top + 14,
                &label,
                1,
                GREY,
            );
        }
        for (row, &v) in variants.iter().enumerate() {
            mix_clip(clip, v, segments, Mode::Test, Epilogue::Raw, &mut out)?;
            let y = top + head + row as i64 * cell_h;
            c.text(10, y + cell_h / 2 - 7, v.name(), 2, BLACK);
            for (i, image) in out.chunks_exact(w * h).enumerate() {
                c.blit_gray(left + i as i64 * cell_w + 3, y + 3, image, w, h, zoom);
            }
        }
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canvas_text_and_clipping() {
        let mut c = Canvas::new(40, 10);
        c.text(1, 1, "1", 1, BLACK);
        // '1' has its top row at column 2 only.
        assert_eq!(c.get(3, 1), Some(BLACK));
        assert_eq!(c.get(1, 1), Some([255, 255, 255]));
        c.fill(-5, -5, 100, 100, GREY);
        assert_eq!(c.get(39, 9), Some(GREY));
        assert_eq!(c.get(40, 0), None);
        assert_eq!(Canvas::text_width("ab", 2), 22);
    }

    #[test]
    fn png_round_trips() {
        let dir = std::env::temp_dir().join(format!("framemix-chart-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.png");
        let mut c = Canvas::new(7, 5);
        c.set(3, 2, [10, 20, 30]);
        c.write_png(&path).unwrap();
        let decoder = png::Decoder::new(std::io::BufReader::new(File::open(&path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (7, 5));
        assert_eq!(&buf[(2 * 7 + 3) * 3..(2 * 7 + 3) * 3 + 3], &[10, 20, 30]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn segment_grid_shows_the_tsn_centre_frame() {
        use crate::dataset::{Dataset, DatasetConfig};
        let d = Dataset::generate(&DatasetConfig {
            train_per_class: 1,
            test_per_class: 1,
            ..DatasetConfig::default()
        })
        .unwrap();
        let clip = &d.test[0];
        let c = segment_grid(&[clip], &[Variant::Tsn], 8, 1).unwrap();
        let plan =
            mixcore::Plan::new(clip.frames, &Variant::Tsn.plan_config(8, Mode::Test)).unwrap();
        let frame = clip.frame(plan.segment(0).unwrap().position(0));
        // Segment 0 of the first row starts at (120 + 3, 10 + 30 + 3).
        for (i, &v) in frame.iter().enumerate() {
            assert_eq!(c.get(123 + i % 32, 43 + i / 32), Some([v, v, v]));
        }
    }
}
