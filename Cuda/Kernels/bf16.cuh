// ───── Bf16 ──────────────────────────────────────────────────────────────────────────────────────────
// BF16 storage for mixed precision (docs/cuda.md "Precision"): md_bf16 is bfloat16, the upper 16 bits of an
// IEEE-754 float (1 sign bit, 8 exponent bits, 7 stored mantissa bits: a relative step of 2^-8). It is storage
// only: kernels widen to float (exact), compute in float, and round once when they store.
//
// Our own type rather than cuda_bf16.h's __nv_bfloat16: NVRTC has no toolkit headers here, and the emulator must
// compute bit for bit what the GPU computes. A struct, not a bare unsigned short, so a BF16 value cannot take part
// in arithmetic by accident; the same 2 bytes as __nv_bfloat16, so cuBLAS reads it as CUDA_R_16BF.
//
// Rounding (md_bf16_from_float): to nearest, ties to even, as __float2bfloat16_rn: add 0x7FFF plus the lowest kept
// bit, then drop the low 16 bits. Finite values past the largest BF16 (3.3895e38) round to ±Inf; subnormals round
// like any other value (no flush to zero); ±Inf stays ±Inf; a NaN stays a NaN of the same sign (the quiet bit is
// set, so a payload held only in the dropped bits cannot turn it into Inf). ModelDsl.Cuda.BFloat16 is the same
// function on the host, and tests/Cuda.Tests checks both against known values.

struct md_bf16 { unsigned short bits; };

__device__ __forceinline__ md_bf16 md_bf16_from_float(float x)
{
    unsigned int u = __float_as_uint(x);
    md_bf16 r;
    if ((u & 0x7fffffffu) > 0x7f800000u)
    {
        r.bits = (unsigned short)((u >> 16) | 0x0040u);
        return r;
    }
    u += 0x7fffu + ((u >> 16) & 1u);
    r.bits = (unsigned short)(u >> 16);
    return r;
}

__device__ __forceinline__ float md_bf16_to_float(md_bf16 x) { return __uint_as_float(((unsigned int)x.bits) << 16); }

// md_act: the storage type of activations (llm.c's floatX), pasted into every module so one source serves every
// precision. A tensor that is a value of the model graph with f32 dtype (forward activations, block inputs and outputs,
// f32 model inputs, outputs and logits) is stored as md_act; everything else stays float: parameters (the FP32 master;
// GEMMs read the BF16 copy), every gradient, layer statistics (mean, rstd, attention's m and l), optimizer state, the
// loss. A Bf16 session compiles the module with `#define MD_ACT_BF16 1` as its first line, so md_act is md_bf16 (2 bytes);
// an Fp32 or Tf32 session compiles the same text without it, so md_act is float and the code is what it was before.
// Kernels read with md_load(p[i]) (exact widening), compute in float, and store p[i] = md_act_from(v) (round to nearest
// even, md_bf16_from_float; the identity when md_act is float); reductions stay in float.
#ifdef MD_ACT_BF16
typedef md_bf16 md_act;
#else
typedef float md_act;
#endif

__device__ __forceinline__ float md_load(float v) { return v; }
__device__ __forceinline__ float md_load(md_bf16 v) { return md_bf16_to_float(v); }

#ifdef MD_ACT_BF16
__device__ __forceinline__ md_act md_act_from(float v) { return md_bf16_from_float(v); }
#else
__device__ __forceinline__ md_act md_act_from(float v) { return v; }
#endif

// md_bf16_round: y[i] = bf16(x[i]) for i < n: the BF16 operand of a GEMM (an activation or a gradient), or the
// BF16 copy of the parameters after they were copied from the host.
//   launch: grid (min(⌈n/256⌉, 65535)), block (256): one thread per element, grid-stride.
//   why: elementwise and memory-bound; reads 4 bytes and writes 2 per element, coalesced.
extern "C" __global__ void __launch_bounds__(256) md_bf16_round(
    int n, const float* __restrict__ x, md_bf16* __restrict__ y)
{
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
        y[i] = md_bf16_from_float(x[i]);
}

// md_bf16_widen: y[i] = float(x[i]) for i < n (exact): reads BF16 values back as floats (tests, checkpoints).
//   launch: grid (min(⌈n/256⌉, 65535)), block (256): one thread per element, grid-stride.
//   why: elementwise, as md_bf16_round.
extern "C" __global__ void __launch_bounds__(256) md_bf16_widen(
    int n, const md_bf16* __restrict__ x, float* __restrict__ y)
{
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
        y[i] = md_bf16_to_float(x[i]);
}
