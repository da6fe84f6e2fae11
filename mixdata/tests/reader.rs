//! A reader decoding ahead on its own thread ([`Reader::decode_ahead`]) hands out the same
//! frames as one decoding on the caller's thread, and stops its thread when dropped early;
//! [`Reader::write_packed`] writes the same bytes as the converted frame, packed.

mod common;

use common::{TempDir, make_video};
use mixdata::{Problem, ReaderOptions, Source};

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

#[test]
fn write_packed_gives_the_converted_frame_at_any_width() {
    let dir = TempDir::new("rd-packed");
    // 64 wide: swscale writes packed rows as it writes padded ones; 100 and 98 wide: its
    // SIMD loops want a padded stride, so the reader converts and copies.
    for (name, size, codec) in [
        ("a.avi", (64, 48), &["-c:v", "mpeg4"][..]),
        ("b.avi", (100, 74), &["-c:v", "mpeg4"][..]),
        ("c.avi", (98, 50), &["-c:v", "mjpeg"][..]),
    ] {
        let video = make_video(&dir.path().join(name), 9, size, codec);
        let source = Source::open(&video).unwrap();
        let (want, _, _) = read_all(&source, None);
        let mut reader = source.reader(&ReaderOptions::default()).unwrap();
        reader.decode_ahead().unwrap();
        let mut got = Vec::new();
        while let Some(d) = reader.next_frame(|_| false).unwrap() {
            let (index, len) = (d.index, d.width as usize * d.height as usize * 3);
            let mut packed = vec![0u8; len];
            reader.write_packed(index, &mut packed).unwrap();
            let e = reader.write_packed(index, &mut packed[1..]).unwrap_err();
            assert!(matches!(e.problem, Problem::Usage(_)), "{e}");
            if index > 0 {
                let e = reader.write_packed(index - 1, &mut packed).unwrap_err();
                assert!(matches!(e.problem, Problem::Usage(_)), "{e}");
            }
            got.push(packed);
        }
        assert_eq!(got.len(), 9, "{name}");
        assert!(got == want, "{name}: other bytes");
    }
}
