// ───── Concat ────────────────────────────────────────────────────────────────────────────────────────
// concat(x0, x1, ..., axis), as ModelDsl.Runtime.Cpu.Layers.Concat: every tensor seen as rows (the dims
// before axis) of columns; input i (rows, width_i) fills the output's (rows, output_width) columns
// [offset_i, offset_i + width_i). One launch per input.
// Backward: dx_i (+)= the same columns of dy.
// Storage (bf16.cuh): x and y are activations, md_act (the copy moves them unchanged); dy and dx are float.

// md_concat_forward: y[r, offset + c] = x[r, c] for c < width; y must not alias x.
//   launch: grid (min(⌈rows·width/256⌉, 65535)), block (256): one thread per element of x, grid-stride.
//   why: a copy; consecutive threads read consecutive floats of x and write consecutive floats of one row of y.
extern "C" __global__ void __launch_bounds__(256) md_concat_forward(
    int rows, int width, int output_width, int offset, const md_act* __restrict__ x, md_act* __restrict__ y)
{
    long n = (long)rows * width;
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
        y[(i / width) * output_width + offset + i % width] = x[i];
}

// md_concat_backward: dx[r, c] (+)= dy[r, offset + c] for c < width.
//   launch: grid (min(⌈rows·width/256⌉, 65535)), block (256): one thread per element of dx, grid-stride.
//   why: the forward's copy in reverse; each element of dx has one owner, so no atomics.
extern "C" __global__ void __launch_bounds__(256) md_concat_backward(
    int rows, int width, int output_width, int offset, const float* __restrict__ dy, float* __restrict__ dx,
    int accumulate)
{
    long n = (long)rows * width;
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
    {
        float g = dy[(i / width) * output_width + offset + i % width];
        dx[i] = accumulate ? dx[i] + g : g;
    }
}
