//! Launch geometry and kernel arguments, in plain Rust: the CUDA backend executes these
//! descriptions, and the tests run the very same ones through the host emulator.

use std::ops::Range;

use mixcore::{Accumulator, Geometry};

use crate::error::{Error, Result};
use crate::pack::Packed;
use crate::params::{
    BLOCK_THREADS, Job, Kernel, MAX_GRID_X, MAX_GRID_Y, MixParams, Op, Store, epilogue_code,
    layout_code,
};

/// One kernel launch: which kernel, its grid, and its argument's image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Launch {
    pub kernel: Kernel,
    pub grid: [u32; 3],
    pub block: [u32; 3],
    /// The argument struct as little-endian 8-byte words.
    pub params: Vec<u64>,
}

/// Pixels of one frame (`W * H`), checked so that every index the kernels form from them fits:
/// `W * H * C` must fit in 32 bits.
///
/// # Errors
/// [`Error::FrameTooLarge`] and the geometry's own errors.
pub(crate) fn frame_pixels(g: Geometry) -> Result<u32> {
    g.validate()?;
    let elements = u64::from(g.width) * u64::from(g.height) * u64::from(g.channels);
    if elements > u64::from(u32::MAX) {
        return Err(Error::FrameTooLarge { elements });
    }
    Ok(g.width * g.height)
}

/// Device addresses a mix-family launch reads and writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Addresses {
    /// The frame pool (byte 0 of frame 0).
    pub frames: u64,
    /// The output tensor.
    pub out: u64,
    /// The job array.
    pub jobs: u64,
    /// Per-term frame (or slot) indices into the pool.
    pub term_frame: u64,
    /// Per-term numerators.
    pub term_numer: u64,
    /// Per-term weights.
    pub term_weight: u64,
    /// Streaming accumulators.
    pub acc: u64,
}

/// How the frames of the pool are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PoolLayout {
    /// Bytes from one row to the next.
    pub row_stride: usize,
    /// Bytes from one frame to the next.
    pub frame_pitch: usize,
}

/// The argument of every mix-family launch of `packed` on frames of `g` (job offset 0), storing
/// `store` elements.
pub(crate) fn mix_params(
    packed: &Packed,
    g: Geometry,
    pool: PoolLayout,
    addr: Addresses,
    store: Store,
) -> MixParams {
    // `pack` refused the layouts and epilogues the kernels lack, so these codes exist.
    let (epilogue, mean, std) = epilogue_code(&packed.epilogue).unwrap_or((0, [0.0; 4], [1.0; 4]));
    MixParams {
        frames: addr.frames,
        out: addr.out,
        jobs: addr.jobs,
        term_frame: addr.term_frame,
        term_numer: addr.term_numer,
        term_weight: addr.term_weight,
        acc: addr.acc,
        frame_pitch: pool.frame_pitch as u64,
        row_stride: pool.row_stride as u64,
        width: g.width,
        height: g.height,
        channels: g.channels,
        layout: layout_code(packed.layout).unwrap_or(0),
        epilogue,
        job_offset: 0,
        mean,
        std,
        store,
    }
}

/// Launches of `op` over `jobs` (indices into the job array `params.jobs` points at), split so
/// that no grid exceeds CUDA's limits: `grid = (ceil(W*H / 256), jobs in the launch, 1)`.
///
/// # Errors
/// [`Error::FrameTooLarge`] when the grid would be too wide (it cannot be for a checked frame).
pub(crate) fn job_launches(
    op: Op,
    arith: Accumulator,
    params: &MixParams,
    pixels: u32,
    jobs: Range<u32>,
) -> Result<Vec<Launch>> {
    let blocks_x = pixels.div_ceil(BLOCK_THREADS);
    if blocks_x > MAX_GRID_X {
        return Err(Error::FrameTooLarge {
            elements: u64::from(pixels),
        });
    }
    let mut out = Vec::new();
    let mut start = jobs.start;
    while start < jobs.end {
        let count = (jobs.end - start).min(MAX_GRID_Y);
        let p = MixParams {
            job_offset: start,
            ..*params
        };
        out.push(Launch {
            kernel: Kernel::Mix(op, arith),
            grid: [blocks_x, count, 1],
            block: [BLOCK_THREADS, 1, 1],
            params: p.encode().to_vec(),
        });
        start += count;
    }
    Ok(out)
}

/// Launches that mix `jobs` of `packed` from a frame pool into the output, of `store` elements.
///
/// # Errors
/// [`Error::FrameTooLarge`] and the geometry's errors.
pub(crate) fn mix_launches(
    packed: &Packed,
    g: Geometry,
    pool: PoolLayout,
    addr: Addresses,
    jobs: Range<u32>,
    store: Store,
) -> Result<Vec<Launch>> {
    let pixels = frame_pixels(g)?;
    let params = mix_params(packed, g, pool, addr, store);
    job_launches(Op::Mix, packed.arith, &params, pixels, jobs)
}

