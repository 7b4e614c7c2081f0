// ───── Pool2d ────────────────────────────────────────────────────────────────────────────────────────
// max_pool2d / avg_pool2d(kernel = k, stride = s, padding = p), NCHW, PyTorch semantics (ceil_mode off), as
// ModelDsl.Runtime.Cpu.Layers.MaxPool2d / AvgPool2d (Pool2dGeometry):
//   x (N, C, H, W)  ->  y (N, C, H', W'),   H' = ⌊(H + 2p − k)/s⌋ + 1 (W' likewise), p ≤ k/2
//   planes = N·C pooled independently; a window is clipped to the image (padding is never an element).
// Max: y = max over the window; ties keep the first element in row-major window order; a NaN wins.
//   indices (N, C, H', W') int: the winner's position in its input plane, ih·W + iw (PyTorch's return_indices).
//   Backward: dx[plane, indices[o]] += dy[o] for every output o (overlapping windows add up).
// Avg (count_include_pad): y = Σ window / k² (always k², padding counts as zeros in the divisor).
//   Backward: dx[window] += dy / k².
// The backward kernels gather: one thread per input element sums the outputs whose windows hold it, in
// output order (as the CPU's scatter adds them), so they are deterministic and need no atomics.
// Storage (bf16.cuh): x and y are activations, md_act (sums and comparisons in float, y rounded once); dy, dx are float.

// The first output row (or column) whose window [o·s − p, o·s − p + k) contains input row (or column) i.
__device__ __forceinline__ int md_pool2d_first_window(int i, int kernel, int stride, int padding)
{
    int n = i + padding - kernel + 1;
    return n <= 0 ? 0 : (n + stride - 1) / stride;
}

// md_pool2d_max_forward: y (planes, H', W') and, when not null, indices (planes, H', W') (null for inference).
//   launch: grid (min(⌈planes·H'·W'/256⌉, 65535)), block (256): one thread per output, grid-stride.
//   why: each output is an independent k×k scan; adjacent threads take adjacent outputs of a row, whose
//   windows overlap or abut, so their reads share cache lines.
extern "C" __global__ void __launch_bounds__(256) md_pool2d_max_forward(
    int planes, int height, int width, int out_height, int out_width, int kernel, int stride, int padding,
    const md_act* __restrict__ x, md_act* __restrict__ y, int* __restrict__ indices)
{
    long n = (long)planes * out_height * out_width;
    for (long o = (long)blockIdx.x * blockDim.x + threadIdx.x; o < n; o += (long)gridDim.x * blockDim.x)
    {
        int ox = (int)(o % out_width);
        long rest = o / out_width;
        int oy = (int)(rest % out_height);
        long plane = rest / out_height;
        int y0 = max(oy * stride - padding, 0), y1 = min(oy * stride - padding + kernel, height);
        int x0 = max(ox * stride - padding, 0), x1 = min(ox * stride - padding + kernel, width);
        const md_act* x_plane = x + plane * height * width;
        int best = y0 * width + x0;
        float best_value = md_load(x_plane[best]);
        for (int iy = y0; iy < y1; iy++)
        {
            for (int ix = x0; ix < x1; ix++)
            {
                float v = md_load(x_plane[iy * width + ix]);
                if (v > best_value || (v != v && best_value == best_value)) // a NaN wins once
                {
                    best_value = v;
                    best = iy * width + ix;
                }
            }
        }
        y[o] = md_act_from(best_value);
        if (indices != nullptr) indices[o] = best;
    }
}

