using System;
using System.Collections.Generic;

namespace ModelDsl.Text
{
    /// <summary>A zero-based line and character position; printed one-based, as compilers do.</summary>
    public readonly struct LinePosition : IEquatable<LinePosition>
    {
        public LinePosition(int line, int character)
        {
            Line = line;
            Character = character;
        }

        public int Line { get; }
        public int Character { get; }

        public bool Equals(LinePosition other) => Line == other.Line && Character == other.Character;
        public override bool Equals(object? obj) => obj is LinePosition other && Equals(other);
        public override int GetHashCode() => unchecked(Line * 397 ^ Character);
        public override string ToString() => $"({Line + 1},{Character + 1})";
    }

    /// <summary>The text of one <c>.model</c> file with its path and a line map for reporting positions.</summary>
    public sealed class SourceText
    {
        private readonly int[] _lineStarts;

        public SourceText(string path, string text)
        {
            Path = path ?? "";
            Text = text ?? "";
            _lineStarts = ComputeLineStarts(Text);
        }

        public string Path { get; }
        public string Text { get; }
        public int Length => Text.Length;
        public int LineCount => _lineStarts.Length;

        public LinePosition GetLinePosition(int position)
        {
            position = Math.Max(0, Math.Min(position, Text.Length));
            int index = Array.BinarySearch(_lineStarts, position);
            int line = index >= 0 ? index : ~index - 1;
            return new LinePosition(line, position - _lineStarts[line]);
        }

        /// <summary>The text of a (zero-based) line without its line break.</summary>
        public string GetLineText(int line)
        {
            int start = _lineStarts[line];
            int end = line + 1 < _lineStarts.Length ? _lineStarts[line + 1] : Text.Length;
            while (end > start && (Text[end - 1] == '\n' || Text[end - 1] == '\r')) end--;
            return Text.Substring(start, end - start);
        }

        public string ToString(TextSpan span)
        {
            int start = Math.Max(0, Math.Min(span.Start, Text.Length));
            int end = Math.Max(start, Math.Min(span.End, Text.Length));
            return Text.Substring(start, end - start);
        }

        private static int[] ComputeLineStarts(string text)
        {
            var starts = new List<int> { 0 };
            for (int i = 0; i < text.Length; i++)
            {
                char c = text[i];
                if (c == '\r')
                {
                    if (i + 1 < text.Length && text[i + 1] == '\n') i++;
                    starts.Add(i + 1);
                }
                else if (c == '\n')
                {
                    starts.Add(i + 1);
                }
            }
            return starts.ToArray();
        }
    }
}
