//! An input: a video file or a frame folder, counted cheaply and read frame by frame.

use std::path::{Path, PathBuf};

use crate::decode::{self, Damage, Decoded, Orientation, VideoReader};
use crate::error::{Error, Problem, Result};
use crate::frames_dir::{self, DirKind, FolderReader, FrameFolder};

/// A video file or a frame folder.
#[derive(Clone, Debug)]
pub enum Input {
    /// A video file (anything FFmpeg demuxes and decodes).
    Video(PathBuf),
    /// A folder of numbered JPEG/PNG frames.
    Frames(FrameFolder),
}

impl Input {
    /// Classifies `path`: a directory is a frame folder (it must hold numbered `.jpg`,
    /// `.jpeg` or `.png` frames), anything else is opened as a video.
    ///
    /// Standard input (`-`), pipes, FIFOs, sockets and character devices are refused: the
    /// frames are counted in one pass and decoded in another, and a pipe can be read once.
    ///
    /// # Errors
    /// [`Problem::Pipe`]; not found; an empty folder ([`Problem::ZeroFrames`]); a folder without frames; a frame
    /// folder with stray files ([`FrameFolder::list`]).
    pub fn open(path: &Path) -> Result<Self> {
        if path.as_os_str() == "-" {
            return Err(Error::at(path, Problem::Pipe));
        }
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, "opening", e))?;
        if is_pipe(&meta) {
            return Err(Error::at(path, Problem::Pipe));
        }
        if !meta.is_dir() {
            return Ok(Input::Video(path.to_path_buf()));
        }
        match frames_dir::classify(path)? {
            // A mixed folder fails to list, naming the entry that is not a frame.
            DirKind::Frames | DirKind::Mixed => Ok(Input::Frames(FrameFolder::list(path)?)),
            DirKind::Other => {
                let any_entry = std::fs::read_dir(path)
                    .map_err(|e| Error::io(path, "opening", e))?
                    .flatten()
                    .any(|e| e.file_name().as_encoded_bytes().first() != Some(&b'.'));
                if any_entry {
                    Err(Error::at(
                        path,
                        Problem::NotAnInput {
                            reason: "the folder holds no .jpg, .jpeg or .png frames (for a folder of videos or of frame folders, use `mixcli batch`)".into(),
                        },
                    ))
                } else {
                    Err(Error::at(path, Problem::ZeroFrames))
                }
            }
        }
    }

    /// The path of the input.
    #[must_use]
    pub fn path(&self) -> &Path {
        match self {
            Input::Video(p) => p,
            Input::Frames(f) => &f.dir,
        }
    }

    /// The cheap frame count the plan starts from: packets demuxed (videos) or frame files
    /// (folders).
    ///
    /// # Errors
    /// Open and demux errors.
    pub fn count(&self) -> Result<u32> {
        match self {
            Input::Video(p) => Ok(decode::count_packets(p)?.packets),
            Input::Frames(f) => Ok(f.len()),
        }
    }

    /// A reader that decodes the frames in order, with `threads` decoder threads for videos
    /// (0: FFmpeg decides), converting to RGB24 at `size` (the frames' own when `None`).
    ///
    /// # Errors
    /// Open errors.
    pub fn reader(&self, threads: usize, size: Option<(u32, u32)>) -> Result<Reader> {
        self.reader_with(threads, size, true)
    }

    /// As [`Input::reader`], with the display matrix of a video applied only when
    /// `autorotate` (frame folders have none).
    ///
    /// # Errors
    /// Open errors.
    pub fn reader_with(
        &self,
        threads: usize,
        size: Option<(u32, u32)>,
        autorotate: bool,
    ) -> Result<Reader> {
        match self {
            Input::Video(p) => Ok(Reader::Video(Box::new(VideoReader::open(
                p, threads, size, autorotate,
            )?))),
            Input::Frames(f) => Ok(Reader::Frames(Box::new(FolderReader::new(f.clone(), size)))),
        }
    }
}

/// True for a FIFO, socket or character device (what `<(cmd)` and `/dev/stdin` are).
fn is_pipe(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    t.is_fifo() || t.is_socket() || t.is_char_device()
}

/// Reads an [`Input`]'s frames in order, one at a time.
pub enum Reader {
    /// A video's decoder.
    Video(Box<VideoReader>),
    /// A frame folder's decoder.
    Frames(Box<FolderReader>),
}

impl Reader {
    /// Decodes the first frame (kept for the next [`Reader::next_frame`]) and returns the
    /// frames' output size, `None` when nothing decodes.
    ///
    /// # Errors
    /// Decoding errors.
    pub fn peek_size(&mut self) -> Result<Option<(u32, u32)>> {
        match self {
            Reader::Video(r) => r.peek_size(),
            Reader::Frames(r) => r.peek_size(),
        }
    }

    /// The damage seen so far (complete after the last frame).
    #[must_use]
    pub fn damage(&self) -> Damage {
        match self {
            Reader::Video(r) => r.damage(),
            Reader::Frames(r) => r.damage(),
        }
    }

    /// The orientation applied to the frames (the identity for frame folders).
    #[must_use]
    pub fn orientation(&self) -> Orientation {
        match self {
            Reader::Video(r) => r.orientation(),
            Reader::Frames(_) => Orientation::IDENTITY,
        }
    }

    /// The next frame, converted to RGB24 only when `want(index)`; `None` after the last.
    ///
    /// # Errors
    /// Decoding errors.
    pub fn next_frame(&mut self, want: impl FnOnce(u32) -> bool) -> Result<Option<Decoded<'_>>> {
        match self {
            Reader::Video(r) => r.next_frame(want),
            Reader::Frames(r) => r.next_frame(want),
        }
    }
}
