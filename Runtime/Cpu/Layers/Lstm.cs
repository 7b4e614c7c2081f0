using System;
using System.Runtime.Intrinsics;

namespace ModelDsl.Runtime.Cpu.Layers;

// lstm(hidden=H) over a sequence, PyTorch layout (gates stacked i, f, g, o), zero initial h and c:
//   x [B, T, In]   weight_ih [4H, In]   weight_hh [4H, H]   bias_ih [4H]   bias_hh [4H]
//   h [B, T, H]: every step's hidden state (the layer's output with return_sequences=true; the backward reads it)
//   lastHidden [B, H] = h[:, T−1] (the output with return_sequences=false), lastCell [B, H]: both optional
// Forward: pre = x·W_ihᵀ for all steps in one GEMM ([B·T, 4H]); then per step t one GEMM
//   pre[:, t] += h[:, t−1]·W_hhᵀ (none at t = 0) and one fused pass over [B, H]:
//   i = σ(pre_i + b_i)  f = σ(pre_f + b_f)  g = tanh(pre_g + b_g)  o = σ(pre_o + b_o)   (b = bias_ih + bias_hh)
//   c = f·c_prev + i·g;  h = o·tanh(c)
// Workspace [gates B·T·4H | cells B·T·H | h_prev B·T·H | dh B·H | dc B·H]: the forward leaves the activated gates
// and the cells there for the backward, which overwrites the gates with their gradients (run the forward again
// before another backward).
// Backward through time, t = T−1 … 0, with dh = dh_out[:, t] + dh_next and dc = dc_next:
//   tc = tanh(c);  dc += dh·o·(1 − tc²);  do = dh·tc;  di = dc·g;  dg = dc·i;  df = dc·c_prev;  dc_next = dc·f
//   dpre = (di·i(1−i), df·f(1−f), dg·(1−g²), do·o(1−o));  dh_next = dpre[:, t]·W_hh   (one GEMM)
// then for all steps at once: dW_ih (+)= dpreᵀ·x;  dW_hh (+)= dpreᵀ·h_prev;  db_ih = db_hh (+)= Σ dpre;  dx (+)= dpre·W_ih
public static unsafe partial class Lstm
{
    /// <summary>Floats of workspace <see cref="Forward"/> and <see cref="Backward"/> need: B·T·4H + 2·B·T·H + 2·B·H.</summary>
    public static int WorkspaceSize(int batch, int steps, int hidden)
    {
        LayerArgs.Positive(batch, nameof(batch));
        LayerArgs.Positive(steps, nameof(steps));
        LayerArgs.Positive(hidden, nameof(hidden));
        long bth = (long)batch * steps * hidden;
        return LayerArgs.Size(6 * bth + 2L * batch * hidden, "The lstm workspace");
    }

    /// <summary>
    /// Runs the sequence: writes every step's hidden state to <paramref name="hiddenStates"/> [B, T, H], and the last
    /// step's h and c to <paramref name="lastHidden"/> and <paramref name="lastCell"/> [B, H] (either may be empty).
    /// </summary>
    public static void Forward(int batch, int steps, int inputSize, int hidden,
        ReadOnlySpan<float> x, ReadOnlySpan<float> weightIh, ReadOnlySpan<float> weightHh,
        ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh,
        Span<float> hiddenStates, Span<float> lastHidden, Span<float> lastCell, Span<float> workspace)
    {
        CheckCommon(batch, steps, inputSize, hidden, x, weightIh, weightHh, hiddenStates, workspace);
        LayerArgs.Length(biasIh.Length, nameof(biasIh), "[4H]", 4 * hidden);
        LayerArgs.Length(biasHh.Length, nameof(biasHh), "[4H]", 4 * hidden);
        LayerArgs.OptionalLength(lastHidden.Length, nameof(lastHidden), "[B, H]", batch, hidden);
        LayerArgs.OptionalLength(lastCell.Length, nameof(lastCell), "[B, H]", batch, hidden);
        int b = batch, t = steps, h = hidden, g4 = 4 * hidden;
        fixed (float* px = x)
        fixed (float* pwih = weightIh)
        fixed (float* pwhh = weightHh)
        fixed (float* pbih = biasIh)
        fixed (float* pbhh = biasHh)
        fixed (float* ph = hiddenStates)
        fixed (float* pws = workspace)
        {
            float* gates = pws, cells = pws + (long)b * t * g4;
            Sgemm.Multiply(false, true, b * t, g4, inputSize, 1f, px, inputSize, pwih, inputSize, 0f, gates, g4);
            for (int s = 0; s < t; s++)
            {
                if (s > 0)
                    Sgemm.Multiply(false, true, b, g4, h, 1f, ph + (long)(s - 1) * h, t * h, pwhh, h, 1f, gates + (long)s * g4, t * g4);
                for (int n = 0; n < b; n++)
                {
                    long row = (long)n * t + s;
                    GateStep(h, gates + row * g4, pbih, pbhh, s == 0 ? null : cells + (row - 1) * h, cells + row * h, ph + row * h);
                }
            }
            for (int n = 0; n < b; n++)
            {
                long last = (long)n * t + t - 1;
                if (!lastHidden.IsEmpty) hiddenStates.Slice((int)(last * h), h).CopyTo(lastHidden.Slice(n * h, h));
                if (!lastCell.IsEmpty) new ReadOnlySpan<float>(cells + last * h, h).CopyTo(lastCell.Slice(n * h, h));
            }
        }
    }

