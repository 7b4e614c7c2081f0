using System;

namespace ModelDsl.Runtime;

/// <summary>
/// Layer state that is not trained (PyTorch's registered buffers): batch_norm's <c>running_mean</c> and
/// <c>running_var</c> (f32 tensors), and its <c>num_batches_tracked</c> (an int64 scalar counter, <see cref="IsCounter"/>).
/// Training-mode forward passes update it; inference reads it. It has no gradient and no optimizer state, is never in a
/// model's <c>Parameters</c>, and is saved, loaded (<see cref="Safetensors"/>, under the PyTorch state_dict names) and
/// exported to ONNX with them. The generated model exposes one property per state and the list <c>States</c>.
/// </summary>
public sealed class StateBuffer
{
    private readonly int[] _shape;

    /// <summary>An f32 state of <paramref name="shape"/> whose elements start at <paramref name="initial"/>.</summary>
    /// <param name="name">The full name, <c>bn.running_mean</c>; checkpoints match states by it.</param>
    /// <param name="shape">The shape (copied); every dim positive.</param>
    /// <param name="initial">The value every element starts at and returns to on <see cref="Reset"/>.</param>
    /// <param name="source">Where it is defined, <c>resnet.model:12</c>, for error messages.</param>
    public StateBuffer(string name, int[] shape, float initial, string source)
        : this(name, shape, initial, source, isCounter: false)
    {
    }

    private StateBuffer(string name, int[] shape, float initial, string source, bool isCounter)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(source);
        long length = Shapes.Product(shape, $"State '{name}'");
        if (length > Array.MaxLength)
            throw new ArgumentException($"State '{name}' ({source}): shape {Shapes.Format(shape)} has {length} elements, more than an array can hold.", nameof(shape));
        Name = name;
        _shape = (int[])shape.Clone();
        Source = source;
        Initial = initial;
        IsCounter = isCounter;
        Length = length;
        Value = isCounter ? [] : new float[length];
        Reset();
    }

    /// <summary>An int64 scalar counter (shape [], saved as I64 like PyTorch's <c>num_batches_tracked</c>), starting at 0.</summary>
    public static StateBuffer Counter(string name, string source) => new StateBuffer(name, [], 0f, source, isCounter: true);

    public string Name { get; }

    /// <summary>The shape array itself (not a copy): read it, do not write it. A counter's is empty (a scalar).</summary>
    public int[] Shape => _shape;

    public long Length { get; }

    public string Source { get; }

    /// <summary>The value <see cref="Reset"/> gives every element: 0 for a mean, 1 for a variance.</summary>
    public float Initial { get; }

    /// <summary>True for an int64 scalar counter (<see cref="Count"/>); false for an f32 tensor (<see cref="Value"/>).</summary>
    public bool IsCounter { get; }

    /// <summary>The values of an f32 state; empty for a counter.</summary>
    public float[] Value { get; }

    /// <summary>A counter's value (PyTorch's <c>num_batches_tracked</c>); 0 for an f32 state.</summary>
    public long Count { get; set; }

    /// <summary>Back to the start: every element <see cref="Initial"/>, a counter 0.</summary>
    public void Reset()
    {
        Array.Fill(Value, Initial);
        Count = 0;
    }

    public override string ToString() => IsCounter ? $"{Name} = {Count} (i64 counter)" : $"{Name} {Shapes.Format(_shape)}";
}
