// ───── Positional ────────────────────────────────────────────────────────────────────────────────────
// positional(context): a learned table row added per position (GPT-2's wpe), T ≤ context, as
// ModelDsl.Runtime.Cpu.Layers.Positional:
//   x (B, T, d)   table (context, d)   ->   y (B, T, d),   y[b, t] = x[b, t] + table[t]
// Backward: dx (+)= dy;   dtable[t] (+)= Σ_b dy[b, t];   rows t ≥ T of dtable get zero (or keep their value
// when accumulating).
// Storage (bf16.cuh): x and y are activations, md_act; table, dy, dx and dtable are float.

// md_positional_forward: y (B, T, d) = x + table[t]; y must not alias x.
//   launch: grid (min(⌈B·T·d/256⌉, 65535)), block (256): one thread per element of y, grid-stride.
//   why: elementwise; table rows 0..T−1 are T·d contiguous floats, so element i of a batch item reads table
//   element i mod T·d and every access coalesces.
extern "C" __global__ void __launch_bounds__(256) md_positional_forward(
    int batch, int steps, int dim, const md_act* __restrict__ x, const float* __restrict__ table,
    md_act* __restrict__ y)
{
    long per_item = (long)steps * dim;
    long n = (long)batch * per_item;
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
        y[i] = md_act_from(md_load(x[i]) + table[i % per_item]);
}

// md_positional_backward: dtable (context, d) (+)= Σ_b dy[b, t] for t < T (rows t ≥ T: 0 unless
// accumulate_table), and dx (B, T, d) (+)= dy when dx is not null.
//   launch: grid (min(⌈context·d/256⌉, 65535)), block (256): one thread per (t, c) of the table, grid-stride.
//   why: each table element is a sum over the batch; one thread owns it and adds b = 0, 1, … in order (as the
//   CPU does), so the result is deterministic without atomics, and a warp reads 32 adjacent floats of dy for
//   each b. The same thread copies its dy elements into dx, so dy is read once.
extern "C" __global__ void __launch_bounds__(256) md_positional_backward(
    int batch, int steps, int context, int dim, const float* __restrict__ dy, float* __restrict__ dx,
    float* __restrict__ dtable, int accumulate_input, int accumulate_table)
{
    long per_item = (long)steps * dim;
    long n = (long)context * dim;
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
    {
        if (i >= per_item)
        {
            if (!accumulate_table) dtable[i] = 0.0f; // a position the sequence does not reach
            continue;
        }
        float sum = accumulate_table ? dtable[i] : 0.0f;
        for (int b = 0; b < batch; b++)
        {
            float g = dy[(long)b * per_item + i];
            sum += g;
            if (dx != nullptr)
            {
                float* d = dx + (long)b * per_item + i;
                *d = accumulate_input ? *d + g : g;
            }
        }
        dtable[i] = sum;
    }
}
