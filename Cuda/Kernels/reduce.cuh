// ───── Reduce ────────────────────────────────────────────────────────────────────────────────────────
// mean / sum / max over one axis, as ModelDsl.Runtime.Cpu.Layers.ReduceSum / ReduceMax:
//   x (outer, length, inner)  ->  y (outer, inner); optional mask w (outer, length), float (mask) or int (int_mask),
//   at most one not null; without one w = 1.
// Sum: y = Σ_t x·w.  Mean: y = Σ_t x·w / max(Σ_t w, 1e-9) (no mask: / length).  Backward: dx (+)= dy·w (/ the same).
// Max: y = max over t with w ≠ 0; ties keep the first; a NaN wins; indices (outer, inner) int = the winner's t, -1
//   (y = 0) when every t is masked.  Backward: dx[o, indices, i] (+)= dy, the other t (+)= 0.
// Storage (bf16.cuh): x, y and the float mask are activations (values of the graph), md_act; dy and dx are float.
// Sums stay float; y is rounded once on its store.

// w[o, t] of a mask given as float or int, or 1 without one.
__device__ __forceinline__ float md_reduce_weight(const md_act* mask, const int* int_mask, long at)
{
    return mask != nullptr ? md_load(mask[at]) : int_mask != nullptr ? (float)int_mask[at] : 1.0f;
}

// 1 for sum; for mean 1/length, or 1/max(Σ_t w[o, t], 1e-9) with a mask (summed in order, as the CPU).
__device__ __forceinline__ float md_reduce_scale(int length, int mean, const md_act* mask, const int* int_mask, long o)
{
    if (!mean) return 1.0f;
    if (mask == nullptr && int_mask == nullptr) return 1.0f / (float)length;
    float total = 0.0f;
    for (int t = 0; t < length; t++) total += md_reduce_weight(mask, int_mask, o * length + t);
    return 1.0f / fmaxf(total, 1e-9f);
}

// md_reduce_sum_forward: y (outer, inner) = Σ_t x·w (· the mean's scale).
//   launch: grid (min(⌈outer·inner/256⌉, 65535)), block (256): one thread per output element, grid-stride.
//   why: each thread sums its column over t in order, as the CPU does, so the two agree to rounding; neighbouring
//   threads read neighbouring i, so the reads coalesce.
extern "C" __global__ void __launch_bounds__(256) md_reduce_sum_forward(
    int outer, int length, int inner, int mean, const md_act* __restrict__ mask, const int* __restrict__ int_mask,
    const md_act* __restrict__ x, md_act* __restrict__ y)
{
    long n = (long)outer * inner;
    for (long e = (long)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (long)gridDim.x * blockDim.x)
    {
        long o = e / inner;
        long i = e - o * inner;
        const md_act* column = x + o * length * inner + i;
        float sum = 0.0f;
        for (int t = 0; t < length; t++) sum += md_load(column[(long)t * inner]) * md_reduce_weight(mask, int_mask, o * length + t);
        y[e] = md_act_from(sum * md_reduce_scale(length, mean, mask, int_mask, o));
    }
}

// md_reduce_sum_backward: dx (outer, length, inner) (+)= dy[o, i]·w[o, t] (· the mean's scale).
//   launch: grid (min(⌈outer·inner/256⌉, 65535)), block (256): one thread per column (o, i), writing its length elements.
//   why: the scale is computed once per column; each dx element is written by one thread (no atomics), and
//   neighbouring threads write neighbouring i.
extern "C" __global__ void __launch_bounds__(256) md_reduce_sum_backward(
    int outer, int length, int inner, int mean, const md_act* __restrict__ mask, const int* __restrict__ int_mask,
    const float* __restrict__ dy, float* __restrict__ dx, int accumulate)
{
    long n = (long)outer * inner;
    for (long e = (long)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (long)gridDim.x * blockDim.x)
    {
        long o = e / inner;
        long i = e - o * inner;
        float scale = md_reduce_scale(length, mean, mask, int_mask, o);
        float g = dy[e];
        float* column = dx + o * length * inner + i;
        for (int t = 0; t < length; t++)
        {
            float d = g * (md_reduce_weight(mask, int_mask, o * length + t) * scale);
            long at = (long)t * inner;
            column[at] = accumulate ? column[at] + d : d;
        }
    }
}

// md_reduce_max_forward: y (outer, inner) = max over the unmasked t; indices (outer, inner) = the winner's t or -1.
//   launch: grid (min(⌈outer·inner/256⌉, 65535)), block (256): one thread per output element, grid-stride.
//   why: an in-order scan breaks ties as the CPU does (the first winner keeps the gradient).
extern "C" __global__ void __launch_bounds__(256) md_reduce_max_forward(
    int outer, int length, int inner, const md_act* __restrict__ mask, const int* __restrict__ int_mask,
    const md_act* __restrict__ x, md_act* __restrict__ y, int* __restrict__ indices)
{
    long n = (long)outer * inner;
    for (long e = (long)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (long)gridDim.x * blockDim.x)
    {
        long o = e / inner;
        long i = e - o * inner;
        const md_act* column = x + o * length * inner + i;
        int best = -1;
        float value = 0.0f;
        for (int t = 0; t < length; t++)
        {
            if (md_reduce_weight(mask, int_mask, o * length + t) == 0.0f) continue;
            float v = md_load(column[(long)t * inner]);
            if (best < 0 || v > value || (v != v && value == value)) // a NaN wins once
            {
                value = v;
                best = t;
            }
        }
        y[e] = md_act_from(value);
        indices[e] = best;
    }
}

// md_reduce_max_backward: dx (outer, length, inner) (+)= dy at each column's saved winner, 0 elsewhere.
//   launch: grid (min(⌈outer·inner/256⌉, 65535)), block (256): one thread per column (o, i), writing its length elements.
//   why: as the sum's backward: one writer per element, no atomics.
extern "C" __global__ void __launch_bounds__(256) md_reduce_max_backward(
    int outer, int length, int inner, const float* __restrict__ dy, const int* __restrict__ indices, float* __restrict__ dx, int accumulate)
{
    long n = (long)outer * inner;
    for (long e = (long)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (long)gridDim.x * blockDim.x)
    {
        long o = e / inner;
        long i = e - o * inner;
        int winner = indices[e];
        float g = dy[e];
        float* column = dx + o * length * inner + i;
        for (int t = 0; t < length; t++)
        {
            float d = t == winner ? g : 0.0f;
            long at = (long)t * inner;
            column[at] = accumulate ? column[at] + d : d;
        }
    }
}
