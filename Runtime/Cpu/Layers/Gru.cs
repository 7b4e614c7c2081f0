using System;

namespace ModelDsl.Runtime.Cpu.Layers;

// gru(hidden=H) over a sequence, PyTorch's nn.GRU (gates stacked r, z, n), zero initial h:
//   x [B, T, In]   weight_ih [3H, In]   weight_hh [3H, H]   bias_ih [3H]   bias_hh [3H]
//   h [B, T, H]: every step's hidden state (the output with return_sequences=true; the backward reads it)
//   lastHidden [B, H] = h[:, T−1] (the output with return_sequences=false): optional
// Forward: gi = x·W_ihᵀ for all steps in one GEMM ([B·T, 3H]); then per step t one GEMM gh = h[:, t−1]·W_hhᵀ (zero at
//   t = 0) and one pass over [B, H] (the recurrent part of n stays apart: r multiplies it, bias included, as in PyTorch):
//   r = σ(gi_r + b_ir + gh_r + b_hr)   z = σ(gi_z + b_iz + gh_z + b_hz)   n = tanh(gi_n + b_in + r·(gh_n + b_hn))
//   h = (1 − z)·n + z·h_prev
// Workspace [gi B·T·3H | gh B·T·3H | h_prev B·T·H | dh B·H]: the forward leaves r, z, n in gi and gh_n + b_hn in gh's
// n block for the backward, which overwrites gi and gh with their gradients (run the forward again before another backward).
// Backward through time, t = T−1 … 0, with dh = dh_out[:, t] + dh_next:
//   dn = dh·(1 − z)·(1 − n²);  dz = dh·(h_prev − n)·z(1 − z);  dr = dn·(gh_n + b_hn)·r(1 − r)
//   dgi = (dr, dz, dn);  dgh = (dr, dz, dn·r);  dh_next = dh·z + dgh[:, t]·W_hh   (one GEMM)
// then for all steps at once: dW_ih (+)= dgiᵀ·x;  dW_hh (+)= dghᵀ·h_prev;  db_ih (+)= Σ dgi;  db_hh (+)= Σ dgh;  dx (+)= dgi·W_ih
// The gate loops are scalar: the GEMMs dominate at the sizes the DSL's models use.
public static unsafe partial class Gru
{
    /// <summary>Floats of workspace <see cref="Forward"/> and <see cref="Backward"/> need: 2·B·T·3H + B·T·H + B·H.</summary>
    public static int WorkspaceSize(int batch, int steps, int hidden)
    {
        LayerArgs.Positive(batch, nameof(batch));
        LayerArgs.Positive(steps, nameof(steps));
        LayerArgs.Positive(hidden, nameof(hidden));
        long bth = (long)batch * steps * hidden;
        return LayerArgs.Size(7 * bth + (long)batch * hidden, "The gru workspace");
    }

    /// <summary>
    /// Runs the sequence: writes every step's hidden state to <paramref name="hiddenStates"/> [B, T, H] and the last
    /// step's to <paramref name="lastHidden"/> [B, H] (may be empty).
    /// </summary>
    public static void Forward(int batch, int steps, int inputSize, int hidden,
        ReadOnlySpan<float> x, ReadOnlySpan<float> weightIh, ReadOnlySpan<float> weightHh,
        ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh,
        Span<float> hiddenStates, Span<float> lastHidden, Span<float> workspace)
    {
        CheckCommon(batch, steps, inputSize, hidden, x, weightIh, weightHh, hiddenStates, workspace);
        LayerArgs.Length(biasIh.Length, nameof(biasIh), "[3H]", 3 * hidden);
        LayerArgs.Length(biasHh.Length, nameof(biasHh), "[3H]", 3 * hidden);
        LayerArgs.OptionalLength(lastHidden.Length, nameof(lastHidden), "[B, H]", batch, hidden);
        int b = batch, t = steps, h = hidden, g3 = 3 * hidden, rows = batch * steps;
        fixed (float* px = x)
        fixed (float* pwih = weightIh)
        fixed (float* pwhh = weightHh)
        fixed (float* pbih = biasIh)
        fixed (float* pbhh = biasHh)
        fixed (float* ph = hiddenStates)
        fixed (float* pws = workspace)
        {
            float* gi = pws, gh = gi + (long)rows * g3;
            Sgemm.Multiply(false, true, rows, g3, inputSize, 1f, px, inputSize, pwih, inputSize, 0f, gi, g3);
            for (int s = 0; s < t; s++)
            {
                if (s > 0)
                {
                    Sgemm.Multiply(false, true, b, g3, h, 1f, ph + (long)(s - 1) * h, t * h, pwhh, h, 0f, gh + (long)s * g3, t * g3);
                }
                else
                {
                    for (int n = 0; n < b; n++) new Span<float>(gh + (long)n * t * g3, g3).Clear();
                }
                for (int n = 0; n < b; n++)
                {
                    long row = (long)n * t + s;
                    GateStep(h, gi + row * g3, gh + row * g3, pbih, pbhh, s == 0 ? null : ph + (row - 1) * h, ph + row * h);
                }
            }
            if (!lastHidden.IsEmpty)
            {
                for (int n = 0; n < b; n++)
                    hiddenStates.Slice((int)(((long)n * t + t - 1) * h), h).CopyTo(lastHidden.Slice(n * h, h));
            }
        }
    }

