//! Sources: a video file or a frame folder, counted cheaply and read frame by frame through one
//! [`Reader`].
//!
//! Both kinds decode through FFmpeg (videos with their codec, frame folders with FFmpeg's JPEG
//! and PNG decoders) behind one trait, [`FrameDecoder`]; everything after decoding is shared
//! and lives in [`Reader`]: the first-frame peek, the frame-size check, the display-matrix turn
//! ([`orient`]), the conversion to RGB24 ([`convert`]), and frame numbering. A reader can
//! also decode ahead on a thread of its own ([`Reader::decode_ahead`]), so that decoding
//! overlaps the conversion and whatever the caller does with each frame.

pub mod convert;
pub mod folder;
pub mod orient;
pub mod video;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;

use ffmpeg::util::frame;
use ffmpeg_next as ffmpeg;

use crate::damage::Damage;
use crate::error::{Error, Problem, Result};
use crate::template::FrameTemplate;
use convert::{Converter, Rgb};
use folder::{DirKind, FolderDecoder, FrameFolder};
use orient::{Orientation, Reorienter};
use video::VideoDecoder;

/// A video file or a frame folder.
#[derive(Clone, Debug)]
pub enum Source {
    /// A video file (anything FFmpeg demuxes and decodes).
    Video(PathBuf),
    /// A folder of numbered JPEG/PNG frames.
    Frames(FrameFolder),
}

/// What a source must be, when the caller knows (an annotation list says so).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// A folder is a frame folder, anything else a video. Default.
    #[default]
    Any,
    /// A video file; a folder is an error.
    Video,
    /// A frame folder; a file is an error.
    Frames,
}

/// How [`Source::open_with`] opens a path.
#[derive(Clone, Copy, Debug, Default)]
pub struct OpenOptions<'a> {
    /// Frame folders are listed by this template ([`FrameFolder::list_template`]); `None`: by
    /// the number in each name, every entry a frame ([`FrameFolder::list`]). Videos ignore it.
    /// Default: `None`.
    pub template: Option<&'a FrameTemplate>,
    /// What the path must be. Default: [`SourceKind::Any`].
    pub kind: SourceKind,
    /// The number of frames a frame folder must hold (a rawframe list's `total_frames`);
    /// `None`: whatever it holds. Videos ignore it (their count is what decodes). Default:
    /// `None`.
    pub frames: Option<u32>,
}

/// How [`Source::reader`] decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReaderOptions {
    /// Decoder threads for a video (0: FFmpeg decides; 1: the calling thread only). Frame
    /// folders decode on the calling thread. Default: 0.
    pub threads: usize,
    /// Convert every frame to this (width, height), bilinear, in the same swscale pass as the
    /// colour conversion; `None`: the frames' own (displayed) size. Default: `None`.
    pub size: Option<(u32, u32)>,
    /// Apply a video's display matrix (rotation by 90/180/270 degrees, flips) as the `ffmpeg`
    /// program does. Default: true.
    pub autorotate: bool,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        ReaderOptions {
            threads: 0,
            size: None,
            autorotate: true,
        }
    }
}

impl Source {
    /// Classifies `path`: a directory is a frame folder (it must hold numbered `.jpg`,
    /// `.jpeg` or `.png` frames and nothing else but hidden files), anything else is opened as
    /// a video. The same as [`Source::open_with`] with default options.
    ///
    /// Standard input (`-`), pipes, FIFOs, sockets and character devices are refused: the
    /// frames are counted in one pass and decoded in another, and a pipe can be read once.
    ///
    /// # Errors
    /// [`Problem::Pipe`]; not found; an empty folder ([`Problem::ZeroFrames`]); a folder without frames; a frame
    /// folder with stray files ([`FrameFolder::list`]).
    pub fn open(path: &Path) -> Result<Self> {
        Source::open_with(path, &OpenOptions::default())
    }

