using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace ModelDsl.Runtime;

/// <summary>A trainable tensor: <c>logits.0.weight [256, 784]</c>, its initialiser and where it is defined.</summary>
public sealed class ParameterDescription
{
    private readonly long[] _shape;

    public ParameterDescription(string name, long[] shape, string init, int line)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(init);
        Name = name;
        _shape = (long[])shape.Clone();
        Init = init;
        Line = line;
        Count = _shape.Aggregate(1L, (count, dim) => checked(count * dim));
    }

    /// <summary>The full name, <c>{layer path}.{role}</c>: <c>logits.0.weight</c>.</summary>
    public string Name { get; }

    /// <summary>The shape; dense weights use PyTorch's <c>[out, in]</c> layout.</summary>
    public IReadOnlyList<long> Shape => _shape;

    /// <summary>How the parameter is initialised: <c>KaimingUniform</c>, <c>XavierUniform</c>, <c>Normal002</c>, <c>Zeros</c>, ...</summary>
    public string Init { get; }

    /// <summary>One-based line of the layer that defines it in the <c>.model</c> file.</summary>
    public int Line { get; }

    /// <summary>The number of elements.</summary>
    public long Count { get; }

    /// <summary><c>logits.0.weight [256, 784]</c>.</summary>
    public override string ToString() =>
        Name + " [" + string.Join(", ", _shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + "]";
}
