using System;
using System.Globalization;

namespace ModelDsl.Runtime;

/// <summary>
/// One operation of a model after blocks and repeats are expanded: its module path, op, resolved arguments,
/// output shape and the number of parameter elements it owns.
/// </summary>
public sealed class LayerDescription
{
    public LayerDescription(string path, string op, string attributes, string outputShape, long parameterCount, int line)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(op);
        ArgumentNullException.ThrowIfNull(attributes);
        ArgumentNullException.ThrowIfNull(outputShape);
        ArgumentOutOfRangeException.ThrowIfNegative(parameterCount);
        Path = path;
        Op = op;
        Attributes = attributes;
        OutputShape = outputShape;
        ParameterCount = parameterCount;
        Line = line;
    }

    /// <summary>The PyTorch-style module path that prefixes its parameters' names: <c>logits.0</c>, <c>h.2.a.1</c>.</summary>
    public string Path { get; }

    /// <summary>The op as the language spells it: <c>dense</c>, <c>conv2d</c>, <c>layer_norm</c>.</summary>
    public string Op { get; }

    /// <summary>The resolved arguments with defaults filled in, <c>units=256, bias=true</c>; empty when none.</summary>
    public string Attributes { get; }

    /// <summary>The output shape, <c>[B, 256]</c>.</summary>
    public string OutputShape { get; }

    /// <summary>Elements in the parameters this layer owns (a tied parameter counts at its owner only).</summary>
    public long ParameterCount { get; }

    /// <summary>One-based line of the call in the <c>.model</c> file (inside the block, for an expanded block).</summary>
    public int Line { get; }

    /// <summary><c>logits.0 = dense(units=256, bias=true) -> [B, 256]</c>.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Path} = {Op}({Attributes}) -> {OutputShape}");
}
