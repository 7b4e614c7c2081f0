// ───── Narrow ────────────────────────────────────────────────────────────────────────────────────────
// select(axis, index) / slice(axis, start, end), as ModelDsl.Runtime.Cpu.Layers.Narrow:
//   x (outer, length, inner)  ->  y (outer, count, inner) = rows begin .. begin + count - 1 of the middle axis.
// The host normalises a negative start and checks the bounds (ModelDsl.Cuda.Layers.Narrow), so begin is in range.
// Forward: y = x[:, begin : begin + count, :].  Backward: dx[:, begin : begin + count, :] (+)= dy, other rows (+)= 0.
// Storage (bf16.cuh): x and y are activations, md_act (copied unchanged); dy and dx are float.

// md_narrow_forward: y (outer, count, inner) = x (outer, length, inner) rows begin ..
//   launch: grid (min(⌈outer·count·inner/256⌉, 65535)), block (256): one thread per output element, grid-stride.
//   why: a gather with one source per element: writes and (within a row) reads coalesce, nothing is written twice.
extern "C" __global__ void __launch_bounds__(256) md_narrow_forward(
    int outer, int length, int inner, int begin, int count, const md_act* __restrict__ x, md_act* __restrict__ y)
{
    long rows = (long)count * inner;
    long n = (long)outer * rows;
    for (long e = (long)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (long)gridDim.x * blockDim.x)
    {
        long o = e / rows;
        long r = e - o * rows;
        y[e] = x[o * length * inner + (long)begin * inner + r];
    }
}

// md_narrow_backward: dx (outer, length, inner) (+)= dy (outer, count, inner) on rows begin .., 0 elsewhere.
//   launch: grid (min(⌈outer·length·inner/256⌉, 65535)), block (256): one thread per input element, grid-stride.
//   why: every dx element is written once (the zeros included), so no clearing pass and no atomics.
extern "C" __global__ void __launch_bounds__(256) md_narrow_backward(
    int outer, int length, int inner, int begin, int count, const float* __restrict__ dy, float* __restrict__ dx, int accumulate)
{
    long stride = (long)length * inner;
    long n = (long)outer * stride;
    for (long e = (long)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (long)gridDim.x * blockDim.x)
    {
        long o = e / stride;
        long row = (e - o * stride) / inner;
        long i = e - o * stride - row * inner;
        long r = row - begin;
        float d = r >= 0 && r < count ? dy[(o * count + r) * inner + i] : 0.0f;
        dx[e] = accumulate ? dx[e] + d : d;
    }
}
