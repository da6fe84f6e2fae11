//! Shared workloads for framemix's benchmarks: the performance issue's cases, a streaming-read
//! baseline over the same bytes, and runners for every kernel variant.

use std::hint::black_box;
use std::time::{Duration, Instant};

mod huge;
pub use huge::HugeBuf;
#[cfg(feature = "peer")]
pub mod peer;

use mixcore::{
    Backend, FloatWeights, FrameView, Geometry, Half, MixPath, MixSpec, Mixer, Plan, PlanConfig,
};

/// One workload: F frames of W x H x 3 bytes, mixed into S = 8 segments.
#[derive(Clone, Copy, Debug)]
pub struct Case {
    /// Short name (`a`, `b`, `c`).
    pub name: &'static str,
    /// Frames.
    pub frames: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// The performance issue's cases: a (48 x 224x224, fits L3), b (300 x 320x240), c (48 x
/// 1280x720).
pub const CASES: [Case; 3] = [
    Case {
        name: "a",
        frames: 48,
        width: 224,
        height: 224,
    },
    Case {
        name: "b",
        frames: 300,
        width: 320,
        height: 240,
    },
    Case {
        name: "c",
        frames: 48,
        width: 1280,
        height: 720,
    },
];

/// A case's video in one buffer, frames back to back (each frame packed RGB24).
pub struct Workload {
    /// The case.
    pub case: Case,
    /// Frame geometry.
    pub geometry: Geometry,
    /// All frames' bytes (2 MiB-aligned, huge pages requested: see [`HugeBuf`]).
    pub bytes: HugeBuf<u8>,
}

impl Workload {
    /// Deterministic pseudo-random frames (SplitMix64) for `case`.
    pub fn new(case: Case) -> Self {
        let geometry = Geometry::new(case.width, case.height, 3).expect("valid geometry");
        let len = geometry.elements().expect("fits") * case.frames as usize;
        let mut rng = mixcore::SplitMix64::new(0xF00D);
        let mut bytes = HugeBuf::new(len, 0u8);
        for chunk in bytes.chunks_mut(8) {
            let x = rng.next_u64().to_le_bytes();
            chunk.copy_from_slice(&x[..chunk.len()]);
        }
        Workload {
            case,
            geometry,
            bytes,
        }
    }

    /// Views of every frame.
    pub fn views(&self) -> Vec<FrameView<'_>> {
        let n = self.geometry.elements().expect("fits");
        self.bytes
            .chunks_exact(n)
            .map(|c| FrameView::packed(c, self.geometry).expect("valid frame"))
            .collect()
    }

    /// Input bytes a mix reads.
    pub fn input_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// The default plan (8 segments, all frames, linear).
    pub fn plan(&self) -> Plan<'static> {
        Plan::new(self.case.frames, &PlanConfig::default()).expect("valid plan")
    }

    /// Output elements.
    pub fn output_len(&self) -> usize {
        mixcore::output_len(&self.plan(), self.geometry).expect("fits")
    }
}

/// The kernel variants the benchmarks compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// Exact path, scalar reference backend, one thread.
    Reference,
    /// Exact path, portable `wide` backend, one thread.
    Wide,
    /// Exact path, fastest backend, one thread.
    Exact,
    /// Exact path, the AVX2 backend, one thread (where the CPU has AVX2).
    ExactAvx2,
    /// Exact path, the AVX-512 backend, one thread (where the CPU has AVX-512 BW/VL).
    ExactAvx512,
    /// Exact path, fastest backend, every rayon thread (`mix_par`).
    ExactParallel,
    /// Exact path, fastest backend, one thread, f16 output (`mix_half`) into
    /// [`Scratch::half`] instead of the f32 output.
    ExactF16,
    /// Float path (schedule weights), fastest backend, one thread.
    Float,
    /// Exact path through the streaming `Mixer` with its recommended buffer and the output
    /// given up front (`Mixer::with_output`), frames pushed in order.
    Stream,
    /// A decode-and-mix pipeline for in-memory mixing: a stand-in decoder writes every frame
    /// (a copy of its bytes) into a whole-video buffer, then the exact mix runs on it (one
    /// thread).
    DecodeToMemory,
    /// The same pipeline streaming: the stand-in decoder writes each frame, in order, straight
    /// into the streaming mixer's buffer (`Mixer::push_with`), windows mixed as they complete
    /// (one thread).
    DecodeToMixer,
}

/// Buffers the variants reuse from call to call (so no run pays for fresh pages).
#[derive(Debug, Default)]
pub struct Scratch {
    /// The streaming mixer's scratch.
    pub words: Vec<u64>,
    /// The whole decoded video of [`Variant::DecodeToMemory`].
    pub video: Vec<u8>,
    /// The f16 output of [`Variant::ExactF16`] (as bit patterns), as long as the f32 output.
    pub half: Option<HugeBuf<u16>>,
}

