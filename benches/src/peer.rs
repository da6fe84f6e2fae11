//! The shared bench's C peer kernel (`limits.c`'s `mix_avx2`: AVX2+FMA, float weights, tiles
//! accumulated in the output), linked in with the `peer` feature so that `mixbench` can time
//! it in the same process as ours, calls alternating on the same bytes. It is a float kernel:
//! a bound on speed, not a reference for bits. It writes `[S][H*W*3]` floats, each segment
//! interleaved as the input (our `Thwc`), where `mixbench`'s exact variants write `Tchw`.

use crate::Workload;

unsafe extern "C" {
    fn framemix_peer_mix(
        frames: *const u8,
        out: *mut f32,
        f: i32,
        h: i32,
        w: i32,
        tile: usize,
        fg: i32,
        nts: i32,
    );
}

/// One configuration of the peer: bytes of each frame per tile, frames per register group,
/// streaming stores of finished tiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerConfig {
    /// Bytes of each frame per tile (a multiple of 32).
    pub tile: usize,
    /// Frames per register group, 1 to 8.
    pub group: i32,
    /// Streaming stores (`ntstore` in limits.c's report).
    pub stream: bool,
}

impl PeerConfig {
    /// The configurations `limits.c` runs for one thread (its `avx2` lines): tiles of 2, 4, 8,
    /// 16 and 64 KiB (those not above the frame) and the whole frame with groups of 8; groups
    /// of 4 and streaming stores at 4 and 16 KiB; groups of 1 at 4 KiB.
    pub fn grid(frame_bytes: usize) -> Vec<PeerConfig> {
        let whole = frame_bytes.next_multiple_of(32);
        let mut v = Vec::new();
        for tile in [2048, 4096, 8192, 16384, 65536, whole] {
            if tile > frame_bytes && tile != whole {
                continue;
            }
            let c = |group, stream| PeerConfig {
                tile,
                group,
                stream,
            };
            v.push(c(8, false));
            if tile == 4096 || tile == 16384 {
                v.push(c(4, false));
                v.push(c(8, true));
            }
            if tile == 4096 {
                v.push(c(1, false));
            }
        }
        v
    }

    /// As `limits.c` names it.
    pub fn name(&self) -> String {
        format!(
            "avx2 tile={}B fg={}{}",
            self.tile,
            self.group,
            if self.stream { " ntstore" } else { "" }
        )
    }
}

/// Runs the peer on `w` into `out`. Returns false, doing nothing, unless `out` holds the
/// `8 * H * W * 3` floats it writes and is 32-byte aligned (the peer's loads and stores of its
/// tiles are aligned ones), each segment's run too, and the case fits its tables.
pub fn peer_mix(w: &Workload, out: &mut [f32], cfg: PeerConfig) -> bool {
    let n = w.geometry.elements().unwrap_or(usize::MAX);
    let c = w.case;
    let ok = n.checked_mul(8).is_some_and(|len| out.len() >= len)
        && (out.as_ptr() as usize).is_multiple_of(32)
        && (n * 4).is_multiple_of(32)
        && w.input_bytes() == n * c.frames as usize
        && (8..=65_536).contains(&c.frames)
        && cfg.tile.is_multiple_of(32)
        && cfg.tile > 0
        && (1..=8).contains(&cfg.group);
    if !ok {
        return false;
    }
    // SAFETY: the peer reads the `frames * n` bytes of `w` and writes `8 * n` floats of `out`
    // (checked above), through aligned loads and stores of 32-byte vectors at offsets that
    // are multiples of 32 bytes from `out` (segment runs of `4 n` bytes, tiles of a multiple
    // of 32 floats), so `out`'s alignment (checked) suffices. Its tables hold 65,536 weights and
    // 65 bounds (S = 8). It keeps static state, and mixbench calls it from one thread only.
    unsafe {
        framemix_peer_mix(
            w.bytes.as_ptr(),
            out.as_mut_ptr(),
            c.frames as i32,
            c.height as i32,
            c.width as i32,
            cfg.tile,
            cfg.group,
            i32::from(cfg.stream),
        );
    }
    true
}
