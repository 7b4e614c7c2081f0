using System;
using System.Collections.Generic;

namespace ModelDsl.Runtime;

/// <summary>An input, label or output of a model, as declared: <c>x: f32[B, 784]</c>.</summary>
public sealed class TensorDescription
{
    public TensorDescription(string name, string dtype, string[] dims, int line)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(dtype);
        ArgumentNullException.ThrowIfNull(dims);
        Name = name;
        DType = dtype;
        Dims = (string[])dims.Clone();
        Line = line;
    }

    public string Name { get; }

    /// <summary>The element type as the language writes it: <c>f32</c> or <c>i32</c>.</summary>
    public string DType { get; }

    /// <summary>Each dimension as an expression: a number (<c>784</c>) or symbolic (<c>B</c>, <c>B*T</c>).</summary>
    public IReadOnlyList<string> Dims { get; }

    /// <summary>One-based line of the declaration in the <c>.model</c> file.</summary>
    public int Line { get; }

    /// <summary>The shape, <c>[B, 784]</c>.</summary>
    public string Shape => "[" + string.Join(", ", Dims) + "]";

    /// <summary><c>x: f32[B, 784]</c>.</summary>
    public override string ToString() => Name + ": " + DType + Shape;
}
