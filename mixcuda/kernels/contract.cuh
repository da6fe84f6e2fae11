// framemix CUDA kernels: the shared contract between the device code (mix.cu), the Rust host
// code (mixcuda/src/params.rs, which mirrors every struct and constant here and checks them in
// its unit tests) and the host emulator (emu/emu_shim.h).
//
// Numerics follow /SPEC.md sections 6 to 8 and mirror mixcore bit for bit:
//   - exact path: integer sums N = sum n_t * v, then V = N / D correctly rounded to f32
//     (mixcore::round::round_ratio / round_ratio_fast, same split at FM_FAST_DIVISOR_LIMIT);
//   - float path: acc = acc + (w_t * v) in increasing t, each operation rounded to nearest;
//   - epilogues raw / unit / normalize as IEEE f32 operations in the spec's order;
//   - half outputs (docs/contract.md section 10): that f32 value rounded to f16 or bf16, to
//     nearest, ties to even, by integer arithmetic on its bits (mixcore::half::f16_bits and
//     bf16_bits step for step), so no conversion instruction and no FTZ mode is involved.
// Every f32/f64 operation that matters goes through an explicit round-to-nearest intrinsic, so
// neither ptxas nor nvcc (-fmad=true by default) can fuse or reorder it; build-ptx.sh also passes
// -ffp-contract=off.
//
// Three ways to compile this file:
//   FRAMEMIX_CLANG_NOCUDAINC  clang-16 --cuda-device-only -nocudainc -nocudalib (scripts/build-ptx.sh):
//                             no CUDA headers, so the few intrinsics used are defined below on
//                             clang's NVVM builtins;
//   FRAMEMIX_EMULATE          host C++ (mixcuda's emulator test): emu/emu_shim.h supplies plain
//                             C++ stand-ins and a grid loop;
//   neither                   nvcc (or clang with a CUDA toolkit): the toolkit's headers supply
//                             everything; only standard CUDA C is used.
#ifndef FRAMEMIX_CONTRACT_CUH
#define FRAMEMIX_CONTRACT_CUH

#if defined(FRAMEMIX_EMULATE)
#include "emu/emu_shim.h"
#elif defined(FRAMEMIX_CLANG_NOCUDAINC)
// ---- begin clang shims (the only place compiler builtins may appear; build-ptx.sh checks) ----
#ifdef __clang__
#include <__clang_cuda_builtin_vars.h>
#else
#error "FRAMEMIX_CLANG_NOCUDAINC is for clang's CUDA mode without CUDA headers"
#endif
#define __global__ __attribute__((global))
#define __device__ __attribute__((device))
#define __forceinline__ __attribute__((always_inline))
// The CUDA math API names, on the NVVM builtins that the toolkit's headers use for them.
static __device__ __forceinline__ float __fadd_rn(float a, float b) { return __nvvm_add_rn_f(a, b); }
static __device__ __forceinline__ float __fsub_rn(float a, float b) { return __nvvm_add_rn_f(a, -b); }
static __device__ __forceinline__ float __fmul_rn(float a, float b) { return __nvvm_mul_rn_f(a, b); }
static __device__ __forceinline__ float __fdiv_rn(float a, float b) { return __nvvm_div_rn_f(a, b); }
static __device__ __forceinline__ double __ddiv_rn(double a, double b) { return __nvvm_div_rn_d(a, b); }
static __device__ __forceinline__ float __double2float_rn(double a) { return __nvvm_d2f_rn(a); }
static __device__ __forceinline__ double __ull2double_rn(unsigned long long a) { return __nvvm_ull2d_rn(a); }
static __device__ __forceinline__ float __uint2float_rn(unsigned int a) { return __nvvm_ui2f_rn(a); }
// LLVM's ctlz, which NVPTX lowers to clz.b64 (callers never pass 0).
static __device__ __forceinline__ int __clzll(long long a) { return __builtin_clzll((unsigned long long)a); }
static __device__ __forceinline__ float __int_as_float(int a) { return __nvvm_bitcast_i2f(a); }
static __device__ __forceinline__ unsigned int __float_as_uint(float a) { return (unsigned int)__nvvm_bitcast_f2i(a); }
// ---- end clang shims ----
#endif

