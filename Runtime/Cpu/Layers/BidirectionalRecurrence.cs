using System;

namespace ModelDsl.Runtime.Cpu.Layers;

// What lstm(bidirectional=true) and gru(bidirectional=true) share: PyTorch's bidirectional nn.LSTM / nn.GRU (one layer,
// batch_first) as the forward direction over x and the reverse direction (its own weight_ih_reverse, weight_hh_reverse,
// bias_ih_reverse, bias_hh_reverse) over x reversed in time, each by the layer's single-direction Forward/Backward
// (passed in as static delegates), in one working memory (BidirectionalLayout).
//   hiddenStates [B, T, 2H]: y[b, t] = (h_fwd[b, t], h_bwd[b, t]), h_bwd[b, t] the reverse direction's state after reading
//   x[b, T−1] … x[b, t];   lastHidden [B, 2H] = (h_fwd[b, T−1], h_bwd[b, 0]), PyTorch's h_n of both directions side by side.
// Lstm.ForwardBidirectional / Gru.ForwardBidirectional (and the backwards) are the public entry points; they check the
// sizes through their own BidirectionalWorkspaceSize, so the messages name the right class.

/// <summary>One direction's forward: <c>Gru.Forward</c>, or <c>Lstm.Forward</c> without its last cell.</summary>
internal delegate void DirectionForward(int batch, int steps, int inputSize, int hidden,
    ReadOnlySpan<float> x, ReadOnlySpan<float> weightIh, ReadOnlySpan<float> weightHh, ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh,
    Span<float> hiddenStates, Span<float> lastHidden, Span<float> workspace);

/// <summary>One direction's backward: <c>Gru.Backward</c> or <c>Lstm.Backward</c>.</summary>
internal delegate void DirectionBackward(int batch, int steps, int inputSize, int hidden,
    ReadOnlySpan<float> x, ReadOnlySpan<float> weightIh, ReadOnlySpan<float> weightHh, ReadOnlySpan<float> hiddenStates,
    ReadOnlySpan<float> dHiddenStates, ReadOnlySpan<float> dLastHidden, Span<float> workspace,
    Span<float> dx, Span<float> dWeightIh, Span<float> dWeightHh, Span<float> dBiasIh, Span<float> dBiasHh,
    bool accumulateInputGradient, bool accumulateParameterGradients);

internal static class BidirectionalRecurrence
{
    /// <summary>
    /// The body of <c>ForwardBidirectional</c>: <paramref name="size"/> is the layer's <c>BidirectionalWorkspaceSize</c>
    /// (<paramref name="sizeCall"/> names it in the message), <paramref name="directionWorkspace"/> its <c>WorkspaceSize</c>.
    /// </summary>
    public static void Forward(DirectionForward forward, string sizeCall, int size, int directionWorkspace,
        int batch, int steps, int inputSize, int hidden,
        ReadOnlySpan<float> x, ReadOnlySpan<float> weightIh, ReadOnlySpan<float> weightHh, ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh,
        ReadOnlySpan<float> weightIhReverse, ReadOnlySpan<float> weightHhReverse, ReadOnlySpan<float> biasIhReverse, ReadOnlySpan<float> biasHhReverse,
        Span<float> hiddenStates, Span<float> lastHidden, Span<float> workspace)
    {
        var l = new BidirectionalLayout(batch, steps, inputSize, hidden, directionWorkspace);
        LayerArgs.Length(workspace.Length, size, nameof(workspace), sizeCall);
        LayerArgs.Length(hiddenStates.Length, nameof(hiddenStates), "[B, T, 2H]", batch, steps, 2 * hidden);
        LayerArgs.OptionalLength(lastHidden.Length, nameof(lastHidden), "[B, 2H]", batch, 2 * hidden);
        int bti = batch * steps * inputSize, bth = batch * steps * hidden, bh = batch * hidden, h = hidden;
        bool last = !lastHidden.IsEmpty;
        var xRev = Region(workspace, l.ReversedInput, bti);
        var statesF = Region(workspace, l.ForwardStates, bth);
        var statesR = Region(workspace, l.ReverseStates, bth);
        var lastF = Region(workspace, l.ForwardLast, bh);
        var lastR = Region(workspace, l.ReverseLast, bh);
        forward(batch, steps, inputSize, hidden, x, weightIh, weightHh, biasIh, biasHh, statesF, last ? lastF : default, Region(workspace, 0, l.DirectionWorkspace));
        Sequence.Copy(batch, steps, inputSize, inputSize, 0, inputSize, 0, x, xRev, reverse: true);
        forward(batch, steps, inputSize, hidden, xRev, weightIhReverse, weightHhReverse, biasIhReverse, biasHhReverse, statesR, last ? lastR : default,
            Region(workspace, l.ReverseWorkspace, l.DirectionWorkspace));
        Sequence.Copy(batch, steps, h, h, 0, 2 * h, 0, statesF, hiddenStates);
        Sequence.Copy(batch, steps, h, h, 0, 2 * h, h, statesR, hiddenStates, reverse: true);
        if (last)
        {
            Sequence.Copy(batch, 1, h, h, 0, 2 * h, 0, lastF, lastHidden);
            Sequence.Copy(batch, 1, h, h, 0, 2 * h, h, lastR, lastHidden);
        }
    }

