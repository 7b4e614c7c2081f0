using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace ModelDsl.Shapes
{
    /// <summary>
    /// One tensor dimension: a positive integer coefficient times a product of symbolic dimensions
    /// (<c>784</c>, <c>B</c>, <c>B*T</c>, <c>4*B</c>). Symbolic dimensions such as batch size bind when the model is called.
    /// A known dimension also remembers how the user wrote it (<see cref="Label"/>, e.g. <c>d</c> or <c>4*d</c>),
    /// so messages can speak in the user's symbols: "it is d=128". Equality ignores the label.
    /// </summary>
    public sealed class Dim : IEquatable<Dim>
    {
        private static readonly string[] NoSymbols = new string[0];

        private Dim(long coefficient, string[] symbols, string? label)
        {
            Coefficient = coefficient;
            Symbols = symbols;
            Label = label;
        }

        /// <summary>The integer factor; for a known dimension, its value.</summary>
        public long Coefficient { get; }

        /// <summary>The symbolic factors, sorted ordinally, with repetition (<c>B*B</c> is two entries).</summary>
        public IReadOnlyList<string> Symbols { get; }

        /// <summary>The source expression a known dimension came from, when that differs from its value.</summary>
        public string? Label { get; }

        public bool IsKnown => Symbols.Count == 0;

        /// <summary>The value of a known dimension; throws for a symbolic one.</summary>
        public long Value => IsKnown ? Coefficient : throw new InvalidOperationException($"Dimension {this} is symbolic.");

        public static Dim Known(long value, string? label = null)
        {
            string text = value.ToString(CultureInfo.InvariantCulture);
            return new Dim(value, NoSymbols, label == text ? null : label);
        }

        public static Dim Symbol(string name) => new Dim(1, new[] { name }, null);

        public Dim WithLabel(string? label) => IsKnown ? Known(Coefficient, label) : this;

        public Dim Multiply(Dim other)
        {
            var symbols = Symbols.Concat(other.Symbols).OrderBy(s => s, StringComparer.Ordinal).ToArray();
            return new Dim(checked(Coefficient * other.Coefficient), symbols, null);
        }

        /// <summary>Divides exactly, cancelling symbols; false when the quotient is not a whole dimension.</summary>
        public bool TryDivide(Dim divisor, out Dim quotient)
        {
            quotient = this;
            if (divisor.Coefficient == 0 || Coefficient % divisor.Coefficient != 0) return false;
            var remaining = Symbols.ToList();
            foreach (var s in divisor.Symbols)
            {
                if (!remaining.Remove(s)) return false;
            }
            quotient = new Dim(Coefficient / divisor.Coefficient, remaining.ToArray(), null);
            return true;
        }

        public bool Equals(Dim? other) =>
            other is not null && Coefficient == other.Coefficient && Symbols.SequenceEqual(other.Symbols, StringComparer.Ordinal);

        public override bool Equals(object? obj) => obj is Dim other && Equals(other);

        public override int GetHashCode()
        {
            int hash = Coefficient.GetHashCode();
            foreach (var s in Symbols) hash = unchecked(hash * 31 + StringComparer.Ordinal.GetHashCode(s));
            return hash;
        }

        /// <summary>The dimension as an expression: <c>784</c>, <c>B</c>, <c>4*B*T</c>.</summary>
        public string ToExpression()
        {
            if (IsKnown) return Coefficient.ToString(CultureInfo.InvariantCulture);
            var parts = new List<string>();
            if (Coefficient != 1) parts.Add(Coefficient.ToString(CultureInfo.InvariantCulture));
            parts.AddRange(Symbols);
            return string.Join("*", parts);
        }

        /// <summary>As shown in messages: <c>d=128</c> for a labelled known dimension, otherwise <see cref="ToExpression"/>.</summary>
        public override string ToString() => Label is null ? ToExpression() : Label + "=" + ToExpression();
    }
}
