using System;

namespace ModelDsl.Text
{
    /// <summary>A range of characters in a <see cref="SourceText"/>: where a node or a diagnostic is.</summary>
    public readonly struct TextSpan : IEquatable<TextSpan>
    {
        public TextSpan(int start, int length)
        {
            Start = start;
            Length = length < 0 ? 0 : length;
        }

        public int Start { get; }
        public int Length { get; }
        public int End => Start + Length;

        public static TextSpan FromBounds(int start, int end) => new TextSpan(start, end - start);

        /// <summary>The smallest span covering both.</summary>
        public TextSpan Cover(TextSpan other) => FromBounds(Math.Min(Start, other.Start), Math.Max(End, other.End));

        public bool Equals(TextSpan other) => Start == other.Start && Length == other.Length;
        public override bool Equals(object? obj) => obj is TextSpan other && Equals(other);
        public override int GetHashCode() => unchecked(Start * 397 ^ Length);
        public static bool operator ==(TextSpan left, TextSpan right) => left.Equals(right);
        public static bool operator !=(TextSpan left, TextSpan right) => !left.Equals(right);
        public override string ToString() => $"[{Start}..{End})";
    }
}
