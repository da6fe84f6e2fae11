//! The host side of `kernels/contract.cuh`: kernel names, constants, and the byte images of
//! the structs the kernels read (`FmJob`, `FmParams`, `FmProbe`).
//!
//! Structs are encoded explicitly as little-endian words (every NVIDIA GPU is little-endian),
//! so no `unsafe` layout assumption is needed on the host; the unit tests below compare every
//! constant with the header, and the emulator test compares every field offset with what a C++
//! compiler makes of the header.

use mixcore::{Accumulator, Dtype, Epilogue, Half, Layout};

use crate::error::{Error, Result};

/// Threads per block of every mix kernel (`FM_BLOCK_THREADS`).
pub(crate) const BLOCK_THREADS: u32 = 256;
/// The largest `gridDim.y` CUDA allows; launches with more jobs are split.
pub(crate) const MAX_GRID_Y: u32 = 65_535;
/// The largest `gridDim.x` CUDA allows.
pub(crate) const MAX_GRID_X: u32 = i32::MAX as u32;
/// `sizeof(FmJob)`.
pub(crate) const JOB_SIZE: usize = 32;
/// `sizeof(FmParams)`.
pub(crate) const PARAMS_SIZE: usize = 136;
/// `sizeof(FmProbe)`.
#[cfg(test)]
pub(crate) const PROBE_SIZE: usize = 32;
/// Leading pointer words of `FmParams` (`FM_PARAM_POINTERS`).
#[cfg(test)]
pub(crate) const PARAM_POINTERS: usize = 7;
/// Leading pointer words of `FmProbe` (`FM_PROBE_POINTERS`).
#[cfg(test)]
pub(crate) const PROBE_POINTERS: usize = 3;
/// Denominators the kernels accept: below 2^48, the bound the long division in
/// `fm_shifted_quotient` relies on. mixcore's plans stay far below it (65,536 numerators of
/// at most `u32::MAX` sum to less than 2^48).
pub(crate) const MAX_DENOMINATOR: u64 = 1 << 48;

/// What a kernel does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Op {
    /// Mix every job from the frame pool into the output.
    Mix,
    /// Streaming: add one upload group into the accumulators.
    Accumulate,
    /// Streaming: accumulators to output.
    Finish,
}

/// The element type the mix and finish kernels store (`FM_STORE_*`, `FmParams.store`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) enum Store {
    /// `f32`.
    #[default]
    F32 = 0,
    /// IEEE binary16, rounded as `mixcore::half::f16_bits`.
    F16 = 1,
    /// bfloat16, rounded as `mixcore::half::bf16_bits`.
    Bf16 = 2,
}

impl Store {
    /// The store for an output of `dtype` (mixcore's `Dtype` is exhaustive: a type it adds
    /// fails to compile here until the kernels store it).
    pub(crate) fn of(dtype: Dtype) -> Store {
        match dtype {
            Dtype::F32 => Store::F32,
            Dtype::F16 => Store::F16,
            Dtype::Bf16 => Store::Bf16,
        }
    }

    /// The store for a half format.
    pub(crate) fn of_half(half: Half) -> Store {
        match half {
            Half::F16 => Store::F16,
            Half::Bf16 => Store::Bf16,
        }
    }

    /// The element type.
    pub(crate) fn dtype(self) -> Dtype {
        match self {
            Store::F32 => Dtype::F32,
            Store::F16 => Dtype::F16,
            Store::Bf16 => Dtype::Bf16,
        }
    }

    /// Bytes per element.
    pub(crate) fn bytes(self) -> usize {
        self.dtype().size()
    }
}

/// One kernel of `mix.ptx`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kernel {
    /// A mix-family kernel (argument: `FmParams`).
    Mix(Op, Accumulator),
    /// `fm_round_probe` (argument: `FmProbe`).
    #[cfg_attr(not(test), allow(dead_code))]
    RoundProbe,
    /// `fm_round_probe_exact` (argument: `FmProbe`).
    #[cfg_attr(not(test), allow(dead_code))]
    RoundProbeExact,
    /// `fm_f16_probe` (argument: `FmProbe`).
    #[cfg_attr(not(test), allow(dead_code))]
    F16Probe,
    /// `fm_bf16_probe` (argument: `FmProbe`).
    #[cfg_attr(not(test), allow(dead_code))]
    Bf16Probe,
}

