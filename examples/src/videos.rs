//! The synthetic clips as real video files: every clip is encoded to an mp4 through FFmpeg
//! (mixdata's re-export of `ffmpeg-next`), each split gets an mmaction2-style video list
//! (`train/left-to-right/0000.mp4 0` per line), and mixdata reads the lists back. The trainer
//! then decodes and mixes every clip from its file through [`mixdata::Loader`], so the whole
//! path from a video file to a gradient runs.
//!
//! The encoding is lossless: H.264 (`libx264`, `qp 0`) in `yuv420p` flagged as full range,
//! the grey frame in the luma plane and 128 in both chroma planes. mixdata decodes to RGB
//! with R = G = B = the original grey value (the tests check every pixel), so the files
//! change no number of the dataset. The encoder runs on one thread, so the files are the
//! same bytes on every run.

use std::fs;
use std::path::{Path, PathBuf};

use mixdata::ffmpeg::{self, Dictionary, Packet, Rational, codec, color, encoder, format, frame};
use mixdata::{Entry, ListFormat};
use rayon::prelude::*;

use crate::dataset::{Clip, Dataset, Split};
use crate::error::{Error, Result};
use crate::output::{create_dir, write_text};

/// Frames per second written into the files (the clips have no natural rate).
pub const FPS: i32 = 25;

/// The files of the dataset: the root folder, and each split's entries as mixdata read them
/// from the lists.
#[derive(Debug)]
pub struct VideoSet {
    /// The folder holding `train.txt`, `test.txt` and the `train/` and `test/` videos.
    pub root: PathBuf,
    /// Training clips, in list order (the order of [`Dataset::train`]).
    pub train: Vec<Entry>,
    /// Test clips, in list order.
    pub test: Vec<Entry>,
    /// Total size of the video files in bytes.
    pub bytes: u64,
    /// Removes the root when dropped, for a folder the trainer made for itself.
    _cleanup: Option<RemoveOnDrop>,
}

impl VideoSet {
    /// The entries of `split`.
    #[must_use]
    pub fn split(&self, split: Split) -> &[Entry] {
        match split {
            Split::Train => &self.train,
            Split::Test => &self.test,
        }
    }
}

/// Removes a folder and everything in it when dropped.
#[derive(Debug)]
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The list file of `split` under the root: `train.txt` or `test.txt`.
#[must_use]
pub fn list_name(split: Split) -> &'static str {
    match split {
        Split::Train => "train.txt",
        Split::Test => "test.txt",
    }
}

fn split_dir(split: Split) -> &'static str {
    match split {
        Split::Train => "train",
        Split::Test => "test",
    }
}

/// Writes every clip of `data` under `root` as `SPLIT/CLASS/NNNN.mp4` plus the lists
/// `train.txt` and `test.txt`, then reads the lists back with mixdata.
///
/// `root` is created; it must not exist yet or be an empty folder, so no file of the user's is
/// ever overwritten. Each video is written to a temporary name and renamed into place when
/// complete.
///
/// # Errors
/// [`Error::Config`] for a root that is not empty; [`Error::Io`] and [`Error::Video`] naming
/// the file; mixdata's list errors.
pub fn write_videos(data: &Dataset, root: &Path) -> Result<VideoSet> {
    if let Ok(mut items) = fs::read_dir(root)
        && items.next().is_some()
    {
        return Err(Error::Config(format!(
            "the data folder {} is not empty; name a new or empty folder",
            root.display()
        )));
    }
    create_dir(root)?;
    mixdata::init(false);
    let mut bytes = 0;
    for split in [Split::Train, Split::Test] {
        let clips = data.split(split);
        let names: Vec<String> = clips
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{}/{}/{i:04}.mp4", split_dir(split), c.class.name()))
            .collect();
        for class in crate::dataset::CLASSES {
            if clips.iter().any(|c| c.class == class) {
                create_dir(&root.join(split_dir(split)).join(class.name()))?;
            }
        }
        let sizes: Vec<u64> = clips
            .par_iter()
            .zip(&names)
            .map(|(clip, name)| {
                let path = root.join(name);
                encode_clip(clip, &path)?;
                fs::metadata(&path)
                    .map(|m| m.len())
                    .map_err(|source| Error::Io { path, source })
            })
            .collect::<Result<_>>()?;
        bytes += sizes.iter().sum::<u64>();
        let list: String = clips
            .iter()
            .zip(&names)
            .map(|(c, name)| format!("{name} {}\n", c.class.label()))
            .collect();
        write_text(&root.join(list_name(split)), &list)?;
    }
    let read =
        |split| mixdata::list::read(ListFormat::Video, &root.join(list_name(split)), root, None);
    Ok(VideoSet {
        root: root.to_path_buf(),
        train: read(Split::Train)?,
        test: read(Split::Test)?,
        bytes,
        _cleanup: None,
    })
}

