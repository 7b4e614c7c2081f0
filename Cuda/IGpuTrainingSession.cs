using System;
using System.Collections.Generic;
using ModelDsl.Runtime;

namespace ModelDsl.Cuda;

/// <summary>
/// What a generated GPU session that trains (<c>{Model}.Gpu</c> of a model with a loss and an optimizer) offers beside its
/// typed <c>TrainStep</c>/<c>ComputeGradients</c>: its model, its device arenas and the optimizer step. Data-parallel
/// training on several GPUs (<see cref="Distributed.GpuDataParallel"/>) works through it, between the session's own
/// <c>ComputeGradients</c> and <see cref="ApplyGradients"/>, as the CPU's <c>DataParallel</c> works through
/// <see cref="ITrainableModel"/>.
/// </summary>
/// <remarks>
/// Every parameter lives in one device arena (<see cref="ParameterValues"/>, at the offsets of
/// <c>Dsl/Emit/Cuda/ParameterArena.cs</c>), its gradient and optimizer state at the same offsets of arenas of the same
/// length: one contiguous buffer each, so a whole model's gradients are all-reduced in one call.
/// </remarks>
public interface IGpuTrainingSession : IDisposable
{
    /// <summary>The model whose parameters the session trains (the host copy: checkpoints, step, learning rate, dropout stream).</summary>
    ITrainableModel Model { get; }

    /// <summary>The device the session runs on.</summary>
    GpuContext Context { get; }

    /// <summary>Every parameter's values, in one arena (alignment padding between them is zero).</summary>
    DeviceVariable ParameterValues { get; }

    /// <summary>Every parameter's gradient, at the offsets of <see cref="ParameterValues"/> in an arena of the same length.</summary>
    DeviceVariable ParameterGradients { get; }

    /// <summary>The optimizer's state arenas (none, one for SGD's velocity, two for Adam's moments), each as long as <see cref="ParameterValues"/>.</summary>
    IReadOnlyList<DeviceVariable> OptimizerState { get; }

    /// <summary>One optimizer step with the gradients in <see cref="ParameterGradients"/>.</summary>
    void ApplyGradients();

    /// <summary>Copies parameters, gradients and optimizer state from the device into <see cref="Model"/>'s parameters.</summary>
    void CopyToHost();

    /// <summary>Copies <see cref="Model"/>'s parameters and optimizer state to the device.</summary>
    void CopyFromHost();

    /// <summary>Tells the session its device values were written behind its back (a broadcast), so its checks re-measure them.</summary>
    void ParametersChanged();
}
