using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace ModelDsl.IR
{
    /// <summary>A resolved, constant op attribute: an integer, a real, a boolean, a list of integers or a word (<c>"tanh"</c>).</summary>
    public sealed class AttributeValue : IEquatable<AttributeValue>
    {
        private AttributeValue(long? integer, double? real, bool? boolean, IReadOnlyList<long>? integers, string? word = null)
        {
            Word = word;
            Integer = integer;
            Real = real;
            Boolean = boolean;
            Integers = integers;
        }

        public long? Integer { get; }
        public double? Real { get; }
        public bool? Boolean { get; }
        public IReadOnlyList<long>? Integers { get; }

        /// <summary>A word argument (<c>approximate="tanh"</c>), without its quotes.</summary>
        public string? Word { get; }

        public static AttributeValue Of(long value) => new AttributeValue(value, null, null, null);
        public static AttributeValue Of(double value) => new AttributeValue(null, value, null, null);
        public static AttributeValue Of(bool value) => new AttributeValue(null, null, value, null);
        public static AttributeValue Of(IReadOnlyList<long> values) => new AttributeValue(null, null, null, values);
        public static AttributeValue OfWord(string word) => new AttributeValue(null, null, null, null, word);

        public long AsInteger => Integer ?? throw new InvalidOperationException("Attribute is not an integer.");
        public double AsReal => Real ?? Integer ?? throw new InvalidOperationException("Attribute is not a number.");
        public bool AsBoolean => Boolean ?? throw new InvalidOperationException("Attribute is not a boolean.");

        public bool Equals(AttributeValue? other) =>
            other is not null && Integer == other.Integer && Real.Equals(other.Real) && Boolean == other.Boolean && Word == other.Word &&
            (Integers is null ? other.Integers is null : other.Integers is not null && Integers.SequenceEqual(other.Integers));

        public override bool Equals(object? obj) => obj is AttributeValue other && Equals(other);
        public override int GetHashCode() => ToString().GetHashCode();

        /// <summary>Invariant-culture text, as it would be written in a .model file.</summary>
        public override string ToString()
        {
            if (Integer is long i) return i.ToString(CultureInfo.InvariantCulture);
            if (Real is double r) return r.ToString("R", CultureInfo.InvariantCulture);
            if (Boolean is bool b) return b ? "true" : "false";
            if (Word is string w) return "\"" + w + "\"";
            return "[" + string.Join(", ", Integers!.Select(v => v.ToString(CultureInfo.InvariantCulture))) + "]";
        }
    }
}