    /// Opens `path` as [`Source::open`] does, with a frame template, the kind the path must be
    /// and the frame count a folder must hold.
    ///
    /// # Errors
    /// As [`Source::open`]; [`FrameFolder::list_template`]'s errors with a template;
    /// [`Problem::NotAnInput`] for a folder where a video must be or a file where a frame
    /// folder must be; [`Problem::FrameCountMismatch`] when a folder holds another number of
    /// frames than `options.frames`.
    pub fn open_with(path: &Path, options: &OpenOptions<'_>) -> Result<Self> {
        if path.as_os_str() == "-" {
            return Err(Error::at(path, Problem::Pipe));
        }
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, "opening", e))?;
        if is_pipe(&meta) {
            return Err(Error::at(path, Problem::Pipe));
        }
        let refuse = |reason: &str| {
            Err(Error::at(
                path,
                Problem::NotAnInput {
                    reason: reason.into(),
                },
            ))
        };
        if !meta.is_dir() {
            if options.kind == SourceKind::Frames {
                return refuse("a frame folder is expected here, but this is a file");
            }
            return Ok(Source::Video(path.to_path_buf()));
        }
        if options.kind == SourceKind::Video {
            return refuse("a video file is expected here, but this is a folder");
        }
        let folder = match options.template {
            Some(template) => FrameFolder::list_template(path, template)?,
            None => match folder::classify(path)? {
                // A mixed folder fails to list, naming the entry that is not a frame.
                DirKind::Frames | DirKind::Mixed => FrameFolder::list(path)?,
                DirKind::Other => {
                    let any_entry = std::fs::read_dir(path)
                        .map_err(|e| Error::io(path, "opening", e))?
                        .flatten()
                        .any(|e| e.file_name().as_encoded_bytes().first() != Some(&b'.'));
                    return if any_entry {
                        refuse(
                            "the folder holds no .jpg, .jpeg or .png frames (for a folder of videos or of frame folders, use `mixcli batch`)",
                        )
                    } else {
                        Err(Error::at(path, Problem::ZeroFrames))
                    };
                }
            },
        };
        if let Some(listed) = options.frames
            && listed != folder.len()
        {
            return Err(Error::at(
                path,
                Problem::FrameCountMismatch {
                    listed,
                    found: folder.len(),
                },
            ));
        }
        Ok(Source::Frames(folder))
    }

    /// The path of the source.
    #[must_use]
    pub fn path(&self) -> &Path {
        match self {
            Source::Video(p) => p,
            Source::Frames(f) => &f.dir,
        }
    }

    /// The cheap frame count the plan starts from: packets demuxed (videos) or frame files
    /// (folders).
    ///
    /// # Errors
    /// Open and demux errors.
    pub fn count(&self) -> Result<u32> {
        match self {
            Source::Video(p) => Ok(video::count_packets(p)?.packets),
            Source::Frames(f) => Ok(f.len()),
        }
    }

    /// A reader that decodes the frames in order.
    ///
    /// # Errors
    /// Open errors.
    pub fn reader(&self, options: &ReaderOptions) -> Result<Reader> {
        let decoder: Box<dyn FrameDecoder> = match self {
            Source::Video(p) => {
                Box::new(VideoDecoder::open(p, options.threads, options.autorotate)?)
            }
            Source::Frames(f) => Box::new(FolderDecoder::new(f.clone())),
        };
        Ok(Reader::new(decoder, options.size))
    }
}

/// True for a FIFO, socket or character device (what `<(cmd)` and `/dev/stdin` are).
fn is_pipe(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    t.is_fifo() || t.is_socket() || t.is_char_device()
}

/// Decodes a source's frames in order, in their own pixel format: the one thing a video and a
/// frame folder do differently. [`Reader`] does the rest. `Send`, so that a reader can decode
/// on a thread of its own ([`Reader::decode_ahead`]).
pub trait FrameDecoder: Send {
    /// The video file or the frame folder.
    fn path(&self) -> &Path;

    /// Decodes frame `index` (always the one after the last, from 0) into `frame`; false
    /// after the last frame. Damage the decoder recovers from is recorded, not returned.
    ///
    /// # Errors
    /// Truncated data, an unreadable frame.
    fn decode_next(&mut self, frame: &mut frame::Video, index: u32) -> Result<bool>;

    /// The damage seen so far (complete once [`FrameDecoder::decode_next`] returned false).
    fn damage(&self) -> Damage;

    /// How the frames are to be turned for display. Default: not at all.
    fn orientation(&self) -> Orientation {
        Orientation::IDENTITY
    }

    /// The file that holds frame `index`, when frames are files. Default: `None`.
    fn frame_file(&self, _index: u32) -> Option<PathBuf> {
        None
    }
}

/// One decoded frame, as [`Reader::next_frame`] hands it out.
pub struct Decoded<'a> {
    /// Its index in presentation order, from 0.
    pub index: u32,
    /// Its width at the output size.
    pub width: u32,
    /// Its height at the output size.
    pub height: u32,
    /// The frame as RGB24 at the output size, when the caller asked for it.
    pub rgb: Option<Rgb<'a>>,
}