/// Streaming: launches that add one group (`group_jobs` jobs at `addr.jobs`, frames in the ring
/// at `addr.frames`) into the accumulators at `addr.acc`.
///
/// # Errors
/// As [`mix_launches`].
pub(crate) fn accumulate_launches(
    packed: &Packed,
    g: Geometry,
    ring: PoolLayout,
    addr: Addresses,
    group_jobs: u32,
) -> Result<Vec<Launch>> {
    let pixels = frame_pixels(g)?;
    // Accumulate kernels store no output.
    let params = mix_params(packed, g, ring, addr, Store::F32);
    job_launches(Op::Accumulate, packed.arith, &params, pixels, 0..group_jobs)
}

/// Streaming: launches that turn the accumulators at `addr.acc` into the output of `store`
/// elements, for every job of `packed` (its job array at `addr.jobs`).
///
/// # Errors
/// As [`mix_launches`].
pub(crate) fn finish_launches(
    packed: &Packed,
    g: Geometry,
    addr: Addresses,
    store: Store,
) -> Result<Vec<Launch>> {
    let pixels = frame_pixels(g)?;
    let pool = PoolLayout {
        row_stride: 0,
        frame_pitch: 0,
    };
    let params = mix_params(packed, g, pool, addr, store);
    job_launches(
        Op::Finish,
        packed.arith,
        &params,
        pixels,
        0..packed.jobs.len() as u32,
    )
}

#[cfg(test)]
/// The launch of a rounding probe over `count` pairs (`exact`: the integer route only).
///
/// # Errors
/// [`Error::Mix`] with `SizeOverflow` for more pairs than one 1-D grid covers.
pub(crate) fn probe_launch(exact: bool, n: u64, d: u64, out: u64, count: usize) -> Result<Launch> {
    let kernel = if exact {
        Kernel::RoundProbeExact
    } else {
        Kernel::RoundProbe
    };
    probe(kernel, n, d, out, count)
}

#[cfg(test)]
/// The launch of the half-rounding probe of `store` over `count` `f32` values at `input`,
/// writing `count` `u16` at `out`.
///
/// # Errors
/// As [`probe_launch`]; [`Error::Unsupported`] for `Store::F32`, which has no probe.
pub(crate) fn half_probe_launch(
    store: Store,
    input: u64,
    out: u64,
    count: usize,
) -> Result<Launch> {
    let kernel = match store {
        Store::F16 => Kernel::F16Probe,
        Store::Bf16 => Kernel::Bf16Probe,
        Store::F32 => return Err(crate::params::unsupported(&store)),
    };
    probe(kernel, input, 0, out, count)
}

#[cfg(test)]
fn probe(kernel: Kernel, n: u64, d: u64, out: u64, count: usize) -> Result<Launch> {
    let blocks = u32::try_from(count.div_ceil(BLOCK_THREADS as usize))
        .ok()
        .filter(|&b| b <= MAX_GRID_X)
        .ok_or(mixcore::Error::SizeOverflow)?;
    let p = crate::params::ProbeParams {
        n,
        d,
        out,
        count: count as u64,
    };
    Ok(Launch {
        kernel,
        grid: [blocks.max(1), 1, 1],
        block: [BLOCK_THREADS, 1, 1],
        params: p.encode().to_vec(),
    })
}

/// One step of a host-to-device mix: upload slots `slots` of the compact frame pool, then
/// mix jobs `jobs`, whose frames are all uploaded by the end of this chunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Chunk {
    pub slots: Range<u32>,
    pub jobs: Range<u32>,
}

/// Splits a host-frames mix into chunks of about `target_bytes` of upload each, so that the
/// copy of chunk k+1 overlaps the kernel of chunk k. Jobs run in order; each chunk uploads the
/// slots its jobs need that earlier chunks did not.
pub(crate) fn upload_chunks(
    packed: &Packed,
    frame_bytes: usize,
    target_bytes: usize,
) -> Vec<Chunk> {
    let per_chunk = (target_bytes / frame_bytes.max(1)).max(1) as u32;
    let mut chunks = Vec::new();
    let (mut uploaded, mut job0) = (0u32, 0u32);
    let mut need = 0u32;
    let jobs = packed.jobs.len() as u32;
    for j in 0..jobs {
        need = need.max(packed.job_slot_end(j as usize));
        let last = j + 1 == jobs;
        if last || need - uploaded >= per_chunk {
            chunks.push(Chunk {
                slots: uploaded..need.max(uploaded),
                jobs: job0..j + 1,
            });
            uploaded = need.max(uploaded);
            job0 = j + 1;
        }
    }
    chunks
}

