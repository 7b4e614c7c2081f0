// ───── Flash attention on tensor cores (head width 64, BF16 products, FP32 accumulation) ─────────────────────────────
// The same attention as attention.cuh (and ModelDsl.Runtime.Cpu.Layers.Attention), for heads of exactly 64 columns,
// with every matrix product on the tensor cores: mma.sync m16n8k16, BF16 inputs, FP32 accumulators.
//   q, k, v (B, T, heads·64) with row stride `stride` (d, or 3d for a fused qkv: pass qkv, qkv + d, qkv + 2d).
//   out (B, T, heads·64), contiguous. mask (B, T), optional, f32 `mask` or i32 `mask_i32`: 1 = a real key, 0 = padding.
//   S = q·kᵀ/8 + (1 − mask[b, j])·(−10000);  causal: S[i, j > i] = −∞;  P = softmax_rows(S);  out = P·v.
//   Backward: D_i = Σ_e dout_ie·out_ie (= Σ_j P_ij·dP_ij);  dP = dout·vᵀ;  dS = P ⊙ (dP − D);
//             dq (+)= dS·k/8;  dk (+)= dSᵀ·q/8;  dv (+)= Pᵀ·dout.
// Storage (bf16.cuh): q, k, v, out and the f32 mask are activations, md_act; dout, dq, dk, dv, the row statistics and
// delta are float. With md_act = md_bf16 (a Bf16 session) q, k and v are staged as they are stored, with no second
// rounding, and out is rounded once on its store; with md_act = float (an Fp32 or Tf32 plan) the kernels drop in
// unchanged.
// Precision: q, k, v (when float) and dout are rounded to BF16 (round to nearest even, bf16.cuh's md_bf16_from_float)
// as they are staged; P and dS are rounded to BF16 before their products; every product accumulates in FP32, and the
// softmax (max, Σ exp, the statistics), D and the scaling stay FP32. The tolerances against the FP32 CPU reference are
// derived in docs/cuda.md ("Flash attention").
// Online softmax: the forward keeps each query row's running max and Σ exp in registers and saves the row's max m and
// log l (B, heads, T) each, apart, as attention.cuh does (same working-memory layout: m, log l, then D); the backward
// recomputes P = exp((S − m) − log l). Nothing T×T is ever in memory.
// Tiling (FlashAttention-2): a block is 4 warps and owns 64 rows of one (b, head), each warp 16 of them (one m16
// fragment row block); the other side streams through shared memory 64 rows at a time, as BF16 pairs packed in
// 32-bit words, in the layouts the fragments read (row-major [row][column pair], and transposed [column][row pair]
// where a product needs the other operand order). Kernels: md_flashattention_forward; md_flashattention_backward_query
// (D, saved for the key kernel, and dq), then md_flashattention_backward_key (dk, dv). Each output element is summed
// by one warp in a fixed order: no atomics, bitwise repeatable.
// Fragments (PTX ISA, "Matrix Fragments for mma.m16n8k16" with .bf16): lane = 4·g + t (g = groupID 0…7, t = 0…3).
//   A (16×16, row-major), four .b32 registers of two BF16 each, the lower column in the low half:
//     a0 = A[g][2t, 2t+1]   a1 = A[g+8][2t, 2t+1]   a2 = A[g][2t+8, 2t+9]   a3 = A[g+8][2t+8, 2t+9]
//   B (16×8, "col"), two registers:  b0 = B[2t, 2t+1][g]   b1 = B[2t+8, 2t+9][g]
//   C, D (16×8, FP32):  c0, c1 = C[g][2t, 2t+1]   c2, c3 = C[g+8][2t, 2t+1]
// An accumulator of n-tile 2k and 2k+1 (16 columns) is thus, packed to BF16 pairs, the A fragment of k-step k: the
// scores become the P·V product's left operand without leaving registers.
// Limits: head_dim = 64 (the launcher checks); T unbounded; B and heads ≤ 65535 (grid z and y); sm_80 or newer (mma
// with BF16). Static shared memory: forward 18 KiB, query kernel 27 KiB, key kernel 37 KiB.

