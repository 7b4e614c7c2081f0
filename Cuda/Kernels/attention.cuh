// ───── Attention ─────────────────────────────────────────────────────────────────────────────────────
// Scaled dot-product attention on already-projected q, k, v, as ModelDsl.Runtime.Cpu.Layers.Attention:
//   q, k, v (B, T, heads·dh) with row stride `stride` ≥ heads·dh: element (b, t, head, e) at
//     (b·T + t)·stride + head·dh + e. stride = d for separate tensors; for a fused qkv (B, T, 3d) pass qkv,
//     qkv + d, qkv + 2d and stride 3d.
//   out (B, T, heads·dh), contiguous: head h's output in columns h·dh … (h+1)·dh − 1.
//   mask (B, T), optional (null for none), f32 `mask` or i32 `mask_i32`: 1 = a real key, 0 = padding.
//   Per (b, head): S = q·kᵀ/√dh + (1 − mask[b, j])·(−10000) (BERT's key padding bias; finite, so a fully padded row
//   is a uniform softmax, never NaN);  causal: S[i, j > i] = −∞;  P = softmax_rows(S);  out = P·v
//   Backward: dP = dout·vᵀ;  D_i = Σ_j P_ij·dP_ij;  dS = P ⊙ (dP − D);  dq (+)= dS·k/√dh;
//             dk (+)= dSᵀ·q/√dh;  dv (+)= Pᵀ·dout     (dq, dk, dv share q's layout and stride)
//   Dropout on P (dropout = p > 0, training only): out = P̃·v with P̃_ij = P_ij·M_ij/(1 − p), M_ij from the `dropout`
//   op's counter-based draw md_dropout_mask(seed, index) at index ((b·heads + head)·T + i)·T + j in unsigned
//   arithmetic, the CPU's index, so both drop the same probabilities. The seed is read from device memory
//   (`dropout_seed` points at one unsigned int, this step's, read only when p > 0), as the generated `dropout`
//   kernels read theirs, so a captured CUDA graph replays with each step's mask. The softmax's sum l is over the
//   undropped P; the backward draws M again: dP_ij = M_ij/(1 − p)·(dout_i·v_j), dv (+)= P̃ᵀ·dout, and D, dS, dq, dk
//   as above.
// Fused, in the manner of flash attention: the T×T matrices S and P never reach global memory. The forward
// keeps a running max and sum per query row (online softmax) and saves only the row's max m and log l of its sum
// (B, heads, T) each; the backward recomputes P = exp((S − m) − log l) from q, k and them. Kept apart rather than as
// one lse = m + log l: with a padding bias S is near −10000 in a fully padded row, where a float lse has lost
// ~5e-4 of log l (its ulp), while S − m is exact, as the CPU's softmax computes it. The backward is two
// kernels, neither with atomics: md_attention_backward_query (D and dq, one warp per query row), then
// md_attention_backward_key (dk and dv, one warp per key row), which reads the D that the first saved in
// delta (B, heads, T).
// Tiling: a block is 8 warps = 8 consecutive rows of one (b, head); the other side (keys, or queries) streams
// through shared memory 32 rows at a time, so each staged row serves 8 rows of the block. Within a tile a
// lane computes one score (a dot product over dh), and the products with v (or q, dout) give each lane the
// output columns e = lane, lane + 32, …. Limits: dh ≤ MD_ATTENTION_MAX_HEAD_DIM (128: the tiles are static
// shared memory, 42.5 KiB at most); T unbounded (the softmax is online; nothing is T×T); B and heads ≤ 65535
// (grid z and y). Sums run in a fixed order: the results are bitwise repeatable.
// Storage (bf16.cuh): q, k, v, out and the f32 mask are activations, md_act (widened as they are staged, out rounded
// once on its store); dout, dq, dk, dv, the row statistics and delta are float. Scores, softmax and sums stay float.

#define MD_ATTENTION_MAX_HEAD_DIM 128
#define MD_ATTENTION_PER_LANE (MD_ATTENTION_MAX_HEAD_DIM / 32)
#define MD_ATTENTION_TILE 32
// +1 column of padding: lane j reading tile[j][e] hits bank (j + e) mod 32, so a warp's 32 reads never conflict.
#define MD_ATTENTION_PITCH (MD_ATTENTION_MAX_HEAD_DIM + 1)

