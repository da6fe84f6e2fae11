//! Bounded memory: over hundreds of clips (videos through FFmpeg's demuxers and decoders, and
//! frame folders), the Rust heap the loader holds and the process's resident memory stay
//! flat. Rust allocations are counted by this test binary's global allocator (exactly);
//! FFmpeg's own allocations show in the resident set size. One test in this binary, so no
//! other test's allocations mix in.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering};

use common::{TempDir, make_video, png_clips};
use mixcore::{FramesPerSegment, Mode};
use mixdata::{Dataset, DatasetConfig, Entry, Loader, LoaderConfig, SourceKind};

/// The system allocator, counting the bytes it holds for Rust.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to `System` with the caller's arguments unchanged, so the
// allocator contract is System's; the counter only observes sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as received (see the impl).
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded as received (see the impl).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as received (see the impl).
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as received (see the impl).
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The resident set size in KiB (`VmRSS` of /proc/self/status).
fn rss_kib() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn loader_memory_stays_flat_over_many_clips() {
    let dir = TempDir::new("memory");
    let size = (96, 64);
    let (mut entries, _) = png_clips(dir.path(), 10, |c| 16 + c, |_| size);
    for v in 0..6 {
        let path = make_video(
            &dir.path().join(format!("v{v}.mp4")),
            30 + v,
            size,
            &[
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
            ],
        );
        entries.push(Entry {
            path,
            written: format!("v{v}.mp4").into(),
            labels: vec![v],
            kind: SourceKind::Video,
            frames: None,
            template: None,
            line: 0,
        });
    }
    let dataset = Dataset::new(
        entries,
        DatasetConfig {
            segments: 4,
            k: FramesPerSegment::All,
            mode: Mode::Train { seed: 3 },
            ..DatasetConfig::default()
        },
    )
    .unwrap();
    let loader = Loader::new(
        Arc::new(dataset),
        LoaderConfig {
            batch_size: 4,
            workers: 2,
            prefetch: 2,
            shuffle: true,
            ..LoaderConfig::default()
        },
    )
    .unwrap();
    let run = |epochs: std::ops::Range<u64>| {
        let mut clips = 0;
        for epoch in epochs {
            for batch in loader.epoch(epoch) {
                let batch = batch.unwrap();
                clips += batch.len();
                loader.recycle(batch);
            }
        }
        clips
    };
    // Warm up: buffers, decoders' first allocations, the allocator's arenas.
    run(0..3);
    let buffers0 = loader.buffers_allocated();
    let (live0, rss0) = (LIVE.load(Ordering::Relaxed), rss_kib());
    let clips = run(3..23);
    assert_eq!(clips, 20 * 16);
    let (live1, rss1) = (LIVE.load(Ordering::Relaxed), rss_kib());
    let buffers1 = loader.buffers_allocated();
    eprintln!(
        "after {clips} more clips: Rust heap {live0} -> {live1} bytes, resident {rss0} -> {rss1} KiB, batch buffers {buffers0} -> {buffers1}"
    );
    // One sample is 4 x 3 x 64 x 96 floats = 288 KiB and a batch 1.1 MiB: a buffer or a
    // sample leaked per clip would add hundreds of MiB. The loader's pool may keep one more
    // batch buffer than after the warm-up (it holds at most prefetch + 2).
    let batch_bytes = 4 * (4 * 3 * 64 * 96) * 4;
    let pooled = (buffers1 - buffers0) as isize * batch_bytes;
    assert!(
        live1 - live0 - pooled < 64 * 1024,
        "the Rust heap grew by {} bytes over {clips} clips ({pooled} of them new pooled buffers)",
        live1 - live0
    );
    assert!(
        rss1 - rss0 < 24 * 1024,
        "the resident set grew by {} KiB over {clips} clips",
        rss1 - rss0
    );
    assert!(
        loader.buffers_allocated() <= 4,
        "{}",
        loader.buffers_allocated()
    );
}
