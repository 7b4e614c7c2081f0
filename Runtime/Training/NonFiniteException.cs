using System;

namespace ModelDsl.Runtime;

/// <summary>Where a <see cref="NonFiniteException"/> found its NaN or infinity.</summary>
public enum NonFiniteSource
{
    /// <summary>An input tensor given to Forward, Predict, TrainStep, ComputeGradients or Evaluate.</summary>
    Input,
    /// <summary>A float label (regression or binary target) given to TrainStep, ComputeGradients or Evaluate.</summary>
    Target,
    /// <summary>The batch's mean loss, computed from finite inputs and parameters.</summary>
    Loss,
    /// <summary>A parameter's gradient, after the backward pass and before the optimizer.</summary>
    Gradient,
    /// <summary>The optimizer update would make a parameter or its optimizer state non-finite (for example a learning rate of 1e38).</summary>
    Update,
    /// <summary>A parameter value (before Save or ExportOnnx, or written from outside the model).</summary>
    Parameter,
    /// <summary>An intermediate value of the forward or backward pass, found by the per-kernel debug re-run.</summary>
    Kernel,
}

/// <summary>
/// A NaN or infinity where the model cannot continue: a bad input or target, a loss or gradient that overflowed, or an
/// update that would overflow. Thrown by the generated model before anything is changed: when <c>TrainStep</c> throws it,
/// the parameters, optimizer state and <c>Step</c> are exactly as they were before the call (docs/training.md,
/// "Non-finite values"). The message names the model method, the step, what was non-finite and where
/// (<c>input 'x' row 3, column 17</c>; <c>gradient of 'logits.0.weight' (fashion_mlp.model:12) element 5</c>).
/// </summary>
public sealed class NonFiniteException : ArithmeticException
{
    public NonFiniteException(string message, NonFiniteSource source, string name, long index, int step, float value, string? location = null)
        : base(message)
    {
        Source = source;
        Name = name;
        Index = index;
        Step = step;
        Value = value;
        Location = location;
    }

    /// <summary>What was non-finite: an input, a target, the loss, a gradient, an update or a parameter.</summary>
    public new NonFiniteSource Source { get; }

    /// <summary>The input, label, parameter or buffer name (<c>x</c>, <c>logits.0.weight</c>); <c>loss</c> for the loss.</summary>
    public string Name { get; }

    /// <summary>The flat index of the first non-finite element; -1 when not an element (the loss).</summary>
    public long Index { get; }

    /// <summary>
    /// The optimizer step the call would have taken (the model's <c>Step</c> + 1) for training calls; the model's
    /// current <c>Step</c> for Forward, Predict, Evaluate, Save and ExportOnnx.
    /// </summary>
    public int Step { get; }

    /// <summary>The offending value: NaN, +∞ or −∞ (for <see cref="NonFiniteSource.Update"/>, the value the update would have written).</summary>
    public float Value { get; }

    /// <summary>The .model line (<c>fashion_mlp.model:12</c>) of the parameter or op, where known.</summary>
    public string? Location { get; }
}