// Copies rows row0 … row0 + 31 of one head's (T, dh) slice (rows `stride` elements apart) into tile as floats, zeros
// past T. T is md_act (q, k, v) or float (dout). Every thread of the block takes part; the caller brackets it with
// __syncthreads.
template <typename T>
__device__ __forceinline__ void md_attention_stage(
    float (*tile)[MD_ATTENTION_PITCH], const T* __restrict__ source, int row0, int steps, int stride, int head_dim)
{
    for (int e = threadIdx.x; e < MD_ATTENTION_TILE * head_dim; e += blockDim.x)
    {
        int r = e / head_dim, c = e - r * head_dim;
        tile[r][c] = row0 + r < steps ? md_load(source[(long)(row0 + r) * stride + c]) : 0.0f;
    }
}

// The logit bias of key `index` (b·T + j): (1 − m)·(−10000) with m from whichever mask is given, else 0. The same
// float operations as Runtime.Cpu.Layers.Attention (the bias is added after the scale).
__device__ __forceinline__ float md_attention_key_bias(const md_act* __restrict__ mask, const int* __restrict__ mask_i32, long index)
{
    if (mask != 0) return (1.0f - md_load(mask[index])) * -10000.0f;
    if (mask_i32 != 0) return (1.0f - (float)mask_i32[index]) * -10000.0f;
    return 0.0f;
}

// The dropout factor of probability `index` (see above): M/(1 − p) drawn as the `dropout` op draws, or 1 without dropout.
__device__ __forceinline__ float md_attention_keep(float dropout, float dropout_scale, unsigned int seed, unsigned int index)
{
    return dropout > 0.0f ? md_dropout_mask(seed, index, dropout, dropout_scale) : 1.0f;
}

// The mask index of row i's first probability in (b, head): ((b·heads + head)·T + i)·T, wrapping at 2^32 as the CPU's.
__device__ __forceinline__ unsigned int md_attention_row_index(int b, int heads, int head, int steps, int i)
{
    return ((unsigned int)(b * heads + head) * (unsigned int)steps + (unsigned int)i) * (unsigned int)steps;
}

// Σ_e a[e]·b[e] over dh elements of two shared-memory rows.
__device__ __forceinline__ float md_attention_dot(const float* a, const float* b, int head_dim)
{
    float s = 0.0f;
    for (int e = 0; e < head_dim; e++) s += a[e] * b[e];
    return s;
}

