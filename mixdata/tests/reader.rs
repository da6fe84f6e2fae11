//! A reader decoding ahead on its own thread ([`Reader::decode_ahead`]) hands out the same
//! frames as one decoding on the caller's thread, and stops its thread when dropped early.

mod common;

use common::{TempDir, make_video};
use mixdata::{ReaderOptions, Source};

/// Every frame's RGB24 bytes (rows packed), the count and whether damage was seen.
fn read_all(source: &Source, ahead_after: Option<u32>) -> (Vec<Vec<u8>>, u32, bool) {
    let mut reader = source.reader(&ReaderOptions::default()).unwrap();
    let size = reader.peek_size().unwrap().unwrap();
    let mut frames = Vec::new();
    loop {
        if ahead_after == Some(frames.len() as u32) {
            reader.decode_ahead().unwrap();
        }
        let Some(d) = reader.next_frame(|_| true).unwrap() else {
            break;
        };
        assert_eq!((d.width, d.height), size);
        let rgb = d.rgb.unwrap();
        let row = rgb.width as usize * 3;
        let mut packed = Vec::with_capacity(row * rgb.height as usize);
        for y in 0..rgb.height as usize {
            packed.extend_from_slice(&rgb.data[y * rgb.stride..y * rgb.stride + row]);
        }
        frames.push(packed);
    }
    (frames, reader.decoded(), reader.damage().is_clean())
}

#[test]
fn decoding_ahead_hands_out_the_same_frames() {
    let dir = TempDir::new("rd-ahead");
    for (name, codec) in [
        ("a.avi", &["-c:v", "mpeg4"][..]),
        ("b.mkv", &["-c:v", "mjpeg"][..]),
    ] {
        let video = make_video(&dir.path().join(name), 23, (48, 32), codec);
        let source = Source::open(&video).unwrap();
        let here = read_all(&source, None);
        assert_eq!(here.1, 23, "{name}");
        assert!(here.2, "{name}");
        // From the first frame, and after a few frames decoded here.
        for start in [0, 5] {
            let ahead = read_all(&source, Some(start));
            assert_eq!(ahead.1, here.1, "{name} from {start}");
            assert_eq!(ahead.2, here.2, "{name} from {start}");
            assert!(ahead.0 == here.0, "{name} from {start}: other frames");
        }
    }
}

#[test]
fn a_reader_decoding_ahead_can_be_dropped_early() {
    let dir = TempDir::new("rd-drop");
    let video = make_video(&dir.path().join("c.avi"), 40, (64, 48), &["-c:v", "mpeg4"]);
    let source = Source::open(&video).unwrap();
    for taken in [0, 1, 7] {
        let mut reader = source.reader(&ReaderOptions::default()).unwrap();
        reader.decode_ahead().unwrap();
        for _ in 0..taken {
            assert!(reader.next_frame(|_| false).unwrap().is_some());
        }
        // Dropping joins the decoding thread, which is blocked on a full channel: it must
        // notice the closed channel and end.
        drop(reader);
    }
}
