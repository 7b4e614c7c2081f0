using System;
using System.Collections.Generic;
using ModelDsl.Diagnostics;
using ModelDsl.Text;
using Sprache;

namespace ModelDsl.Syntax
{
    /// <summary>What one parse shares: the text and the bag that recovering productions report into.</summary>
    internal sealed class ParseContext
    {
        public ParseContext(SourceText text, DiagnosticBag diagnostics)
        {
            Text = text;
            Diagnostics = diagnostics;
        }

        public SourceText Text { get; }
        public DiagnosticBag Diagnostics { get; }

        /// <summary>Where the last MDL0001 was reported: a second error at the same place is a cascade and is dropped.</summary>
        public int LastSyntaxErrorPosition { get; set; } = -1;

        /// <summary>Set once an unterminated <c>/*</c> has been reported: everything after it is comment, so nothing more is.</summary>
        public bool ReportedUnterminatedComment { get; set; }
    }

    /// <summary>
    /// Sprache input over a <see cref="SourceText"/>. Unlike <see cref="Input"/> it carries the
    /// <see cref="ParseContext"/> (so the recovering body parser can report and go on), jumps ahead in O(1) for
    /// hand-scanned lexemes, computes line/column only when asked, and keeps no memo table: <see cref="Parse.Ref{T}"/>
    /// memoises failures per input object and would throw when a backtracking branch revisits a position, so
    /// <see cref="Memos"/> hands out a fresh, empty dictionary each time (the grammar has no left recursion to detect).
    /// </summary>
    internal sealed class ParserInput : IInput
    {
        public ParserInput(ParseContext context, int position)
        {
            Context = context;
            Position = position;
        }

        public ParseContext Context { get; }
        public string Source => Context.Text.Text;
        public int Position { get; }
        public bool AtEnd => Position >= Source.Length;
        public char Current => Source[Position];
        public int Line => Context.Text.GetLinePosition(Position).Line + 1;
        public int Column => Context.Text.GetLinePosition(Position).Character + 1;
        public IDictionary<object, object> Memos => new Dictionary<object, object>();

        public IInput Advance()
        {
            if (AtEnd) throw new InvalidOperationException("The input is already at the end of the source.");
            return new ParserInput(Context, Position + 1);
        }

        public ParserInput AdvanceTo(int position) => position == Position ? this : new ParserInput(Context, position);

        public bool Equals(IInput? other) => other != null && ReferenceEquals(Source, other.Source) && Position == other.Position;
        public override bool Equals(object? obj) => obj is IInput other && Equals(other);
        public override int GetHashCode() => Position;
        public override string ToString() => $"Line {Line}, Column {Column}";

        /// <summary>Moves any Sprache input to <paramref name="position"/> (only forward).</summary>
        public static IInput MoveTo(IInput input, int position)
        {
            if (input is ParserInput own) return own.AdvanceTo(position);
            while (input.Position < position && !input.AtEnd) input = input.Advance();
            return input;
        }
    }
}
