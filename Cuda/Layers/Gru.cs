using System;

namespace ModelDsl.Cuda.Layers;

/// <summary>
/// gru on the GPU: the host side of gru.cuh (per-step gate kernels between cuBLAS products), with the parameters of
/// <c>ModelDsl.Runtime.Cpu.Layers.Gru</c> after the <see cref="LayerContext"/> (device pointers for spans; a null
/// pointer where the CPU takes an empty span). The working memory has the CPU's layout and length
/// (<c>Gru.WorkspaceSize</c>): gi (B, T, 3H) | gh (B, T, 3H) | h_prev (B, T, H) | dh (B, H).
/// With BF16 activations (<see cref="LayerContext.Bf16Activations"/>) the products that read x are gru.cuh's own
/// kernels and the recurrence runs on FP32 hidden states in h_prev (gru.cuh's header gives the sequence).
/// </summary>
public static partial class Gru
{
    /// <summary>
    /// Every step's hidden state into <paramref name="hiddenStates"/> (B, T, H), and the last step's when
    /// <paramref name="lastHidden"/> is not null: the input GEMM for all steps at once (gi = x·W_ihᵀ), then per step the
    /// recurrent GEMM into the step's gh rows (t > 0) and <c>md_gru_forward_step</c>. The gates stay in
    /// <paramref name="workspace"/> for the backward.
    /// </summary>
    public static void Forward(LayerContext gpu, int batch, int steps, int inputSize, int hidden,
        DevicePointer x, DevicePointer weightIh, DevicePointer weightHh,
        DevicePointer biasIh, DevicePointer biasHh,
        DevicePointer hiddenStates, DevicePointer lastHidden, DevicePointer workspace)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        var context = gpu.Context;
        int g = 3 * hidden;
        long rows = (long)batch * steps;
        DevicePointer gi = workspace, gh = workspace.Plus(rows * g), hPrev = workspace.Plus(rows * 2 * g);
        bool bf16 = gpu.Bf16Activations;
        if (bf16) Sequence.InputProduct(gpu, checked((int)rows), g, inputSize, x, weightIh, gi);
        else context.Sgemm(false, true, checked((int)rows), g, inputSize, 1f, x, inputSize, weightIh, inputSize, 0f, gi, g);
        var kernel = gpu.Kernel("md_gru_forward_step");
        for (int t = 0; t < steps; t++)
        {
            // h_{t−1}: the stored h (float), or the FP32 copy the step kernel keeps in h_prev (BF16 activations).
            if (t > 0)
                context.Sgemm(false, true, batch, g, hidden, 1f, bf16 ? hPrev.Plus(t * (long)hidden) : hiddenStates.Plus((t - 1) * (long)hidden), steps * hidden,
                    weightHh, hidden, 0f, gh.Plus(t * (long)g), steps * g);
            var a = kernel.Arguments();
            a.Int("batch", batch);
            a.Int("steps", steps);
            a.Int("hidden", hidden);
            a.Int("t", t);
            a.Reads("bias_ih", biasIh);
            a.Reads("bias_hh", biasHh);
            a.Writes("gi", gi);
            a.Writes("gh", gh);
            a.WritesActivation("h", hiddenStates);
            a.Writes("h_prev", bf16 ? hPrev : default);
            a.WritesActivation("last_hidden", lastHidden);
            kernel.Launch(Grid.Elements((long)batch * hidden), Grid.Block, ref a);
        }
    }

    /// <summary>
    /// Backpropagation through time from <paramref name="dHiddenStates"/> (B, T, H) and/or <paramref name="dLastHidden"/>
    /// (B, H) (either may be null): per step, last to first, <c>md_gru_backward_step</c> (gi and gh in the working memory
    /// become their gradients) and dh for the step before (+= dgh[t]·W_hh, cuBLAS); then <c>md_sequence_shift_hidden</c>,
    /// dW_ih (+)= dgiᵀ·x and dW_hh (+)= dghᵀ·h_prev (one GEMM each over all B·T rows), <c>md_gru_column_sum</c> for each
    /// bias, and dx (+)= dgi·W_ih when <paramref name="dx"/> is not null. Every backward needs the forward of the same batch before it.
    /// </summary>
    public static void Backward(LayerContext gpu, int batch, int steps, int inputSize, int hidden,
        DevicePointer x, DevicePointer weightIh, DevicePointer weightHh, DevicePointer hiddenStates,
        DevicePointer dHiddenStates, DevicePointer dLastHidden, DevicePointer workspace,
        DevicePointer dx, DevicePointer dWeightIh, DevicePointer dWeightHh, DevicePointer dBiasIh, DevicePointer dBiasHh,
        bool accumulateInputGradient = false, bool accumulateParameterGradients = false)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        var context = gpu.Context;
        int g = 3 * hidden;
        long rows = (long)batch * steps;
        int allRows = checked((int)rows);
        DevicePointer gi = workspace, gh = workspace.Plus(rows * g), hPrev = workspace.Plus(rows * 2 * g);
        DevicePointer dh = hPrev.Plus(rows * hidden);
        bool bf16 = gpu.Bf16Activations; // the forward left the FP32 h_prev its recurrence read
        var step = gpu.Kernel("md_gru_backward_step");
        for (int t = steps - 1; t >= 0; t--)
        {
            var a = step.Arguments();
            a.Int("batch", batch);
            a.Int("steps", steps);
            a.Int("hidden", hidden);
            a.Int("t", t);
            a.ReadsActivation("h", hiddenStates);
            a.Reads("h_prev", bf16 ? hPrev : default);
            a.Reads("dh_out", dHiddenStates);
            a.Reads("d_last_hidden", dLastHidden);
            a.Writes("gi", gi);
            a.Writes("gh", gh);
            a.Writes("dh", dh);
            step.Launch(Grid.Elements((long)batch * hidden), Grid.Block, ref a);
            if (t > 0)
                context.Sgemm(false, false, batch, hidden, g, 1f, gh.Plus(t * (long)g), steps * g, weightHh, hidden, 1f, dh, hidden);
        }
        if (!bf16) Sequence.ShiftHidden(gpu, batch, steps, hidden, hiddenStates, hPrev); // with BF16 activations the forward left the FP32 h_prev its recurrence read
        float beta = accumulateParameterGradients ? 1f : 0f;
        if (bf16) Sequence.InputWeightGradient(gpu, allRows, g, inputSize, gi, x, dWeightIh, accumulateParameterGradients);
        else context.Sgemm(true, false, g, inputSize, allRows, 1f, gi, g, x, inputSize, beta, dWeightIh, inputSize);
        context.Sgemm(true, false, g, hidden, allRows, 1f, gh, g, hPrev, hidden, beta, dWeightHh, hidden);
        ColumnSum(gpu, allRows, g, gi, dBiasIh, accumulateParameterGradients);
        ColumnSum(gpu, allRows, g, gh, dBiasHh, accumulateParameterGradients);
        if (!dx.IsNull)
            context.Sgemm(false, false, allRows, inputSize, g, 1f, gi, g, weightIh, inputSize, accumulateInputGradient ? 1f : 0f, dx, inputSize);
    }

    /// <summary><c>md_gru_column_sum</c>: <paramref name="bias"/> (cols) (+)= Σ_rows <paramref name="gradients"/>.</summary>
    private static void ColumnSum(LayerContext gpu, int rows, int cols, DevicePointer gradients, DevicePointer bias, bool accumulate)
    {
        var sum = gpu.Kernel("md_gru_column_sum");
        var b = sum.Arguments();
        b.Int("rows", rows);
        b.Int("cols", cols);
        b.Reads("dpre", gradients);
        b.Writes("dbias", bias);
        b.Flag("accumulate", accumulate);
        sum.Launch(Grid.Columns(cols), Grid.ColumnBlock, ref b);
    }
}