/// Frames a reader decoding ahead ([`Reader::decode_ahead`]) holds decoded before the caller
/// takes them: enough to ride out one slow frame on either side, few enough that memory stays
/// a handful of frames.
const DECODED_AHEAD: usize = 3;

/// What the decoding thread of [`Reader::decode_ahead`] sends.
enum Ahead {
    /// The next frame.
    Frame(frame::Video),
    /// The end of the source, with the damage seen.
    End(Damage),
    /// Decoding failed, with the damage seen until then.
    Failed(Error, Damage),
}

/// Where a reader's frames are decoded.
enum Decoding {
    /// On the calling thread.
    Here(Box<dyn FrameDecoder>),
    /// On a thread of its own, a few frames ahead.
    Ahead {
        frames: mpsc::Receiver<Ahead>,
        thread: Option<JoinHandle<()>>,
        /// The damage, once the thread reported the end or a failure.
        damage: Damage,
    },
    /// Moved out for a moment (never seen outside [`Reader::decode_ahead`]).
    Moving,
}

impl Decoding {
    /// The file of frame `index`, when the decoder is here to say.
    fn frame_file(&self, index: u32) -> Option<PathBuf> {
        match self {
            Decoding::Here(decoder) => decoder.frame_file(index),
            _ => None,
        }
    }
}

/// Reads a [`Source`]'s frames in order, one at a time: decodes, checks that every frame has
/// the first one's size (unless a fixed output size is set), turns frames by the display
/// matrix and converts to RGB24 only the frames the caller wants.
pub struct Reader {
    decoding: Decoding,
    path: PathBuf,
    converter: Converter,
    reorienter: Reorienter,
    frame: frame::Video,
    /// Frames decoded so far.
    decoded: u32,
    /// The first frame's stored size.
    first_size: Option<(u32, u32)>,
    /// The last decoded frame has not been handed out yet (after a peek).
    pending: bool,
    done: bool,
}

impl Reader {
    /// A reader over `decoder`'s frames, converted to RGB24 at `size` (their own displayed
    /// size when `None`).
    #[must_use]
    pub fn new(decoder: Box<dyn FrameDecoder>, size: Option<(u32, u32)>) -> Self {
        let orientation = decoder.orientation();
        Reader {
            path: decoder.path().to_path_buf(),
            decoding: Decoding::Here(decoder),
            converter: Converter::new(size),
            reorienter: Reorienter::new(orientation),
            frame: frame::Video::empty(),
            decoded: 0,
            first_size: None,
            pending: false,
            done: false,
        }
    }

    /// The source's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Frames decoded so far.
    #[must_use]
    pub fn decoded(&self) -> u32 {
        self.decoded
    }

    /// The damage seen so far (complete after the last frame). A reader decoding ahead
    /// ([`Reader::decode_ahead`]) knows it only once it has handed out the last frame (or
    /// met an error); before that it reports none.
    #[must_use]
    pub fn damage(&self) -> Damage {
        match &self.decoding {
            Decoding::Here(decoder) => decoder.damage(),
            Decoding::Ahead { damage, .. } => damage.clone(),
            Decoding::Moving => Damage::default(),
        }
    }

    /// Moves decoding onto a thread of its own from the next frame on: the thread decodes up
    /// to a few frames ahead of the caller, so decoding overlaps the colour conversion (done
    /// by [`Reader::next_frame`] on the calling thread) and whatever the caller does with
    /// each frame. The frames, their order, the errors and the damage are the same as without
    /// it; errors name no frame file ([`FrameDecoder::frame_file`]), so frame folders, whose
    /// errors do, are better read without it. Nothing happens after the last frame or when
    /// decoding ahead already.
    ///
    /// # Errors
    /// [`Problem::Io`] when the system cannot start a thread.
    pub fn decode_ahead(&mut self) -> Result<()> {
        if self.done || !matches!(self.decoding, Decoding::Here(_)) {
            return Ok(());
        }
        let Decoding::Here(mut decoder) = std::mem::replace(&mut self.decoding, Decoding::Moving)
        else {
            return Ok(());
        };
        let (send, frames) = mpsc::sync_channel(DECODED_AHEAD);
        let mut index = self.decoded;
        let spawned = std::thread::Builder::new()
            .name("mixdata-decode".into())
            .spawn(move || {
                loop {
                    let mut frame = frame::Video::empty();
                    let message = match decoder.decode_next(&mut frame, index) {
                        Ok(true) => Ahead::Frame(frame),
                        Ok(false) => Ahead::End(decoder.damage()),
                        Err(e) => Ahead::Failed(e, decoder.damage()),
                    };
                    let last = !matches!(message, Ahead::Frame(_));
                    // A reader dropped early stops the thread here.
                    if send.send(message).is_err() || last {
                        return;
                    }
                    index = index.wrapping_add(1);
                }
            });
        match spawned {
            Ok(thread) => {
                self.decoding = Decoding::Ahead {
                    frames,
                    thread: Some(thread),
                    damage: Damage::default(),
                };
                Ok(())
            }
            Err(e) => Err(Error::io(&self.path, "starting a decoding thread", e)),
        }
    }