#define MD_FLASHATTENTION_HEAD_DIM 64
#define MD_FLASHATTENTION_ROWS 64   // rows per block and per staged tile: 4 warps × 16
#define MD_FLASHATTENTION_PITCH 36  // 32-bit words per staged row: 32 BF16 pairs + 4 words of padding, so the
                                    // 8 rows × 4 words a fragment load reads fall in 32 different banks

// The BF16 bits of an operand element: a float rounded to nearest even (bf16.cuh's md_bf16_from_float), an md_bf16
// activation as it is stored (no second rounding).
__device__ __forceinline__ unsigned md_flashattention_bits(float f) { return md_bf16_from_float(f).bits; }
__device__ __forceinline__ unsigned md_flashattention_bits(md_bf16 x) { return x.bits; }

// Two elements as a BF16 pair in one 32-bit register: lo in bits 0…15 (the lower column), hi in 16…31.
template <typename T>
__device__ __forceinline__ unsigned md_flashattention_pack(T lo, T hi)
{
    return md_flashattention_bits(lo) | (md_flashattention_bits(hi) << 16);
}

// Stores v to *p, or adds it (accumulate): a float gradient, or an md_bf16 activation (rounded once; never accumulated).
__device__ __forceinline__ void md_flashattention_put(float* p, float v, int accumulate) { *p = accumulate ? *p + v : v; }
__device__ __forceinline__ void md_flashattention_put(md_bf16* p, float v, int accumulate)
{
    *p = md_bf16_from_float(accumulate ? md_bf16_to_float(*p) + v : v);
}

// d += a·b on one warp's 16×8×16 tile (fragments as in the header). Every lane of the warp must call it together
// (.sync.aligned). The emulator runs cuda_emulation::mma_m16n8k16_bf16, which rebuilds A and B from the 32 lanes'
// registers by the same documented layout, so a fragment mistake here fails on the emulator too.
__device__ __forceinline__ void md_flashattention_mma(float* d, const unsigned* a, unsigned b0, unsigned b1)
{
#ifdef MODELDSL_CUDA_EMULATION_H
    unsigned b[2] = { b0, b1 };
    cuda_emulation::mma_m16n8k16_bf16(d, a, b);
#else
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#endif
}

// Rows row0 … row0 + 63 of one head's (T, 64) slice (rows `stride` elements apart; T is md_act or float) into
// tile[row][pair] as BF16 pairs, zeros past T. Every thread of the block takes part; the caller brackets it with
// __syncthreads.
template <typename T>
__device__ __forceinline__ void md_flashattention_stage(
    unsigned (*tile)[MD_FLASHATTENTION_PITCH], const T* __restrict__ source, int row0, int steps, int stride)
{
    for (int w = threadIdx.x; w < MD_FLASHATTENTION_ROWS * 32; w += blockDim.x)
    {
        int r = w >> 5, pair = w & 31;
        const T* p = source + (long)(row0 + r) * stride + 2 * pair;
        tile[r][pair] = row0 + r < steps ? md_flashattention_pack(p[0], p[1]) : 0u;
    }
}

// The same rows transposed: tile[column][row pair] = (x[row0 + 2p][column], x[row0 + 2p + 1][column]), zeros past T.
template <typename T>
__device__ __forceinline__ void md_flashattention_stage_transposed(
    unsigned (*tile)[MD_FLASHATTENTION_PITCH], const T* __restrict__ source, int row0, int steps, int stride)
{
    for (int w = threadIdx.x; w < MD_FLASHATTENTION_ROWS * 32; w += blockDim.x)
    {
        int c = w & 63, pair = w >> 6, r = row0 + 2 * pair;
        unsigned lo = r < steps ? md_flashattention_bits(source[(long)r * stride + c]) : 0u;
        unsigned hi = r + 1 < steps ? md_flashattention_bits(source[(long)(r + 1) * stride + c]) : 0u;
        tile[c][pair] = lo | (hi << 16);
    }
}