    /// <summary>One row of one step: r, z, n into <paramref name="gi"/> in place, gh_n + b_hn into <paramref name="gh"/>'s n block, h.</summary>
    private static void GateStep(int h, float* gi, float* gh, float* biasIh, float* biasHh, float* hPrev, float* hOut)
    {
        for (int j = 0; j < h; j++)
        {
            float r = Activations.Sigmoid(gi[j] + biasIh[j] + gh[j] + biasHh[j]);
            float z = Activations.Sigmoid(gi[h + j] + biasIh[h + j] + gh[h + j] + biasHh[h + j]);
            float hn = gh[2 * h + j] + biasHh[2 * h + j];
            float n = Activations.Tanh(gi[2 * h + j] + biasIh[2 * h + j] + r * hn);
            float hp = hPrev == null ? 0f : hPrev[j];
            gi[j] = r;
            gi[h + j] = z;
            gi[2 * h + j] = n;
            gh[2 * h + j] = hn;
            hOut[j] = (1f - z) * n + z * hp;
        }
    }

    /// <summary>
    /// Backward through time from the state <see cref="Forward"/> left in <paramref name="workspace"/> and its
    /// <paramref name="hiddenStates"/>; it overwrites that state, so each backward needs its own forward. The output
    /// gradient is <paramref name="dHiddenStates"/> [B, T, H] and/or <paramref name="dLastHidden"/> [B, H] (either may be
    /// empty; both add). An empty <paramref name="dx"/> skips the input gradient.
    /// </summary>
    public static void Backward(int batch, int steps, int inputSize, int hidden,
        ReadOnlySpan<float> x, ReadOnlySpan<float> weightIh, ReadOnlySpan<float> weightHh, ReadOnlySpan<float> hiddenStates,
        ReadOnlySpan<float> dHiddenStates, ReadOnlySpan<float> dLastHidden, Span<float> workspace,
        Span<float> dx, Span<float> dWeightIh, Span<float> dWeightHh, Span<float> dBiasIh, Span<float> dBiasHh,
        bool accumulateInputGradient = false, bool accumulateParameterGradients = false)
    {
        CheckCommon(batch, steps, inputSize, hidden, x, weightIh, weightHh, hiddenStates, workspace);
        LayerArgs.OptionalLength(dHiddenStates.Length, nameof(dHiddenStates), "[B, T, H]", batch, steps, hidden);
        LayerArgs.OptionalLength(dLastHidden.Length, nameof(dLastHidden), "[B, H]", batch, hidden);
        LayerArgs.OptionalLength(dx.Length, nameof(dx), "[B, T, In]", batch, steps, inputSize);
        LayerArgs.Length(dWeightIh.Length, nameof(dWeightIh), "[3H, In]", 3 * hidden, inputSize);
        LayerArgs.Length(dWeightHh.Length, nameof(dWeightHh), "[3H, H]", 3 * hidden, hidden);
        LayerArgs.Length(dBiasIh.Length, nameof(dBiasIh), "[3H]", 3 * hidden);
        LayerArgs.Length(dBiasHh.Length, nameof(dBiasHh), "[3H]", 3 * hidden);
        int b = batch, t = steps, h = hidden, g3 = 3 * hidden, rows = batch * steps;
        float beta = accumulateParameterGradients ? 1f : 0f;
        fixed (float* px = x)
        fixed (float* pwih = weightIh)
        fixed (float* pwhh = weightHh)
        fixed (float* ph = hiddenStates)
        fixed (float* pdhs = dHiddenStates)
        fixed (float* pws = workspace)
        fixed (float* pdx = dx)
        fixed (float* pdwih = dWeightIh)
        fixed (float* pdwhh = dWeightHh)
        {
            float* gi = pws;
            float* gh = gi + (long)rows * g3;
            float* hPrev = gh + (long)rows * g3;
            float* dh = hPrev + (long)rows * h;
            var dhSpan = new Span<float>(dh, b * h);
            if (dLastHidden.IsEmpty) dhSpan.Clear();
            else dLastHidden.Slice(0, b * h).CopyTo(dhSpan);
            for (int s = t - 1; s >= 0; s--)
            {
                for (int n = 0; n < b; n++)
                {
                    long row = (long)n * t + s;
                    GateStepBackward(h, gi + row * g3, gh + row * g3, s == 0 ? null : ph + (row - 1) * h,
                        dHiddenStates.IsEmpty ? null : pdhs + row * h, dh + (long)n * h);
                }
                if (s > 0)
                    Sgemm.Multiply(false, false, b, h, g3, 1f, gh + (long)s * g3, t * g3, pwhh, h, 1f, dh, h);
            }

            // h_prev[n, s] = h[n, s − 1], zero at s = 0: dW_hh in one GEMM over all B·T rows.
            for (int n = 0; n < b; n++)
            {
                long row0 = (long)n * t;
                new Span<float>(hPrev + row0 * h, h).Clear();
                new ReadOnlySpan<float>(ph + row0 * h, (t - 1) * h).CopyTo(new Span<float>(hPrev + (row0 + 1) * h, (t - 1) * h));
            }
            Sgemm.Multiply(true, false, g3, inputSize, rows, 1f, gi, g3, px, inputSize, beta, pdwih, inputSize);
            Sgemm.Multiply(true, false, g3, h, rows, 1f, gh, g3, hPrev, h, beta, pdwhh, h);
            Reductions.ColumnSum(new ReadOnlySpan<float>(gi, rows * g3), rows, g3, dBiasIh, accumulateParameterGradients);
            Reductions.ColumnSum(new ReadOnlySpan<float>(gh, rows * g3), rows, g3, dBiasHh, accumulateParameterGradients);
            if (!dx.IsEmpty)
                Sgemm.Multiply(false, false, rows, inputSize, g3, 1f, gi, g3, pwih, inputSize,
                    accumulateInputGradient ? 1f : 0f, pdx, inputSize);
        }
    }