typedef unsigned char fm_u8;
typedef unsigned short fm_u16;
typedef unsigned int fm_u32;
typedef unsigned long long fm_u64;

// ---- constants (mirrored in mixcuda/src/params.rs; a unit test compares them) ----
#define FM_BLOCK_THREADS 256
// mixcore::round::FAST_DIVISOR_LIMIT: below it, (float)((double)N / (double)D) is exact.
#define FM_FAST_DIVISOR_LIMIT (1ull << 29)
#define FM_LAYOUT_TCHW 0
#define FM_LAYOUT_CTHW 1
#define FM_LAYOUT_THWC 2
#define FM_EPILOGUE_RAW 0
#define FM_EPILOGUE_UNIT 1
#define FM_EPILOGUE_NORMALIZE 2
// The element type the mix and finish kernels store (FmParams.store).
#define FM_STORE_F32 0
#define FM_STORE_F16 1
#define FM_STORE_BF16 2
#define FM_PARAM_POINTERS 7
#define FM_PARAMS_SIZE 136
#define FM_JOB_SIZE 32
#define FM_PROBE_POINTERS 3
#define FM_PROBE_SIZE 32

// One job: one output segment. On the mix path its terms are the segment's mixed frames; on
// the streaming accumulate path they are the frames of one upload group that feed it.
struct FmJob {
  fm_u64 denominator;    // D_i (exact path; ignored on the float path)
  fm_u32 term_first;     // index of the job's first term in the term arrays
  fm_u32 term_count;     // number of terms (m_i on the mix path)
  fm_u32 segment;        // i, the segment within its video
  fm_u32 segments;       // S of its video
  fm_u32 first_segment;  // output segment index of its video's segment 0 (batch offset)
  fm_u32 acc_block;      // streaming: accumulator block (global job index) it reads/writes
};

// The one argument of every mix kernel, passed by value. Device pointers come first: the
// emulator relocates exactly the first FM_PARAM_POINTERS words.
struct FmParams {
  fm_u64 frames;       // const u8 *: frame pool (term_frame indexes frames of frame_pitch bytes)
  fm_u64 out;          // float * (FM_STORE_F32) or fm_u16 * (FM_STORE_F16 / _BF16): output tensor(s)
  fm_u64 jobs;         // const FmJob *
  fm_u64 term_frame;   // const u32 *: frame index of each term in the pool
  fm_u64 term_numer;   // const u32 *: numerator n_t of each term (exact path)
  fm_u64 term_weight;  // const float *: weight w_t of each term (float path)
  fm_u64 acc;          // u32 / u64 / float *: streaming accumulators, [acc_block][H*W*C]
  fm_u64 frame_pitch;  // bytes from one frame of the pool to the next
  fm_u64 row_stride;   // bytes from one row of a frame to the next
  fm_u32 width;        // W
  fm_u32 height;       // H
  fm_u32 channels;     // C, 1 to 4
  fm_u32 layout;       // FM_LAYOUT_*
  fm_u32 epilogue;     // FM_EPILOGUE_*
  fm_u32 job_offset;   // blockIdx.y + job_offset is the job (launches of > 65535 jobs are split)
  float mean[4];       // normalize: per-channel mean, unit scale
  float std[4];        // normalize: per-channel std, unit scale
  fm_u32 store;        // FM_STORE_*: the output's element type (mix and finish kernels)
  fm_u32 reserved;     // 0; pads the struct to a multiple of 8 bytes
};

// The argument of the probes. fm_round_probe: out[i] = fm_round_ratio(n[i], d[i]) for
// i < count. fm_f16_probe / fm_bf16_probe: n is a const float *, d unused (0), out a fm_u16 *,
// out[i] = fm_f16_bits(n[i]) (fm_bf16_bits).
struct FmProbe {
  fm_u64 n;      // const u64 * (half probes: const float *)
  fm_u64 d;      // const u64 * (half probes: 0)
  fm_u64 out;    // float * (half probes: fm_u16 *)
  fm_u64 count;
};

