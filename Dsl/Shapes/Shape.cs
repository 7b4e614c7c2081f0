using System;
using System.Collections.Generic;
using System.Linq;

namespace ModelDsl.Shapes
{
    /// <summary>The element type of a tensor.</summary>
    public enum DType
    {
        F32,
        I32,
    }

    public static class DTypeNames
    {
        public static string ToSource(this DType dtype) => dtype == DType.F32 ? "f32" : "i32";

        public static bool TryParse(string text, out DType dtype)
        {
            switch (text)
            {
                case "f32": dtype = DType.F32; return true;
                case "i32": dtype = DType.I32; return true;
                default: dtype = DType.F32; return false;
            }
        }
    }

    /// <summary>A tensor shape over known and symbolic dimensions, e.g. <c>[B, T, d=128]</c>.</summary>
    public sealed class Shape : IEquatable<Shape>
    {
        public Shape(IReadOnlyList<Dim> dims) => Dims = dims;

        public Shape(params Dim[] dims) => Dims = dims;

        public IReadOnlyList<Dim> Dims { get; }
        public int Rank => Dims.Count;
        public Dim this[int axis] => Dims[axis < 0 ? Dims.Count + axis : axis];
        public Dim Last => Dims[Dims.Count - 1];

        /// <summary>True when no dimension is symbolic (every parameter shape is fully known).</summary>
        public bool IsKnown => Dims.All(d => d.IsKnown);

        /// <summary>The number of elements as a dimension expression (<c>B*784</c>).</summary>
        public Dim ElementCount() => Dims.Aggregate(Dim.Known(1), (acc, d) => acc.Multiply(d));

        /// <summary>The number of elements of a fully known shape.</summary>
        public long KnownElementCount() => Dims.Aggregate(1L, (acc, d) => checked(acc * d.Value));

        public Shape WithLast(Dim last) => new Shape(Dims.Take(Dims.Count - 1).Concat(new[] { last }).ToArray());

        public bool Equals(Shape? other) => other is not null && Dims.SequenceEqual(other.Dims);
        public override bool Equals(object? obj) => obj is Shape other && Equals(other);
        public override int GetHashCode() => Dims.Aggregate(Rank, (h, d) => unchecked(h * 31 + d.GetHashCode()));

        /// <summary><c>[B, 784]</c>, with labels (<c>[B, T, d=128]</c>) so messages use the user's symbols.</summary>
        public override string ToString() => "[" + string.Join(", ", Dims.Select(d => d.ToString())) + "]";

        /// <summary><c>[B, 784]</c> without labels: the form used in generated code and summaries.</summary>
        public string ToExpression() => "[" + string.Join(", ", Dims.Select(d => d.ToExpression())) + "]";
    }
}