// md_attention_forward: out (B, T, heads·dh), row_max (B, heads, T) m_i = max_j S_ij and row_log_sum (B, heads, T)
// log Σ_j exp(S_ij − m_i).
//   launch: grid (⌈T/8⌉, heads, B), block (256): one warp per query row, 8 consecutive query rows per block.
//   why: key/value tiles of 32 rows are staged in shared memory once per block and used by its 8 query rows.
//   Lane j scores key j0 + j of the tile; the tile's max and Σ exp are warp shuffles, and the running output
//   (dh/32 floats per lane) is rescaled by exp(m_old − m_new) as the max grows. Causal blocks stop at the tile
//   holding their last query row's diagonal.
extern "C" __global__ void __launch_bounds__(256) md_attention_forward(
    int batch, int steps, int heads, int head_dim, int stride, int causal,
    const md_act* __restrict__ q, const md_act* __restrict__ k, const md_act* __restrict__ v,
    md_act* __restrict__ out, float* __restrict__ row_max, float* __restrict__ row_log_sum,
    const md_act* __restrict__ mask, const int* __restrict__ mask_i32, float dropout, const unsigned int* __restrict__ dropout_seed)
{
    __shared__ float k_tile[MD_ATTENTION_TILE][MD_ATTENTION_PITCH];
    __shared__ float v_tile[MD_ATTENTION_TILE][MD_ATTENTION_PITCH];
    __shared__ float q_rows[8][MD_ATTENTION_MAX_HEAD_DIM];
    __shared__ float p_rows[8][MD_ATTENTION_TILE];
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    int b = blockIdx.z, head = blockIdx.y;
    int i0 = blockIdx.x * 8, i = i0 + warp;
    bool row_valid = i < steps; // per warp: the shuffles below stay converged
    long first = (long)b * steps * stride + (long)head * head_dim;
    const md_act* q_head = q + first;
    const md_act* k_head = k + first;
    const md_act* v_head = v + first;
    float scale = 1.0f / sqrtf((float)head_dim);
    float dropout_scale = dropout > 0.0f ? 1.0f / (1.0f - dropout) : 1.0f;
    unsigned int seed = dropout > 0.0f ? *dropout_seed : 0u; // this step's seed, read from device memory (a replayed CUDA graph sees each step's)
    unsigned int row_index = md_attention_row_index(b, heads, head, steps, i);
    for (int e = lane; e < head_dim; e += 32) q_rows[warp][e] = row_valid ? md_load(q_head[(long)i * stride + e]) : 0.0f;

    float m = -INFINITY, l = 0.0f;
    float acc[MD_ATTENTION_PER_LANE];
    for (int r = 0; r < MD_ATTENTION_PER_LANE; r++) acc[r] = 0.0f;
    int key_end = causal ? min(i0 + 8, steps) : steps; // keys 0 … key_end − 1 matter to this block
    for (int j0 = 0; j0 < key_end; j0 += MD_ATTENTION_TILE)
    {
        __syncthreads(); // the previous tile is used up (and q_rows is written)
        md_attention_stage(k_tile, k_head, j0, steps, stride, head_dim);
        md_attention_stage(v_tile, v_head, j0, steps, stride, head_dim);
        __syncthreads();
        if (!row_valid) continue;
        int j = j0 + lane;
        float s = -INFINITY;
        if (j < steps && (!causal || j <= i))
            s = md_attention_dot(q_rows[warp], k_tile[lane], head_dim) * scale + md_attention_key_bias(mask, mask_i32, (long)b * steps + j);
        // Key 0 is in the first tile and never causally masked (padding only biases it), so m_new is finite from the first tile on.
        float m_new = fmaxf(m, md_warp_max(s));
        float p = s == -INFINITY ? 0.0f : expf(s - m_new);
        float correction = expf(m - m_new); // 0 on the first tile (m = −∞)
        l = l * correction + md_warp_sum(p);
        p_rows[warp][lane] = p * md_attention_keep(dropout, dropout_scale, seed, row_index + (unsigned int)j); // P̃: l sums the undropped P
        __syncwarp();
        for (int r = 0; r < MD_ATTENTION_PER_LANE; r++)
        {
            int e = lane + 32 * r;
            if (e >= head_dim) break;
            float a = acc[r] * correction;
            for (int jj = 0; jj < MD_ATTENTION_TILE; jj++) a += p_rows[warp][jj] * v_tile[jj][e];
            acc[r] = a;
        }
        __syncwarp(); // p_rows is read by every lane before the next tile overwrites it
        m = m_new;
    }
    if (!row_valid) return;
    float inv_l = 1.0f / l;
    md_act* out_row = out + ((long)b * steps + i) * heads * head_dim + (long)head * head_dim;
    for (int r = 0; r < MD_ATTENTION_PER_LANE; r++)
    {
        int e = lane + 32 * r;
        if (e < head_dim) out_row[e] = md_act_from(acc[r] * inv_l);
    }
    if (lane == 0)
    {
        long stat = ((long)b * heads + head) * steps + i;
        row_max[stat] = m;
        row_log_sum[stat] = logf(l);
    }
}

