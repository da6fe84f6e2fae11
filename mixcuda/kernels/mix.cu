// framemix CUDA kernels: Frame Mix-up on the GPU, bit-identical to mixcore (docs/contract.md 6 to 8).
//
// Compiled to mix.ptx by scripts/build-ptx.sh (clang-16, no CUDA toolkit); also valid nvcc
// input. See contract.cuh for the structs, the constants and the numerics.
//
// Thread mapping, every kernel but the probes: blockIdx.y (+ job_offset) picks a job (one
// output segment), blockIdx.x * blockDim.x + threadIdx.x a pixel of the frame; a thread owns
// every channel of its pixel. Each output element is written by exactly one thread and no
// kernel uses shared memory or barriers, so any execution order gives the same bits (the host
// emulator runs the threads one after another).
#include "contract.cuh"

template <typename A>
struct FmIsFloat {
  static const bool value = false;
};
template <>
struct FmIsFloat<float> {
  static const bool value = true;
};

// Adds the job's terms into acc[0..C) for the pixel whose first byte in frame 0 of the pool is
// `pixel`: acc[c] += n_t * v (exact) or acc[c] = acc[c] + w_t * v (float), t increasing.
template <typename Acc, int C>
static __device__ __forceinline__ void fm_sum_terms(const FmParams &p, const FmJob &job, const fm_u8 *pixel,
                                                    Acc *acc) {
  const fm_u32 *tf = (const fm_u32 *)p.term_frame + job.term_first;
  const fm_u32 *tn = (const fm_u32 *)p.term_numer + job.term_first;
  const float *tw = (const float *)p.term_weight + job.term_first;
#pragma unroll 4
  for (fm_u32 t = 0; t < job.term_count; ++t) {
    const fm_u8 *src = pixel + (fm_u64)tf[t] * p.frame_pitch;
    const fm_u32 n = FmIsFloat<Acc>::value ? 0u : tn[t];
    const float w = FmIsFloat<Acc>::value ? tw[t] : 0.0f;
#pragma unroll
    for (int c = 0; c < C; ++c) fm_add(&acc[c], n, w, (fm_u32)src[c]);
  }
}

// Writes the pixel's C finished values through the epilogue into the layout, as f32 or rounded
// to f16 / bf16 (p.store; docs/contract.md section 10).
template <typename Acc, int C>
static __device__ __forceinline__ void fm_store(const FmParams &p, const FmJob &job, fm_u32 px, fm_u64 hw,
                                                const Acc *acc) {
#pragma unroll
  for (int c = 0; c < C; ++c) {
    fm_put(p, fm_out_index(p, job, px, (fm_u32)c, hw), fm_epilogue(p, fm_value(acc[c], job.denominator), c));
  }
}

// Mix: every term of the job from the frame pool, then divide, epilogue, store.
template <typename Acc, int C>
static __device__ __forceinline__ void fm_mix_body(const FmParams &p) {
  const fm_u64 hw = (fm_u64)p.width * p.height;
  const fm_u32 px = blockIdx.x * blockDim.x + threadIdx.x;
  if (px >= hw) return;
  const FmJob job = ((const FmJob *)p.jobs)[p.job_offset + blockIdx.y];
  const fm_u32 y = px / p.width;
  const fm_u32 x = px - y * p.width;
  const fm_u8 *pixel = (const fm_u8 *)p.frames + (fm_u64)y * p.row_stride + (fm_u64)x * C;
  Acc acc[C];
#pragma unroll
  for (int c = 0; c < C; ++c) acc[c] = 0;
  fm_sum_terms<Acc, C>(p, job, pixel, acc);
  fm_store<Acc, C>(p, job, px, hw, acc);
}

// Streaming, one upload group: add the group's terms into the job's accumulators
// ([acc_block][H*W][C], zeroed before the first group).
template <typename Acc, int C>
static __device__ __forceinline__ void fm_accumulate_body(const FmParams &p) {
  const fm_u64 hw = (fm_u64)p.width * p.height;
  const fm_u32 px = blockIdx.x * blockDim.x + threadIdx.x;
  if (px >= hw) return;
  const FmJob job = ((const FmJob *)p.jobs)[p.job_offset + blockIdx.y];
  const fm_u32 y = px / p.width;
  const fm_u32 x = px - y * p.width;
  const fm_u8 *pixel = (const fm_u8 *)p.frames + (fm_u64)y * p.row_stride + (fm_u64)x * C;
  Acc *a = (Acc *)p.acc + ((fm_u64)job.acc_block * hw + px) * C;
  Acc acc[C];
#pragma unroll
  for (int c = 0; c < C; ++c) acc[c] = a[c];
  fm_sum_terms<Acc, C>(p, job, pixel, acc);
#pragma unroll
  for (int c = 0; c < C; ++c) a[c] = acc[c];
}

