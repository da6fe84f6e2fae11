// Used only by `scripts/build-ptx.sh --check`: the subset of the CUDA toolkit's declarations
// that mix.cu may use, written as the toolkit declares them (host_defines.h, the CUDA math API,
// device_functions.h). Compiling mix.cu with this header and none of contract.cuh's clang
// shims (-fsyntax-only) proves the kernels use only standard CUDA C names, so nvcc, which
// declares the same functions, compiles them too. clang's builtin-variables header stands in
// for the toolkit's device_launch_parameters.h.
#ifndef FRAMEMIX_NVCC_API_H
#define FRAMEMIX_NVCC_API_H
#ifdef __clang__
#include <__clang_cuda_builtin_vars.h>
#endif
#define __global__ __attribute__((global))
#define __device__ __attribute__((device))
#define __forceinline__ __attribute__((always_inline))
extern __device__ float __fadd_rn(float x, float y);
extern __device__ float __fsub_rn(float x, float y);
extern __device__ float __fmul_rn(float x, float y);
extern __device__ float __fdiv_rn(float x, float y);
extern __device__ double __ddiv_rn(double x, double y);
extern __device__ float __double2float_rn(double x);
extern __device__ double __ull2double_rn(unsigned long long int x);
extern __device__ float __uint2float_rn(unsigned int x);
extern __device__ int __clzll(long long int x);
extern __device__ float __int_as_float(int x);
extern __device__ unsigned int __float_as_uint(float x);
#endif