impl Kernel {
    /// Every kernel, for the tests that check the PTX and the emulator.
    #[cfg(test)]
    pub(crate) const ALL: [Kernel; 13] = [
        Kernel::Mix(Op::Mix, Accumulator::U32),
        Kernel::Mix(Op::Mix, Accumulator::U64),
        Kernel::Mix(Op::Mix, Accumulator::F32),
        Kernel::Mix(Op::Accumulate, Accumulator::U32),
        Kernel::Mix(Op::Accumulate, Accumulator::U64),
        Kernel::Mix(Op::Accumulate, Accumulator::F32),
        Kernel::Mix(Op::Finish, Accumulator::U32),
        Kernel::Mix(Op::Finish, Accumulator::U64),
        Kernel::Mix(Op::Finish, Accumulator::F32),
        Kernel::RoundProbe,
        Kernel::RoundProbeExact,
        Kernel::F16Probe,
        Kernel::Bf16Probe,
    ];

    /// The kernel's `extern "C"` name.
    #[cfg_attr(not(any(feature = "cuda", test)), allow(dead_code))]
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kernel::Mix(Op::Mix, Accumulator::U32) => "fm_mix_u32",
            Kernel::Mix(Op::Mix, Accumulator::U64) => "fm_mix_u64",
            Kernel::Mix(Op::Mix, Accumulator::F32) => "fm_mix_f32",
            Kernel::Mix(Op::Accumulate, Accumulator::U32) => "fm_accumulate_u32",
            Kernel::Mix(Op::Accumulate, Accumulator::U64) => "fm_accumulate_u64",
            Kernel::Mix(Op::Accumulate, Accumulator::F32) => "fm_accumulate_f32",
            Kernel::Mix(Op::Finish, Accumulator::U32) => "fm_finish_u32",
            Kernel::Mix(Op::Finish, Accumulator::U64) => "fm_finish_u64",
            Kernel::Mix(Op::Finish, Accumulator::F32) => "fm_finish_f32",
            Kernel::RoundProbe => "fm_round_probe",
            Kernel::RoundProbeExact => "fm_round_probe_exact",
            Kernel::F16Probe => "fm_f16_probe",
            Kernel::Bf16Probe => "fm_bf16_probe",
        }
    }
}

/// `FmJob`: one output segment (or, streaming, one segment's share of an upload group).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Job {
    pub denominator: u64,
    pub term_first: u32,
    pub term_count: u32,
    pub segment: u32,
    pub segments: u32,
    pub first_segment: u32,
    pub acc_block: u32,
}

impl Job {
    /// The struct's bytes as the device reads them.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.denominator.to_le_bytes());
        for w in [
            self.term_first,
            self.term_count,
            self.segment,
            self.segments,
            self.first_segment,
            self.acc_block,
        ] {
            out.extend_from_slice(&w.to_le_bytes());
        }
    }
}

/// Encodes jobs into the byte array uploaded to the device.
pub(crate) fn encode_jobs(jobs: &[Job]) -> Vec<u8> {
    let mut out = Vec::with_capacity(jobs.len() * JOB_SIZE);
    for j in jobs {
        j.encode(&mut out);
    }
    out
}

/// `FM_LAYOUT_*`.
pub(crate) fn layout_code(layout: Layout) -> Result<u32> {
    match layout {
        Layout::Tchw => Ok(0),
        Layout::Cthw => Ok(1),
        Layout::Thwc => Ok(2),
        other => Err(unsupported(&other)),
    }
}

/// [`Error::Unsupported`] for a mixcore choice these kernels lack.
pub(crate) fn unsupported(what: &dyn core::fmt::Debug) -> Error {
    Error::Unsupported {
        what: format!("{what:?}"),
    }
}

/// `FM_EPILOGUE_*` and the normalisation constants.
pub(crate) fn epilogue_code(epilogue: &Epilogue) -> Result<(u32, [f32; 4], [f32; 4])> {
    match *epilogue {
        Epilogue::Raw => Ok((0, [0.0; 4], [1.0; 4])),
        Epilogue::Unit => Ok((1, [0.0; 4], [1.0; 4])),
        Epilogue::Normalize { mean, std } => Ok((2, mean, std)),
        ref other => Err(unsupported(other)),
    }
}