    /// Decodes (or takes from the decoding thread) the next frame into `self.frame`; false
    /// at the end of the source.
    fn decode_next(&mut self, index: u32) -> Result<bool> {
        match &mut self.decoding {
            Decoding::Here(decoder) => decoder.decode_next(&mut self.frame, index),
            Decoding::Ahead { frames, damage, .. } => match frames.recv() {
                Ok(Ahead::Frame(frame)) => {
                    self.frame = frame;
                    Ok(true)
                }
                Ok(Ahead::End(seen)) => {
                    *damage = seen;
                    Ok(false)
                }
                Ok(Ahead::Failed(e, seen)) => {
                    *damage = seen;
                    Err(e)
                }
                // The thread ended without a word: it panicked.
                Err(mpsc::RecvError) => Err(Error::at(
                    &self.path,
                    Problem::UnreadableFrame {
                        frame: index,
                        file: None,
                        reason: "the decoding thread stopped (a bug: please report it)".into(),
                    },
                )),
            },
            Decoding::Moving => Ok(false),
        }
    }

    /// The orientation applied to the frames (the identity for frame folders and with
    /// autorotation off).
    #[must_use]
    pub fn orientation(&self) -> Orientation {
        self.reorienter.orientation()
    }

    /// Sets the size frames are converted to from here on (`None`: their own). The slot of a
    /// per-clip spatial transform: after [`Reader::peek_size`], [`Reader::source_size`] tells
    /// the clip's size, and the transform sets the size every frame comes out at before the
    /// first is handed out.
    pub fn set_size(&mut self, size: Option<(u32, u32)>) {
        if self.converter.fixed_size() != size {
            self.converter = Converter::new(size);
        }
    }

    /// Decodes the first frame, if it has not been decoded yet, and returns the frames'
    /// output size, `None` when nothing decodes. The frame stays pending: the next
    /// [`Reader::next_frame`] hands it out.
    ///
    /// # Errors
    /// As [`Reader::next_frame`].
    pub fn peek_size(&mut self) -> Result<Option<(u32, u32)>> {
        if !self.pending && self.decoded == 0 {
            if !self.advance()? {
                return Ok(None);
            }
            self.pending = true;
        }
        Ok(self.output_size())
    }

    /// The first frame's displayed size (turned by the display matrix), before any resize;
    /// `None` until a frame has been decoded ([`Reader::peek_size`]).
    #[must_use]
    pub fn source_size(&self) -> Option<(u32, u32)> {
        let o = self.reorienter.orientation();
        self.first_size.map(|(w, h)| o.display_size(w, h))
    }

    /// The output size of the frames: the fixed size, or the first frame's displayed size.
    #[must_use]
    pub fn output_size(&self) -> Option<(u32, u32)> {
        self.source_size()
            .map(|(w, h)| self.converter.output_size(w, h))
    }

