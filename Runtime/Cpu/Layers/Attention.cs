using System;
using System.Runtime.Intrinsics;

namespace ModelDsl.Runtime.Cpu.Layers;

// The core of attention(heads, causal): scaled dot-product attention on already-projected q, k, v.
//   q, k, v [B, T, heads·dh] with row stride `stride` ≥ heads·dh: element (b, t, head, e) at (b·T + t)·stride + head·dh + e.
//     stride = d for separate tensors; for in_proj's fused output qkv [B, T, 3d] pass qkv, qkv[d..], qkv[2d..] and stride 3d.
//   out [B, T, heads·dh] (contiguous): head h's output in columns [h·dh, (h+1)·dh), ready for out_proj.
// Per (b, head), with Q, K, V the head's [T, dh] slices:
//   S = Q·Kᵀ/√dh  (one GEMM);  key padding mask m [B, T] (optional, 1 = real token): S[i, j] += (1 − m[b, j])·(−10000),
//   BERT's additive bias (a fully padded row stays finite: its softmax is uniform over the row's keys);
//   causal: S[i, j>i] = −∞;  P = softmax_rows(S)  (fused in one pass per row);  out = P·V
//   P [B, heads, T, T] is saved in the workspace for the backward (the mask is in it: the backward needs no mask).
// Dropout on the probabilities (dropout = p > 0, training only; PyTorch's nn.MultiheadAttention and BERT's
//   attention_probs_dropout_prob): out = P̃·V with P̃ = P ⊙ M/(1 − p), M_ij = [Uniform(seed, index) ≥ p] from the
//   counter-based generator of the `dropout` op (Runtime.Cpu.Dropout), index = ((b·heads + head)·T + i)·T + j
//   in uint arithmetic (wrapping as the CUDA kernels' unsigned int does). P itself is saved (dS needs P at dropped
//   entries too); M is drawn again in the backward from (seed, index), never stored. P̃ lives in the slot's scratch.
// Backward, per (b, head):
//   dP = dOut·Vᵀ;  dV (+)= Pᵀ·dOut;  dS = P ⊙ (dP − rowsum(dP ⊙ P));  dQ (+)= dS·K/√dh;  dK (+)= dSᵀ·Q/√dh
//   with dropout: dV (+)= P̃ᵀ·dOut and dP = (dOut·Vᵀ) ⊙ M/(1 − p), the rest unchanged.
// Parallel over the B·heads pairs, single-threaded GEMMs inside; the backward's dP scratch (and the forward's P̃ with
// dropout) is one [T, T] slot per parallel slot, after P in the workspace.
public static unsafe class Attention
{
    /// <summary>
    /// Floats of workspace <see cref="Forward"/> and <see cref="Backward"/> need: P [B, heads, T, T], then one [T, T]
    /// scratch slot per parallel slot (as many as <see cref="CpuWorkers.ThreadCount"/>, at most B·heads). The forward
    /// alone needs only P; a backward with less room than this runs with fewer slots (at least one).
    /// </summary>
    public static int WorkspaceSize(int batch, int steps, int heads)
    {
        LayerArgs.Positive(batch, nameof(batch));
        LayerArgs.Positive(steps, nameof(steps));
        LayerArgs.Positive(heads, nameof(heads));
        long pairs = (long)batch * heads, tt = (long)steps * steps;
        return LayerArgs.Size((pairs + Math.Min(pairs, CpuWorkers.ThreadCount)) * tt, "The attention workspace");
    }

    /// <summary>
    /// <c>out = softmax(q·kᵀ/√dh (+ key padding bias) (+ causal mask))·v</c> per batch element and head; saves P for
    /// <see cref="Backward"/>. The optional key padding mask [B, T] of 0/1 is <paramref name="mask"/> (f32) or
    /// <paramref name="maskIds"/> (i32), at most one of them; empty for none. Padded keys get (1 − m)·(−10000).
    /// With <paramref name="dropout"/> p &gt; 0 (training) the probabilities are dropped with the mask drawn from
    /// <paramref name="dropoutSeed"/> and the kept ones scaled by 1/(1 − p) before the product with v; the workspace
    /// then needs a scratch slot after P (<see cref="WorkspaceSize"/> has room for it).
    /// </summary>
    public static void Forward(int batch, int steps, int heads, int headDim, bool causal,
        ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, int stride, Span<float> output, Span<float> workspace,
        ReadOnlySpan<float> mask = default, ReadOnlySpan<int> maskIds = default, float dropout = 0f, uint dropoutSeed = 0)
    {
        CheckDropout(dropout);
        int slots = Check(batch, steps, heads, headDim, stride, q, k, v, workspace, minSlots: dropout > 0f ? 1 : 0);
        LayerArgs.Length(output.Length, nameof(output), "[B, T, heads·dh]", batch, steps, heads * headDim);
        CheckMask(batch, steps, mask, maskIds);
        fixed (float* pm = mask)
        fixed (int* pmi = maskIds)
        fixed (float* pq = q)
        fixed (float* pk = k)
        fixed (float* pv = v)
        fixed (float* po = output)
        fixed (float* pws = workspace)
        {
            int pairs = batch * heads;
            // Without dropout one job per (b, head) pair; with it one per scratch slot, each taking every Slots-th pair.
            bool drop = dropout > 0f;
            var job = new ForwardJob
            {
                T = steps, Heads = heads, Dh = headDim, Stride = stride, Causal = causal,
                Q = pq, K = pk, V = pv, Out = po, P = pws, GemmThreads = (drop ? slots : pairs) == 1 ? 0 : 1,
                Mask = mask.IsEmpty ? null : pm, MaskIds = maskIds.IsEmpty ? null : pmi,
                Pairs = pairs, Slots = drop ? slots : 0, Scratch = pws + (long)pairs * steps * steps,
                Dropout = dropout, DropoutScale = drop ? 1f / (1f - dropout) : 1f, DropoutSeed = dropoutSeed,
            };
            CpuWorkers.Run(in job, drop ? slots : pairs);
        }
    }