/// Runs of consecutive slots whose frames are also consecutive in a frame-indexed buffer:
/// `(first frame, first slot, count)`, so one copy moves each run.
pub(crate) fn frame_runs(slot_frames: &[u32], slots: Range<u32>) -> Vec<(u32, u32, u32)> {
    let mut runs: Vec<(u32, u32, u32)> = Vec::new();
    for s in slots {
        let Some(&f) = slot_frames.get(s as usize) else {
            break;
        };
        match runs.last_mut() {
            Some((f0, s0, n)) if *f0 + *n == f && *s0 + *n == s => *n += 1,
            _ => runs.push((f, s, 1)),
        }
    }
    runs
}

/// Streaming: one group of uploaded frames and the jobs they feed.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Group {
    /// Global frame index of each ring slot, in push order.
    pub frames: Vec<u32>,
    /// One job per output segment the group feeds (`acc_block` = the segment's job).
    pub jobs: Vec<Job>,
    /// Ring slot of each term.
    pub term_frame: Vec<u32>,
    /// Numerator of each term.
    pub term_numer: Vec<u32>,
    /// Weight of each term.
    pub term_weight: Vec<f32>,
}

/// Builds the group for frames `frames` (ring slot `r` holds `frames[r]`): for each job they
/// feed, its terms in push order. On the float path the caller guarantees increasing `t` per job
/// across and within groups, so push order is `t` order.
pub(crate) fn build_group(packed: &Packed, frames: &[u32]) -> Group {
    let mut contributions: Vec<(u32, u32, u32)> = Vec::new(); // (job, t, slot)
    for (slot, &f) in frames.iter().enumerate() {
        for &(job, t) in packed.feeds_of(f) {
            contributions.push((job, t, slot as u32));
        }
    }
    // Stable: a job's terms keep their push order.
    contributions.sort_by_key(|&(job, _, _)| job);
    let mut g = Group {
        frames: frames.to_vec(),
        ..Group::default()
    };
    for (i, &(job, t, slot)) in contributions.iter().enumerate() {
        let Some(base) = packed.jobs.get(job as usize) else {
            continue;
        };
        if i == 0 || contributions[i - 1].0 != job {
            g.jobs.push(Job {
                term_first: g.term_frame.len() as u32,
                term_count: 0,
                ..*base
            });
        }
        if let Some(last) = g.jobs.last_mut() {
            last.term_count += 1;
        }
        let term = (base.term_first + t) as usize;
        g.term_frame.push(slot);
        g.term_numer
            .push(packed.term_numer.get(term).copied().unwrap_or(0));
        g.term_weight
            .push(packed.term_weight.get(term).copied().unwrap_or(0.0));
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::pack;
    use mixcore::{FramesPerSegment, MixSpec, Plan, PlanConfig};

    #[test]
    fn frame_pixels_limits_elements_to_32_bits() {
        assert_eq!(
            frame_pixels(Geometry::new(224, 224, 3).unwrap()).unwrap(),
            50_176
        );
        let big = Geometry::new(65_536, 16_384, 4).unwrap();
        assert_eq!(
            frame_pixels(big),
            Err(Error::FrameTooLarge { elements: 1 << 32 })
        );
        assert!(frame_pixels(Geometry::new(65_535, 16_384, 4).unwrap()).is_ok());
    }

    #[test]
    fn job_launches_cover_every_pixel_and_job_once() {
        let params = MixParams::default();
        for (pixels, jobs) in [
            (1u32, 1u32),
            (255, 3),
            (256, 8),
            (257, 65_535),
            (50_176, 200_000),
        ] {
            let launches =
                job_launches(Op::Mix, Accumulator::U32, &params, pixels, 0..jobs).unwrap();
            let mut next = 0u32;
            for l in &launches {
                assert_eq!(l.block, [BLOCK_THREADS, 1, 1]);
                assert!(l.grid[0] * BLOCK_THREADS >= pixels);
                assert!((l.grid[0] - 1) * BLOCK_THREADS < pixels);
                assert!(l.grid[1] >= 1 && l.grid[1] <= MAX_GRID_Y);
                assert_eq!(l.grid[2], 1);
                let offset = (l.params[11] >> 32) as u32;
                assert_eq!(offset, next, "launches are contiguous");
                next += l.grid[1];
                assert_eq!(l.kernel.name(), "fm_mix_u32");
            }
            assert_eq!(next, jobs);
        }
        assert!(
            job_launches(Op::Mix, Accumulator::U32, &params, 10, 5..5)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn probe_launch_covers_count() {
        let l = probe_launch(true, 1, 2, 3, 1000).unwrap();
        assert_eq!(l.kernel, Kernel::RoundProbeExact);
        assert_eq!(l.grid, [4, 1, 1]);
        assert_eq!(l.params, vec![1, 2, 3, 1000]);
        assert_eq!(probe_launch(false, 1, 2, 3, 0).unwrap().grid, [1, 1, 1]);
        let h = half_probe_launch(Store::Bf16, 5, 6, 257).unwrap();
        assert_eq!(h.kernel.name(), "fm_bf16_probe");
        assert_eq!((h.grid, h.params), ([2, 1, 1], vec![5, 0, 6, 257]));
        assert_eq!(
            half_probe_launch(Store::F16, 5, 6, 1)
                .unwrap()
                .kernel
                .name(),
            "fm_f16_probe"
        );
        assert!(half_probe_launch(Store::F32, 5, 6, 1).is_err());
    }

    fn packed(frames: u32, config: PlanConfig<'_>) -> Packed {
        pack(&[Plan::new(frames, &config).unwrap()], &MixSpec::default()).unwrap()
    }

    /// Chunks upload every needed slot exactly once, in order, and every job runs after all
    /// the slots it reads are uploaded.
    fn check_chunks(p: &Packed, chunks: &[Chunk]) {
        let mut uploaded = 0u32;
        let mut next_job = 0u32;
        for c in chunks {
            assert_eq!(c.slots.start, uploaded);
            uploaded = c.slots.end;
            assert_eq!(c.jobs.start, next_job);
            assert!(c.jobs.end > c.jobs.start);
            for j in c.jobs.clone() {
                assert!(
                    p.job_slot_end(j as usize) <= uploaded,
                    "job {j} before its frames"
                );
            }
            next_job = c.jobs.end;
        }
        assert_eq!(uploaded as usize, p.slot_frames.len());
        assert_eq!(next_job as usize, p.jobs.len());
    }

    #[test]
    fn upload_chunks_upload_each_frame_once_before_use() {
        for (frames, config) in [
            (48, PlanConfig::default()),
            (300, PlanConfig::default()),
            (3, PlanConfig::default()),
            (
                48,
                PlanConfig {
                    k: FramesPerSegment::Fixed(1),
                    ..PlanConfig::default()
                },
            ),
            (
                1000,
                PlanConfig {
                    segments: 64,
                    k: FramesPerSegment::Fixed(5),
                    ..PlanConfig::default()
                },
            ),
        ] {
            let p = packed(frames, config);
            for (frame_bytes, target) in [(150_528, 1 << 20), (1, 1), (100, 1 << 30), (7, 0)] {
                check_chunks(&p, &upload_chunks(&p, frame_bytes, target));
            }
        }
        // A chunk per ~1 MiB: 300 frames of 230 KB, 8 segments -> one chunk per segment or so.
        let p = packed(300, PlanConfig::default());
        let chunks = upload_chunks(&p, 230_400, 1 << 20);
        assert!(chunks.len() >= 8, "{chunks:?}");
    }

    #[test]
    fn frame_runs_merge_consecutive_frames() {
        assert_eq!(
            frame_runs(&[0, 1, 2, 5, 6, 9], 0..6),
            vec![(0, 0, 3), (5, 3, 2), (9, 5, 1)]
        );
        assert_eq!(
            frame_runs(&[0, 1, 2, 5, 6, 9], 1..4),
            vec![(1, 1, 2), (5, 3, 1)]
        );
        assert_eq!(frame_runs(&[3], 0..5), vec![(3, 0, 1)]);
        assert!(frame_runs(&[], 0..0).is_empty());
    }

    #[test]
    fn build_group_lists_each_jobs_terms_in_push_order() {
        // F < S: frame 0 feeds segments 0, 1, 2.
        let p = packed(3, PlanConfig::default());
        let g = build_group(&p, &[1, 0]);
        let jobs: Vec<u32> = g.jobs.iter().map(|j| j.acc_block).collect();
        assert_eq!(jobs, vec![0, 1, 2, 3, 4, 5]);
        assert!(g.jobs.iter().all(|j| j.term_count == 1));
        // Segments 0..3 read frame 0, in ring slot 1.
        assert_eq!(&g.term_frame[..3], &[1, 1, 1]);
        assert_eq!(&g.term_frame[3..], &[0, 0, 0]);

        let p = packed(48, PlanConfig::default());
        let g = build_group(&p, &[6, 7, 5, 12]);
        assert_eq!(g.jobs.len(), 3);
        let seg1 = g.jobs[1];
        assert_eq!((seg1.acc_block, seg1.term_count, seg1.segment), (1, 2, 1));
        // Frames 6 and 7 are t = 0 and 1 of segment 1, numerators 1 and 2.
        let r = seg1.term_first as usize..(seg1.term_first + 2) as usize;
        assert_eq!(&g.term_frame[r.clone()], &[0, 1]);
        assert_eq!(&g.term_numer[r], &[1, 2]);
        assert_eq!(g.jobs[0].acc_block, 0);
        assert_eq!(g.term_numer[g.jobs[0].term_first as usize], 6);
    }
}