/// `FmParams`: the one argument of every mix-family kernel.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct MixParams {
    pub frames: u64,
    pub out: u64,
    pub jobs: u64,
    pub term_frame: u64,
    pub term_numer: u64,
    pub term_weight: u64,
    pub acc: u64,
    pub frame_pitch: u64,
    pub row_stride: u64,
    pub width: u32,
    pub height: u32,
    pub channels: u32,
    pub layout: u32,
    pub epilogue: u32,
    pub job_offset: u32,
    pub mean: [f32; 4],
    pub std: [f32; 4],
    pub store: Store,
}

impl MixParams {
    /// The struct's image, as 8-byte words (so it is aligned for the launch).
    pub(crate) fn encode(&self) -> [u64; PARAMS_SIZE / 8] {
        let pair = |lo: u32, hi: u32| u64::from(lo) | (u64::from(hi) << 32);
        let fpair = |lo: f32, hi: f32| pair(lo.to_bits(), hi.to_bits());
        [
            self.frames,
            self.out,
            self.jobs,
            self.term_frame,
            self.term_numer,
            self.term_weight,
            self.acc,
            self.frame_pitch,
            self.row_stride,
            pair(self.width, self.height),
            pair(self.channels, self.layout),
            pair(self.epilogue, self.job_offset),
            fpair(self.mean[0], self.mean[1]),
            fpair(self.mean[2], self.mean[3]),
            fpair(self.std[0], self.std[1]),
            fpair(self.std[2], self.std[3]),
            pair(self.store as u32, 0),
        ]
    }
}

/// `FmProbe`: the argument of the rounding probe kernels.
#[cfg(test)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ProbeParams {
    pub n: u64,
    pub d: u64,
    pub out: u64,
    pub count: u64,
}

#[cfg(test)]
impl ProbeParams {
    /// The struct's image.
    pub(crate) fn encode(&self) -> [u64; PROBE_SIZE / 8] {
        [self.n, self.d, self.out, self.count]
    }
}

