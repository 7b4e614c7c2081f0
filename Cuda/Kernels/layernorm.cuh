// ───── LayerNorm ─────────────────────────────────────────────────────────────────────────────────────
// layer_norm(eps) over the last axis, PyTorch semantics (biased variance, eps inside the square root), as
// ModelDsl.Runtime.Cpu.Layers.LayerNorm:
//   x (rows, d)   weight (d)   bias (d)   ->   y (rows, d);   mean, rstd (rows) saved for the backward
//   mean = Σ x / d;   rstd = 1/√(Σ (x − mean)² / d + eps);   x̂ = (x − mean)·rstd;   y = x̂·weight + bias
// Backward (llm.c's form), with dn = dy·weight:
//   dx (+)= rstd·(dn − mean(dn) − x̂·mean(dn·x̂));   dweight (+)= Σ_rows dy·x̂;   dbias (+)= Σ_rows dy
// rows = the product of the leading dims (B·T for a sequence). y must not alias x (the pointers are
// __restrict__, and the backward reads x).
// Storage (bf16.cuh): x and y are activations, md_act (read with md_load, y stored with md_act_from: rounded once
// when BF16); weight, bias, mean, rstd and every gradient (dy, dx, dweight, dbias) are float. Sums stay float.

// md_layernorm_forward: y (rows, d), and mean, rstd (rows) when not null (null for inference).
//   launch: grid (⌈rows/8⌉), block (256): one warp per row, 8 rows per block.
//   why: a row's sums are warp shuffles, with no shared memory or block barrier. The row is read three times
//   (Σ x, Σ (x − mean)², the output), the second and third from cache. The variance takes two passes, like the
//   CPU's, so a row with a large mean loses nothing to cancellation.
extern "C" __global__ void __launch_bounds__(256) md_layernorm_forward(
    int rows, int dim, float eps, const md_act* __restrict__ x, const float* __restrict__ weight,
    const float* __restrict__ bias, md_act* __restrict__ y, float* __restrict__ mean, float* __restrict__ rstd)
{
    int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    if (row >= rows) return; // whole warps leave together: the shuffles below stay converged
    const md_act* x_row = x + (long)row * dim;
    float sum = 0.0f;
    for (int j = lane; j < dim; j += 32) sum += md_load(x_row[j]);
    float m = md_warp_sum(sum) / (float)dim;
    float squares = 0.0f;
    for (int j = lane; j < dim; j += 32)
    {
        float centred = md_load(x_row[j]) - m;
        squares += centred * centred;
    }
    float s = 1.0f / sqrtf(md_warp_sum(squares) / (float)dim + eps);
    md_act* y_row = y + (long)row * dim;
    for (int j = lane; j < dim; j += 32) y_row[j] = md_act_from((md_load(x_row[j]) - m) * s * weight[j] + bias[j]);
    if (lane == 0)
    {
        if (mean != nullptr) mean[row] = m;
        if (rstd != nullptr) rstd[row] = s;
    }
}

// md_layernorm_backward_dx: dx (rows, d) (+)= rstd·(dn − mean(dn) − x̂·mean(dn·x̂)), dn = dy·weight, from the
// saved mean and rstd (rows).
//   launch: grid (⌈rows/8⌉), block (256): one warp per row, 8 rows per block.
//   why: as the forward; the two row means are warp shuffles, then one more pass writes dx. Skipped (not
//   launched) when x needs no gradient; the parameter gradients are md_layernorm_backward_params.
extern "C" __global__ void __launch_bounds__(256) md_layernorm_backward_dx(
    int rows, int dim, const md_act* __restrict__ x, const float* __restrict__ weight,
    const float* __restrict__ mean, const float* __restrict__ rstd, const float* __restrict__ dy,
    float* __restrict__ dx, int accumulate)
{
    int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    if (row >= rows) return; // whole warps leave together
    const md_act* x_row = x + (long)row * dim;
    const float* dy_row = dy + (long)row * dim;
    float m = mean[row], s = rstd[row];
    float sum_dn = 0.0f, sum_dn_xhat = 0.0f;
    for (int j = lane; j < dim; j += 32)
    {
        float xhat = (md_load(x_row[j]) - m) * s;
        float dn = dy_row[j] * weight[j];
        sum_dn += dn;
        sum_dn_xhat += dn * xhat;
    }
    float mean_dn = md_warp_sum(sum_dn) / (float)dim;
    float mean_dn_xhat = md_warp_sum(sum_dn_xhat) / (float)dim;
    float* dx_row = dx + (long)row * dim;
    for (int j = lane; j < dim; j += 32)
    {
        float xhat = (md_load(x_row[j]) - m) * s;
        float d = (dy_row[j] * weight[j] - mean_dn - xhat * mean_dn_xhat) * s;
        dx_row[j] = accumulate ? dx_row[j] + d : d;
    }
}

// md_layernorm_backward_params: dweight (d) (+)= Σ_rows dy·x̂ and dbias (d) (+)= Σ_rows dy.
//   launch: grid (⌈d/32⌉), block (32, 8): one block per 32 columns.
//   why: a column sum over rows, deterministic: thread (tx, ty) walks rows ty, ty + 8, … of column
//   32·blockIdx.x + tx (a warp reads 32 adjacent floats of a row), and the 8 partial sums meet in shared
//   memory in a fixed order. No atomics. The grid has only ⌈d/32⌉ blocks; for large rows·d a second level
//   (blockIdx.y over row chunks into a scratch buffer) would add parallelism.
extern "C" __global__ void __launch_bounds__(256) md_layernorm_backward_params(
    int rows, int dim, const md_act* __restrict__ x, const float* __restrict__ mean,
    const float* __restrict__ rstd, const float* __restrict__ dy, float* __restrict__ dweight,
    float* __restrict__ dbias, int accumulate)
{
    __shared__ float partial_w[8][33];
    __shared__ float partial_b[8][33];
    int c = blockIdx.x * 32 + threadIdx.x;
    float sum_w = 0.0f, sum_b = 0.0f;
    if (c < dim)
    {
        for (int r = threadIdx.y; r < rows; r += 8)
        {
            float g = dy[(long)r * dim + c];
            sum_w += g * ((md_load(x[(long)r * dim + c]) - mean[r]) * rstd[r]);
            sum_b += g;
        }
    }
    partial_w[threadIdx.y][threadIdx.x] = sum_w;
    partial_b[threadIdx.y][threadIdx.x] = sum_b;
    __syncthreads();
    if (threadIdx.y == 0 && c < dim)
    {
        float w = 0.0f, b = 0.0f;
        for (int k = 0; k < 8; k++)
        {
            w += partial_w[k][threadIdx.x];
            b += partial_b[k][threadIdx.x];
        }
        dweight[c] = accumulate ? dweight[c] + w : w;
        dbias[c] = accumulate ? dbias[c] + b : b;
    }
}
