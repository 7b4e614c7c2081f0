using System;
using System.Threading;

namespace ModelDsl.Runtime;

/// <summary>
/// A trainable parameter: weights, their gradient, and up to two optimizer state buffers (SGD velocity; Adam m
/// and v). The generated model exposes one property per parameter; every buffer is allocated once, never per step.
/// </summary>
public sealed class Parameter
{
    private readonly int[] _shape;
    private float[] _state1 = [];
    private float[] _state2 = [];

    /// <param name="name">The full name, <c>logits.0.weight</c>; checkpoints match parameters by it.</param>
    /// <param name="shape">The shape (copied); every dim positive.</param>
    /// <param name="source">Where it is defined, <c>fashion_mlp.model:13</c>, for error messages.</param>
    public Parameter(string name, int[] shape, string source)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(source);
        long length = Shapes.Product(shape, $"Parameter '{name}'");
        if (length > Array.MaxLength)
            throw new ArgumentException($"Parameter '{name}' ({source}): shape {Shapes.Format(shape)} has {length} elements, more than an array can hold.", nameof(shape));
        Name = name;
        _shape = (int[])shape.Clone();
        Source = source;
        Length = length;
        Value = new float[length];
        Gradient = new float[length];
    }

    public string Name { get; }

    /// <summary>The shape array itself (not a copy): read it, do not write it.</summary>
    public int[] Shape => _shape;

    public long Length { get; }

    public string Source { get; }

    /// <summary>The weights.</summary>
    /// <remarks>
    /// Code that writes these values itself (not through the generated <c>Initialize</c>, <c>ApplyGradients</c>,
    /// <c>TrainStep</c>, <c>Load</c> or the GPU model's <c>CopyToHost</c>, which do it for you) must call
    /// <see cref="MarkChanged"/> afterwards: the CPU forward multiplies by a copy of the weights packed for its matrix
    /// kernel (<see cref="Cpu.Sgemm"/>), made once per <see cref="Version"/>, and would go on using the old values.
    /// </remarks>
    public float[] Value { get; }

    private long _version;

    /// <summary>
    /// Counts changes of <see cref="Value"/>: bumped by <see cref="MarkChanged"/>. Copies derived from the weights
    /// (the packed matrix the CPU forward multiplies by) are valid for one version.
    /// </summary>
    public long Version => Volatile.Read(ref _version);

    /// <summary>
    /// Records that <see cref="Value"/> changed, so copies derived from it (the packed weights of the CPU forward) are
    /// rebuilt before their next use. The optimizer step, <c>Initialize</c>, <c>Load</c> and <c>CopyToHost</c> call it;
    /// call it after writing <see cref="Value"/> from your own code.
    /// </summary>
    public void MarkChanged() => Interlocked.Increment(ref _version);

    /// <summary>The packed copy of <see cref="Value"/> the CPU forward multiplies by (owned by <see cref="Cpu.Sgemm"/>).</summary>
    internal Cpu.Sgemm.PackedMatrix? Packed;

    /// <summary>Same length as <see cref="Value"/>; written (or accumulated) by backward.</summary>
    public float[] Gradient { get; }

    /// <summary>First optimizer state buffer (momentum velocity, Adam m); empty until <see cref="EnsureState"/> asks for it.</summary>
    public float[] State1 => _state1;

    /// <summary>Second optimizer state buffer (Adam v); empty until <see cref="EnsureState"/> asks for two.</summary>
    public float[] State2 => _state2;

    /// <summary>How many state buffers are allocated: 0, 1 or 2.</summary>
    public int StateCount => _state2.Length != 0 ? 2 : _state1.Length != 0 ? 1 : 0;

    /// <summary>
    /// Allocates zeroed state buffers so at least <paramref name="count"/> (0..2) exist; existing ones are kept
    /// as they are. Cheap to call every step: it allocates only the first time.
    /// </summary>
    public void EnsureState(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, 2);
        if (count >= 1 && _state1.Length == 0) _state1 = new float[Length];
        if (count >= 2 && _state2.Length == 0) _state2 = new float[Length];
    }

    /// <summary>Zeroes the gradient (before a backward pass that accumulates).</summary>
    public void ZeroGradient() => Array.Clear(Gradient);

    /// <summary><c>logits.0.weight [256, 784] (fashion_mlp.model:13)</c>.</summary>
    public override string ToString() => $"{Name} {Shapes.Format(_shape)} ({Source})";
}