    private static void CheckDropout(float dropout)
    {
        if (!(dropout >= 0f && dropout < 1f))
            throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "The attention dropout probability must lie in [0, 1).");
    }

    /// <summary>
    /// <c>destination[j] = source[j]·M_j/(1 − p)</c> over one row of n probabilities whose first element has mask index
    /// <paramref name="index"/>: M_j = [Uniform(seed, index + j) ≥ p], the `dropout` op's draw (Runtime.Cpu.Dropout).
    /// </summary>
    private static void DropRow(float* source, float* destination, int n, uint seed, uint index, float p, float scale)
    {
        int j = 0;
        var vp = System.Runtime.Intrinsics.Vector256.Create(p);
        var vscale = System.Runtime.Intrinsics.Vector256.Create(scale);
        for (; j <= n - 8; j += 8)
        {
            var keep = Dropout.Mask(seed, unchecked((int)(index + (uint)j)), vp, vscale);
            System.Runtime.Intrinsics.Vector256.Store(System.Runtime.Intrinsics.Vector256.Load(source + j) * keep, destination + j);
        }
        for (; j < n; j++) destination[j] = source[j] * Dropout.Mask(seed, unchecked((int)(index + (uint)j)), p, scale);
    }

    /// <summary>The mask index of row i's first probability in pair (b·heads + head): ((pair·T) + i)·T, wrapping at 2^32.</summary>
    private static uint RowIndex(int pair, int t, int i) => unchecked(((uint)pair * (uint)t + (uint)i) * (uint)t);

    private struct ForwardJob : IParallelJob
    {
        public int T, Heads, Dh, Stride, GemmThreads, Pairs, Slots;
        public bool Causal;
        public float* Q, K, V, Out, P, Mask, Scratch;
        public int* MaskIds;
        public float Dropout, DropoutScale;
        public uint DropoutSeed;

        public void Run(int index)
        {
            if (Slots == 0)
            {
                RunPair(index, null);
                return;
            }
            float* dropped = Scratch + (long)index * T * T;
            for (int pair = index; pair < Pairs; pair += Slots) RunPair(pair, dropped);
        }

        /// <summary>One (b, head): P into the workspace, then out = P·V, or P̃·V with P̃ built in <paramref name="dropped"/>.</summary>
        private void RunPair(int pair, float* dropped)
        {
            int b = pair / Heads, head = pair - b * Heads, t = T, d = Heads * Dh;
            long first = (long)b * t * Stride + (long)head * Dh; // (b, 0, head, 0) in q, k, v
            float* p = P + (long)pair * t * t;
            Sgemm.Multiply(false, true, t, t, Dh, 1f / MathF.Sqrt(Dh), Q + first, Stride, K + first, Stride, 0f, p, t, GemmThreads);
            for (int i = 0; i < t; i++)
            {
                int valid = Causal ? i + 1 : t; // causal: row i sees columns 0..i
                var row = new Span<float>(p + (long)i * t, t);
                if (Mask != null) AddPaddingBias(p + (long)i * t, Mask + (long)b * t, valid);
                else if (MaskIds != null) AddPaddingBias(p + (long)i * t, MaskIds + (long)b * t, valid);
                Softmax.Row(row.Slice(0, valid), row.Slice(0, valid));
                row.Slice(valid).Clear();
            }
            float* o = Out + (long)b * t * d + (long)head * Dh;
            if (dropped != null)
            {
                for (int i = 0; i < t; i++) DropRow(p + (long)i * t, dropped + (long)i * t, t, DropoutSeed, RowIndex(pair, t, i), Dropout, DropoutScale);
                p = dropped;
            }
            Sgemm.Multiply(false, false, t, Dh, t, 1f, p, t, V + first, Stride, 0f, o, d, GemmThreads);
        }
    }

    /// <summary>The logit bias of a padded key, times (1 − m): BERT's and all-MiniLM-L6-v2's ONNX graph use −10000.</summary>
    public const float PaddingBias = -10000f;

    // row[j] += (1 − m[j])·PaddingBias for j < n, eight lanes at a time: the same float operations per element as the
    // scalar form (an i32 0/1 converts exactly), so the same logits; it ran once per row of T keys, lane by lane.
    private static void AddPaddingBias(float* row, float* m, int n)
    {
        var one = Vector256<float>.One;
        var bias = Vector256.Create(PaddingBias);
        int j = 0;
        for (; j <= n - Vector256<float>.Count; j += Vector256<float>.Count)
            Vector256.Store(Vector256.Load(row + j) + (one - Vector256.Load(m + j)) * bias, row + j);
        for (; j < n; j++) row[j] += (1f - m[j]) * PaddingBias;
    }

    private static void AddPaddingBias(float* row, int* m, int n)
    {
        var one = Vector256<float>.One;
        var bias = Vector256.Create(PaddingBias);
        int j = 0;
        for (; j <= n - Vector256<int>.Count; j += Vector256<int>.Count)
            Vector256.Store(Vector256.Load(row + j) + (one - Vector256.ConvertToSingle(Vector256.Load(m + j))) * bias, row + j);
        for (; j < n; j++) row[j] += (1f - m[j]) * PaddingBias;
    }

    private static void CheckMask(int batch, int steps, ReadOnlySpan<float> mask, ReadOnlySpan<int> maskIds)
    {
        if (!mask.IsEmpty && !maskIds.IsEmpty)
            throw new ArgumentException("Give the key padding mask as f32 (mask) or i32 (maskIds), not both.", nameof(maskIds));
        if (!mask.IsEmpty) LayerArgs.Length(mask.Length, nameof(mask), "[B, T]", batch, steps);
        if (!maskIds.IsEmpty) LayerArgs.Length(maskIds.Length, nameof(maskIds), "[B, T]", batch, steps);
    }

    /// <summary>
    /// Gradients of <see cref="Forward"/> from the P it saved in <paramref name="workspace"/>: <paramref name="dq"/>,
    /// <paramref name="dk"/>, <paramref name="dv"/> share q's layout and <paramref name="stride"/> (slices of one
    /// dqkv [B, T, 3d] buffer for a fused projection). With <paramref name="accumulate"/> they are added to. The mask
    /// is the forward's (it gets no gradient); P already holds its effect, so here it is only checked (the GPU's
    /// backward recomputes P and reads it). <paramref name="dropout"/> and <paramref name="dropoutSeed"/> must be the
    /// forward's: the dropout mask is drawn again from them.
    /// </summary>
    public static void Backward(int batch, int steps, int heads, int headDim, bool causal,
        ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, int stride, ReadOnlySpan<float> dOutput,
        Span<float> workspace, Span<float> dq, Span<float> dk, Span<float> dv, bool accumulate = false,
        ReadOnlySpan<float> mask = default, ReadOnlySpan<int> maskIds = default, float dropout = 0f, uint dropoutSeed = 0)
    {
        CheckDropout(dropout);
        int slots = Check(batch, steps, heads, headDim, stride, q, k, v, workspace, minSlots: 1);
        CheckMask(batch, steps, mask, maskIds);
        LayerArgs.Length(dOutput.Length, nameof(dOutput), "[B, T, heads·dh]", batch, steps, heads * headDim);
        long strided = (long)(batch * steps - 1) * stride + heads * headDim;
        LayerArgs.Length(dq.Length, strided, nameof(dq), "[B, T, heads·dh] with its row stride");
        LayerArgs.Length(dk.Length, strided, nameof(dk), "[B, T, heads·dh] with its row stride");
        LayerArgs.Length(dv.Length, strided, nameof(dv), "[B, T, heads·dh] with its row stride");
        fixed (float* pq = q)
        fixed (float* pk = k)
        fixed (float* pv = v)
        fixed (float* pdo = dOutput)
        fixed (float* pws = workspace)
        fixed (float* pdq = dq)
        fixed (float* pdk = dk)
        fixed (float* pdv = dv)
        {
            int pairs = batch * heads;
            var job = new BackwardJob
            {
                T = steps, Heads = heads, Dh = headDim, Stride = stride, Pairs = pairs, Slots = slots,
                Q = pq, K = pk, V = pv, DOut = pdo, P = pws, Scratch = pws + (long)pairs * steps * steps,
                DQ = pdq, DK = pdk, DV = pdv, Beta = accumulate ? 1f : 0f, GemmThreads = slots == 1 ? 0 : 1,
                Dropout = dropout, DropoutScale = dropout > 0f ? 1f / (1f - dropout) : 1f, DropoutSeed = dropoutSeed,
            };
            CpuWorkers.Run(in job, slots);
        }
    }

    private struct BackwardJob : IParallelJob
    {
        public int T, Heads, Dh, Stride, Pairs, Slots, GemmThreads;
        public float Beta, Dropout, DropoutScale;
        public float* Q, K, V, DOut, P, Scratch, DQ, DK, DV;
        public uint DropoutSeed;

        public void Run(int slot)
        {
            int t = T, d = Heads * Dh;
            float scale = 1f / MathF.Sqrt(Dh);
            float* dp = Scratch + (long)slot * t * t;
            for (int pair = slot; pair < Pairs; pair += Slots)
            {
                int b = pair / Heads, head = pair - b * Heads;
                long first = (long)b * t * Stride + (long)head * Dh;
                float* p = P + (long)pair * t * t;
                float* dOut = DOut + (long)b * t * d + (long)head * Dh;
                if (Dropout > 0f)
                {
                    // dV (+)= P̃ᵀ·dOut with P̃ drawn again into the scratch, which then takes dP̃ = dOut·Vᵀ and dP = dP̃ ⊙ M/(1 − p)
                    for (int i = 0; i < t; i++) DropRow(p + (long)i * t, dp + (long)i * t, t, DropoutSeed, RowIndex(pair, t, i), Dropout, DropoutScale);
                    Sgemm.Multiply(true, false, t, Dh, t, 1f, dp, t, dOut, d, Beta, DV + first, Stride, GemmThreads);
                    Sgemm.Multiply(false, true, t, t, Dh, 1f, dOut, d, V + first, Stride, 0f, dp, t, GemmThreads);
                    for (int i = 0; i < t; i++) DropRow(dp + (long)i * t, dp + (long)i * t, t, DropoutSeed, RowIndex(pair, t, i), Dropout, DropoutScale);
                }
                else
                {
                    Sgemm.Multiply(false, true, t, t, Dh, 1f, dOut, d, V + first, Stride, 0f, dp, t, GemmThreads);
                    Sgemm.Multiply(true, false, t, Dh, t, 1f, p, t, dOut, d, Beta, DV + first, Stride, GemmThreads);
                }
                // dS = P ⊙ (dP − rowsum(dP ⊙ P)); masked entries have P = 0, so dS = 0 there
                for (int i = 0; i < t; i++)
                    Softmax.BackwardRowInPlace(new ReadOnlySpan<float>(p + (long)i * t, t), new Span<float>(dp + (long)i * t, t));
                Sgemm.Multiply(false, false, t, Dh, t, scale, dp, t, K + first, Stride, Beta, DQ + first, Stride, GemmThreads);
                Sgemm.Multiply(true, false, t, Dh, t, scale, dp, t, Q + first, Stride, Beta, DK + first, Stride, GemmThreads);
            }
        }
    }

    /// <summary>Checks the shared arguments; returns how many backward scratch slots fit after P (at least <paramref name="minSlots"/>).</summary>
    private static int Check(int batch, int steps, int heads, int headDim, int stride,
        ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, ReadOnlySpan<float> workspace, int minSlots)
    {
        LayerArgs.Positive(headDim, nameof(headDim));
        WorkspaceSize(batch, steps, heads); // checks batch, steps, heads and the workspace fits a span
        int d = LayerArgs.Size((long)heads * headDim, "The attention model dimension (heads·dh)");
        if (stride < d)
            throw new ArgumentOutOfRangeException(nameof(stride), stride, $"The q/k/v row stride {stride} is less than heads·dh = {d}.");
        long strided = (long)batch * steps * stride;
        LayerArgs.Size(strided, "The attention q/k/v rows (B·T·stride)");
        strided += d - stride; // the last row needs only d elements
        LayerArgs.Length(q.Length, strided, nameof(q), "[B, T, heads·dh] with its row stride");
        LayerArgs.Length(k.Length, strided, nameof(k), "[B, T, heads·dh] with its row stride");
        LayerArgs.Length(v.Length, strided, nameof(v), "[B, T, heads·dh] with its row stride");
        long pairs = (long)batch * heads, tt = (long)steps * steps;
        LayerArgs.Length(workspace.Length, (pairs + minSlots) * tt, nameof(workspace),
            minSlots == 0 ? "P [B, heads, T, T]" : "P [B, heads, T, T] and one [T, T] scratch slot");
        long slots = (workspace.Length - pairs * tt) / tt;
        return (int)Math.Min(Math.Min(slots, pairs), CpuWorkers.ThreadCount);
    }
}
