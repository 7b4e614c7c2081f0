using System;
using Cpu = ModelDsl.Runtime.Cpu.Layers;

namespace ModelDsl.Cuda.Layers;

/// <summary>
/// gru(bidirectional=true) on the GPU: <c>ModelDsl.Runtime.Cpu.Layers.Gru.ForwardBidirectional</c> and
/// <c>BackwardBidirectional</c> with device pointers, by <see cref="BidirectionalRecurrence"/> (shared with lstm) around this
/// class's single-direction launchers, in one working memory of the CPU's layout and length (<c>Gru.BidirectionalWorkspaceSize</c>,
/// <see cref="Cpu.BidirectionalLayout"/>).
/// </summary>
public static partial class Gru
{
    private static readonly DirectionForward SingleForward = Forward;
    private static readonly DirectionBackward SingleBackward = Backward;

    /// <summary>Both directions into <paramref name="hiddenStates"/> (B, T, 2H) and, when not null, <paramref name="lastHidden"/> (B, 2H).</summary>
    public static void ForwardBidirectional(LayerContext gpu, int batch, int steps, int inputSize, int hidden,
        DevicePointer x, DevicePointer weightIh, DevicePointer weightHh, DevicePointer biasIh, DevicePointer biasHh,
        DevicePointer weightIhReverse, DevicePointer weightHhReverse, DevicePointer biasIhReverse, DevicePointer biasHhReverse,
        DevicePointer hiddenStates, DevicePointer lastHidden, DevicePointer workspace)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        Cpu.Gru.BidirectionalWorkspaceSize(batch, steps, inputSize, hidden); // the CPU's size checks
        BidirectionalRecurrence.Forward(SingleForward, Cpu.Gru.WorkspaceSize(batch, steps, hidden), gpu, batch, steps, inputSize, hidden,
            x, weightIh, weightHh, biasIh, biasHh, weightIhReverse, weightHhReverse, biasIhReverse, biasHhReverse, hiddenStates, lastHidden, workspace);
    }

    /// <summary>
    /// Backpropagation through time in both directions, as the CPU's <c>BackwardBidirectional</c>: the output gradient
    /// split per direction, each direction's own parameter gradients, dx (+)= both directions' input gradients (the
    /// reverse one put back in time order) when <paramref name="dx"/> is not null.
    /// </summary>
    public static void BackwardBidirectional(LayerContext gpu, int batch, int steps, int inputSize, int hidden,
        DevicePointer x, DevicePointer weightIh, DevicePointer weightHh, DevicePointer weightIhReverse, DevicePointer weightHhReverse,
        DevicePointer dHiddenStates, DevicePointer dLastHidden, DevicePointer workspace,
        DevicePointer dx, DevicePointer dWeightIh, DevicePointer dWeightHh, DevicePointer dBiasIh, DevicePointer dBiasHh,
        DevicePointer dWeightIhReverse, DevicePointer dWeightHhReverse, DevicePointer dBiasIhReverse, DevicePointer dBiasHhReverse,
        bool accumulateInputGradient = false, bool accumulateParameterGradients = false)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        Cpu.Gru.BidirectionalWorkspaceSize(batch, steps, inputSize, hidden); // the CPU's size checks
        BidirectionalRecurrence.Backward(SingleBackward, Cpu.Gru.WorkspaceSize(batch, steps, hidden), gpu, batch, steps, inputSize, hidden,
            x, weightIh, weightHh, weightIhReverse, weightHhReverse, dHiddenStates, dLastHidden, workspace,
            dx, dWeightIh, dWeightHh, dBiasIh, dBiasHh, dWeightIhReverse, dWeightHhReverse, dBiasIhReverse, dBiasHhReverse,
            accumulateInputGradient, accumulateParameterGradients);
    }
}