// A warp's A fragments of rows row0 … row0 + 15 of x (rows `stride` elements apart; T is md_act or float; zeros past
// T), all 64 columns: a[4k + r] is register r of k-step k (columns 16k … 16k + 15).
template <typename T>
__device__ __forceinline__ void md_flashattention_load_a(
    unsigned* a, const T* __restrict__ x, int row0, int steps, int stride, int lane)
{
    int g = lane >> 2, t = lane & 3;
    for (int k = 0; k < 4; k++)
    {
        for (int half = 0; half < 2; half++) // columns 16k + 2t (a0, a1), then 16k + 2t + 8 (a2, a3)
        {
            int c = 16 * k + 2 * t + 8 * half;
            for (int h = 0; h < 2; h++) // row g, then row g + 8
            {
                int r = row0 + g + 8 * h;
                const T* p = x + (long)r * stride + c;
                a[4 * k + 2 * half + h] = r < steps ? md_flashattention_pack(p[0], p[1]) : 0u;
            }
        }
    }
}

// acc[n][0…3] += x_rows · yᵀ for 8 n-tiles (64 columns of the result) over 64 inner columns: x as A fragments (from
// md_flashattention_load_a), y as a staged row-major tile ([result column][inner pair]).
__device__ __forceinline__ void md_flashattention_product(
    float (*acc)[4], const unsigned* a, unsigned (*tile)[MD_FLASHATTENTION_PITCH], int lane)
{
    int g = lane >> 2, t = lane & 3;
    for (int n = 0; n < 8; n++)
        for (int k = 0; k < 4; k++)
            md_flashattention_mma(acc[n], a + 4 * k, tile[8 * n + g][8 * k + t], tile[8 * n + g][8 * k + t + 4]);
}

// acc[n][0…3] += p · y for 8 n-tiles over the 64 rows of a tile: p as FP32 accumulators of 8 n-tiles (packed to BF16
// A fragments here), y as a staged transposed tile ([result column][inner pair]).
__device__ __forceinline__ void md_flashattention_product_from_accumulators(
    float (*acc)[4], float (*p)[4], unsigned (*tile)[MD_FLASHATTENTION_PITCH], int lane)
{
    int g = lane >> 2, t = lane & 3;
    for (int k = 0; k < 4; k++)
    {
        unsigned a[4] = {
            md_flashattention_pack(p[2 * k][0], p[2 * k][1]), md_flashattention_pack(p[2 * k][2], p[2 * k][3]),
            md_flashattention_pack(p[2 * k + 1][0], p[2 * k + 1][1]), md_flashattention_pack(p[2 * k + 1][2], p[2 * k + 1][3]) };
        for (int n = 0; n < 8; n++)
            md_flashattention_mma(acc[n], a, tile[8 * n + g][8 * k + t], tile[8 * n + g][8 * k + t + 4]);
    }
}

// The logit bias of key `index` (b·T + j), as attention.cuh's md_attention_key_bias (the same float operations).
__device__ __forceinline__ float md_flashattention_key_bias(const md_act* __restrict__ mask, const int* __restrict__ mask_i32, long index)
{
    if (mask != 0) return (1.0f - md_load(mask[index])) * -10000.0f;
    if (mask_i32 != 0) return (1.0f - (float)mask_i32[index]) * -10000.0f;
    return 0.0f;
}

// Σ over the 4 lanes of a fragment row group (lanes 4g … 4g + 3), in a fixed order.
__device__ __forceinline__ float md_flashattention_group_sum(float x)
{
    x += __shfl_xor_sync(0xffffffffu, x, 1);
    return x + __shfl_xor_sync(0xffffffffu, x, 2);
}

__device__ __forceinline__ float md_flashattention_group_max(float x)
{
    x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
    return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}

// Writes (or adds, accumulate = 1) acc·scale, a warp's 16 rows × 64 columns in accumulator layout, to rows row0 …
// row0 + 15 of y (rows `stride` elements apart; T is md_act for out, float for the gradients), skipping rows past T.
template <typename T>
__device__ __forceinline__ void md_flashattention_store(
    T* __restrict__ y, float (*acc)[4], float scale, int row0, int steps, int stride, int accumulate, int lane)
{
    int g = lane >> 2, t = lane & 3;
    for (int h = 0; h < 2; h++)
    {
        int r = row0 + g + 8 * h;
        if (r >= steps) continue;
        T* row = y + (long)r * stride;
        for (int n = 0; n < 8; n++)
        {
            int c = 8 * n + 2 * t;
            md_flashattention_put(row + c, acc[n][2 * h] * scale, accumulate);
            md_flashattention_put(row + c + 1, acc[n][2 * h + 1] * scale, accumulate);
        }
    }
}

