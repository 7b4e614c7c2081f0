using System;

namespace ModelDsl.Runtime.Cpu.Layers;

// lstm(hidden=H, bidirectional=true): PyTorch's bidirectional nn.LSTM (one layer, batch_first): the forward direction over
// x, the reverse direction (its own weight_ih_reverse, weight_hh_reverse, bias_ih_reverse, bias_hh_reverse) over x
// reversed in time, each by this class's single-direction Forward/Backward, in one working memory (BidirectionalLayout).
//   hiddenStates [B, T, 2H]: y[b, t] = (h_fwd[b, t], h_bwd[b, t]), h_bwd[b, t] the reverse direction's state after reading
//   x[b, T−1] … x[b, t];   lastHidden [B, 2H] = (h_fwd[b, T−1], h_bwd[b, 0]), PyTorch's h_n of both directions side by side.
public static partial class Lstm
{
    /// <summary>Floats of working memory <see cref="ForwardBidirectional"/> and <see cref="BackwardBidirectional"/> need (<see cref="BidirectionalLayout"/>).</summary>
    public static int BidirectionalWorkspaceSize(int batch, int steps, int inputSize, int hidden)
    {
        LayerArgs.Positive(inputSize, nameof(inputSize));
        return new BidirectionalLayout(batch, steps, inputSize, hidden, WorkspaceSize(batch, steps, hidden)).Size;
    }

    /// <summary>
    /// Both directions: every step's joined state into <paramref name="hiddenStates"/> [B, T, 2H] and, when
    /// <paramref name="lastHidden"/> is not empty, both final states into it [B, 2H]. The working memory keeps each
    /// direction's state for <see cref="BackwardBidirectional"/>.
    /// </summary>
    public static void ForwardBidirectional(int batch, int steps, int inputSize, int hidden,
        ReadOnlySpan<float> x, ReadOnlySpan<float> weightIh, ReadOnlySpan<float> weightHh, ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh,
        ReadOnlySpan<float> weightIhReverse, ReadOnlySpan<float> weightHhReverse, ReadOnlySpan<float> biasIhReverse, ReadOnlySpan<float> biasHhReverse,
        Span<float> hiddenStates, Span<float> lastHidden, Span<float> workspace)
    {
        int size = BidirectionalWorkspaceSize(batch, steps, inputSize, hidden);
        var l = new BidirectionalLayout(batch, steps, inputSize, hidden, WorkspaceSize(batch, steps, hidden));
        LayerArgs.Length(workspace.Length, size, nameof(workspace), "Lstm.BidirectionalWorkspaceSize(B, T, In, H)");
        LayerArgs.Length(hiddenStates.Length, nameof(hiddenStates), "[B, T, 2H]", batch, steps, 2 * hidden);
        LayerArgs.OptionalLength(lastHidden.Length, nameof(lastHidden), "[B, 2H]", batch, 2 * hidden);
        int bti = batch * steps * inputSize, bth = batch * steps * hidden, bh = batch * hidden, h = hidden;
        bool last = !lastHidden.IsEmpty;
        var xRev = Region(workspace, l.ReversedInput, bti);
        var statesF = Region(workspace, l.ForwardStates, bth);
        var statesR = Region(workspace, l.ReverseStates, bth);
        var lastF = Region(workspace, l.ForwardLast, bh);
        var lastR = Region(workspace, l.ReverseLast, bh);
        Forward(batch, steps, inputSize, hidden, x, weightIh, weightHh, biasIh, biasHh, statesF, last ? lastF : default, default, Region(workspace, 0, l.DirectionWorkspace));
        Sequence.Copy(batch, steps, inputSize, inputSize, 0, inputSize, 0, x, xRev, reverse: true);
        Forward(batch, steps, inputSize, hidden, xRev, weightIhReverse, weightHhReverse, biasIhReverse, biasHhReverse, statesR, last ? lastR : default, default,
            Region(workspace, l.ReverseWorkspace, l.DirectionWorkspace));
        Sequence.Copy(batch, steps, h, h, 0, 2 * h, 0, statesF, hiddenStates);
        Sequence.Copy(batch, steps, h, h, 0, 2 * h, h, statesR, hiddenStates, reverse: true);
        if (last)
        {
            Sequence.Copy(batch, 1, h, h, 0, 2 * h, 0, lastF, lastHidden);
            Sequence.Copy(batch, 1, h, h, 0, 2 * h, h, lastR, lastHidden);
        }
    }

    /// <summary>
    /// Backpropagation through time in both directions from the state <see cref="ForwardBidirectional"/> left in
    /// <paramref name="workspace"/> (which it overwrites): <paramref name="dHiddenStates"/> [B, T, 2H] and/or
    /// <paramref name="dLastHidden"/> [B, 2H] (either may be empty) are split per direction; each direction's
    /// parameter gradients are its own; dx (+)= the forward direction's input gradient + the reverse direction's, put
    /// back in time order. An empty <paramref name="dx"/> skips the input gradient.
    /// </summary>
    public static void BackwardBidirectional(int batch, int steps, int inputSize, int hidden,
        ReadOnlySpan<float> x, ReadOnlySpan<float> weightIh, ReadOnlySpan<float> weightHh, ReadOnlySpan<float> weightIhReverse, ReadOnlySpan<float> weightHhReverse,
        ReadOnlySpan<float> dHiddenStates, ReadOnlySpan<float> dLastHidden, Span<float> workspace,
        Span<float> dx, Span<float> dWeightIh, Span<float> dWeightHh, Span<float> dBiasIh, Span<float> dBiasHh,
        Span<float> dWeightIhReverse, Span<float> dWeightHhReverse, Span<float> dBiasIhReverse, Span<float> dBiasHhReverse,
        bool accumulateInputGradient = false, bool accumulateParameterGradients = false)
    {
        int size = BidirectionalWorkspaceSize(batch, steps, inputSize, hidden);
        var l = new BidirectionalLayout(batch, steps, inputSize, hidden, WorkspaceSize(batch, steps, hidden));
        LayerArgs.Length(workspace.Length, size, nameof(workspace), "Lstm.BidirectionalWorkspaceSize(B, T, In, H)");
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
        Backward(batch, steps, inputSize, hidden, x, weightIh, weightHh, Region(workspace, l.ForwardStates, bth),
            sequences ? dStatesF : default, last ? dLastF : default, Region(workspace, 0, l.DirectionWorkspace),
            dx, dWeightIh, dWeightHh, dBiasIh, dBiasHh, accumulateInputGradient, accumulateParameterGradients);
        Backward(batch, steps, inputSize, hidden, Region(workspace, l.ReversedInput, bti), weightIhReverse, weightHhReverse, Region(workspace, l.ReverseStates, bth),
            sequences ? dStatesR : default, last ? dLastR : default, Region(workspace, l.ReverseWorkspace, l.DirectionWorkspace),
            dx.IsEmpty ? default : dxRev, dWeightIhReverse, dWeightHhReverse, dBiasIhReverse, dBiasHhReverse, false, accumulateParameterGradients);
        if (!dx.IsEmpty)
            Sequence.Copy(batch, steps, inputSize, inputSize, 0, inputSize, 0, dxRev, dx, reverse: true, accumulate: true);
    }

    private static Span<float> Region(Span<float> workspace, long offset, long length) => workspace.Slice((int)offset, (int)length);
}
