// Host C++ stand-ins for the CUDA built-ins that mix.cu uses, so that the kernels' own source
// can run on a CPU (mixcuda's emulator test; see emu_main.cpp). Included by contract.cuh when
// FRAMEMIX_EMULATE is defined; never part of the PTX.
//
// Every intrinsic maps to the plain IEEE-754 operation it names. Compiled for x86-64 (SSE2
// arithmetic, no excess precision) with -ffp-contract=off, each is one correctly rounded
// operation, exactly what the *_rn intrinsics do on the GPU.
#ifndef FRAMEMIX_EMU_SHIM_H
#define FRAMEMIX_EMU_SHIM_H

#include <cstring>

#define __global__
#define __device__
#define __forceinline__ inline

struct fm_dim3 {
  unsigned x, y, z;
};
// Set by the emulator's grid loop before each simulated thread runs.
extern fm_dim3 blockIdx, threadIdx, blockDim, gridDim;

static inline float __fadd_rn(float a, float b) { return a + b; }
static inline float __fsub_rn(float a, float b) { return a - b; }
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fdiv_rn(float a, float b) { return a / b; }
static inline double __ddiv_rn(double a, double b) { return a / b; }
static inline float __double2float_rn(double a) { return (float)a; }
static inline double __ull2double_rn(unsigned long long a) { return (double)a; }
static inline float __uint2float_rn(unsigned int a) { return (float)a; }
static inline int __clzll(long long a) { return a == 0 ? 64 : __builtin_clzll((unsigned long long)a); }
static inline float __int_as_float(int a) {
  float f;
  std::memcpy(&f, &a, sizeof f);
  return f;
}
static inline unsigned int __float_as_uint(float a) {
  unsigned int u;
  std::memcpy(&u, &a, sizeof u);
  return u;
}

#endif  // FRAMEMIX_EMU_SHIM_H
