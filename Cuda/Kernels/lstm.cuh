// ───── Lstm ──────────────────────────────────────────────────────────────────────────────────────────
// lstm(hidden = H), PyTorch layout (gates stacked i, f, g, o), zero initial h and c, as
// ModelDsl.Runtime.Cpu.Layers.Lstm:
//   x (B, T, In)   weight_ih (4H, In)   weight_hh (4H, H)   bias_ih (4H)   bias_hh (4H)
//   h (B, T, H): every step's hidden state (the output; the backward reads it)
//   last_hidden, last_cell (B, H): the last step's h and c (optional outputs)
//   step t: i = σ(pre_i + b_i)  f = σ(pre_f + b_f)  g = tanh(pre_g + b_g)  o = σ(pre_o + b_o)
//           (pre = x_t·W_ihᵀ + h_{t−1}·W_hhᵀ, b = bias_ih + bias_hh);   c_t = f·c_{t−1} + i·g;   h_t = o·tanh(c_t)
// Storage (bf16.cuh): x, h, last_hidden and last_cell are activations, md_act; the weights, biases, the workspace
// and every gradient are float. With md_act = float the products are the cuBLAS calls below. With BF16 activations
// (LayerContext.Bf16Activations) cuBLAS cannot take x or h (FP32 operands only), so the host takes the BF16 sequence
// further below: x's two products are md_sequence_input_product and md_sequence_input_weight_gradient, and the recurrence
// runs on FP32 hidden states the step kernel also writes into the workspace's h_prev (h itself is their rounding),
// so the forward's recurrent GEMMs and the backward's dW_hh read FP32 h_prev and md_sequence_shift_hidden is not run.
// Workspace, as the CPU's (floats): gates (B, T, 4H) | cells (B, T, H) | h_prev (B, T, H) | dh (B, H) | dc (B, H).
// The forward leaves the activated gates and the cells there; the backward overwrites the gates with their
// pre-activation gradients dpre, so every backward needs its own forward. Row (b, t) of gates is b·T + t.
// The products are GpuContext.Sgemm (cuBLAS) calls made by the host, in this sequence (G = 4H):
//   forward:
//     Sgemm(false, true, B·T, G, In, 1, x, In, W_ih, In, 0, gates, G)                   (all steps at once)
//     for t = 0 … T−1:
//       if t > 0: Sgemm(false, true, B, G, H, 1, h + (t−1)·H, T·H, W_hh, H, 1, gates + t·G, T·G)
//       md_lstm_forward_step(t)
//   backward (dh_out = dL/dh (B, T, H) and/or d_last_hidden = dL/dlast_hidden (B, H); either may be null):
//     for t = T−1 … 0:
//       md_lstm_backward_step(t)                   (reads dh = dh_next and dc = dc_next; t = T−1 starts from
//                                                   d_last_hidden and 0 instead, so neither needs clearing)
//       if t > 0: Sgemm(false, false, B, H, G, 1, gates + t·G, T·G, W_hh, H, 0, dh, H)     (dh_next)
//     md_sequence_shift_hidden(h, h_prev)              (h_prev[b, t] = h[b, t−1], 0 at t = 0)
//     Sgemm(true, false, G, In, B·T, 1, gates, G, x, In, β, dW_ih, In)         β = accumulate params ? 1 : 0
//     Sgemm(true, false, G, H, B·T, 1, gates, G, h_prev, H, β, dW_hh, H)
//     md_lstm_bias_backward(B·T, G, gates, dbias_ih, dbias_hh, accumulate params)   (the two are equal)
//     if dx wanted: Sgemm(false, false, B·T, In, G, 1, gates, G, W_ih, In, accumulate input ? 1 : 0, dx, In)
//   with BF16 activations, the same except:
//     forward: md_sequence_input_product(B·T, G, In, x, W_ih, gates) for the first Sgemm; the recurrent Sgemm reads
//              h_prev + t·H (T·H) instead of h + (t−1)·H; md_lstm_forward_step(t) also writes h_prev (h_prev ≠ null)
//     backward: no md_sequence_shift_hidden; md_sequence_input_weight_gradient(B·T, G, In, gates, x, dW_ih, β) for dW_ih

