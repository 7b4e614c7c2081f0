// ───── Sequence ──────────────────────────────────────────────────────────────────────────────────────
// Column blocks of (B, T, ·) sequences, optionally reversed in time, as ModelDsl.Runtime.Cpu.Layers.Sequence: what a
// bidirectional lstm or gru runs around its two single-direction passes (the launchers in ModelDsl.Cuda.Layers.Lstm
// and .Gru, ForwardBidirectional / BackwardBidirectional): x reversed for the reverse direction, the joined output
// y[b, t] = (h_fwd[b, t], h_rev[b, T−1−t]), the output gradient split per direction, and the reverse direction's
// input gradient added back in time order.
// Storage: float throughout (no md_act pointer), as lstm.cuh and gru.cuh, around which it runs.

// md_sequence_copy: y[b, t', y_offset + c] (+)= x[b, t, x_offset + c] for c < width, t' = reverse ? T−1−t : t;
// x is (B, T, x_width), y (B, T, y_width); y must not overlap x.
//   launch: grid (min(⌈B·T·width/256⌉, 65535)), block (256): one thread per copied element, grid-stride.
//   why: a copy; consecutive threads read consecutive floats of one row of x and write consecutive floats of one
//   row of y. Each element of y has one writer, so accumulating needs no atomics.
extern "C" __global__ void __launch_bounds__(256) md_sequence_copy(
    int batch, int steps, int width, int x_width, int x_offset, int y_width, int y_offset,
    const float* __restrict__ x, float* __restrict__ y, int reverse, int accumulate)
{
    long n = (long)batch * steps * width;
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
    {
        long row = i / width;
        int c = (int)(i - row * width);
        long b = row / steps;
        int t = (int)(row - b * steps);
        long target = b * steps + (reverse ? steps - 1 - t : t);
        float v = x[row * x_width + x_offset + c];
        float* out = y + target * y_width + y_offset + c;
        *out = accumulate ? *out + v : v;
    }
}
