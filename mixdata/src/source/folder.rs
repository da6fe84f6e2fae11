//! Frame folders: a directory of JPEG or PNG frames ordered by the number in their names
//! (`1.jpg < 2.jpg < 10.jpg`, `00001.jpg`, `img_00012.png`), as frame-folder datasets ship
//! (Something-Something, UCF/HMDB extractions).
//!
//! Each file is decoded by FFmpeg's own JPEG (`mjpeg`) or PNG decoder, fed the file's bytes as
//! one packet: no demuxer, no probing, one decoder context per format for the whole folder.
//! The same decoders and the same RGB24 conversion as for videos, so a folder and the MJPEG
//! video made from it give the same pixels.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use ffmpeg::codec;
use ffmpeg::util::frame;
use ffmpeg_next as ffmpeg;

use super::{FrameDecoder, video};
use crate::damage::Damage;
use crate::error::{Error, Problem, Result};
use crate::template::FrameTemplate;

/// The extensions of frame files, compared without case.
pub const FRAME_EXTENSIONS: [&str; 3] = ["jpg", "jpeg", "png"];

/// A listed frame folder: its frames in order.
#[derive(Clone, Debug)]
pub struct FrameFolder {
    /// The folder.
    pub dir: PathBuf,
    /// Its frame files, ordered by the number in their names.
    pub files: Vec<PathBuf>,
}

/// True when `path` has one of the [`FRAME_EXTENSIONS`].
#[must_use]
pub fn has_frame_extension(path: &Path) -> bool {
    path.extension()
        .and_then(OsStr::to_str)
        .is_some_and(|e| FRAME_EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

fn is_hidden(name: &OsStr) -> bool {
    name.as_encoded_bytes().first() == Some(&b'.')
}

/// The frame number of a file: the last run of ASCII digits in its name without the extension
/// (`00012.jpg` -> 12, `img_7.png` -> 7, `frame-3-of-9.jpg` -> 9).
///
/// ```
/// use std::path::Path;
/// use mixdata::source::folder::frame_number;
/// assert_eq!(frame_number(Path::new("clip/img_00012.jpg")), Some(12));
/// assert!(frame_number(Path::new("2.jpg")) < frame_number(Path::new("10.jpg")));
/// assert_eq!(frame_number(Path::new("cover.jpg")), None);
/// ```
#[must_use]
pub fn frame_number(path: &Path) -> Option<u128> {
    let stem = path.file_stem()?.as_encoded_bytes();
    let end = stem.iter().rposition(u8::is_ascii_digit)? + 1;
    let start = stem[..end]
        .iter()
        .rposition(|b| !b.is_ascii_digit())
        .map_or(0, |p| p + 1);
    let digits = &stem[start..end];
    // Leading zeros do not count against the u128 range.
    let digits = match digits.iter().position(|&b| b != b'0') {
        Some(p) => &digits[p..],
        None => &digits[digits.len() - 1..],
    };
    if digits.len() > 38 {
        return None;
    }
    digits.iter().try_fold(0u128, |n, &d| {
        n.checked_mul(10)?.checked_add(u128::from(d - b'0'))
    })
}

/// File extensions of video files, compared without case: a folder holding one is not a
/// frame folder, and `batch` takes such files as inputs when it searches folders (a path
/// given explicitly is taken whatever its extension).
pub const VIDEO_EXTENSIONS: [&str; 16] = [
    "mp4", "m4v", "mov", "webm", "mkv", "avi", "mpg", "mpeg", "ts", "mts", "flv", "ogv", "wmv",
    "3gp", "gif", "mxf",
];

/// True when `path` has one of the [`VIDEO_EXTENSIONS`].
#[must_use]
pub fn has_video_extension(path: &Path) -> bool {
    path.extension()
        .and_then(OsStr::to_str)
        .is_some_and(|e| VIDEO_EXTENSIONS.iter().any(|v| e.eq_ignore_ascii_case(v)))
}

/// What a directory holds, as far as inputs go (see [`classify`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirKind {
    /// Frame images and nothing that says otherwise: a frame folder.
    Frames,
    /// Frame images beside a video file, a sub-folder or a `.npy` or `.safetensors` file: not
    /// a frame folder.
    /// `batch` searches it like any folder (its images are not inputs); `mix`, given it
    /// directly, lists it as a frame folder, which fails naming the entry that is not a frame.
    Mixed,
    /// No frame images: a folder of inputs (or of nothing).
    Other,
}

/// Whether `dir` is a frame folder. Hidden entries (`.name`) are ignored. The rule:
///
/// - no `.jpg`, `.jpeg` or `.png` file: [`DirKind::Other`];
/// - frame images and also a video file ([`VIDEO_EXTENSIONS`]), a sub-folder, or a `.npy` or
///   `.safetensors` file (what mixcli writes: a folder of outputs and previews is never a
///   frame folder):
///   [`DirKind::Mixed`], so a stray cover image never hides the videos beside it;
/// - otherwise [`DirKind::Frames`]; any other stray file makes listing it fail, naming the
///   file ([`FrameFolder::list`]), rather than changing the frame count silently.
///
/// # Errors
/// The directory cannot be read.
pub fn classify(dir: &Path) -> Result<DirKind> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, "opening", e))?;
    let (mut images, mut other_kind) = (false, false);
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, "listing", e))?;
        if is_hidden(&entry.file_name()) {
            continue;
        }
        let path = entry.path();
        let is_npy = path.extension().is_some_and(|e| {
            e.eq_ignore_ascii_case("npy") || e.eq_ignore_ascii_case("safetensors")
        });
        if path.is_dir() || has_video_extension(&path) || is_npy {
            other_kind = true;
        } else if has_frame_extension(&path) && path.is_file() {
            images = true;
        }
        if images && other_kind {
            return Ok(DirKind::Mixed);
        }
    }
    Ok(if images {
        DirKind::Frames
    } else {
        DirKind::Other
    })
}