    /// The next frame, converted to RGB24 only when `want(index)`; `None` after the last.
    ///
    /// # Errors
    /// Truncated data, an unreadable frame, a frame whose size differs from the first frame's
    /// (unless a fixed output size was given), more than `u32::MAX` frames.
    pub fn next_frame(&mut self, want: impl FnOnce(u32) -> bool) -> Result<Option<Decoded<'_>>> {
        if self.pending {
            self.pending = false;
        } else if !self.advance()? {
            return Ok(None);
        }
        let index = self.decoded - 1;
        let (dw, dh) = self
            .reorienter
            .orientation()
            .display_size(self.frame.width(), self.frame.height());
        let (width, height) = self.converter.output_size(dw, dh);
        let rgb = if want(index) {
            let converted = match self.reorienter.apply(&self.frame) {
                Ok(turned) => self.converter.convert(turned),
                Err(e) => Err(e),
            };
            match converted {
                Ok(rgb) => Some(rgb),
                Err(e) => {
                    return Err(Error::at(
                        &self.path,
                        Problem::UnreadableFrame {
                            frame: index,
                            file: self.decoding.frame_file(index),
                            reason: format!("conversion to RGB24 failed: {e}"),
                        },
                    ));
                }
            }
        } else {
            None
        };
        Ok(Some(Decoded {
            index,
            width,
            height,
            rgb,
        }))
    }

    /// Writes frame `index`, the one [`Reader::next_frame`] handed out last (with `want`
    /// declining it), into `dst` as RGB24 at the output size, packed: rows of `width * 3`
    /// bytes, no padding (`dst` holds exactly that). Straight from swscale where
    /// [`Converter::convert_packed`] takes packed rows for this format and size, else
    /// converted as [`Reader::next_frame`] converts and copied: the same bytes either way.
    ///
    /// # Errors
    /// [`Problem::Usage`] when `index` is not the last frame handed out or `dst` has another
    /// length; the conversion's failure, as [`Reader::next_frame`] reports it.
    pub fn write_packed(&mut self, index: u32, dst: &mut [u8]) -> Result<()> {
        if self.pending || self.decoded.checked_sub(1) != Some(index) {
            return Err(Error::at(
                &self.path,
                Problem::Usage(format!(
                    "frame {index} is not the frame the reader handed out last"
                )),
            ));
        }
        let (dw, dh) = self
            .reorienter
            .orientation()
            .display_size(self.frame.width(), self.frame.height());
        let (width, height) = self.converter.output_size(dw, dh);
        let row = width as usize * 3;
        if dst.len() != row * height as usize {
            return Err(Error::at(
                &self.path,
                Problem::Usage(format!(
                    "a packed {width}x{height} RGB24 frame is {} bytes, not {}",
                    row * height as usize,
                    dst.len()
                )),
            ));
        }
        let written = match self.reorienter.apply(&self.frame) {
            Ok(turned) => match self.converter.convert_packed(turned, dst) {
                Ok(true) => Ok(()),
                Ok(false) => self.converter.convert(turned).map(|rgb| {
                    for (y, out) in dst.chunks_exact_mut(row).enumerate() {
                        out.copy_from_slice(&rgb.data[y * rgb.stride..y * rgb.stride + row]);
                    }
                }),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        written.map_err(|e| {
            Error::at(
                &self.path,
                Problem::UnreadableFrame {
                    frame: index,
                    file: self.decoding.frame_file(index),
                    reason: format!("conversion to RGB24 failed: {e}"),
                },
            )
        })
    }

    /// Decodes the next frame into `self.frame`; false at the end of the source.
    fn advance(&mut self) -> Result<bool> {
        if self.done {
            return Ok(false);
        }
        let index = self.decoded;
        if !self.decode_next(index)? {
            self.done = true;
            return Ok(false);
        }
        self.decoded = index
            .checked_add(1)
            .ok_or_else(|| Error::at(&self.path, Problem::TooManyFrames))?;
        let size = (self.frame.width(), self.frame.height());
        if size.0 == 0 || size.1 == 0 {
            return Err(Error::at(
                &self.path,
                Problem::UnreadableFrame {
                    frame: index,
                    file: self.decoding.frame_file(index),
                    reason: "the decoder returned an empty frame".into(),
                },
            ));
        }
        let first = *self.first_size.get_or_insert(size);
        if size != first && self.converter.fixed_size().is_none() {
            let o = self.reorienter.orientation();
            return Err(Error::at(
                &self.path,
                Problem::FrameSizeMismatch {
                    frame: index,
                    file: self.decoding.frame_file(index),
                    found: o.display_size(size.0, size.1),
                    expected: o.display_size(first.0, first.1),
                },
            ));
        }
        Ok(true)
    }
}

impl Drop for Reader {
    /// Stops the decoding thread of [`Reader::decode_ahead`], if any: closing the channel ends
    /// it at its next frame, and it is joined so that no decoder outlives its reader.
    fn drop(&mut self) {
        if let Decoding::Ahead { frames, thread, .. } =
            std::mem::replace(&mut self.decoding, Decoding::Moving)
        {
            drop(frames);
            if let Some(thread) = thread {
                let _ = thread.join();
            }
        }
    }
}
