// ───── Softmax ───────────────────────────────────────────────────────────────────────────────────────
// softmax over the last axis, as ModelDsl.Runtime.Cpu.Layers.Softmax:
//   x (rows, n)  ->  y (rows, n),   y = exp(x − max) / Σ exp(x − max)   (stable)
// Backward from the saved output: dx (+)= y ⊙ (dy − Σ_j dy·y)   (per row)
// Storage (bf16.cuh): x and y are activations, md_act (y stored with md_act_from; the backward reads the stored y);
// dy and dx are float. The max, Σ exp and the dot product stay float.

// md_softmax_forward: y (rows, n) from x (rows, n); y must not alias x.
//   launch: grid (⌈rows/8⌉), block (256): one warp per row, 8 rows per block.
//   why: the row's max and Σ exp are warp shuffles; the exponentials are recomputed in the write pass
//   rather than stored, so a row is read three times (cached after the first) and written once.
extern "C" __global__ void __launch_bounds__(256) md_softmax_forward(
    int rows, int cols, const md_act* __restrict__ x, md_act* __restrict__ y)
{
    int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    if (row >= rows) return; // whole warps leave together
    const md_act* x_row = x + (long)row * cols;
    float row_max = -INFINITY;
    for (int j = lane; j < cols; j += 32) row_max = fmaxf(row_max, md_load(x_row[j]));
    row_max = md_warp_max(row_max);
    float sum = 0.0f;
    for (int j = lane; j < cols; j += 32) sum += expf(md_load(x_row[j]) - row_max);
    float inv_sum = 1.0f / md_warp_sum(sum);
    md_act* y_row = y + (long)row * cols;
    for (int j = lane; j < cols; j += 32) y_row[j] = md_act_from(expf(md_load(x_row[j]) - row_max) * inv_sum);
}

// md_softmax_backward: dx (rows, n) (+)= y ⊙ (dy − Σ_j dy·y) from the forward's output y (rows, n).
//   launch: grid (⌈rows/8⌉), block (256): one warp per row, 8 rows per block.
//   why: one dot product per row (warp shuffles), then one elementwise pass.
extern "C" __global__ void __launch_bounds__(256) md_softmax_backward(
    int rows, int cols, const md_act* __restrict__ y, const float* __restrict__ dy, float* __restrict__ dx,
    int accumulate)
{
    int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    if (row >= rows) return; // whole warps leave together
    const md_act* y_row = y + (long)row * cols;
    const float* dy_row = dy + (long)row * cols;
    float dot = 0.0f;
    for (int j = lane; j < cols; j += 32) dot += dy_row[j] * md_load(y_row[j]);
    dot = md_warp_sum(dot);
    float* dx_row = dx + (long)row * cols;
    for (int j = lane; j < cols; j += 32)
    {
        float d = (dy_row[j] - dot) * md_load(y_row[j]);
        dx_row[j] = accumulate ? dx_row[j] + d : d;
    }
}