// md_attention_backward_query: delta (B, heads, T), D_i = Σ_j P_ij·dP_ij, and dq (+)= dS·k/√dh, with
// P_ij = exp((S_ij − m_i) − log l_i), dP_ij = dout_i·v_j, dS_ij = P_ij·(dP_ij − D_i). Launch before md_attention_backward_key.
//   launch: grid (⌈T/8⌉, heads, B), block (256): one warp per query row, 8 consecutive query rows per block.
//   why: as the forward, with k and v tiles staged once per block. D_i needs the whole row before any dS_ij,
//   so the keys are streamed twice: the first pass sums P·dP (a warp sum per tile, added in tile order), the
//   second forms dS and accumulates dq. Recomputing S and dP is cheaper than storing a T×T row.
extern "C" __global__ void __launch_bounds__(256) md_attention_backward_query(
    int batch, int steps, int heads, int head_dim, int stride, int causal,
    const md_act* __restrict__ q, const md_act* __restrict__ k, const md_act* __restrict__ v,
    const float* __restrict__ dout, const float* __restrict__ row_max, const float* __restrict__ row_log_sum,
    float* __restrict__ delta, float* __restrict__ dq, int accumulate, const md_act* __restrict__ mask, const int* __restrict__ mask_i32,
    float dropout, const unsigned int* __restrict__ dropout_seed)
{
    __shared__ float k_tile[MD_ATTENTION_TILE][MD_ATTENTION_PITCH];
    __shared__ float v_tile[MD_ATTENTION_TILE][MD_ATTENTION_PITCH];
    __shared__ float q_rows[8][MD_ATTENTION_MAX_HEAD_DIM];
    __shared__ float dout_rows[8][MD_ATTENTION_MAX_HEAD_DIM];
    __shared__ float ds_rows[8][MD_ATTENTION_TILE];
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    int b = blockIdx.z, head = blockIdx.y;
    int i0 = blockIdx.x * 8, i = i0 + warp;
    bool row_valid = i < steps;
    long first = (long)b * steps * stride + (long)head * head_dim;
    const md_act* k_head = k + first;
    const md_act* v_head = v + first;
    const float* dout_row = dout + ((long)b * steps + i) * heads * head_dim + (long)head * head_dim;
    float scale = 1.0f / sqrtf((float)head_dim);
    float dropout_scale = dropout > 0.0f ? 1.0f / (1.0f - dropout) : 1.0f;
    unsigned int seed = dropout > 0.0f ? *dropout_seed : 0u; // this step's seed, read from device memory (a replayed CUDA graph sees each step's)
    unsigned int row_index = md_attention_row_index(b, heads, head, steps, i);
    for (int e = lane; e < head_dim; e += 32)
    {
        q_rows[warp][e] = row_valid ? md_load(q[first + (long)i * stride + e]) : 0.0f;
        dout_rows[warp][e] = row_valid ? dout_row[e] : 0.0f;
    }
    long stat = ((long)b * heads + head) * steps + i; // this row's statistics and delta
    float max_i = row_valid ? row_max[stat] : 0.0f, log_sum_i = row_valid ? row_log_sum[stat] : 0.0f;
    int key_end = causal ? min(i0 + 8, steps) : steps;

    float d_i = 0.0f; // pass 1: D_i
    for (int j0 = 0; j0 < key_end; j0 += MD_ATTENTION_TILE)
    {
        __syncthreads();
        md_attention_stage(k_tile, k_head, j0, steps, stride, head_dim);
        md_attention_stage(v_tile, v_head, j0, steps, stride, head_dim);
        __syncthreads();
        if (!row_valid) continue;
        int j = j0 + lane;
        float p_dp = 0.0f;
        if (j < steps && (!causal || j <= i))
        {
            float s = md_attention_dot(q_rows[warp], k_tile[lane], head_dim) * scale + md_attention_key_bias(mask, mask_i32, (long)b * steps + j);
            float p = expf((s - max_i) - log_sum_i);
            float keep = md_attention_keep(dropout, dropout_scale, seed, row_index + (unsigned int)j);
            p_dp = p * (keep * md_attention_dot(dout_rows[warp], v_tile[lane], head_dim));
        }
        d_i += md_warp_sum(p_dp);
    }

    float acc[MD_ATTENTION_PER_LANE]; // pass 2: dq
    for (int r = 0; r < MD_ATTENTION_PER_LANE; r++) acc[r] = 0.0f;
    for (int j0 = 0; j0 < key_end; j0 += MD_ATTENTION_TILE)
    {
        __syncthreads();
        md_attention_stage(k_tile, k_head, j0, steps, stride, head_dim);
        md_attention_stage(v_tile, v_head, j0, steps, stride, head_dim);
        __syncthreads();
        if (!row_valid) continue;
        int j = j0 + lane;
        float ds = 0.0f;
        if (j < steps && (!causal || j <= i))
        {
            float s = md_attention_dot(q_rows[warp], k_tile[lane], head_dim) * scale + md_attention_key_bias(mask, mask_i32, (long)b * steps + j);
            float p = expf((s - max_i) - log_sum_i);
            float keep = md_attention_keep(dropout, dropout_scale, seed, row_index + (unsigned int)j);
            ds = p * (keep * md_attention_dot(dout_rows[warp], v_tile[lane], head_dim) - d_i);
        }
        ds_rows[warp][lane] = ds;
        __syncwarp();
        for (int r = 0; r < MD_ATTENTION_PER_LANE; r++)
        {
            int e = lane + 32 * r;
            if (e >= head_dim) break;
            float a = acc[r];
            for (int jj = 0; jj < MD_ATTENTION_TILE; jj++) a += ds_rows[warp][jj] * k_tile[jj][e];
            acc[r] = a;
        }
        __syncwarp();
    }
    if (!row_valid) return;
    float* dq_row = dq + first + (long)i * stride;
    for (int r = 0; r < MD_ATTENTION_PER_LANE; r++)
    {
        int e = lane + 32 * r;
        if (e >= head_dim) break;
        float d = acc[r] * scale;
        dq_row[e] = accumulate ? dq_row[e] + d : d;
    }
    if (lane == 0) delta[stat] = d_i;
}

