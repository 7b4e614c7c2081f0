using System;

namespace ModelDsl.Cuda.Layers;

/// <summary>
/// lstm on the GPU: the host side of lstm.cuh (per-step gate kernels between cuBLAS products), with the parameters of
/// <c>ModelDsl.Runtime.Cpu.Layers.Lstm</c> after the <see cref="LayerContext"/> (device pointers for spans; a null
/// pointer where the CPU takes an empty span). The working memory has the CPU's layout and length
/// (<c>Lstm.WorkspaceSize</c>): gates (B, T, 4H) | cells (B, T, H) | h_prev (B, T, H) | dh (B, H) | dc (B, H).
/// With BF16 activations (<see cref="LayerContext.Bf16Activations"/>) the products that read x are lstm.cuh's own
/// kernels and the recurrence reads FP32 hidden states from h_prev (lstm.cuh's header gives the sequence).
/// </summary>
public static partial class Lstm
{
    /// <summary>
    /// Every step's hidden state into <paramref name="hiddenStates"/> (B, T, H), and the last step's h and c when
    /// <paramref name="lastHidden"/> / <paramref name="lastCell"/> are not null: the input GEMM for all steps at once
    /// (gates = x·W_ihᵀ), then per step the recurrent GEMM into the step's gate rows (t > 0) and
    /// <c>md_lstm_forward_step</c>. The gates and cells stay in <paramref name="workspace"/> for the backward.
    /// </summary>
    public static void Forward(LayerContext gpu, int batch, int steps, int inputSize, int hidden,
        DevicePointer x, DevicePointer weightIh, DevicePointer weightHh,
        DevicePointer biasIh, DevicePointer biasHh,
        DevicePointer hiddenStates, DevicePointer lastHidden, DevicePointer lastCell, DevicePointer workspace)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        var context = gpu.Context;
        int g = 4 * hidden;
        long rows = (long)batch * steps;
        DevicePointer gates = workspace, cells = workspace.Plus(rows * g), hPrev = workspace.Plus(rows * 5 * hidden);
        bool bf16 = gpu.Bf16Activations;
        if (bf16) Sequence.InputProduct(gpu, checked((int)rows), g, inputSize, x, weightIh, gates);
        else context.Sgemm(false, true, checked((int)rows), g, inputSize, 1f, x, inputSize, weightIh, inputSize, 0f, gates, g);
        var kernel = gpu.Kernel("md_lstm_forward_step");
        for (int t = 0; t < steps; t++)
        {
            // h_{t−1}: the stored h (float), or the FP32 copy the step kernel keeps in h_prev (BF16 activations).
            if (t > 0)
                context.Sgemm(false, true, batch, g, hidden, 1f, bf16 ? hPrev.Plus(t * (long)hidden) : hiddenStates.Plus((t - 1) * (long)hidden), steps * hidden,
                    weightHh, hidden, 1f, gates.Plus(t * (long)g), steps * g);
            var a = kernel.Arguments();
            a.Int("batch", batch);
            a.Int("steps", steps);
            a.Int("hidden", hidden);
            a.Int("t", t);
            a.Reads("bias_ih", biasIh);
            a.Reads("bias_hh", biasHh);
            a.Writes("gates", gates);
            a.Writes("cells", cells);
            a.WritesActivation("h", hiddenStates);
            a.Writes("h_prev", bf16 ? hPrev : default);
            a.WritesActivation("last_hidden", lastHidden);
            a.WritesActivation("last_cell", lastCell);
            kernel.Launch(Grid.Elements((long)batch * hidden), Grid.Block, ref a);
        }
    }

    /// <summary>
    /// Backpropagation through time from <paramref name="dHiddenStates"/> (B, T, H) and/or <paramref name="dLastHidden"/>
    /// (B, H) (either may be null): per step, last to first, <c>md_lstm_backward_step</c> (the gates in the working memory
    /// become their gradients dpre) and dh for the step before (dpre[t]·W_hh, cuBLAS); then <c>md_sequence_shift_hidden</c>,
    /// dW_ih (+)= dpreᵀ·x and dW_hh (+)= dpreᵀ·h_prev (one GEMM each over all B·T rows), <c>md_lstm_bias_backward</c>, and
    /// dx (+)= dpre·W_ih when <paramref name="dx"/> is not null. Every backward needs the forward of the same batch before it.
    /// </summary>
    public static void Backward(LayerContext gpu, int batch, int steps, int inputSize, int hidden,
        DevicePointer x, DevicePointer weightIh, DevicePointer weightHh, DevicePointer hiddenStates,
        DevicePointer dHiddenStates, DevicePointer dLastHidden, DevicePointer workspace,
        DevicePointer dx, DevicePointer dWeightIh, DevicePointer dWeightHh, DevicePointer dBiasIh, DevicePointer dBiasHh,
        bool accumulateInputGradient = false, bool accumulateParameterGradients = false)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        var context = gpu.Context;
        int g = 4 * hidden;
        long rows = (long)batch * steps;
        int allRows = checked((int)rows);
        DevicePointer gates = workspace, cells = workspace.Plus(rows * g), hPrev = workspace.Plus(rows * 5 * hidden);
        DevicePointer dh = workspace.Plus(rows * 6 * hidden), dc = dh.Plus((long)batch * hidden);
        var step = gpu.Kernel("md_lstm_backward_step");
        for (int t = steps - 1; t >= 0; t--)
        {
            var a = step.Arguments();
            a.Int("batch", batch);
            a.Int("steps", steps);
            a.Int("hidden", hidden);
            a.Int("t", t);
            a.Reads("cells", cells);
            a.Reads("dh_out", dHiddenStates);
            a.Reads("d_last_hidden", dLastHidden);
            a.Writes("gates", gates);
            a.Writes("dh", dh);
            a.Writes("dc", dc);
            step.Launch(Grid.Elements((long)batch * hidden), Grid.Block, ref a);
            if (t > 0)
                context.Sgemm(false, false, batch, hidden, g, 1f, gates.Plus(t * (long)g), steps * g, weightHh, hidden, 0f, dh, hidden);
        }
        bool bf16 = gpu.Bf16Activations;
        if (!bf16) Sequence.ShiftHidden(gpu, batch, steps, hidden, hiddenStates, hPrev); // with BF16 activations the forward left the FP32 h_prev its recurrence read
        float beta = accumulateParameterGradients ? 1f : 0f;
        if (bf16) Sequence.InputWeightGradient(gpu, allRows, g, inputSize, gates, x, dWeightIh, accumulateParameterGradients);
        else context.Sgemm(true, false, g, inputSize, allRows, 1f, gates, g, x, inputSize, beta, dWeightIh, inputSize);
        context.Sgemm(true, false, g, hidden, allRows, 1f, gates, g, hPrev, hidden, beta, dWeightHh, hidden);
        var bias = gpu.Kernel("md_lstm_bias_backward");
        var b = bias.Arguments();
        b.Int("rows", allRows);
        b.Int("cols", g);
        b.Reads("dpre", gates);
        b.Writes("dbias_ih", dBiasIh);
        b.Writes("dbias_hh", dBiasHh);
        b.Flag("accumulate", accumulateParameterGradients);
        bias.Launch(Grid.Columns(g), Grid.ColumnBlock, ref b);
        if (!dx.IsNull)
            context.Sgemm(false, false, allRows, inputSize, g, 1f, gates, g, weightIh, inputSize, accumulateInputGradient ? 1f : 0f, dx, inputSize);
    }
}