impl Variant {
    /// Every variant.
    pub const ALL: [Variant; 11] = [
        Variant::Reference,
        Variant::Wide,
        Variant::Exact,
        Variant::ExactAvx2,
        Variant::ExactAvx512,
        Variant::ExactParallel,
        Variant::ExactF16,
        Variant::Float,
        Variant::Stream,
        Variant::DecodeToMemory,
        Variant::DecodeToMixer,
    ];

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Reference => "reference",
            Variant::Wide => "wide",
            Variant::Exact => "exact_1t",
            Variant::ExactAvx2 => "exact_avx2_1t",
            Variant::ExactAvx512 => "exact_avx512_1t",
            Variant::ExactParallel => "exact_mt",
            Variant::ExactF16 => "exact_f16_1t",
            Variant::Float => "float_1t",
            Variant::Stream => "stream_1t",
            Variant::DecodeToMemory => "pipe_memory_1t",
            Variant::DecodeToMixer => "pipe_stream_1t",
        }
    }

    /// The backend a variant pins, if any.
    pub fn backend(self) -> Option<Backend> {
        match self {
            Variant::Reference => Some(Backend::Reference),
            Variant::Wide => Some(Backend::Wide),
            Variant::ExactAvx2 => Some(Backend::Avx2),
            Variant::ExactAvx512 => Some(Backend::Avx512),
            _ => None,
        }
    }

    /// True when this CPU runs the variant's backend (a variant whose backend is missing
    /// would measure the fallback under its name, so `mixbench` leaves it out).
    pub fn is_available(self) -> bool {
        self.backend().is_none_or(Backend::is_available)
    }
}

/// Runs one variant on a workload into `out`.
pub fn run(
    w: &Workload,
    frames: &[FrameView<'_>],
    variant: Variant,
    out: &mut [f32],
    scratch: &mut Scratch,
) {
    let plan = w.plan();
    let spec = |backend| MixSpec {
        backend,
        ..MixSpec::default()
    };
    let result = match variant {
        Variant::Reference => mixcore::mix(&plan, frames, &spec(Backend::Reference), out),
        Variant::Wide => mixcore::mix(&plan, frames, &spec(Backend::Wide), out),
        Variant::Exact => mixcore::mix(&plan, frames, &spec(Backend::Auto), out),
        Variant::ExactAvx2 => mixcore::mix(&plan, frames, &spec(Backend::Avx2), out),
        Variant::ExactAvx512 => mixcore::mix(&plan, frames, &spec(Backend::Avx512), out),
        Variant::ExactParallel => mixcore::mix_par(&plan, frames, &spec(Backend::Auto), out),
        Variant::ExactF16 => {
            let half = match &mut scratch.half {
                Some(h) if h.len() == out.len() => h,
                slot => slot.insert(HugeBuf::new(out.len(), 0u16)),
            };
            mixcore::mix_half(&plan, frames, &spec(Backend::Auto), Half::F16, half)
        }
        Variant::Float => {
            let s = MixSpec {
                path: MixPath::Float(FloatWeights::Schedule),
                ..MixSpec::default()
            };
            mixcore::mix(&plan, frames, &s, out)
        }
        Variant::Stream => {
            let b = Mixer::RECOMMENDED_BUFFER;
            streaming_mixer(w, &plan, b, &mut scratch.words, out, |mixer| {
                for (f, frame) in frames.iter().enumerate() {
                    mixer.push(f as u32, frame)?;
                }
                Ok(())
            })
        }
        Variant::DecodeToMemory => {
            scratch.video.resize(w.bytes.len(), 0);
            let n = w.geometry.elements().expect("fits");
            for (dst, src) in scratch
                .video
                .chunks_exact_mut(n)
                .zip(w.bytes.chunks_exact(n))
            {
                dst.copy_from_slice(keep(src));
            }
            let decoded: Vec<FrameView<'_>> = scratch
                .video
                .chunks_exact(n)
                .map(|c| FrameView::packed(c, w.geometry).expect("valid frame"))
                .collect();
            mixcore::mix(&plan, &decoded, &spec(Backend::Auto), out)
        }
        Variant::DecodeToMixer => {
            let b = Mixer::RECOMMENDED_BUFFER;
            let n = w.geometry.elements().expect("fits");
            streaming_mixer(w, &plan, b, &mut scratch.words, out, |mixer| {
                for (f, src) in w.bytes.chunks_exact(n).enumerate() {
                    mixer.push_with(f as u32, |slot| slot.copy_from_slice(keep(src)))?;
                }
                Ok(())
            })
        }
    };
    result.expect("benchmark mix failed");
}

/// An exact streaming mixer with a buffer of `buffered` frames and `out` given up front:
/// `feed` pushes the frames, then the mixer finishes into `out`.
fn streaming_mixer(
    w: &Workload,
    plan: &Plan<'_>,
    buffered: u32,
    words: &mut Vec<u64>,
    out: &mut [f32],
    feed: impl FnOnce(&mut Mixer<'_, '_>) -> mixcore::Result<()>,
) -> mixcore::Result<()> {
    let s = MixSpec::default();
    words.resize(
        Mixer::scratch_len_buffered(plan, w.geometry, &s, buffered)?,
        0,
    );
    let mut mixer = Mixer::with_output(plan, w.geometry, s, buffered, words, out)?;
    feed(&mut mixer)?;
    mixer.finish_output()
}

/// Sum of every byte: the streaming-read baseline (AVX2 `vpsadbw` when available).
pub fn read_baseline(bytes: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 was detected just above.
        return unsafe { sum_avx2(bytes) };
    }
    bytes.iter().map(|&b| u64::from(b)).sum()
}