static_assert(sizeof(FmJob) == FM_JOB_SIZE, "FmJob layout");
static_assert(sizeof(FmParams) == FM_PARAMS_SIZE, "FmParams layout");
static_assert(sizeof(FmProbe) == FM_PROBE_SIZE, "FmProbe layout");

// ---- the correctly rounded division (mixcore::round) ----

// floor(n * 2^s / d) and whether the remainder is non-zero, by long division in steps of at most
// 16 bits: the remainder stays below d < 2^48, so r << 16 fits 64 bits, and the quotient below
// 2^26. Preconditions (the host guarantees them): 1 <= d < 2^48, 0 <= s, and the result < 2^64.
static __device__ __forceinline__ fm_u64 fm_shifted_quotient(fm_u64 n, fm_u64 d, int s, bool *sticky) {
  fm_u64 q = n / d;
  fm_u64 r = n % d;
  while (s > 0) {
    const int k = s < 16 ? s : 16;
    r <<= k;
    q = (q << k) | (r / d);
    r %= d;
    s -= k;
  }
  *sticky = r != 0;
  return q;
}

// n / d correctly rounded to f32, ties to even: mixcore::round::round_ratio, step for step, for
// the range the plans produce (1 <= d < 2^48, n <= 255 * d, so s below is in [17, 72]).
static __device__ __forceinline__ float fm_round_ratio_exact(fm_u64 n, fm_u64 d) {
  if (n == 0) return 0.0f;
  const int ln = 64 - __clzll((long long)n);
  const int ld = 64 - __clzll((long long)d);
  // n * 2^s / d lies in [2^24, 2^26) for this s.
  int s = 25 - ln + ld;
  bool sticky;
  fm_u64 q = fm_shifted_quotient(n, d, s, &sticky);
  if (q >= (1ull << 25)) {
    sticky = sticky || (q & 1) != 0;
    q >>= 1;
    s -= 1;
  }
  // q has 25 bits: 24 of mantissa and the rounding bit.
  fm_u32 mant = (fm_u32)(q >> 1);
  if ((q & 1) != 0 && (sticky || (mant & 1) != 0)) mant += 1;  // may reach 2^24, still exact
  // value = mant * 2^(1 - s); 1 - s is in [-71, -16], a normal f32 power of two.
  const int e = 1 - s;
  return __fmul_rn(__uint2float_rn(mant), __int_as_float((e + 127) << 23));
}

// mixcore's route: one f64 division below FM_FAST_DIVISOR_LIMIT (exact there, see
// mixcore::round::FAST_DIVISOR_LIMIT), the integer algorithm above it.
static __device__ __forceinline__ float fm_round_ratio(fm_u64 n, fm_u64 d) {
  if (d < FM_FAST_DIVISOR_LIMIT) {
    return __double2float_rn(__ddiv_rn(__ull2double_rn(n), __ull2double_rn(d)));
  }
  return fm_round_ratio_exact(n, d);
}

// ---- accumulators: exact u32 / u64 sums, or the float path ----

static __device__ __forceinline__ void fm_add(fm_u32 *a, fm_u32 n, float, fm_u32 v) { *a += n * v; }
static __device__ __forceinline__ void fm_add(fm_u64 *a, fm_u32 n, float, fm_u32 v) { *a += (fm_u64)n * v; }
static __device__ __forceinline__ void fm_add(float *a, fm_u32, float w, fm_u32 v) {
  *a = __fadd_rn(*a, __fmul_rn(w, __uint2float_rn(v)));
}
static __device__ __forceinline__ float fm_value(fm_u32 a, fm_u64 d) { return fm_round_ratio(a, d); }
static __device__ __forceinline__ float fm_value(fm_u64 a, fm_u64 d) { return fm_round_ratio(a, d); }
static __device__ __forceinline__ float fm_value(float a, fm_u64) { return a; }

// ---- half-precision outputs (docs/contract.md section 10; mixcore/src/half.rs) ----

