// ───── Sequence ──────────────────────────────────────────────────────────────────────────────────────
// Column blocks of (B, T, ·) sequences, optionally reversed in time, as ModelDsl.Runtime.Cpu.Layers.Sequence: what a
// bidirectional lstm or gru runs around its two single-direction passes (the launchers in ModelDsl.Cuda.Layers.Lstm
// and .Gru, ForwardBidirectional / BackwardBidirectional): x reversed for the reverse direction, the joined output
// y[b, t] = (h_fwd[b, t], h_rev[b, T−1−t]), the output gradient split per direction, and the reverse direction's
// input gradient added back in time order.
// Storage (bf16.cuh): md_sequence_copy moves activations (x reversed, the directions' states joined), md_act → md_act,
// unchanged; md_sequence_copy_gradient moves gradients (the output gradient split, dx reversed back), float → float.
// Also what lstm.cuh and gru.cuh share, one copy for both (every lstm and gru launches this family):
// md_sequence_shift_hidden, h_{t−1} per row for the backward's dW_hh, and x's two products when activations are BF16
// (md_sequence_input_product, md_sequence_input_weight_gradient).

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

// md_sequence_shift_hidden: h_prev (B, T, H)[b, t] = h[b, t−1], and 0 at t = 0; h an activation (md_act), h_prev float.
//   launch: grid (min(⌈B·T·H/256⌉, 65535)), block (256): one thread per element, grid-stride.
//   why: lines each row of an lstm's dpre (a gru's dgh) up with the hidden state its step read, so dW_hh is one GEMM
//   over all B·T rows (as on the CPU) instead of T small ones.
extern "C" __global__ void __launch_bounds__(256) md_sequence_shift_hidden(
    int batch, int steps, int hidden, const md_act* __restrict__ h, float* __restrict__ h_prev)
{
    long n = (long)batch * steps * hidden;
    for (long e = (long)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (long)gridDim.x * blockDim.x)
    {
        long t = (e / hidden) % steps;
        h_prev[e] = t == 0 ? 0.0f : md_load(h[e - hidden]);
    }
}

// md_sequence_input_product: y (rows, cols) = x (rows, inner)·weight (cols, inner)ᵀ, x an activation (BF16), weight and
// y float: a recurrent layer's input product (an lstm's gates, a gru's gi) when activations are BF16.
//   launch: grid (min(⌈rows·cols/256⌉, 65535)), block (256): one thread per output element, grid-stride.
//   why: cuBLAS takes no BF16 x with an FP32 weight; a thread sums its inner products in order (consecutive threads
//   take consecutive columns, so they share x's row). A plain loop: recurrent models here are small.
extern "C" __global__ void __launch_bounds__(256) md_sequence_input_product(
    int rows, int cols, int inner, const md_act* __restrict__ x, const float* __restrict__ weight, float* __restrict__ y)
{
    long n = (long)rows * cols;
    for (long e = (long)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (long)gridDim.x * blockDim.x)
    {
        long r = e / cols;
        int c = (int)(e - r * cols);
        const md_act* x_row = x + r * inner;
        const float* w_row = weight + (long)c * inner;
        float sum = 0.0f;
        for (int i = 0; i < inner; i++) sum += md_load(x_row[i]) * w_row[i];
        y[e] = sum;
    }
}

// md_sequence_input_weight_gradient: dweight (cols, inner) (+)= dy (rows, cols)ᵀ·x (rows, inner), x an activation
// (BF16): the backward's dW_ih of md_sequence_input_product (dy: an lstm's dpre, a gru's dgi).
//   launch: grid (min(⌈cols·inner/256⌉, 65535)), block (256): one thread per weight element, grid-stride.
//   why: as md_sequence_input_product; each weight element is one thread's sum over the rows, in order, so no atomics.
extern "C" __global__ void __launch_bounds__(256) md_sequence_input_weight_gradient(
    int rows, int cols, int inner, const float* __restrict__ dy, const md_act* __restrict__ x,
    float* __restrict__ dweight, int accumulate)
{
    long n = (long)cols * inner;
    for (long e = (long)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (long)gridDim.x * blockDim.x)
    {
        long c = e / inner;
        int i = (int)(e - c * inner);
        float sum = 0.0f;
        for (long r = 0; r < rows; r++) sum += dy[r * cols + c] * md_load(x[r * inner + i]);
        dweight[e] = accumulate ? dweight[e] + sum : sum;
    }
}