    /// <summary>
    /// One row of one step backward: reads r, z, n and gh_n + b_hn, writes dgi and dgh in their place; reads dh (dh_next)
    /// and leaves dh·z there (the GEMM after the step adds dgh·W_hh). <paramref name="dhOut"/> may be null.
    /// </summary>
    private static void GateStepBackward(int h, float* gi, float* gh, float* hPrev, float* dhOut, float* dh)
    {
        for (int j = 0; j < h; j++)
        {
            float r = gi[j], z = gi[h + j], n = gi[2 * h + j], hn = gh[2 * h + j];
            float dhv = dh[j] + (dhOut != null ? dhOut[j] : 0f);
            float hp = hPrev == null ? 0f : hPrev[j];
            float dn = dhv * (1f - z) * (1f - n * n);
            float dz = dhv * (hp - n) * z * (1f - z);
            float dr = dn * hn * r * (1f - r);
            gi[j] = dr;
            gi[h + j] = dz;
            gi[2 * h + j] = dn;
            gh[j] = dr;
            gh[h + j] = dz;
            gh[2 * h + j] = dn * r;
            dh[j] = dhv * z;
        }
    }

    private static void CheckCommon(int batch, int steps, int inputSize, int hidden, ReadOnlySpan<float> x,
        ReadOnlySpan<float> weightIh, ReadOnlySpan<float> weightHh, ReadOnlySpan<float> hiddenStates, ReadOnlySpan<float> workspace)
    {
        LayerArgs.Positive(inputSize, nameof(inputSize));
        int needed = WorkspaceSize(batch, steps, hidden); // checks batch, steps, hidden
        LayerArgs.Size(3L * hidden * Math.Max(inputSize, hidden), "The gru weights");
        LayerArgs.Size((long)batch * steps * Math.Max(inputSize, 3 * hidden), "The gru sequence");
        LayerArgs.Length(x.Length, nameof(x), "[B, T, In]", batch, steps, inputSize);
        LayerArgs.Length(weightIh.Length, nameof(weightIh), "[3H, In]", 3 * hidden, inputSize);
        LayerArgs.Length(weightHh.Length, nameof(weightHh), "[3H, H]", 3 * hidden, hidden);
        LayerArgs.Length(hiddenStates.Length, nameof(hiddenStates), "[B, T, H]", batch, steps, hidden);
        LayerArgs.Length(workspace.Length, needed, nameof(workspace), "Gru.WorkspaceSize(B, T, H)");
    }
}
