using System.Collections.Generic;
using ModelDsl.IR;
using ModelDsl.Shapes;
using ModelDsl.Text;

namespace ModelDsl.Binding
{
    /// <summary>
    /// What an expression evaluates to while binding: a constant, a symbolic dimension, a tensor, a tuple or list,
    /// a reference to a layer parameter, or <see cref="ErrorValue"/> (an earlier failure; never reported again).
    /// </summary>
    internal abstract class Value
    {
        public abstract string KindName { get; }
    }

    /// <summary>A value whose definition failed. It propagates silently so one mistake gives one diagnostic.</summary>
    internal sealed class ErrorValue : Value
    {
        public static readonly ErrorValue Instance = new ErrorValue();
        private ErrorValue() { }
        public override string KindName => "error";
    }

    /// <summary>An integer constant; <see cref="Label"/> is how the user wrote it (<c>d</c>, <c>4*d</c>).</summary>
    internal sealed class IntValue : Value
    {
        public IntValue(long value, string? label) { Integer = value; Label = label; }
        public long Integer { get; }
        public string? Label { get; }
        public Dim ToDim() => Dim.Known(Integer, Label);
        public override string KindName => "an integer";
    }

    internal sealed class RealValue : Value
    {
        public RealValue(double value) => Real = value;
        public double Real { get; }
        public override string KindName => "a real number";
    }

    internal sealed class BoolValue : Value
    {
        public BoolValue(bool value) => Boolean = value;
        public bool Boolean { get; }
        public override string KindName => "a boolean";
    }

    /// <summary><c>"same"</c>: a string constant, for arguments that take one of a few words.</summary>
    internal sealed class StringValue : Value
    {
        public StringValue(string value) => Text = value;
        public string Text { get; }
        public override string KindName => "the string \"" + Text + "\"";
    }

    /// <summary>A dimension expression over symbolic dimensions (<c>B</c>, <c>B*T</c>), usable in lists.</summary>
    internal sealed class DimValue : Value
    {
        public DimValue(Dim dim) => Dim = dim;
        public Dim Dim { get; }
        public override string KindName => "a symbolic dimension";
    }

    internal sealed class TupleValue : Value
    {
        public TupleValue(IReadOnlyList<Value> elements, IReadOnlyList<TextSpan> spans) { Elements = elements; Spans = spans; }
        public IReadOnlyList<Value> Elements { get; }
        public IReadOnlyList<TextSpan> Spans { get; }
        public override string KindName => "a tuple";
    }

    internal sealed class ListValue : Value
    {
        public ListValue(IReadOnlyList<Value> elements, IReadOnlyList<TextSpan> spans) { Elements = elements; Spans = spans; }
        public IReadOnlyList<Value> Elements { get; }
        public IReadOnlyList<TextSpan> Spans { get; }
        public override string KindName => "a list";
    }

    /// <summary>A tensor flowing through the graph; <see cref="IsLabel"/> for a label (usable only by the loss).</summary>
    internal sealed class TensorRef : Value
    {
        public TensorRef(TensorValue tensor, bool isLabel) { Tensor = tensor; IsLabel = isLabel; }
        public TensorValue Tensor { get; }
        public bool IsLabel { get; }
        public override string KindName => "a tensor";
    }

    /// <summary><c>tok.weight</c>: an existing parameter, for weight tying.</summary>
    internal sealed class ParamRefValue : Value
    {
        public ParamRefValue(ParameterInfo parameter) => Parameter = parameter;
        public ParameterInfo Parameter { get; }
        public override string KindName => "a layer parameter";
    }
}