impl FrameFolder {
    /// Lists the frames of `dir`, ordered by their numbers. Hidden files (`.name`) are
    /// ignored; any other entry that is not a numbered frame file is an error, so a stray
    /// file never shifts the frame count silently.
    ///
    /// # Errors
    /// Not found, unreadable, an empty folder ([`Problem::ZeroFrames`]), a file that is not a
    /// frame ([`Problem::NotAFrame`]), a sub-folder, two files with the same number.
    pub fn list(dir: &Path) -> Result<Self> {
        let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, "opening", e))?;
        let mut numbered: Vec<(u128, PathBuf)> = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(dir, "listing", e))?;
            if is_hidden(&entry.file_name()) {
                continue;
            }
            let path = entry.path();
            if path.is_dir() {
                return Err(Error::at(
                    dir,
                    Problem::NotAnInput {
                        reason: format!(
                            "a frame folder must hold only frames, but '{}' is a sub-folder",
                            entry.file_name().to_string_lossy()
                        ),
                    },
                ));
            }
            if !has_frame_extension(&path) {
                return Err(Error::at(
                    dir,
                    Problem::NotAFrame {
                        file: path,
                        reason: "not a .jpg, .jpeg or .png file",
                    },
                ));
            }
            let Some(number) = frame_number(&path) else {
                return Err(Error::at(
                    dir,
                    Problem::NotAFrame {
                        file: path,
                        reason: "its name carries no frame number",
                    },
                ));
            };
            numbered.push((number, path));
        }
        if numbered.is_empty() {
            return Err(Error::at(dir, Problem::ZeroFrames));
        }
        numbered.sort();
        for pair in numbered.windows(2) {
            if pair[0].0 == pair[1].0 {
                return Err(Error::at(
                    dir,
                    Problem::DuplicateFrameNumber {
                        number: pair[0].0,
                        first: pair[0].1.clone(),
                        second: pair[1].1.clone(),
                    },
                ));
            }
        }
        if u32::try_from(numbered.len()).is_err() {
            return Err(Error::at(dir, Problem::TooManyFrames));
        }
        Ok(FrameFolder {
            dir: dir.to_path_buf(),
            files: numbered.into_iter().map(|(_, p)| p).collect(),
        })
    }

    /// Lists the frames of `dir` named by `template`: the files whose names the template
    /// writes exactly (see [`FrameTemplate`]), which must be numbered `start`, `start + 1`, ...
    /// with no gap. Every other entry (flow frames `flow_x_00001.jpg` beside `img_00001.jpg`,
    /// `Thumbs.db`, hidden files, sub-folders) is ignored.
    ///
    /// # Errors
    /// Not found, unreadable, no file matching ([`Problem::NoMatchingFrames`]), a matching
    /// entry that is a folder ([`Problem::NotAFrame`]), a frame numbered below the start
    /// ([`Problem::FrameBeforeStart`]), a gap ([`Problem::MissingFrame`], naming the first
    /// missing file).
    pub fn list_template(dir: &Path, template: &FrameTemplate) -> Result<Self> {
        let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, "opening", e))?;
        let mut numbered: Vec<(u64, PathBuf)> = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(dir, "listing", e))?;
            let Some(number) = template.number_of_bytes(entry.file_name().as_encoded_bytes())
            else {
                continue;
            };
            let path = entry.path();
            if path.is_dir() {
                return Err(Error::at(
                    dir,
                    Problem::NotAFrame {
                        file: path,
                        reason: "its name matches the frame template but it is a folder",
                    },
                ));
            }
            if number < template.start() {
                return Err(Error::at(
                    dir,
                    Problem::FrameBeforeStart {
                        file: path,
                        number,
                        start: template.start(),
                    },
                ));
            }
            numbered.push((number, path));
        }
        if numbered.is_empty() {
            return Err(Error::at(
                dir,
                Problem::NoMatchingFrames {
                    template: template.to_string(),
                    start: template.start(),
                },
            ));
        }
        numbered.sort_unstable_by_key(|(n, _)| *n);
        if u32::try_from(numbered.len()).is_err() {
            return Err(Error::at(dir, Problem::TooManyFrames));
        }
        // Sorted distinct numbers from `start` are consecutive exactly when the i-th is
        // start + i; the first that is not names the gap.
        for (i, (number, _)) in (0u64..).zip(&numbered) {
            let expected = template.start() + i;
            if *number != expected {
                return Err(Error::at(
                    dir,
                    Problem::MissingFrame {
                        file: dir.join(template.name(expected)),
                        number: expected,
                        next: *number,
                    },
                ));
            }
        }
        Ok(FrameFolder {
            dir: dir.to_path_buf(),
            files: numbered.into_iter().map(|(_, p)| p).collect(),
        })
    }

    /// The number of frames, F.
    #[must_use]
    pub fn len(&self) -> u32 {
        // `list` refuses folders with more than u32::MAX files.
        u32::try_from(self.files.len()).unwrap_or(u32::MAX)
    }

    /// True for a folder without frames (never returned by [`FrameFolder::list`]).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ImageKind {
    Jpeg,
    Png,
}