/// Little-endian bytes of encoded words (what the device reads).
#[cfg(test)]
pub(crate) fn words_to_bytes(words: &[u64]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = include_str!("../kernels/contract.cuh");
    const PTX: &str = include_str!("../kernels/mix.ptx");

    /// The value of `#define NAME value` in contract.cuh.
    fn define(name: &str) -> String {
        let prefix = format!("#define {name} ");
        HEADER
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("contract.cuh has no #define {name}"))
            .trim()
            .to_string()
    }

    #[test]
    fn constants_match_contract_header() {
        assert_eq!(define("FM_BLOCK_THREADS"), BLOCK_THREADS.to_string());
        assert_eq!(define("FM_PARAMS_SIZE"), PARAMS_SIZE.to_string());
        assert_eq!(define("FM_JOB_SIZE"), JOB_SIZE.to_string());
        assert_eq!(define("FM_PROBE_SIZE"), PROBE_SIZE.to_string());
        assert_eq!(define("FM_PARAM_POINTERS"), PARAM_POINTERS.to_string());
        assert_eq!(define("FM_PROBE_POINTERS"), PROBE_POINTERS.to_string());
        assert_eq!(define("FM_FAST_DIVISOR_LIMIT"), "(1ull << 29)");
        for (name, store) in [
            ("FM_STORE_F32", Store::F32),
            ("FM_STORE_F16", Store::F16),
            ("FM_STORE_BF16", Store::Bf16),
        ] {
            assert_eq!(define(name), (store as u32).to_string());
            assert_eq!(Store::of(store.dtype()), store);
        }
        assert_eq!(Store::of_half(Half::F16), Store::F16);
        assert_eq!(Store::of_half(Half::Bf16), Store::Bf16);
        assert_eq!((Store::F32.bytes(), Store::F16.bytes()), (4, 2));
        assert_eq!(1u64 << 29, mixcore::round::FAST_DIVISOR_LIMIT);
        for (name, layout) in [
            ("FM_LAYOUT_TCHW", Layout::Tchw),
            ("FM_LAYOUT_CTHW", Layout::Cthw),
            ("FM_LAYOUT_THWC", Layout::Thwc),
        ] {
            assert_eq!(define(name), layout_code(layout).unwrap().to_string());
        }
        for (name, epilogue) in [
            ("FM_EPILOGUE_RAW", Epilogue::Raw),
            ("FM_EPILOGUE_UNIT", Epilogue::Unit),
            ("FM_EPILOGUE_NORMALIZE", Epilogue::IMAGENET),
        ] {
            assert_eq!(
                define(name),
                epilogue_code(&epilogue).unwrap().0.to_string()
            );
        }
    }

    #[test]
    fn encodings_have_the_header_sizes() {
        assert_eq!(MixParams::default().encode().len() * 8, PARAMS_SIZE);
        assert_eq!(ProbeParams::default().encode().len() * 8, PROBE_SIZE);
        assert_eq!(encode_jobs(&[Job::default(); 3]).len(), 3 * JOB_SIZE);
    }

    #[test]
    fn job_encoding_is_little_endian_in_field_order() {
        let job = Job {
            denominator: 0x0102_0304_0506_0708,
            term_first: 9,
            term_count: 10,
            segment: 11,
            segments: 12,
            first_segment: 13,
            acc_block: 14,
        };
        let b = encode_jobs(&[job]);
        assert_eq!(&b[..8], &0x0102_0304_0506_0708u64.to_le_bytes());
        let words: Vec<u32> = b[8..]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(words, [9, 10, 11, 12, 13, 14]);
    }

    #[test]
    fn params_encoding_puts_pointers_first() {
        let p = MixParams {
            frames: 1,
            out: 2,
            jobs: 3,
            term_frame: 4,
            term_numer: 5,
            term_weight: 6,
            acc: 7,
            frame_pitch: 8,
            row_stride: 9,
            width: 10,
            height: 11,
            channels: 3,
            layout: 2,
            epilogue: 1,
            job_offset: 65_535,
            mean: [0.5, 0.25, 0.125, 1.0],
            std: [2.0, 4.0, 8.0, 16.0],
            store: Store::Bf16,
        };
        let w = p.encode();
        assert_eq!(&w[..PARAM_POINTERS], &[1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(w[9], 10 | (11 << 32));
        assert_eq!(w[11], 1 | (65_535 << 32));
        assert_eq!(w[12] as u32, 0.5f32.to_bits());
        assert_eq!((w[15] >> 32) as u32, 16.0f32.to_bits());
        assert_eq!(w[16], 2);
    }

    #[test]
    fn every_kernel_is_in_the_ptx() {
        for k in Kernel::ALL {
            let entry = format!(".visible .entry {}(", k.name());
            assert!(PTX.contains(&entry), "mix.ptx lacks {}", k.name());
        }
    }

    #[test]
    fn ptx_loads_as_a_c_string() {
        // cust hands the PTX to the driver as a C string (and panics on an inner NUL).
        assert!(!PTX.contains('\0'));
        assert!(PTX.contains(".target sm_70"));
    }

    #[test]
    fn ptx_has_no_fused_or_flushing_float_ops() {
        for (i, line) in PTX.lines().enumerate() {
            let op = line.split_whitespace().next().unwrap_or("");
            let float_op = op.ends_with(".f32") || op.ends_with(".f64");
            assert!(
                !(float_op && (op.starts_with("fma.") || op.starts_with("mad."))),
                "mix.ptx line {}: fused float op `{op}`",
                i + 1
            );
            assert!(
                !op.contains(".ftz"),
                "mix.ptx line {}: flush-to-zero `{op}`",
                i + 1
            );
            assert!(
                !op.contains(".approx"),
                "mix.ptx line {}: approximate `{op}`",
                i + 1
            );
            // Unrounded add/sub/mul may be contracted by ptxas; every one must say `.rn`.
            for base in ["add.", "sub.", "mul."] {
                if float_op && op.starts_with(base) {
                    assert!(
                        op.contains(".rn."),
                        "mix.ptx line {}: `{op}` without .rn",
                        i + 1
                    );
                }
            }
        }
    }
}
