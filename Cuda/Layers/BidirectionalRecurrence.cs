using System;
using Cpu = ModelDsl.Runtime.Cpu.Layers;

namespace ModelDsl.Cuda.Layers;

/// <summary>One direction's forward launcher: <see cref="Gru.Forward"/>, or <see cref="Lstm.Forward"/> without its last cell.</summary>
internal delegate void DirectionForward(LayerContext gpu, int batch, int steps, int inputSize, int hidden,
    DevicePointer x, DevicePointer weightIh, DevicePointer weightHh, DevicePointer biasIh, DevicePointer biasHh,
    DevicePointer hiddenStates, DevicePointer lastHidden, DevicePointer workspace);

/// <summary>One direction's backward launcher: <see cref="Gru.Backward"/> or <see cref="Lstm.Backward"/>.</summary>
internal delegate void DirectionBackward(LayerContext gpu, int batch, int steps, int inputSize, int hidden,
    DevicePointer x, DevicePointer weightIh, DevicePointer weightHh, DevicePointer hiddenStates,
    DevicePointer dHiddenStates, DevicePointer dLastHidden, DevicePointer workspace,
    DevicePointer dx, DevicePointer dWeightIh, DevicePointer dWeightHh, DevicePointer dBiasIh, DevicePointer dBiasHh,
    bool accumulateInputGradient, bool accumulateParameterGradients);

