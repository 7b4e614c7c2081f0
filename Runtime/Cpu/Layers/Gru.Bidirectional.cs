using System;

namespace ModelDsl.Runtime.Cpu.Layers;

// gru(hidden=H, bidirectional=true): PyTorch's bidirectional nn.GRU (one layer, batch_first), by BidirectionalRecurrence
// (the layout, the reversal and the joins, shared with lstm) around this class's single-direction Forward/Backward.
public static partial class Gru
{
    private static readonly DirectionForward SingleForward = Forward;
    private static readonly DirectionBackward SingleBackward = Backward;

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
        Span<float> hiddenStates, Span<float> lastHidden, Span<float> workspace) =>
        BidirectionalRecurrence.Forward(SingleForward, "Gru.BidirectionalWorkspaceSize(B, T, In, H)",
            BidirectionalWorkspaceSize(batch, steps, inputSize, hidden), WorkspaceSize(batch, steps, hidden), batch, steps, inputSize, hidden,
            x, weightIh, weightHh, biasIh, biasHh, weightIhReverse, weightHhReverse, biasIhReverse, biasHhReverse, hiddenStates, lastHidden, workspace);

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
        bool accumulateInputGradient = false, bool accumulateParameterGradients = false) =>
        BidirectionalRecurrence.Backward(SingleBackward, "Gru.BidirectionalWorkspaceSize(B, T, In, H)",
            BidirectionalWorkspaceSize(batch, steps, inputSize, hidden), WorkspaceSize(batch, steps, hidden), batch, steps, inputSize, hidden,
            x, weightIh, weightHh, weightIhReverse, weightHhReverse, dHiddenStates, dLastHidden, workspace,
            dx, dWeightIh, dWeightHh, dBiasIh, dBiasHh, dWeightIhReverse, dWeightHhReverse, dBiasIhReverse, dBiasHhReverse,
            accumulateInputGradient, accumulateParameterGradients);
}