fn sniff(bytes: &[u8]) -> Option<ImageKind> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageKind::Jpeg)
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some(ImageKind::Png)
    } else {
        None
    }
}

/// Decodes a frame folder's files in order (the folder side of [`super::Reader`]), holding
/// one file's bytes at a time.
pub(crate) struct FolderDecoder {
    folder: FrameFolder,
    jpeg: Option<ffmpeg::decoder::Video>,
    png: Option<ffmpeg::decoder::Video>,
    bytes: Vec<u8>,
    damage: Damage,
}

impl FolderDecoder {
    /// A decoder over `folder`'s files.
    pub(crate) fn new(folder: FrameFolder) -> Self {
        FolderDecoder {
            folder,
            jpeg: None,
            png: None,
            bytes: Vec::new(),
            damage: Damage::default(),
        }
    }

    fn unreadable(&self, index: u32, reason: String) -> Error {
        Error::at(
            &self.folder.dir,
            Problem::UnreadableFrame {
                frame: index,
                file: self.folder.files.get(index as usize).cloned(),
                reason,
            },
        )
    }

    /// Decodes `self.bytes` (one whole image) into `frame`; true when the decoder marks the
    /// image damaged (it decoded, with errors or concealment).
    fn decode_bytes(
        &mut self,
        kind: ImageKind,
        frame: &mut frame::Video,
    ) -> std::result::Result<bool, String> {
        let slot = match kind {
            ImageKind::Jpeg => &mut self.jpeg,
            ImageKind::Png => &mut self.png,
        };
        if slot.is_none() {
            video::ensure_init();
            let id = match kind {
                ImageKind::Jpeg => codec::Id::MJPEG,
                ImageKind::Png => codec::Id::PNG,
            };
            let codec = ffmpeg::decoder::find(id)
                .ok_or_else(|| format!("this FFmpeg has no {} decoder", id.name()))?;
            let mut context = codec::context::Context::new_with_codec(codec);
            context.set_threading(codec::threading::Config {
                kind: codec::threading::Type::None,
                count: 1,
                ..Default::default()
            });
            video::set_error_recognition(&mut context);
            let decoder = context
                .decoder()
                .video()
                .map_err(|e| format!("opening the {} decoder failed: {e}", id.name()))?;
            *slot = Some(decoder);
        }
        let Some(decoder) = slot.as_mut() else {
            return Err("no decoder".into());
        };
        let mut packet = ffmpeg::Packet::copy(&self.bytes);
        // Every file is a whole image. Without the key flag FFmpeg's PNG decoder takes a
        // packet for an MNG-style delta on the previous image.
        packet.set_flags(ffmpeg::codec::packet::Flags::KEY);
        decoder.send_packet(&packet).map_err(|e| {
            decoder.flush();
            e.to_string()
        })?;
        let got = match decoder.receive_frame(frame) {
            Ok(()) => Ok(()),
            Err(ffmpeg::Error::Other {
                errno: ffmpeg::util::error::EAGAIN,
            }) => {
                // A decoder that holds the image back until the end of stream: drain it.
                let _ = decoder.send_eof();
                let r = decoder.receive_frame(frame);
                decoder.flush();
                r
            }
            Err(e) => Err(e),
        };
        got.map_err(|e| {
            decoder.flush();
            format!("the image does not decode ({e})")
        })?;
        if frame.width() == 0 || frame.height() == 0 {
            decoder.flush();
            return Err("the image does not decode (an empty frame)".into());
        }
        let damaged = video::frame_is_damaged(frame);
        if damaged {
            decoder.flush();
        }
        Ok(damaged)
    }
}

