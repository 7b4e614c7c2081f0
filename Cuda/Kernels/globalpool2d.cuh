// ───── GlobalPool2d ──────────────────────────────────────────────────────────────────────────────────
// global_avg_pool2d / global_max_pool2d, NCHW, as ModelDsl.Runtime.Cpu.Layers.GlobalPool2d:
//   x (N, C, H, W) viewed as (planes = N·C, area = H·W)  ->  y (planes), passed as (N, C).
// Avg: y = Σ plane / area.  Backward: dx[plane, :] (+)= dy[plane] / area.
// Max: y = max over the plane; ties keep the first element; a NaN wins. indices (planes) int: the winner's
//   position in its plane.  Backward: dx[plane, indices[plane]] (+)= dy[plane], the other elements (+)= 0.
// Storage (bf16.cuh): x and y are activations, md_act (y rounded once on its store; sums stay float); dy, dx are float.

// md_globalpool2d_avg_forward: y (planes) = Σ plane / area.
//   launch: grid (min(⌈planes/256⌉, 65535)), block (256): one thread per plane, grid-stride.
//   why: after a conv stack the planes are many (N·C) and small (a few dozen elements): a thread summing its
//   plane in order adds in the CPU's order, so the two backends agree to the last bit.
extern "C" __global__ void __launch_bounds__(256) md_globalpool2d_avg_forward(
    int planes, int area, const md_act* __restrict__ x, md_act* __restrict__ y)
{
    float scale = 1.0f / (float)area;
    for (long p = (long)blockIdx.x * blockDim.x + threadIdx.x; p < planes; p += (long)gridDim.x * blockDim.x)
    {
        const md_act* plane = x + p * area;
        float sum = 0.0f;
        for (int i = 0; i < area; i++) sum += md_load(plane[i]);
        y[p] = md_act_from(sum * scale);
    }
}

// md_globalpool2d_max_forward: y (planes) = max over the plane and, when not null, indices (planes) (null for inference).
//   launch: grid (min(⌈planes/256⌉, 65535)), block (256): one thread per plane, grid-stride.
//   why: as the average; an in-order scan breaks ties as the CPU does (the first winner keeps the gradient).
extern "C" __global__ void __launch_bounds__(256) md_globalpool2d_max_forward(
    int planes, int area, const md_act* __restrict__ x, md_act* __restrict__ y, int* __restrict__ indices)
{
    for (long p = (long)blockIdx.x * blockDim.x + threadIdx.x; p < planes; p += (long)gridDim.x * blockDim.x)
    {
        const md_act* plane = x + p * area;
        int best = 0;
        float value = md_load(plane[0]);
        for (int i = 1; i < area; i++)
        {
            float v = md_load(plane[i]);
            if (v > value || (v != v && value == value)) // a NaN wins once
            {
                value = v;
                best = i;
            }
        }
        y[p] = md_act_from(value);
        if (indices != nullptr) indices[p] = best;
    }
}

// md_globalpool2d_avg_backward: dx (planes, area) (+)= dy[plane] / area.
//   launch: grid (min(⌈planes·area/256⌉, 65535)), block (256): one thread per input element, grid-stride.
//   why: each element has exactly one output, so the write is a plain store (no atomics, deterministic).
extern "C" __global__ void __launch_bounds__(256) md_globalpool2d_avg_backward(
    int planes, int area, const float* __restrict__ dy, float* __restrict__ dx, int accumulate)
{
    float scale = 1.0f / (float)area;
    long n = (long)planes * area;
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
    {
        float d = dy[i / area] * scale;
        dx[i] = accumulate ? dx[i] + d : d;
    }
}

// md_globalpool2d_max_backward: dx (planes, area) (+)= dy[plane] at the plane's saved winner, 0 elsewhere.
//   launch: grid (min(⌈planes·area/256⌉, 65535)), block (256): one thread per input element, grid-stride.
//   why: as the average's backward: one store per element, no scatter.
extern "C" __global__ void __launch_bounds__(256) md_globalpool2d_max_backward(
    int planes, int area, const float* __restrict__ dy, const int* __restrict__ indices, float* __restrict__ dx, int accumulate)
{
    long n = (long)planes * area;
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
    {
        long p = i / area;
        float d = (int)(i - p * area) == indices[p] ? dy[p] : 0.0f;
        dx[i] = accumulate ? dx[i] + d : d;
    }
}