/// <summary>
/// What lstm(bidirectional=true) and gru(bidirectional=true) share on the GPU: <c>ModelDsl.Runtime.Cpu.Layers.BidirectionalRecurrence</c>
/// with device pointers: each direction by the layer's single-direction launchers (passed in as static delegates), the
/// reverse one over x reversed in time, around them <c>md_sequence_copy</c> (activations: reverse x, join the states) and
/// <c>md_sequence_copy_gradient</c> (split the output gradient, put dx back) of sequence.cuh, in
/// one working memory of the CPU's layout and length (<see cref="Cpu.BidirectionalLayout"/>). <c>Lstm.ForwardBidirectional</c>,
/// <c>Gru.ForwardBidirectional</c> and the backwards are the public entry points: they run the CPU's size checks
/// (<c>BidirectionalWorkspaceSize</c>) and pass the single direction's working memory (<c>WorkspaceSize</c>).
/// </summary>
internal static class BidirectionalRecurrence
{
    /// <summary>Both directions into <paramref name="hiddenStates"/> (B, T, 2H) and, when not null, <paramref name="lastHidden"/> (B, 2H).</summary>
    public static void Forward(DirectionForward forward, int directionWorkspace, LayerContext gpu, int batch, int steps, int inputSize, int hidden,
        DevicePointer x, DevicePointer weightIh, DevicePointer weightHh, DevicePointer biasIh, DevicePointer biasHh,
        DevicePointer weightIhReverse, DevicePointer weightHhReverse, DevicePointer biasIhReverse, DevicePointer biasHhReverse,
        DevicePointer hiddenStates, DevicePointer lastHidden, DevicePointer workspace)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        var l = new Cpu.BidirectionalLayout(batch, steps, inputSize, hidden, directionWorkspace);
        int h = hidden;
        bool last = !lastHidden.IsNull;
        DevicePointer xRev = workspace.Plus(l.ReversedInput), statesF = workspace.Plus(l.ForwardStates), statesR = workspace.Plus(l.ReverseStates);
        DevicePointer lastF = workspace.Plus(l.ForwardLast), lastR = workspace.Plus(l.ReverseLast);
        forward(gpu, batch, steps, inputSize, hidden, x, weightIh, weightHh, biasIh, biasHh, statesF, last ? lastF : default, workspace);
        Sequence.Copy(gpu, batch, steps, inputSize, inputSize, 0, inputSize, 0, x, xRev, reverse: true);
        forward(gpu, batch, steps, inputSize, hidden, xRev, weightIhReverse, weightHhReverse, biasIhReverse, biasHhReverse, statesR, last ? lastR : default,
            workspace.Plus(l.ReverseWorkspace));
        Sequence.Copy(gpu, batch, steps, h, h, 0, 2 * h, 0, statesF, hiddenStates);
        Sequence.Copy(gpu, batch, steps, h, h, 0, 2 * h, h, statesR, hiddenStates, reverse: true);
        if (last)
        {
            Sequence.Copy(gpu, batch, 1, h, h, 0, 2 * h, 0, lastF, lastHidden);
            Sequence.Copy(gpu, batch, 1, h, h, 0, 2 * h, h, lastR, lastHidden);
        }
    }

    /// <summary>
    /// Backpropagation through time in both directions, as the CPU's <c>BackwardBidirectional</c>: the output gradient
    /// split per direction, each direction's own parameter gradients, dx (+)= both directions' input gradients (the
    /// reverse one put back in time order) when <paramref name="dx"/> is not null.
    /// </summary>
    public static void Backward(DirectionBackward backward, int directionWorkspace, LayerContext gpu, int batch, int steps, int inputSize, int hidden,
        DevicePointer x, DevicePointer weightIh, DevicePointer weightHh, DevicePointer weightIhReverse, DevicePointer weightHhReverse,
        DevicePointer dHiddenStates, DevicePointer dLastHidden, DevicePointer workspace,
        DevicePointer dx, DevicePointer dWeightIh, DevicePointer dWeightHh, DevicePointer dBiasIh, DevicePointer dBiasHh,
        DevicePointer dWeightIhReverse, DevicePointer dWeightHhReverse, DevicePointer dBiasIhReverse, DevicePointer dBiasHhReverse,
        bool accumulateInputGradient, bool accumulateParameterGradients)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        var l = new Cpu.BidirectionalLayout(batch, steps, inputSize, hidden, directionWorkspace);
        int h = hidden;
        bool sequences = !dHiddenStates.IsNull, last = !dLastHidden.IsNull;
        DevicePointer dStatesF = workspace.Plus(l.ForwardStatesGradient), dStatesR = workspace.Plus(l.ReverseStatesGradient);
        DevicePointer dLastF = workspace.Plus(l.ForwardLast), dLastR = workspace.Plus(l.ReverseLast), dxRev = workspace.Plus(l.ReversedInputGradient);
        if (sequences)
        {
            Sequence.CopyGradient(gpu, batch, steps, h, 2 * h, 0, h, 0, dHiddenStates, dStatesF);
            Sequence.CopyGradient(gpu, batch, steps, h, 2 * h, h, h, 0, dHiddenStates, dStatesR, reverse: true);
        }
        if (last)
        {
            Sequence.CopyGradient(gpu, batch, 1, h, 2 * h, 0, h, 0, dLastHidden, dLastF);
            Sequence.CopyGradient(gpu, batch, 1, h, 2 * h, h, h, 0, dLastHidden, dLastR);
        }
        backward(gpu, batch, steps, inputSize, hidden, x, weightIh, weightHh, workspace.Plus(l.ForwardStates),
            sequences ? dStatesF : default, last ? dLastF : default, workspace,
            dx, dWeightIh, dWeightHh, dBiasIh, dBiasHh, accumulateInputGradient, accumulateParameterGradients);
        backward(gpu, batch, steps, inputSize, hidden, workspace.Plus(l.ReversedInput), weightIhReverse, weightHhReverse, workspace.Plus(l.ReverseStates),
            sequences ? dStatesR : default, last ? dLastR : default, workspace.Plus(l.ReverseWorkspace),
            dx.IsNull ? default : dxRev, dWeightIhReverse, dWeightHhReverse, dBiasIhReverse, dBiasHhReverse, false, accumulateParameterGradients);
        if (!dx.IsNull)
            Sequence.CopyGradient(gpu, batch, steps, inputSize, inputSize, 0, inputSize, 0, dxRev, dx, reverse: true, accumulate: true);
    }
}
