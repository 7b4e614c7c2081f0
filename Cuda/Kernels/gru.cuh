// ───── Gru ───────────────────────────────────────────────────────────────────────────────────────────
// gru(hidden = H), torch.nn.GRU's layout (gates stacked r, z, n), zero initial h, as
// ModelDsl.Runtime.Cpu.Layers.Gru:
//   x (B, T, In)   weight_ih (3H, In)   weight_hh (3H, H)   bias_ih (3H)   bias_hh (3H)
//   h (B, T, H): every step's hidden state (the output; the backward reads it)
//   last_hidden (B, H): the last step's h (optional output)
//   step t (gi = x_t·W_ihᵀ, gh = h_{t−1}·W_hhᵀ, zero at t = 0):
//     r = σ(gi_r + b_ir + gh_r + b_hr)   z = σ(gi_z + b_iz + gh_z + b_hz)   n = tanh(gi_n + b_in + r·(gh_n + b_hn))
//     h_t = (1 − z)·n + z·h_{t−1}
// Storage (bf16.cuh): x, h and last_hidden are activations, md_act; the weights, biases, the workspace and every
// gradient are float. With md_act = float the products are the cuBLAS calls below. With BF16 activations
// (LayerContext.Bf16Activations) cuBLAS cannot take x or h (FP32 operands only), so the host takes the BF16 sequence
// further below: x's two products are md_sequence_input_product and md_sequence_input_weight_gradient, and the recurrence runs
// on FP32 hidden states the step kernel also writes into the workspace's h_prev (h itself is their rounding), which
// the recurrent GEMMs, both step kernels' h_{t−1} and the backward's dW_hh read; md_sequence_shift_hidden is not run.
// Workspace, as the CPU's (floats): gi (B, T, 3H) | gh (B, T, 3H) | h_prev (B, T, H) | dh (B, H). The forward leaves
// r, z, n in gi and gh_n + b_hn in gh's n block; the backward overwrites gi and gh with their gradients, so every
// backward needs its own forward. Row (b, t) of gi and gh is b·T + t.
// The products are GpuContext.Sgemm (cuBLAS) calls made by the host, in this sequence (G = 3H):
//   forward:
//     Sgemm(false, true, B·T, G, In, 1, x, In, W_ih, In, 0, gi, G)                      (all steps at once)
//     for t = 0 … T−1:
//       if t > 0: Sgemm(false, true, B, G, H, 1, h + (t−1)·H, T·H, W_hh, H, 0, gh + t·G, T·G)
//       md_gru_forward_step(t)                     (reads no gh at t = 0)
//   backward (dh_out = dL/dh (B, T, H) and/or d_last_hidden = dL/dlast_hidden (B, H); either may be null):
//     for t = T−1 … 0:
//       md_gru_backward_step(t)                    (dh = dh_next, from d_last_hidden or 0 at t = T−1; leaves dh·z)
//       if t > 0: Sgemm(false, false, B, H, G, 1, gh + t·G, T·G, W_hh, H, 1, dh, H)      (dh_next += dgh·W_hh)
//     md_sequence_shift_hidden(h, h_prev)               (h_prev[b, t] = h[b, t−1], 0 at t = 0)
//     Sgemm(true, false, G, In, B·T, 1, gi, G, x, In, β, dW_ih, In)            β = accumulate params ? 1 : 0
//     Sgemm(true, false, G, H, B·T, 1, gh, G, h_prev, H, β, dW_hh, H)
//     md_gru_column_sum(B·T, G, gi, dbias_ih, accumulate params);  md_gru_column_sum(B·T, G, gh, dbias_hh, …)
//     if dx wanted: Sgemm(false, false, B·T, In, G, 1, gi, G, W_ih, In, accumulate input ? 1 : 0, dx, In)
//   with BF16 activations, the same except:
//     forward: md_sequence_input_product(B·T, G, In, x, W_ih, gi) for the first Sgemm; the recurrent Sgemm reads
//              h_prev + t·H (T·H) instead of h + (t−1)·H; md_gru_forward_step(t) reads h_{t−1} from and writes h_t to
//              h_prev (h_prev ≠ null)
//     backward: md_gru_backward_step reads h_{t−1} from h_prev; no md_sequence_shift_hidden;
//               md_sequence_input_weight_gradient(B·T, G, In, gi, x, dW_ih, β) for dW_ih