/// As [`write_videos`] into a fresh folder under the system's temporary folder, removed with
/// the returned set.
///
/// # Errors
/// As [`write_videos`].
pub fn write_temporary_videos(data: &Dataset) -> Result<VideoSet> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let root = std::env::temp_dir().join(format!(
        "framemix-examples-videos-{}-{nanos}",
        std::process::id()
    ));
    let cleanup = RemoveOnDrop(root.clone());
    let mut set = write_videos(data, &root)?;
    set._cleanup = Some(cleanup);
    Ok(set)
}

/// Encodes `clip` (grey frames) losslessly to the mp4 file `path`: written to a temporary
/// file beside it and renamed into place when complete, removed on an error.
///
/// # Errors
/// [`Error::Video`] naming the file and what FFmpeg said; [`Error::Io`] for the rename.
pub fn encode_clip(clip: &Clip, path: &Path) -> Result<()> {
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".partial");
    let tmp = path.with_file_name(tmp_name);
    let done = encode_to(clip, &tmp).and_then(|()| {
        fs::rename(&tmp, path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })
    });
    if done.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    done
}

fn encode_to(clip: &Clip, path: &Path) -> Result<()> {
    let fail = |what: &str| {
        let what = what.to_string();
        move |e: ffmpeg::Error| Error::Video {
            path: path.to_path_buf(),
            message: format!("{what}: {e}"),
        }
    };
    mixdata::init(false);
    let g = clip.geometry;
    if g.channels != 1 || !g.width.is_multiple_of(2) || !g.height.is_multiple_of(2) {
        return Err(Error::Config(format!(
            "a clip of {}x{} with {} channels cannot be written as grey 4:2:0 video",
            g.width, g.height, g.channels
        )));
    }
    let h264 = encoder::find_by_name("libx264").ok_or_else(|| Error::Video {
        path: path.to_path_buf(),
        message: "this FFmpeg has no libx264 encoder".into(),
    })?;
    let mut out = format::output_as(path, "mp4").map_err(fail("opening"))?;
    let mut context = codec::context::Context::new_with_codec(h264);
    if out.format().flags().contains(format::Flags::GLOBAL_HEADER) {
        context.set_flags(codec::Flags::GLOBAL_HEADER);
    }
    let mut video = context.encoder().video().map_err(fail("the encoder"))?;
    video.set_width(g.width);
    video.set_height(g.height);
    video.set_format(format::Pixel::YUV420P);
    video.set_color_range(color::Range::JPEG);
    let time_base = Rational::new(1, FPS);
    video.set_time_base(time_base);
    video.set_frame_rate(Some(Rational::new(FPS, 1)));
    let mut options = Dictionary::new();
    options.set("qp", "0"); // lossless
    options.set("preset", "veryfast");
    options.set("threads", "1"); // deterministic bytes, and the caller runs files in parallel
    let mut video = video.open_with(options).map_err(fail("opening libx264"))?;
    let stream_index = {
        let mut stream = out.add_stream(h264).map_err(fail("adding the stream"))?;
        stream.set_parameters(&video);
        stream.set_time_base(time_base);
        stream.index()
    };
    out.write_header().map_err(fail("writing the header"))?;
    let stream_base = out
        .stream(stream_index)
        .map_or(time_base, |s| s.time_base());
    let (w, h) = (g.width as usize, g.height as usize);
    let mut picture = frame::Video::new(format::Pixel::YUV420P, g.width, g.height);
    picture.set_color_range(color::Range::JPEG);
    for plane in 1..3 {
        picture.data_mut(plane).fill(128);
    }
    for f in 0..clip.frames {
        let stride = picture.stride(0);
        let luma = picture.data_mut(0);
        for (row, src) in clip.frame(f).chunks_exact(w).take(h).enumerate() {
            luma[row * stride..row * stride + w].copy_from_slice(src);
        }
        picture.set_pts(Some(i64::from(f)));
        video.send_frame(&picture).map_err(fail("encoding"))?;
        drain(&mut video, &mut out, stream_index, time_base, stream_base)
            .map_err(fail("writing"))?;
    }
    video.send_eof().map_err(fail("flushing the encoder"))?;
    drain(&mut video, &mut out, stream_index, time_base, stream_base).map_err(fail("writing"))?;
    out.write_trailer().map_err(fail("writing the trailer"))
}