// md_attention_backward_key: dk (+)= dSᵀ·q/√dh and dv (+)= Pᵀ·dout, recomputing P and dS from q, k, v, dout,
// the row statistics and the delta md_attention_backward_query saved.
//   launch: grid (⌈T/8⌉, heads, B), block (256): one warp per key row, 8 consecutive key rows per block.
//   why: the mirror of the query kernel: query tiles of 32 rows (q, dout, m, log l, delta) are staged once per block;
//   lane i scores query i0 + i against the warp's key, and each lane accumulates its dh/32 columns of dk and
//   dv. A key row sums over queries itself, so no two blocks write one element: no atomics. Causal blocks
//   start at the tile holding their first key's diagonal (queries before a key never see it).
extern "C" __global__ void __launch_bounds__(256) md_attention_backward_key(
    int batch, int steps, int heads, int head_dim, int stride, int causal,
    const md_act* __restrict__ q, const md_act* __restrict__ k, const md_act* __restrict__ v,
    const float* __restrict__ dout, const float* __restrict__ row_max, const float* __restrict__ row_log_sum,
    const float* __restrict__ delta, float* __restrict__ dk, float* __restrict__ dv, int accumulate, const md_act* __restrict__ mask, const int* __restrict__ mask_i32,
    float dropout, const unsigned int* __restrict__ dropout_seed)
{
    __shared__ float q_tile[MD_ATTENTION_TILE][MD_ATTENTION_PITCH];
    __shared__ float dout_tile[MD_ATTENTION_TILE][MD_ATTENTION_PITCH];
    __shared__ float k_rows[8][MD_ATTENTION_MAX_HEAD_DIM];
    __shared__ float v_rows[8][MD_ATTENTION_MAX_HEAD_DIM];
    __shared__ float p_rows[8][MD_ATTENTION_TILE];
    __shared__ float ds_rows[8][MD_ATTENTION_TILE];
    __shared__ float max_tile[MD_ATTENTION_TILE];
    __shared__ float log_sum_tile[MD_ATTENTION_TILE];
    __shared__ float delta_tile[MD_ATTENTION_TILE];
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    int b = blockIdx.z, head = blockIdx.y;
    int j0 = blockIdx.x * 8, j = j0 + warp;
    bool row_valid = j < steps;
    long first = (long)b * steps * stride + (long)head * head_dim;
    const md_act* q_head = q + first;
    const float* dout_head = dout + (long)b * steps * heads * head_dim + (long)head * head_dim;
    const float* stats_max = row_max + ((long)b * heads + head) * steps;
    const float* stats_log_sum = row_log_sum + ((long)b * heads + head) * steps;
    const float* stats_delta = delta + ((long)b * heads + head) * steps;
    float scale = 1.0f / sqrtf((float)head_dim);
    float dropout_scale = dropout > 0.0f ? 1.0f / (1.0f - dropout) : 1.0f;
    unsigned int seed = dropout > 0.0f ? *dropout_seed : 0u; // this step's seed, read from device memory (a replayed CUDA graph sees each step's)
    for (int e = lane; e < head_dim; e += 32)
    {
        k_rows[warp][e] = row_valid ? md_load(k[first + (long)j * stride + e]) : 0.0f;
        v_rows[warp][e] = row_valid ? md_load(v[first + (long)j * stride + e]) : 0.0f;
    }

    float key_bias = row_valid ? md_attention_key_bias(mask, mask_i32, (long)b * steps + j) : 0.0f; // this warp's key
    float dk_acc[MD_ATTENTION_PER_LANE], dv_acc[MD_ATTENTION_PER_LANE];
    for (int r = 0; r < MD_ATTENTION_PER_LANE; r++) dk_acc[r] = dv_acc[r] = 0.0f;
    int query_begin = causal ? j0 / MD_ATTENTION_TILE * MD_ATTENTION_TILE : 0;
    for (int t0 = query_begin; t0 < steps; t0 += MD_ATTENTION_TILE)
    {
        __syncthreads();
        md_attention_stage(q_tile, q_head, t0, steps, stride, head_dim);
        md_attention_stage(dout_tile, dout_head, t0, steps, heads * head_dim, head_dim);
        if (threadIdx.x < MD_ATTENTION_TILE)
        {
            int t = t0 + threadIdx.x;
            max_tile[threadIdx.x] = t < steps ? stats_max[t] : 0.0f;
            log_sum_tile[threadIdx.x] = t < steps ? stats_log_sum[t] : 0.0f;
            delta_tile[threadIdx.x] = t < steps ? stats_delta[t] : 0.0f;
        }
        __syncthreads();
        if (!row_valid) continue;
        int i = t0 + lane;
        float p = 0.0f, ds = 0.0f;
        if (i < steps && (!causal || j <= i))
        {
            p = expf((md_attention_dot(q_tile[lane], k_rows[warp], head_dim) * scale + key_bias - max_tile[lane]) - log_sum_tile[lane]);
            float keep = md_attention_keep(dropout, dropout_scale, seed, md_attention_row_index(b, heads, head, steps, i) + (unsigned int)j);
            ds = p * (keep * md_attention_dot(dout_tile[lane], v_rows[warp], head_dim) - delta_tile[lane]);
            p *= keep; // P̃ for dv
        }
        p_rows[warp][lane] = p;
        ds_rows[warp][lane] = ds;
        __syncwarp();
        for (int r = 0; r < MD_ATTENTION_PER_LANE; r++)
        {
            int e = lane + 32 * r;
            if (e >= head_dim) break;
            float a = dk_acc[r], c = dv_acc[r];
            for (int ii = 0; ii < MD_ATTENTION_TILE; ii++)
            {
                a += ds_rows[warp][ii] * q_tile[ii][e];
                c += p_rows[warp][ii] * dout_tile[ii][e];
            }
            dk_acc[r] = a;
            dv_acc[r] = c;
        }
        __syncwarp();
    }
    if (!row_valid) return;
    float* dk_row = dk + first + (long)j * stride;
    float* dv_row = dv + first + (long)j * stride;
    for (int r = 0; r < MD_ATTENTION_PER_LANE; r++)
    {
        int e = lane + 32 * r;
        if (e >= head_dim) break;
        float dkv = dk_acc[r] * scale, dvv = dv_acc[r];
        dk_row[e] = accumulate ? dk_row[e] + dkv : dkv;
        dv_row[e] = accumulate ? dv_row[e] + dvv : dvv;
    }
}