// x rounded to the nearest IEEE binary16, ties to even: overflow to infinity, gradual underflow
// to subnormals and signed zero (never flushed), NaN to a quiet NaN keeping the top fraction
// bits. mixcore::half::f16_bits, branch for branch.
static __device__ __forceinline__ fm_u16 fm_f16_bits(float x) {
  const fm_u32 b = __float_as_uint(x);
  const fm_u32 sign = (b >> 16) & 0x8000u;
  const fm_u32 abs = b & 0x7fffffffu;
  if (abs > 0x7f800000u) return (fm_u16)(sign | 0x7e00u | ((abs >> 13) & 0x03ffu));
  // 65520 = 65504 + half an ulp: from there up (a tie rounds to the even 2^16), infinity.
  if (abs >= 0x477ff000u) return (fm_u16)(sign | 0x7c00u);
  // Normal f16 (>= 2^-14): rebias the exponent (127 -> 15), round off 13 fraction bits; a
  // carry moves into the exponent, as it should.
  if (abs >= 0x38800000u) {
    const fm_u32 e = abs - 0x38000000u;
    return (fm_u16)(sign | ((e + 0x0fffu + ((e >> 13) & 1u)) >> 13));
  }
  // At most 2^-25 (half the smallest subnormal, a tie to even 0): zero.
  if (abs <= 0x33000000u) return (fm_u16)sign;
  // Subnormal f16: the significand in units of 2^-24, rounded to nearest even; shift is in
  // [14, 24] here.
  const fm_u32 m = (abs & 0x007fffffu) | 0x00800000u;
  const fm_u32 shift = 126u - (abs >> 23);
  const fm_u32 q = m >> shift;
  const fm_u32 rem = m & ((1u << shift) - 1u);
  const fm_u32 halfway = 1u << (shift - 1u);
  const fm_u32 up = (rem > halfway || (rem == halfway && (q & 1u) != 0)) ? 1u : 0u;
  return (fm_u16)(sign | (q + up));
}

// x rounded to the nearest bfloat16, ties to even (overflow to infinity, subnormals kept);
// NaN to a quiet NaN. mixcore::half::bf16_bits.
static __device__ __forceinline__ fm_u16 fm_bf16_bits(float x) {
  const fm_u32 b = __float_as_uint(x);
  if ((b & 0x7fffffffu) > 0x7f800000u) return (fm_u16)((b >> 16) | 0x0040u);
  return (fm_u16)((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
}

// Stores v at element i of the output in the launch's element type (p.store, uniform across
// the grid, so the branch never diverges).
static __device__ __forceinline__ void fm_put(const FmParams &p, fm_u64 i, float v) {
  switch (p.store) {
    case FM_STORE_F16:
      ((fm_u16 *)p.out)[i] = fm_f16_bits(v);
      break;
    case FM_STORE_BF16:
      ((fm_u16 *)p.out)[i] = fm_bf16_bits(v);
      break;
    default:
      ((float *)p.out)[i] = v;
      break;
  }
}

// ---- epilogue and layout ----

static __device__ __forceinline__ float fm_epilogue(const FmParams &p, float v, int c) {
  switch (p.epilogue) {
    case FM_EPILOGUE_UNIT:
      return __fdiv_rn(v, 255.0f);
    case FM_EPILOGUE_NORMALIZE:
      return __fdiv_rn(__fsub_rn(__fdiv_rn(v, 255.0f), p.mean[c & 3]), p.std[c & 3]);
    default:
      return v;
  }
}

// Element index of (job, pixel px = y*W + x, channel c) in the output: the job's video block
// starts at first_segment * C*H*W; inside it SPEC.md section 8's layouts.
static __device__ __forceinline__ fm_u64 fm_out_index(const FmParams &p, const FmJob &job, fm_u32 px,
                                                    fm_u32 c, fm_u64 hw) {
  const fm_u64 ch = p.channels;
  const fm_u64 base = (fm_u64)job.first_segment * ch * hw;
  switch (p.layout) {
    case FM_LAYOUT_CTHW:
      return base + ((fm_u64)c * job.segments + job.segment) * hw + px;
    case FM_LAYOUT_THWC:
      return base + ((fm_u64)job.segment * hw + px) * ch + c;
    default:
      return base + ((fm_u64)job.segment * ch + c) * hw + px;
  }
}

#endif  // FRAMEMIX_CONTRACT_CUH