/// Writes every packet the encoder has ready.
fn drain(
    video: &mut encoder::Video,
    out: &mut format::context::Output,
    stream_index: usize,
    from: Rational,
    to: Rational,
) -> std::result::Result<(), ffmpeg::Error> {
    let mut packet = Packet::empty();
    loop {
        match video.receive_packet(&mut packet) {
            Ok(()) => {
                packet.set_stream(stream_index);
                // One frame per packet. Without a duration the mp4 muxer ends its edit list
                // at the last packet's start, and decoders drop the last frame.
                packet.set_duration(1);
                packet.rescale_ts(from, to);
                packet.write_interleaved(out)?;
            }
            Err(ffmpeg::Error::Eof) => return Ok(()),
            Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::error::EAGAIN => {
                return Ok(());
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::DatasetConfig;
    use mixdata::{Dataset as Clips, DatasetConfig as MixConfig, FramesPerSegment, Mode};

    fn tiny() -> Dataset {
        Dataset::generate(&DatasetConfig {
            train_per_class: 1,
            test_per_class: 1,
            min_frames: 12,
            max_frames: 20,
            ..DatasetConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn videos_decode_back_to_the_exact_grey_frames() {
        let data = tiny();
        let set = write_temporary_videos(&data).unwrap();
        assert_eq!(set.train.len(), 8);
        assert_eq!(set.test.len(), 8);
        assert!(set.bytes > 0);
        // One frame per segment, as many segments as frames: every frame of the clip, raw.
        for (clip, entry) in data.train.iter().zip(&set.train).take(3) {
            assert_eq!(entry.labels, vec![clip.class.label()]);
            let dataset = Clips::new(
                vec![entry.clone()],
                MixConfig {
                    segments: clip.frames,
                    k: FramesPerSegment::Fixed(1),
                    mode: Mode::Test,
                    ..MixConfig::default()
                },
            )
            .unwrap();
            let sample = dataset.get(0, 0).unwrap();
            assert_eq!(sample.info.frames, clip.frames);
            let plane = 32 * 32;
            for f in 0..clip.frames as usize {
                let original = clip.frame(f as u32);
                for c in 0..3 {
                    let decoded = &sample.data[(f * 3 + c) * plane..(f * 3 + c + 1) * plane];
                    for (&d, &o) in decoded.iter().zip(original) {
                        assert_eq!(d, f32::from(o), "frame {f} channel {c}");
                    }
                }
            }
        }
        let root = set.root.clone();
        assert!(root.join("train.txt").is_file());
        drop(set);
        assert!(!root.exists(), "the temporary folder outlived its set");
    }

    #[test]
    fn write_videos_refuses_a_folder_that_is_not_empty() {
        let dir = std::env::temp_dir().join(format!("framemix-videos-full-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("keep.txt"), "mine").unwrap();
        let err = write_videos(&tiny(), &dir).unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err}");
        assert_eq!(fs::read_to_string(dir.join("keep.txt")).unwrap(), "mine");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn encoding_is_deterministic() {
        let data = tiny();
        let dir = std::env::temp_dir().join(format!("framemix-videos-det-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let (a, b) = (dir.join("a.mp4"), dir.join("b.mp4"));
        encode_clip(&data.test[0], &a).unwrap();
        encode_clip(&data.test[0], &b).unwrap();
        assert_eq!(fs::read(&a).unwrap(), fs::read(&b).unwrap());
        fs::remove_dir_all(&dir).unwrap();
    }
}