impl FrameDecoder for FolderDecoder {
    fn path(&self) -> &Path {
        &self.folder.dir
    }

    /// JPEG files cut short (no EOI marker) and images the decoder marks damaged (corrupt,
    /// concealed, invalid bitstream).
    fn damage(&self) -> Damage {
        self.damage.clone()
    }

    fn frame_file(&self, index: u32) -> Option<PathBuf> {
        self.folder.files.get(index as usize).cloned()
    }

    /// Reads and decodes file `index` (every file is decoded, so a damaged frame is reported
    /// even when the plan does not need it).
    fn decode_next(&mut self, frame: &mut frame::Video, index: u32) -> Result<bool> {
        let Some(path) = self.folder.files.get(index as usize) else {
            return Ok(false);
        };
        self.bytes.clear();
        if let Err(e) = std::fs::File::open(path)
            .and_then(|mut f| std::io::Read::read_to_end(&mut f, &mut self.bytes))
        {
            return Err(self.unreadable(index, format!("cannot read the file: {e}")));
        }
        let kind = match sniff(&self.bytes) {
            Some(kind) => kind,
            None if self.bytes.is_empty() => {
                return Err(self.unreadable(index, "the file is empty".into()));
            }
            None => return Err(self.unreadable(index, "not a JPEG or PNG image".into())),
        };
        let cut_short = kind == ImageKind::Jpeg && video::jpeg_lacks_eoi(&self.bytes);
        match self.decode_bytes(kind, frame) {
            Ok(damaged) => {
                if damaged || cut_short {
                    self.damage.frames.push(index);
                }
            }
            Err(reason) => return Err(self.unreadable(index, reason)),
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_number_takes_last_digit_run() {
        assert_eq!(frame_number(Path::new("00012.jpg")), Some(12));
        assert_eq!(frame_number(Path::new("img_7.png")), Some(7));
        assert_eq!(frame_number(Path::new("frame-3-of-9.jpg")), Some(9));
        assert_eq!(frame_number(Path::new("0000.jpg")), Some(0));
        assert_eq!(frame_number(Path::new("cover.jpg")), None);
        let long = format!("{}1.jpg", "0".repeat(100));
        assert_eq!(frame_number(Path::new(&long)), Some(1));
        assert_eq!(
            frame_number(Path::new(&format!("{}.jpg", "9".repeat(40)))),
            None
        );
    }

    #[test]
    fn frame_extension_ignores_case() {
        assert!(has_frame_extension(Path::new("a/1.JPG")));
        assert!(has_frame_extension(Path::new("1.jpeg")));
        assert!(!has_frame_extension(Path::new("1.txt")));
        assert!(!has_frame_extension(Path::new("jpg")));
    }

    #[test]
    fn sniff_knows_jpeg_and_png() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(ImageKind::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some(ImageKind::Png));
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(sniff(b""), None);
    }
}