// md_flashattention_forward: out (B, T, heads·64), row_max (B, heads, T) m_i and row_log_sum (B, heads, T) log l_i.
//   launch: grid (⌈T/64⌉, heads, B), block (128): 4 warps, each 16 query rows.
//   why: FlashAttention-2's forward. A warp holds its q rows as A fragments for the whole kernel; per tile of 64 keys
//   (k row-major, v transposed, staged once per block for its 4 warps) S = q·kᵀ is 32 mma, the online softmax runs on
//   the accumulators (each row's max and Σ exp across its 4 lanes by two shuffles), and P·v is 32 more mma with P
//   straight from the score registers. Causal blocks stop after the tile holding their last row's diagonal.
extern "C" __global__ void __launch_bounds__(128) md_flashattention_forward(
    int batch, int steps, int heads, int head_dim, int stride, int causal,
    const md_act* __restrict__ q, const md_act* __restrict__ k, const md_act* __restrict__ v,
    md_act* __restrict__ out, float* __restrict__ row_max, float* __restrict__ row_log_sum,
    const md_act* __restrict__ mask, const int* __restrict__ mask_i32)
{
    __shared__ unsigned k_tile[MD_FLASHATTENTION_ROWS][MD_FLASHATTENTION_PITCH];
    __shared__ unsigned v_tile[MD_FLASHATTENTION_HEAD_DIM][MD_FLASHATTENTION_PITCH]; // transposed: [column][key pair]
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    int b = blockIdx.z, head = blockIdx.y;
    int i0 = blockIdx.x * MD_FLASHATTENTION_ROWS, row0 = i0 + 16 * warp;
    long first = (long)b * steps * stride + (long)head * MD_FLASHATTENTION_HEAD_DIM;
    const md_act* k_head = k + first;
    const md_act* v_head = v + first;
    const float scale = 0.125f; // 1/√64

    unsigned qa[16];
    md_flashattention_load_a(qa, q + first, row0, steps, stride, lane);
    float o[8][4];
    for (int n = 0; n < 8; n++) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.0f;
    float m[2] = { -INFINITY, -INFINITY }, l[2] = { 0.0f, 0.0f }; // rows g and g + 8 of the warp
    int key_end = causal ? min(i0 + MD_FLASHATTENTION_ROWS, steps) : steps;
    for (int j0 = 0; j0 < key_end; j0 += MD_FLASHATTENTION_ROWS)
    {
        __syncthreads(); // the previous tile is used up
        md_flashattention_stage(k_tile, k_head, j0, steps, stride);
        md_flashattention_stage_transposed(v_tile, v_head, j0, steps, stride);
        __syncthreads();
        float s[8][4];
        for (int n = 0; n < 8; n++) s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.0f;
        md_flashattention_product(s, qa, k_tile, lane);
        float tile_max[2] = { -INFINITY, -INFINITY };
        for (int n = 0; n < 8; n++)
            for (int e = 0; e < 4; e++)
            {
                int i = row0 + g + 8 * (e >> 1), j = j0 + 8 * n + 2 * t + (e & 1);
                float x = -INFINITY;
                if (j < steps && (!causal || j <= i)) x = s[n][e] * scale + md_flashattention_key_bias(mask, mask_i32, (long)b * steps + j);
                s[n][e] = x;
                tile_max[e >> 1] = fmaxf(tile_max[e >> 1], x);
            }
        float correction[2], row_sum[2] = { 0.0f, 0.0f };
        for (int h = 0; h < 2; h++)
        {
            // Key 0 is in the first tile and never causally masked, so m is finite from the first tile on.
            float m_new = fmaxf(m[h], md_flashattention_group_max(tile_max[h]));
            correction[h] = expf(m[h] - m_new); // 0 on the first tile (m = −∞)
            m[h] = m_new;
        }
        for (int n = 0; n < 8; n++)
            for (int e = 0; e < 4; e++)
            {
                float p = s[n][e] == -INFINITY ? 0.0f : expf(s[n][e] - m[e >> 1]);
                s[n][e] = p;
                row_sum[e >> 1] += p;
                o[n][e] *= correction[e >> 1];
            }
        for (int h = 0; h < 2; h++) l[h] = l[h] * correction[h] + md_flashattention_group_sum(row_sum[h]);
        md_flashattention_product_from_accumulators(o, s, v_tile, lane);
    }
    for (int n = 0; n < 8; n++)
        for (int e = 0; e < 4; e++) o[n][e] /= l[e >> 1];
    md_flashattention_store(out + (long)b * steps * heads * MD_FLASHATTENTION_HEAD_DIM + (long)head * MD_FLASHATTENTION_HEAD_DIM,
        o, 1.0f, row0, steps, heads * MD_FLASHATTENTION_HEAD_DIM, 0, lane);
    for (int h = 0; h < 2; h++)
    {
        int i = row0 + g + 8 * h;
        if (t == 0 && i < steps)
        {
            long stat = ((long)b * heads + head) * steps + i;
            row_max[stat] = m[h];
            row_log_sum[stat] = logf(l[h]);
        }
    }
}