/// [`read_baseline`] on every rayon thread, each summing its own 256 KiB chunks: how much
/// faster all cores together read the same bytes than one does (the ceiling for any parallel
/// kernel over them).
pub fn read_baseline_par(bytes: &[u8]) -> u64 {
    use rayon::prelude::*;
    bytes.par_chunks(1 << 18).map(read_baseline).sum()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn sum_avx2(bytes: &[u8]) -> u64 {
    use std::arch::x86_64::*;
    let zero = _mm256_setzero_si256();
    let mut acc = [zero; 4];
    let mut chunks = bytes.chunks_exact(128);
    for c in &mut chunks {
        for (q, a) in acc.iter_mut().enumerate() {
            // SAFETY: each chunk holds 128 bytes; this reads bytes 32q..32q+32.
            let v = unsafe { _mm256_loadu_si256(c.as_ptr().add(32 * q).cast()) };
            *a = _mm256_add_epi64(*a, _mm256_sad_epu8(v, zero));
        }
    }
    let mut lanes = [0u64; 4];
    let total = _mm256_add_epi64(
        _mm256_add_epi64(acc[0], acc[1]),
        _mm256_add_epi64(acc[2], acc[3]),
    );
    // SAFETY: `lanes` holds 32 bytes.
    unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), total) };
    lanes.iter().sum::<u64>()
        + chunks
            .remainder()
            .iter()
            .map(|&b| u64::from(b))
            .sum::<u64>()
}

/// Median wall time of `reps` calls of `f` (after one warm-up call).
pub fn median_time(reps: usize, mut f: impl FnMut()) -> Duration {
    f();
    let mut times: Vec<Duration> = (0..reps.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// Times `reps` calls of `base` and of `f`, alternating (after one warm-up call of each):
/// `(base times, f times)`. Each pair ran back to back, so a change in the machine's speed
/// (another tenant, frequency) touches both of a pair alike; see [`median_ratio`].
pub fn paired_times(
    reps: usize,
    mut base: impl FnMut(),
    mut f: impl FnMut(),
) -> (Vec<Duration>, Vec<Duration>) {
    base();
    f();
    (0..reps.max(1))
        .map(|_| {
            let t = Instant::now();
            base();
            let tb = t.elapsed();
            let t = Instant::now();
            f();
            (tb, t.elapsed())
        })
        .unzip()
}

/// Median of a list of times (`Duration::ZERO` for none).
pub fn median(times: &[Duration]) -> Duration {
    let mut t = times.to_vec();
    t.sort();
    t.get(t.len() / 2).copied().unwrap_or_default()
}

/// Median over pairs of `base time / f time`: how fast `f` runs relative to `base` (the
/// same bytes, so also the ratio of their GB/s), measured pair by pair.
pub fn median_ratio(base: &[Duration], f: &[Duration]) -> f64 {
    let mut r: Vec<f64> = base
        .iter()
        .zip(f)
        .map(|(b, t)| b.as_secs_f64() / t.as_secs_f64().max(1e-12))
        .collect();
    r.sort_by(f64::total_cmp);
    r.get(r.len() / 2).copied().unwrap_or(0.0)
}

/// GB/s (10^9 bytes per second) for `bytes` in `t`.
pub fn gbps(bytes: usize, t: Duration) -> f64 {
    bytes as f64 / t.as_secs_f64() / 1e9
}

/// Keeps a value alive for the optimiser.
pub fn keep<T>(v: T) -> T {
    black_box(v)
}