    /// <summary>The body of <c>BackwardBidirectional</c>; <paramref name="sizeCall"/>, <paramref name="size"/> and <paramref name="directionWorkspace"/> as in <see cref="Forward"/>.</summary>
    public static void Backward(DirectionBackward backward, string sizeCall, int size, int directionWorkspace,
        int batch, int steps, int inputSize, int hidden,
        ReadOnlySpan<float> x, ReadOnlySpan<float> weightIh, ReadOnlySpan<float> weightHh, ReadOnlySpan<float> weightIhReverse, ReadOnlySpan<float> weightHhReverse,
        ReadOnlySpan<float> dHiddenStates, ReadOnlySpan<float> dLastHidden, Span<float> workspace,
        Span<float> dx, Span<float> dWeightIh, Span<float> dWeightHh, Span<float> dBiasIh, Span<float> dBiasHh,
        Span<float> dWeightIhReverse, Span<float> dWeightHhReverse, Span<float> dBiasIhReverse, Span<float> dBiasHhReverse,
        bool accumulateInputGradient, bool accumulateParameterGradients)
    {
        var l = new BidirectionalLayout(batch, steps, inputSize, hidden, directionWorkspace);
        LayerArgs.Length(workspace.Length, size, nameof(workspace), sizeCall);
        LayerArgs.OptionalLength(dHiddenStates.Length, nameof(dHiddenStates), "[B, T, 2H]", batch, steps, 2 * hidden);
        LayerArgs.OptionalLength(dLastHidden.Length, nameof(dLastHidden), "[B, 2H]", batch, 2 * hidden);
        LayerArgs.OptionalLength(dx.Length, nameof(dx), "[B, T, In]", batch, steps, inputSize);
        int bti = batch * steps * inputSize, bth = batch * steps * hidden, bh = batch * hidden, h = hidden;
        bool sequences = !dHiddenStates.IsEmpty, last = !dLastHidden.IsEmpty;
        var dStatesF = Region(workspace, l.ForwardStatesGradient, bth);
        var dStatesR = Region(workspace, l.ReverseStatesGradient, bth);
        var dLastF = Region(workspace, l.ForwardLast, bh); // the forward's last states are not needed any more
        var dLastR = Region(workspace, l.ReverseLast, bh);
        var dxRev = Region(workspace, l.ReversedInputGradient, bti);
        if (sequences)
        {
            Sequence.Copy(batch, steps, h, 2 * h, 0, h, 0, dHiddenStates, dStatesF);
            Sequence.Copy(batch, steps, h, 2 * h, h, h, 0, dHiddenStates, dStatesR, reverse: true);
        }
        if (last)
        {
            Sequence.Copy(batch, 1, h, 2 * h, 0, h, 0, dLastHidden, dLastF);
            Sequence.Copy(batch, 1, h, 2 * h, h, h, 0, dLastHidden, dLastR);
        }
        backward(batch, steps, inputSize, hidden, x, weightIh, weightHh, Region(workspace, l.ForwardStates, bth),
            sequences ? dStatesF : default, last ? dLastF : default, Region(workspace, 0, l.DirectionWorkspace),
            dx, dWeightIh, dWeightHh, dBiasIh, dBiasHh, accumulateInputGradient, accumulateParameterGradients);
        backward(batch, steps, inputSize, hidden, Region(workspace, l.ReversedInput, bti), weightIhReverse, weightHhReverse, Region(workspace, l.ReverseStates, bth),
            sequences ? dStatesR : default, last ? dLastR : default, Region(workspace, l.ReverseWorkspace, l.DirectionWorkspace),
            dx.IsEmpty ? default : dxRev, dWeightIhReverse, dWeightHhReverse, dBiasIhReverse, dBiasHhReverse, false, accumulateParameterGradients);
        if (!dx.IsEmpty)
            Sequence.Copy(batch, steps, inputSize, inputSize, 0, inputSize, 0, dxRev, dx, reverse: true, accumulate: true);
    }

    private static Span<float> Region(Span<float> workspace, long offset, long length) => workspace.Slice((int)offset, (int)length);
}
