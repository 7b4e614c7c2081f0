// ───── Sequence ──────────────────────────────────────────────────────────────────────────────────────
// Column blocks of (B, T, ·) sequences, optionally reversed in time, as ModelDsl.Runtime.Cpu.Layers.Sequence: what a
// bidirectional lstm or gru runs around its two single-direction passes (the launchers in ModelDsl.Cuda.Layers.Lstm
// and .Gru, ForwardBidirectional / BackwardBidirectional): x reversed for the reverse direction, the joined output
// y[b, t] = (h_fwd[b, t], h_rev[b, T−1−t]), the output gradient split per direction, and the reverse direction's
// input gradient added back in time order.
// Storage (bf16.cuh): md_sequence_copy moves activations (x reversed, the directions' states joined), md_act → md_act,
// unchanged; md_sequence_copy_gradient moves gradients (the output gradient split, dx reversed back), float → float.

// Where element i of the copied block (B, T, width) goes in y: row b·T + t' (t' = reverse ? T−1−t : t), column
// y_offset + c; *source gets the element's offset in x.
__device__ __forceinline__ long md_sequence_target(long i, int steps, int width, int x_width, int x_offset, int y_width,
    int y_offset, int reverse, long* source)
{
    long row = i / width;
    int c = (int)(i - row * width);
    long b = row / steps;
    int t = (int)(row - b * steps);
    *source = row * x_width + x_offset + c;
    return (b * steps + (reverse ? steps - 1 - t : t)) * y_width + y_offset + c;
}

// md_sequence_copy: y[b, t', y_offset + c] (+)= x[b, t, x_offset + c] for c < width, t' = reverse ? T−1−t : t;
// x is (B, T, x_width), y (B, T, y_width), activations (md_act); y must not overlap x. Accumulating adds in float and
// rounds once; a plain copy moves the stored value.
//   launch: grid (min(⌈B·T·width/256⌉, 65535)), block (256): one thread per copied element, grid-stride.
//   why: a copy; consecutive threads read consecutive elements of one row of x and write consecutive elements of one
//   row of y. Each element of y has one writer, so accumulating needs no atomics.
extern "C" __global__ void __launch_bounds__(256) md_sequence_copy(
    int batch, int steps, int width, int x_width, int x_offset, int y_width, int y_offset,
    const md_act* __restrict__ x, md_act* __restrict__ y, int reverse, int accumulate)
{
    long n = (long)batch * steps * width;
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
    {
        long source;
        long target = md_sequence_target(i, steps, width, x_width, x_offset, y_width, y_offset, reverse, &source);
        y[target] = accumulate ? md_act_from(md_load(y[target]) + md_load(x[source])) : x[source];
    }
}

// md_sequence_copy_gradient: the same copy of float gradients (dy split per direction, dx reversed back and added).
//   launch: grid (min(⌈B·T·width/256⌉, 65535)), block (256): one thread per copied element, grid-stride.
//   why: as md_sequence_copy.
extern "C" __global__ void __launch_bounds__(256) md_sequence_copy_gradient(
    int batch, int steps, int width, int x_width, int x_offset, int y_width, int y_offset,
    const float* __restrict__ x, float* __restrict__ y, int reverse, int accumulate)
{
    long n = (long)batch * steps * width;
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
    {
        long source;
        long target = md_sequence_target(i, steps, width, x_width, x_offset, y_width, y_offset, reverse, &source);
        float v = x[source];
        y[target] = accumulate ? y[target] + v : v;
    }
}