// md_flashattention_backward_query: delta (B, heads, T) D_i = Σ_e dout_ie·out_ie, and dq (+)= dS·k/8 with
// P_ij = exp((S_ij − m_i) − log l_i), dP = dout·vᵀ, dS = P ⊙ (dP − D). Launch before md_flashattention_backward_key.
//   launch: grid (⌈T/64⌉, heads, B), block (128): 4 warps, each 16 query rows.
//   why: D from the forward's output (md_act, summed in FP32) is one pass over 64 columns instead of a pass over every
//   key. Per tile of 64 keys (k row-major and transposed, v row-major, staged once per block), S and dP are 32 mma each
//   and dq 32 more, dS straight from the registers; q and dout stay in registers as A fragments.
extern "C" __global__ void __launch_bounds__(128) md_flashattention_backward_query(
    int batch, int steps, int heads, int head_dim, int stride, int causal,
    const md_act* __restrict__ q, const md_act* __restrict__ k, const md_act* __restrict__ v,
    const md_act* __restrict__ out, const float* __restrict__ dout, const float* __restrict__ row_max, const float* __restrict__ row_log_sum,
    float* __restrict__ delta, float* __restrict__ dq, int accumulate, const md_act* __restrict__ mask, const int* __restrict__ mask_i32)
{
    __shared__ unsigned k_tile[MD_FLASHATTENTION_ROWS][MD_FLASHATTENTION_PITCH];
    __shared__ unsigned k_transposed[MD_FLASHATTENTION_HEAD_DIM][MD_FLASHATTENTION_PITCH];
    __shared__ unsigned v_tile[MD_FLASHATTENTION_ROWS][MD_FLASHATTENTION_PITCH];
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    int b = blockIdx.z, head = blockIdx.y;
    int i0 = blockIdx.x * MD_FLASHATTENTION_ROWS, row0 = i0 + 16 * warp;
    int width = heads * MD_FLASHATTENTION_HEAD_DIM;
    long first = (long)b * steps * stride + (long)head * MD_FLASHATTENTION_HEAD_DIM;
    long first_out = (long)b * steps * width + (long)head * MD_FLASHATTENTION_HEAD_DIM;
    long stats = ((long)b * heads + head) * steps;
    const float scale = 0.125f;

    // D, m and log l of rows g and g + 8: each lane sums its 16 of the 64 columns (the accumulator layout's), then its group.
    float d_row[2], max_row[2], log_sum_row[2];
    for (int h = 0; h < 2; h++)
    {
        int i = row0 + g + 8 * h;
        float sum = 0.0f;
        if (i < steps)
            for (int n = 0; n < 8; n++)
            {
                const md_act* o_row = out + first_out + (long)i * width + 8 * n + 2 * t;
                const float* do_row = dout + first_out + (long)i * width + 8 * n + 2 * t;
                sum += do_row[0] * md_load(o_row[0]) + do_row[1] * md_load(o_row[1]);
            }
        d_row[h] = md_flashattention_group_sum(sum);
        max_row[h] = i < steps ? row_max[stats + i] : 0.0f;
        log_sum_row[h] = i < steps ? row_log_sum[stats + i] : 0.0f;
        if (t == 0 && i < steps) delta[stats + i] = d_row[h];
    }
    unsigned qa[16], da[16];
    md_flashattention_load_a(qa, q + first, row0, steps, stride, lane);
    md_flashattention_load_a(da, dout + first_out, row0, steps, width, lane);
    float dq_acc[8][4];
    for (int n = 0; n < 8; n++) dq_acc[n][0] = dq_acc[n][1] = dq_acc[n][2] = dq_acc[n][3] = 0.0f;
    int key_end = causal ? min(i0 + MD_FLASHATTENTION_ROWS, steps) : steps;
    for (int j0 = 0; j0 < key_end; j0 += MD_FLASHATTENTION_ROWS)
    {
        __syncthreads();
        md_flashattention_stage(k_tile, k + first, j0, steps, stride);
        md_flashattention_stage_transposed(k_transposed, k + first, j0, steps, stride);
        md_flashattention_stage(v_tile, v + first, j0, steps, stride);
        __syncthreads();
        float s[8][4], dp[8][4];
        for (int n = 0; n < 8; n++)
            for (int e = 0; e < 4; e++) s[n][e] = dp[n][e] = 0.0f;
        md_flashattention_product(s, qa, k_tile, lane);
        md_flashattention_product(dp, da, v_tile, lane);
        for (int n = 0; n < 8; n++)
            for (int e = 0; e < 4; e++)
            {
                int h = e >> 1, i = row0 + g + 8 * h, j = j0 + 8 * n + 2 * t + (e & 1);
                float ds = 0.0f;
                if (i < steps && j < steps && (!causal || j <= i))
                {
                    float x = s[n][e] * scale + md_flashattention_key_bias(mask, mask_i32, (long)b * steps + j);
                    float p = expf((x - max_row[h]) - log_sum_row[h]);
                    ds = p * (dp[n][e] - d_row[h]);
                }
                s[n][e] = ds;
            }
        md_flashattention_product_from_accumulators(dq_acc, s, k_transposed, lane);
    }
    md_flashattention_store(dq + first, dq_acc, scale, row0, steps, stride, accumulate, lane);
}