    /// <summary>The fused step: activates one row's gates in place (i, f, g, o), then c = f·c_prev + i·g and h = o·tanh(c).</summary>
    private static void GateStep(int h, float* gates, float* biasIh, float* biasHh, float* cPrev, float* c, float* hOut)
    {
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; j <= h - Vector256<float>.Count; j += Vector256<float>.Count)
            {
                var i = Activations.Sigmoid(Vector256.Load(gates + j) + Vector256.Load(biasIh + j) + Vector256.Load(biasHh + j));
                var f = Activations.Sigmoid(Vector256.Load(gates + h + j) + Vector256.Load(biasIh + h + j) + Vector256.Load(biasHh + h + j));
                var g = Activations.Tanh(Vector256.Load(gates + 2 * h + j) + Vector256.Load(biasIh + 2 * h + j) + Vector256.Load(biasHh + 2 * h + j));
                var o = Activations.Sigmoid(Vector256.Load(gates + 3 * h + j) + Vector256.Load(biasIh + 3 * h + j) + Vector256.Load(biasHh + 3 * h + j));
                var cv = i * g;
                if (cPrev != null) cv += f * Vector256.Load(cPrev + j);
                i.Store(gates + j);
                f.Store(gates + h + j);
                g.Store(gates + 2 * h + j);
                o.Store(gates + 3 * h + j);
                cv.Store(c + j);
                (o * Activations.Tanh(cv)).Store(hOut + j);
            }
        }
        for (; j < h; j++)
        {
            float i = Activations.Sigmoid(gates[j] + biasIh[j] + biasHh[j]);
            float f = Activations.Sigmoid(gates[h + j] + biasIh[h + j] + biasHh[h + j]);
            float g = Activations.Tanh(gates[2 * h + j] + biasIh[2 * h + j] + biasHh[2 * h + j]);
            float o = Activations.Sigmoid(gates[3 * h + j] + biasIh[3 * h + j] + biasHh[3 * h + j]);
            float cv = i * g;
            if (cPrev != null) cv += f * cPrev[j];
            gates[j] = i;
            gates[h + j] = f;
            gates[2 * h + j] = g;
            gates[3 * h + j] = o;
            c[j] = cv;
            hOut[j] = o * Activations.Tanh(cv);
        }
    }

    /// <summary>
    /// Backward through time from the state <see cref="Forward"/> left in <paramref name="workspace"/> and its
    /// <paramref name="hiddenStates"/>; it overwrites that state (the gates become their gradients), so each backward
    /// needs its own forward. The output gradient is <paramref name="dHiddenStates"/> [B, T, H] and/or
    /// <paramref name="dLastHidden"/> [B, H] (either may be empty; both add). An empty <paramref name="dx"/> skips the
    /// input gradient. The two bias gradients are equal (both biases enter every gate the same way).
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
        LayerArgs.Length(dWeightIh.Length, nameof(dWeightIh), "[4H, In]", 4 * hidden, inputSize);
        LayerArgs.Length(dWeightHh.Length, nameof(dWeightHh), "[4H, H]", 4 * hidden, hidden);
        LayerArgs.Length(dBiasIh.Length, nameof(dBiasIh), "[4H]", 4 * hidden);
        LayerArgs.Length(dBiasHh.Length, nameof(dBiasHh), "[4H]", 4 * hidden);
        int b = batch, t = steps, h = hidden, g4 = 4 * hidden, rows = batch * steps;
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
            float* gates = pws;
            float* cells = gates + (long)rows * g4;
            float* hPrev = cells + (long)rows * h;
            float* dh = hPrev + (long)rows * h;
            float* dc = dh + (long)b * h;
            var dhSpan = new Span<float>(dh, b * h);
            if (dLastHidden.IsEmpty) dhSpan.Clear();
            else dLastHidden.Slice(0, b * h).CopyTo(dhSpan);
            new Span<float>(dc, b * h).Clear();
            for (int s = t - 1; s >= 0; s--)
            {
                for (int n = 0; n < b; n++)
                {
                    long row = (long)n * t + s;
                    GateStepBackward(h, gates + row * g4, s == 0 ? null : cells + (row - 1) * h, cells + row * h,
                        dHiddenStates.IsEmpty ? null : pdhs + row * h, dh + (long)n * h, dc + (long)n * h);
                }
                if (s > 0)
                    Sgemm.Multiply(false, false, b, h, g4, 1f, gates + (long)s * g4, t * g4, pwhh, h, 0f, dh, h);
            }

            // h_prev[n, s] = h[n, s − 1], zero at s = 0: dW_hh in one GEMM over all B·T rows.
            for (int n = 0; n < b; n++)
            {
                long row0 = (long)n * t;
                new Span<float>(hPrev + row0 * h, h).Clear();
                new ReadOnlySpan<float>(ph + row0 * h, (t - 1) * h).CopyTo(new Span<float>(hPrev + (row0 + 1) * h, (t - 1) * h));
            }
            Sgemm.Multiply(true, false, g4, inputSize, rows, 1f, gates, g4, px, inputSize, beta, pdwih, inputSize);
            Sgemm.Multiply(true, false, g4, h, rows, 1f, gates, g4, hPrev, h, beta, pdwhh, h);
            var dpre = new ReadOnlySpan<float>(gates, rows * g4);
            Reductions.ColumnSum(dpre, rows, g4, dBiasIh, accumulateParameterGradients);
            Reductions.ColumnSum(dpre, rows, g4, dBiasHh, accumulateParameterGradients);
            if (!dx.IsEmpty)
                Sgemm.Multiply(false, false, rows, inputSize, g4, 1f, gates, g4, pwih, inputSize,
                    accumulateInputGradient ? 1f : 0f, pdx, inputSize);
        }
    }

    /// <summary>
    /// One row of one step backward: reads the activated gates, writes their pre-activation gradients in their place;
    /// reads dh (dh_next) and updates dc to dc_next. <paramref name="dhOut"/> (the output gradient at this step) may be null.
    /// </summary>
    private static void GateStepBackward(int h, float* gates, float* cPrev, float* c, float* dhOut, float* dh, float* dc)
    {
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var one = Vector256<float>.One;
            for (; j <= h - Vector256<float>.Count; j += Vector256<float>.Count)
            {
                var i = Vector256.Load(gates + j);
                var f = Vector256.Load(gates + h + j);
                var g = Vector256.Load(gates + 2 * h + j);
                var o = Vector256.Load(gates + 3 * h + j);
                var dhv = Vector256.Load(dh + j);
                if (dhOut != null) dhv += Vector256.Load(dhOut + j);
                var tc = Activations.Tanh(Vector256.Load(c + j));
                var dcv = Vector256.Load(dc + j) + dhv * o * (one - tc * tc);
                var cp = cPrev == null ? Vector256<float>.Zero : Vector256.Load(cPrev + j);
                (dcv * g * i * (one - i)).Store(gates + j);
                (dcv * cp * f * (one - f)).Store(gates + h + j);
                (dcv * i * (one - g * g)).Store(gates + 2 * h + j);
                (dhv * tc * o * (one - o)).Store(gates + 3 * h + j);
                (dcv * f).Store(dc + j);
            }
        }
        for (; j < h; j++)
        {
            float i = gates[j], f = gates[h + j], g = gates[2 * h + j], o = gates[3 * h + j];
            float dhv = dh[j] + (dhOut != null ? dhOut[j] : 0f);
            float tc = Activations.Tanh(c[j]);
            float dcv = dc[j] + dhv * o * (1f - tc * tc);
            float cp = cPrev == null ? 0f : cPrev[j];
            gates[j] = dcv * g * i * (1f - i);
            gates[h + j] = dcv * cp * f * (1f - f);
            gates[2 * h + j] = dcv * i * (1f - g * g);
            gates[3 * h + j] = dhv * tc * o * (1f - o);
            dc[j] = dcv * f;
        }
    }

    private static void CheckCommon(int batch, int steps, int inputSize, int hidden, ReadOnlySpan<float> x,
        ReadOnlySpan<float> weightIh, ReadOnlySpan<float> weightHh, ReadOnlySpan<float> hiddenStates, ReadOnlySpan<float> workspace)
    {
        LayerArgs.Positive(inputSize, nameof(inputSize));
        int needed = WorkspaceSize(batch, steps, hidden); // checks batch, steps, hidden
        LayerArgs.Size(4L * hidden * Math.Max(inputSize, hidden), "The lstm weights");
        LayerArgs.Size((long)batch * steps * Math.Max(inputSize, 4 * hidden), "The lstm sequence");
        LayerArgs.Length(x.Length, nameof(x), "[B, T, In]", batch, steps, inputSize);
        LayerArgs.Length(weightIh.Length, nameof(weightIh), "[4H, In]", 4 * hidden, inputSize);
        LayerArgs.Length(weightHh.Length, nameof(weightHh), "[4H, H]", 4 * hidden, hidden);
        LayerArgs.Length(hiddenStates.Length, nameof(hiddenStates), "[B, T, H]", batch, steps, hidden);
        LayerArgs.Length(workspace.Length, needed, nameof(workspace), "Lstm.WorkspaceSize(B, T, H)");
    }
}