// Streaming, last step: divide the accumulators, epilogue, store.
template <typename Acc, int C>
static __device__ __forceinline__ void fm_finish_body(const FmParams &p) {
  const fm_u64 hw = (fm_u64)p.width * p.height;
  const fm_u32 px = blockIdx.x * blockDim.x + threadIdx.x;
  if (px >= hw) return;
  const FmJob job = ((const FmJob *)p.jobs)[p.job_offset + blockIdx.y];
  const Acc *a = (const Acc *)p.acc + ((fm_u64)job.acc_block * hw + px) * C;
  Acc acc[C];
#pragma unroll
  for (int c = 0; c < C; ++c) acc[c] = a[c];
  fm_store<Acc, C>(p, job, px, hw, acc);
}

// One kernel per (operation, accumulator); the channel count is a uniform switch.
#define FM_CHANNEL_SWITCH(BODY, ACC)  \
  switch (p.channels) {               \
    case 1:                           \
      BODY<ACC, 1>(p);                \
      break;                          \
    case 2:                           \
      BODY<ACC, 2>(p);                \
      break;                          \
    case 3:                           \
      BODY<ACC, 3>(p);                \
      break;                          \
    case 4:                           \
      BODY<ACC, 4>(p);                \
      break;                          \
    default:                          \
      break;                          \
  }

extern "C" __global__ void fm_mix_u32(const FmParams p) { FM_CHANNEL_SWITCH(fm_mix_body, fm_u32) }
extern "C" __global__ void fm_mix_u64(const FmParams p) { FM_CHANNEL_SWITCH(fm_mix_body, fm_u64) }
extern "C" __global__ void fm_mix_f32(const FmParams p) { FM_CHANNEL_SWITCH(fm_mix_body, float) }
extern "C" __global__ void fm_accumulate_u32(const FmParams p) { FM_CHANNEL_SWITCH(fm_accumulate_body, fm_u32) }
extern "C" __global__ void fm_accumulate_u64(const FmParams p) { FM_CHANNEL_SWITCH(fm_accumulate_body, fm_u64) }
extern "C" __global__ void fm_accumulate_f32(const FmParams p) { FM_CHANNEL_SWITCH(fm_accumulate_body, float) }
extern "C" __global__ void fm_finish_u32(const FmParams p) { FM_CHANNEL_SWITCH(fm_finish_body, fm_u32) }
extern "C" __global__ void fm_finish_u64(const FmParams p) { FM_CHANNEL_SWITCH(fm_finish_body, fm_u64) }
extern "C" __global__ void fm_finish_f32(const FmParams p) { FM_CHANNEL_SWITCH(fm_finish_body, float) }

// Test kernels: the rounding exactly as the mix kernels use it (fm_round_probe), and the
// integer algorithm alone for every d (fm_round_probe_exact), so the tests can check both
// routes against mixcore::round::round_ratio.
extern "C" __global__ void fm_round_probe(const FmProbe q) {
  const fm_u64 i = (fm_u64)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= q.count) return;
  ((float *)q.out)[i] = fm_round_ratio(((const fm_u64 *)q.n)[i], ((const fm_u64 *)q.d)[i]);
}
extern "C" __global__ void fm_round_probe_exact(const FmProbe q) {
  const fm_u64 i = (fm_u64)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= q.count) return;
  ((float *)q.out)[i] = fm_round_ratio_exact(((const fm_u64 *)q.n)[i], ((const fm_u64 *)q.d)[i]);
}

// The half-precision rounding exactly as the mix and finish kernels store it, so the tests can
// check it against mixcore::half::f16_bits / bf16_bits on every class of f32 input.
extern "C" __global__ void fm_f16_probe(const FmProbe q) {
  const fm_u64 i = (fm_u64)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= q.count) return;
  ((fm_u16 *)q.out)[i] = fm_f16_bits(((const float *)q.n)[i]);
}
extern "C" __global__ void fm_bf16_probe(const FmProbe q) {
  const fm_u64 i = (fm_u64)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= q.count) return;
  ((fm_u16 *)q.out)[i] = fm_bf16_bits(((const float *)q.n)[i]);
}