// md_flashattention_backward_key: dk (+)= dSᵀ·q/8 and dv (+)= Pᵀ·dout, recomputing P and dS from q, k, v, dout, the
// row statistics and the delta md_flashattention_backward_query saved.
//   launch: grid (⌈T/64⌉, heads, B), block (128): 4 warps, each 16 key rows.
//   why: the mirror of the query kernel. A warp holds its k and v rows as A fragments; per tile of 64 queries (q and
//   dout row-major and transposed, and the queries' m, log l and D, staged once per block) Sᵀ = k·qᵀ and dPᵀ = v·doutᵀ
//   are 32 mma each, then dv += Pᵀ·dout and dk += dSᵀ·q 32 each, Pᵀ and dSᵀ straight from the registers. A key row
//   sums over the queries itself, so no two blocks write one element: no atomics. Causal blocks start at their own
//   first key (queries before a key never see it).
extern "C" __global__ void __launch_bounds__(128) md_flashattention_backward_key(
    int batch, int steps, int heads, int head_dim, int stride, int causal,
    const md_act* __restrict__ q, const md_act* __restrict__ k, const md_act* __restrict__ v,
    const float* __restrict__ dout, const float* __restrict__ row_max, const float* __restrict__ row_log_sum,
    const float* __restrict__ delta, float* __restrict__ dk, float* __restrict__ dv, int accumulate, const md_act* __restrict__ mask, const int* __restrict__ mask_i32)
{
    __shared__ unsigned q_tile[MD_FLASHATTENTION_ROWS][MD_FLASHATTENTION_PITCH];
    __shared__ unsigned q_transposed[MD_FLASHATTENTION_HEAD_DIM][MD_FLASHATTENTION_PITCH];
    __shared__ unsigned dout_tile[MD_FLASHATTENTION_ROWS][MD_FLASHATTENTION_PITCH];
    __shared__ unsigned dout_transposed[MD_FLASHATTENTION_HEAD_DIM][MD_FLASHATTENTION_PITCH];
    __shared__ float max_tile[MD_FLASHATTENTION_ROWS], log_sum_tile[MD_FLASHATTENTION_ROWS], delta_tile[MD_FLASHATTENTION_ROWS];
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    int b = blockIdx.z, head = blockIdx.y;
    int j0 = blockIdx.x * MD_FLASHATTENTION_ROWS, row0 = j0 + 16 * warp;
    int width = heads * MD_FLASHATTENTION_HEAD_DIM;
    long first = (long)b * steps * stride + (long)head * MD_FLASHATTENTION_HEAD_DIM;
    long first_out = (long)b * steps * width + (long)head * MD_FLASHATTENTION_HEAD_DIM;
    long stats = ((long)b * heads + head) * steps;
    const float scale = 0.125f;

    unsigned ka[16], va[16];
    md_flashattention_load_a(ka, k + first, row0, steps, stride, lane);
    md_flashattention_load_a(va, v + first, row0, steps, stride, lane);
    float key_bias[2]; // keys g and g + 8 of the warp
    for (int h = 0; h < 2; h++)
    {
        int j = row0 + g + 8 * h;
        key_bias[h] = j < steps ? md_flashattention_key_bias(mask, mask_i32, (long)b * steps + j) : 0.0f;
    }
    float dk_acc[8][4], dv_acc[8][4];
    for (int n = 0; n < 8; n++)
        for (int e = 0; e < 4; e++) dk_acc[n][e] = dv_acc[n][e] = 0.0f;
    for (int t0 = causal ? j0 : 0; t0 < steps; t0 += MD_FLASHATTENTION_ROWS)
    {
        __syncthreads();
        md_flashattention_stage(q_tile, q + first, t0, steps, stride);
        md_flashattention_stage_transposed(q_transposed, q + first, t0, steps, stride);
        md_flashattention_stage(dout_tile, dout + first_out, t0, steps, width);
        md_flashattention_stage_transposed(dout_transposed, dout + first_out, t0, steps, width);
        if (threadIdx.x < MD_FLASHATTENTION_ROWS)
        {
            int i = t0 + threadIdx.x;
            max_tile[threadIdx.x] = i < steps ? row_max[stats + i] : 0.0f;
            log_sum_tile[threadIdx.x] = i < steps ? row_log_sum[stats + i] : 0.0f;
            delta_tile[threadIdx.x] = i < steps ? delta[stats + i] : 0.0f;
        }
        __syncthreads();
        float p[8][4], ds[8][4];
        for (int n = 0; n < 8; n++)
            for (int e = 0; e < 4; e++) p[n][e] = ds[n][e] = 0.0f;
        md_flashattention_product(p, ka, q_tile, lane);   // Sᵀ: rows are keys, columns queries
        md_flashattention_product(ds, va, dout_tile, lane); // dPᵀ
        for (int n = 0; n < 8; n++)
            for (int e = 0; e < 4; e++)
            {
                int h = e >> 1, j = row0 + g + 8 * h, c = 8 * n + 2 * t + (e & 1), i = t0 + c;
                float pv = 0.0f, dsv = 0.0f;
                if (j < steps && i < steps && (!causal || j <= i))
                {
                    pv = expf((p[n][e] * scale + key_bias[h] - max_tile[c]) - log_sum_tile[c]);
                    dsv = pv * (ds[n][e] - delta_tile[c]);
                }
                p[n][e] = pv;
                ds[n][e] = dsv;
            }
        md_flashattention_product_from_accumulators(dv_acc, p, dout_transposed, lane);
        md_flashattention_product_from_accumulators(dk_acc, ds, q_transposed, lane);
    }
    md_flashattention_store(dk + first, dk_acc, scale, row0, steps, stride, accumulate, lane);
    md_flashattention_store(dv + first, dv_acc, 1.0f, row0, steps, stride, accumulate, lane);
}