// md_gru_forward_step: step t. Writes r, z, n over gi row (b, t), gh_n + b_hn over gh's n block, h[b, t], and at
// t = T−1 last_hidden[b] when it is not null. When h_prev (B, T, H) is not null (BF16 activations) h_{t−1} is read
// from h_prev[b, t] (FP32) instead of h, and h_prev[b, t + 1] = h_t (t < T − 1), h_prev[b, 0] = 0 at t = 0 are written.
//   launch: grid (min(⌈B·H/256⌉, 65535)), block (256): one thread per (b, j) of (B, H), grid-stride.
//   why: the three gates of unit j sit H apart in one row, so one thread has everything the update needs and the
//   whole step is one pass after the step's recurrent GEMM. Consecutive threads take consecutive j.
extern "C" __global__ void __launch_bounds__(256) md_gru_forward_step(
    int batch, int steps, int hidden, int t, const float* __restrict__ bias_ih,
    const float* __restrict__ bias_hh, float* __restrict__ gi, float* __restrict__ gh,
    md_act* __restrict__ h, float* __restrict__ h_prev, md_act* __restrict__ last_hidden)
{
    long n = (long)batch * hidden;
    for (long e = (long)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (long)gridDim.x * blockDim.x)
    {
        long b = e / hidden;
        int j = (int)(e - b * hidden);
        long row = b * steps + t;
        float* input = gi + row * 3 * hidden;
        float* recurrent = gh + row * 3 * hidden;
        float hr = t > 0 ? recurrent[j] : 0.0f, hz = t > 0 ? recurrent[hidden + j] : 0.0f, hh = t > 0 ? recurrent[2 * hidden + j] : 0.0f;
        float r_t = md_sigmoid(input[j] + bias_ih[j] + hr + bias_hh[j]);
        float z_t = md_sigmoid(input[hidden + j] + bias_ih[hidden + j] + hz + bias_hh[hidden + j]);
        float hn = hh + bias_hh[2 * hidden + j];
        float n_t = md_tanh(input[2 * hidden + j] + bias_ih[2 * hidden + j] + r_t * hn);
        float previous = t == 0 ? 0.0f : h_prev != nullptr ? h_prev[row * hidden + j] : md_load(h[(row - 1) * hidden + j]);
        float h_t = (1.0f - z_t) * n_t + z_t * previous;
        input[j] = r_t;
        input[hidden + j] = z_t;
        input[2 * hidden + j] = n_t;
        recurrent[2 * hidden + j] = hn;
        h[row * hidden + j] = md_act_from(h_t);
        if (h_prev != nullptr)
        {
            if (t == 0) h_prev[row * hidden + j] = 0.0f;
            if (t + 1 < steps) h_prev[(row + 1) * hidden + j] = h_t;
        }
        if (t == steps - 1 && last_hidden != nullptr) last_hidden[e] = md_act_from(h_t);
    }
}

// md_gru_backward_step: step t backward. With dh = (t = T−1 ? d_last_hidden (or 0) : dh[b]) + dh_out[b, t]:
//   dn = dh·(1 − z)·(1 − n²);  dz = dh·(h_{t−1} − n)·z(1 − z);  dr = dn·(gh_n + b_hn)·r(1 − r)
// writes dgi = (dr, dz, dn) over gi row (b, t), dgh = (dr, dz, dn·r) over gh row (b, t), and dh[b] = dh·z (the
// recurrent GEMM after the step adds dgh·W_hh). dh_out and d_last_hidden may be null. h_{t−1} comes from h_prev
// (B, T, H) when it is not null (BF16 activations: the forward's FP32 copy), else from h.
//   launch: grid (min(⌈B·H/256⌉, 65535)), block (256): one thread per (b, j) of (B, H), grid-stride.
//   why: as the forward step: one thread holds unit j's three gates; the step's recurrent GEMM (dh_next) follows.
extern "C" __global__ void __launch_bounds__(256) md_gru_backward_step(
    int batch, int steps, int hidden, int t, const md_act* __restrict__ h, const float* __restrict__ h_prev, const float* __restrict__ dh_out,
    const float* __restrict__ d_last_hidden, float* __restrict__ gi, float* __restrict__ gh,
    float* __restrict__ dh)
{
    long n = (long)batch * hidden;
    bool last = t == steps - 1;
    for (long e = (long)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (long)gridDim.x * blockDim.x)
    {
        long b = e / hidden;
        int j = (int)(e - b * hidden);
        long row = b * steps + t;
        float* input = gi + row * 3 * hidden;
        float* recurrent = gh + row * 3 * hidden;
        float r_t = input[j], z_t = input[hidden + j], n_t = input[2 * hidden + j], hn = recurrent[2 * hidden + j];
        float dh_t = last ? (d_last_hidden != nullptr ? d_last_hidden[e] : 0.0f) : dh[e];
        if (dh_out != nullptr) dh_t += dh_out[row * hidden + j];
        float previous = t == 0 ? 0.0f : h_prev != nullptr ? h_prev[row * hidden + j] : md_load(h[(row - 1) * hidden + j]);
        float dn = dh_t * (1.0f - z_t) * (1.0f - n_t * n_t);
        float dz = dh_t * (previous - n_t) * z_t * (1.0f - z_t);
        float dr = dn * hn * r_t * (1.0f - r_t);
        input[j] = dr;
        input[hidden + j] = dz;
        input[2 * hidden + j] = dn;
        recurrent[j] = dr;
        recurrent[hidden + j] = dz;
        recurrent[2 * hidden + j] = dn * r_t;
        dh[e] = dh_t * z_t;
    }
}

// md_gru_column_sum: dbias (cols) (+)= Σ_rows dpre (rows = B·T, cols = 3H); called once for dgi → dbias_ih and once
// for dgh → dbias_hh (they differ in the n block: r multiplies the recurrent part).
//   launch: grid (⌈cols/32⌉), block (32, 8): one block per 32 columns.
//   why: a deterministic column sum: thread (tx, ty) walks rows ty, ty + 8, … of its column (a warp reads 32
//   adjacent floats), and the 8 partial sums meet in shared memory in a fixed order.
extern "C" __global__ void __launch_bounds__(256) md_gru_column_sum(
    int rows, int cols, const float* __restrict__ dpre, float* __restrict__ dbias, int accumulate)
{
    __shared__ float partial[8][33];
    int c = blockIdx.x * 32 + threadIdx.x;
    float sum = 0.0f;
    if (c < cols)
        for (int r = threadIdx.y; r < rows; r += 8) sum += dpre[(long)r * cols + c];
    partial[threadIdx.y][threadIdx.x] = sum;
    __syncthreads();
    if (threadIdx.y == 0 && c < cols)
    {
        float total = 0.0f;
        for (int k = 0; k < 8; k++) total += partial[k][threadIdx.x];
        dbias[c] = accumulate ? dbias[c] + total : total;
    }
}