// md_pool2d_max_backward: dx (planes, H, W) (+)= Σ dy[o] over the outputs o whose saved index is this element.
//   launch: grid (min(⌈planes·H·W/256⌉, 65535)), block (256): one thread per input element, grid-stride.
//   why: the gather form of the scatter dx[indices[o]] += dy[o]: a thread visits only the ⌈k/s⌉² windows that
//   contain its element, so overlapping windows (s < k) need no atomics and the sum has a fixed order.
extern "C" __global__ void __launch_bounds__(256) md_pool2d_max_backward(
    int planes, int height, int width, int out_height, int out_width, int kernel, int stride, int padding,
    const float* __restrict__ dy, const int* __restrict__ indices, float* __restrict__ dx, int accumulate)
{
    long n = (long)planes * height * width;
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
    {
        int ix = (int)(i % width);
        long rest = i / width;
        int iy = (int)(rest % height);
        long plane = rest / height;
        int target = iy * width + ix;
        int oy0 = md_pool2d_first_window(iy, kernel, stride, padding), oy1 = min((iy + padding) / stride, out_height - 1);
        int ox0 = md_pool2d_first_window(ix, kernel, stride, padding), ox1 = min((ix + padding) / stride, out_width - 1);
        const float* dy_plane = dy + plane * out_height * out_width;
        const int* index_plane = indices + plane * out_height * out_width;
        float sum = accumulate ? dx[i] : 0.0f;
        for (int oy = oy0; oy <= oy1; oy++)
        {
            for (int ox = ox0; ox <= ox1; ox++)
            {
                int o = oy * out_width + ox;
                if (index_plane[o] == target) sum += dy_plane[o];
            }
        }
        dx[i] = sum;
    }
}

// md_pool2d_avg_forward: y (planes, H', W') = Σ window / k².
//   launch: grid (min(⌈planes·H'·W'/256⌉, 65535)), block (256): one thread per output, grid-stride.
//   why: as the max forward.
extern "C" __global__ void __launch_bounds__(256) md_pool2d_avg_forward(
    int planes, int height, int width, int out_height, int out_width, int kernel, int stride, int padding,
    const md_act* __restrict__ x, md_act* __restrict__ y)
{
    float scale = 1.0f / (float)(kernel * kernel);
    long n = (long)planes * out_height * out_width;
    for (long o = (long)blockIdx.x * blockDim.x + threadIdx.x; o < n; o += (long)gridDim.x * blockDim.x)
    {
        int ox = (int)(o % out_width);
        long rest = o / out_width;
        int oy = (int)(rest % out_height);
        long plane = rest / out_height;
        int y0 = max(oy * stride - padding, 0), y1 = min(oy * stride - padding + kernel, height);
        int x0 = max(ox * stride - padding, 0), x1 = min(ox * stride - padding + kernel, width);
        const md_act* x_plane = x + plane * height * width;
        float sum = 0.0f;
        for (int iy = y0; iy < y1; iy++)
            for (int ix = x0; ix < x1; ix++) sum += md_load(x_plane[iy * width + ix]);
        y[o] = md_act_from(sum * scale);
    }
}

// md_pool2d_avg_backward: dx (planes, H, W) (+)= Σ dy[o] / k² over the outputs o whose windows hold this element.
//   launch: grid (min(⌈planes·H·W/256⌉, 65535)), block (256): one thread per input element, grid-stride.
//   why: the gather form, as md_pool2d_max_backward: deterministic, no atomics.
extern "C" __global__ void __launch_bounds__(256) md_pool2d_avg_backward(
    int planes, int height, int width, int out_height, int out_width, int kernel, int stride, int padding,
    const float* __restrict__ dy, float* __restrict__ dx, int accumulate)
{
    float scale = 1.0f / (float)(kernel * kernel);
    long n = (long)planes * height * width;
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
    {
        int ix = (int)(i % width);
        long rest = i / width;
        int iy = (int)(rest % height);
        long plane = rest / height;
        int oy0 = md_pool2d_first_window(iy, kernel, stride, padding), oy1 = min((iy + padding) / stride, out_height - 1);
        int ox0 = md_pool2d_first_window(ix, kernel, stride, padding), ox1 = min((ix + padding) / stride, out_width - 1);
        const float* dy_plane = dy + plane * out_height * out_width;
        float sum = accumulate ? dx[i] : 0.0f;
        for (int oy = oy0; oy <= oy1; oy++)
            for (int ox = ox0; ox <= ox1; ox++) sum += dy_plane[oy * out_width + ox] * scale;
        dx[i] = sum;
    }
}