// md_lstm_forward_step: step t. Activates gates row (b, t) in place (i, f, g, o, bias added), writes
// cells[b, t] = f·cells[b, t−1] + i·g (no f term at t = 0) and h[b, t] = o·tanh(c); at t = T−1 also
// last_hidden[b] and last_cell[b] when they are not null. When h_prev (B, T, H) is not null (BF16 activations) also
// h_prev[b, t + 1] = h_t in FP32 (for t < T − 1) and h_prev[b, 0] = 0 at t = 0: the recurrence's own copy of h.
//   launch: grid (min(⌈B·H/256⌉, 65535)), block (256): one thread per (b, j) of (B, H), grid-stride.
//   why: the four gates of unit j sit H apart in one row, so one thread has everything the cell update needs
//   and the whole step is one pass, after the step's recurrent GEMM. Consecutive threads take consecutive j.
extern "C" __global__ void __launch_bounds__(256) md_lstm_forward_step(
    int batch, int steps, int hidden, int t, const float* __restrict__ bias_ih,
    const float* __restrict__ bias_hh, float* __restrict__ gates, float* __restrict__ cells,
    md_act* __restrict__ h, float* __restrict__ h_prev, md_act* __restrict__ last_hidden, md_act* __restrict__ last_cell)
{
    long n = (long)batch * hidden;
    for (long e = (long)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (long)gridDim.x * blockDim.x)
    {
        long b = e / hidden;
        int j = (int)(e - b * hidden);
        long row = b * steps + t;
        float* gate = gates + row * 4 * hidden;
        float i_t = md_sigmoid(gate[j] + bias_ih[j] + bias_hh[j]);
        float f_t = md_sigmoid(gate[hidden + j] + bias_ih[hidden + j] + bias_hh[hidden + j]);
        float g_t = md_tanh(gate[2 * hidden + j] + bias_ih[2 * hidden + j] + bias_hh[2 * hidden + j]);
        float o_t = md_sigmoid(gate[3 * hidden + j] + bias_ih[3 * hidden + j] + bias_hh[3 * hidden + j]);
        float c = i_t * g_t;
        if (t > 0) c += f_t * cells[(row - 1) * hidden + j];
        float h_t = o_t * md_tanh(c);
        gate[j] = i_t;
        gate[hidden + j] = f_t;
        gate[2 * hidden + j] = g_t;
        gate[3 * hidden + j] = o_t;
        cells[row * hidden + j] = c;
        h[row * hidden + j] = md_act_from(h_t);
        if (h_prev != nullptr)
        {
            if (t == 0) h_prev[row * hidden + j] = 0.0f;
            if (t + 1 < steps) h_prev[(row + 1) * hidden + j] = h_t;
        }
        if (t == steps - 1)
        {
            if (last_hidden != nullptr) last_hidden[e] = md_act_from(h_t);
            if (last_cell != nullptr) last_cell[e] = md_act_from(c);
        }
    }
}

// md_lstm_backward_step: step t backward. With dh = (t = T−1 ? d_last_hidden (or 0) : dh[b]) + dh_out[b, t]
// and dc = (t = T−1 ? 0 : dc[b]):
//   tc = tanh(c_t);  dc += dh·o·(1 − tc²);  dpre = (dc·g·i(1−i), dc·c_{t−1}·f(1−f), dc·i·(1−g²), dh·tc·o(1−o))
// written over gates row (b, t); dc[b] = dc·f (dc_next). dh_out and d_last_hidden may be null.
//   launch: grid (min(⌈B·H/256⌉, 65535)), block (256): one thread per (b, j) of (B, H), grid-stride.
//   why: as the forward step: one thread holds unit j's four gates; the step's recurrent GEMM (dh_next) follows.
extern "C" __global__ void __launch_bounds__(256) md_lstm_backward_step(
    int batch, int steps, int hidden, int t, const float* __restrict__ cells, const float* __restrict__ dh_out,
    const float* __restrict__ d_last_hidden, float* __restrict__ gates, float* __restrict__ dh,
    float* __restrict__ dc)
{
    long n = (long)batch * hidden;
    bool last = t == steps - 1;
    for (long e = (long)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (long)gridDim.x * blockDim.x)
    {
        long b = e / hidden;
        int j = (int)(e - b * hidden);
        long row = b * steps + t;
        float* gate = gates + row * 4 * hidden;
        float i_t = gate[j], f_t = gate[hidden + j], g_t = gate[2 * hidden + j], o_t = gate[3 * hidden + j];
        float dh_t = last ? (d_last_hidden != nullptr ? d_last_hidden[e] : 0.0f) : dh[e];
        if (dh_out != nullptr) dh_t += dh_out[row * hidden + j];
        float tc = md_tanh(cells[row * hidden + j]);
        float dc_t = (last ? 0.0f : dc[e]) + dh_t * o_t * (1.0f - tc * tc);
        float c_prev = t > 0 ? cells[(row - 1) * hidden + j] : 0.0f;
        gate[j] = dc_t * g_t * i_t * (1.0f - i_t);
        gate[hidden + j] = dc_t * c_prev * f_t * (1.0f - f_t);
        gate[2 * hidden + j] = dc_t * i_t * (1.0f - g_t * g_t);
        gate[3 * hidden + j] = dh_t * tc * o_t * (1.0f - o_t);
        dc[e] = dc_t * f_t;
    }
}

// md_lstm_bias_backward: dbias_ih = dbias_hh (4H) (+)= Σ_rows dpre (rows = B·T, cols = 4H).
//   launch: grid (⌈cols/32⌉), block (32, 8): one block per 32 columns.
//   why: a deterministic column sum: thread (tx, ty) walks rows ty, ty + 8, … of its column (a warp reads 32
//   adjacent floats), and the 8 partial sums meet in shared memory in a fixed order. Both biases get the
//   same gradient, written by the same pass.
extern "C" __global__ void __launch_bounds__(256) md_lstm_bias_backward(
    int rows, int cols, const float* __restrict__ dpre, float* __restrict__ dbias_ih,
    float* __restrict__ dbias_hh, int accumulate)
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
        dbias_ih[c] = accumulate ? dbias_ih[c] + total : total;
        dbias_hh[c] = accumulate ? dbias_hh[c] + total : total;
    }
}
