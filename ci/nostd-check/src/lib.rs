//! Links mixcore (default features off) into a `#![no_std]` staticlib with its own panic
//! handler. If anything pulls in std, the build fails with "duplicate lang item `panic_impl`".
#![no_std]

use mixcore::{FrameView, Geometry, MixSpec, Mixer, Plan, PlanConfig};

/// Mixes `frames` packed 8x8 RGB frames (192 bytes each, back to back) into `out`
/// (8 segments x 192 values) with the default plan; returns 0 on success, 1 on error.
///
/// # Safety
/// `frames` points to `frames_len` readable bytes and `out` to 1536 writable `f32`s.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framemix_mix_8x8(frames: *const u8, frames_len: usize, out: *mut f32) -> i32 {
    // SAFETY: the caller promises both regions are valid for these lengths.
    let (bytes, out) = unsafe {
        (
            core::slice::from_raw_parts(frames, frames_len),
            core::slice::from_raw_parts_mut(out, 8 * 192),
        )
    };
    match run(bytes, out) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

fn run(bytes: &[u8], out: &mut [f32]) -> mixcore::Result<()> {
    let g = Geometry::new(8, 8, 3)?;
    let count = (bytes.len() / 192) as u32;
    let plan = Plan::new(count, &PlanConfig::default())?;
    let spec = MixSpec::default();
    // Streaming into a fixed static-size scratch: no allocator anywhere. Words: the `u32`
    // accumulators of 8 segments of 192 values (two to a word), the record of pushes (a bit
    // per frame for up to 4096 frames, a word per segment) and a stage byte per segment.
    let mut scratch = [0u64; 8 * 192 / 2 + 4096 / 64 + 8 + 1];
    let mut mixer = Mixer::new(&plan, g, spec, &mut scratch)?;
    for (f, chunk) in bytes.chunks_exact(192).enumerate() {
        mixer.push(f as u32, &FrameView::packed(chunk, g)?)?;
    }
    mixer.finish(out)
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}
