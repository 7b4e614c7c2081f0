using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ModelDsl.Text;
using Sprache;

namespace ModelDsl.Syntax
{
    /// <summary>
    /// Tokens: trivia (whitespace and comments), names, keywords, numbers and punctuation.
    /// Conventions the other grammar files rely on:
    /// <list type="bullet">
    /// <item>A token skips the trivia <em>before</em> it, never after, so a node's span ends at its last token.</item>
    /// <item>A token that fails consumes nothing, even the trivia it skipped, so <c>XOr</c>/<c>XMany</c>/<c>XOptional</c>
    /// treat "not this token" as "nothing consumed" and may try the next branch. The error reporter skips the
    /// trivia again to point at the offending token.</item>
    /// <item>Tokens return their <see cref="TextSpan"/>; productions build node spans from their first and last token.</item>
    /// </list>
    /// Trivia, words and numbers are scanned by hand over the string (a 1 MiB file goes through them a million
    /// times); everything above them is ordinary Sprache.
    /// </summary>
    internal static class Lexical
    {
        public static readonly HashSet<string> Keywords = new HashSet<string>(StringComparer.Ordinal)
        {
            "config", "block", "model", "input", "label", "output", "loss", "optimizer", "return", "repeat", "true", "false",
        };

        /// <summary>The current position, consuming nothing.</summary>
        public static readonly Parser<int> Position = i => Result.Success(i.Position, i);

        /// <summary>Whitespace, <c>// line</c> and <c>/* block */</c> comments. An unterminated <c>/*</c> is not trivia: the next token fails on it.</summary>
        public static readonly Parser<int> Trivia = i => Result.Success(i.Position, ParserInput.MoveTo(i, SkipTrivia(i.Source, i.Position)));

        /// <summary>
        /// The lexeme <paramref name="parser"/> after optional trivia. Shadows Sprache's <c>Token()</c> (which knows only
        /// whitespace) for the grammar files in this namespace. On failure nothing is consumed.
        /// </summary>
        public static Parser<T> Token<T>(this Parser<T> parser) =>
            (from trivia in Trivia
             from item in parser
             select item).Atomic();

        /// <summary>
        /// Zero or more <paramref name="parser"/>; an item that fails after consuming input fails the whole, at that
        /// item's failure (the error lands on the bad token). Like Sprache's <c>XMany</c>, except that one runs the
        /// failing item a second time, which doubles the work per nested list: exponential on <c>f(g(h(...</c> left open.
        /// </summary>
        public static Parser<IEnumerable<T>> Repeated<T>(this Parser<T> parser) => i =>
        {
            var items = new List<T>();
            IInput rest = i;
            while (true)
            {
                var result = parser(rest);
                if (!result.WasSuccessful)
                {
                    return result.Remainder.Equals(rest)
                        ? Result.Success<IEnumerable<T>>(items, rest)
                        : Result.Failure<IEnumerable<T>>(result.Remainder, result.Message, result.Expectations);
                }
                if (result.Remainder.Equals(rest)) return Result.Success<IEnumerable<T>>(items, rest);
                items.Add(result.Value);
                rest = result.Remainder;
            }
        };

        /// <summary>Runs <paramref name="parser"/>; if it fails, reports the failure where it started, as if nothing had been consumed (a bounded backtrack).</summary>
        public static Parser<T> Atomic<T>(this Parser<T> parser) => i =>
        {
            var result = parser(i);
            return result.WasSuccessful ? result : Result.Failure<T>(i, result.Message, result.Expectations);
        };

        /// <summary>A name that is not a keyword: <c>hidden</c>, <c>dense</c>, <c>f32</c>.</summary>
        public static readonly Parser<Identifier> Identifier = Lexeme((s, p) =>
        {
            int length = ScanWord(s, p);
            return length > 0 && !Keywords.Contains(s.Substring(p, length)) ? length : 0;
        }, "name", (s, span) => new Identifier(s.Substring(span.Start, span.Length), span));

        // Keyword and Symbol are called inside LINQ queries, whose later `from` clauses run on every parse:
        // the parsers are built once per keyword/character and reused.
        private static readonly Dictionary<string, Parser<TextSpan>> KeywordParsers = new Dictionary<string, Parser<TextSpan>>();
        private static readonly Dictionary<char, Parser<TextSpan>> SymbolParsers = new Dictionary<char, Parser<TextSpan>>();

        /// <summary>A keyword token, returning its span.</summary>
        public static Parser<TextSpan> Keyword(string keyword)
        {
            lock (KeywordParsers)
            {
                if (!KeywordParsers.TryGetValue(keyword, out var parser))
                {
                    parser = Lexeme((s, p) =>
                    {
                        int length = ScanWord(s, p);
                        return length == keyword.Length && string.CompareOrdinal(s, p, keyword, 0, length) == 0 ? length : 0;
                    }, "'" + keyword + "'");
                    KeywordParsers.Add(keyword, parser);
                }
                return parser;
            }
        }

        /// <summary>A one-character punctuation token such as <c>(</c> or <c>=</c>, returning its span.</summary>
        public static Parser<TextSpan> Symbol(char symbol)
        {
            lock (SymbolParsers)
            {
                if (!SymbolParsers.TryGetValue(symbol, out var parser))
                {
                    parser = Lexeme((s, p) => p < s.Length && s[p] == symbol ? 1 : 0, "'" + symbol + "'");
                    SymbolParsers.Add(symbol, parser);
                }
                return parser;
            }
        }

        /// <summary>The chain arrow <c>-&gt;</c>.</summary>
        public static readonly Parser<TextSpan> Arrow =
            Lexeme((s, p) => p + 1 < s.Length && s[p] == '-' && s[p + 1] == '>' ? 2 : 0, "'->'");

        /// <summary><c>-</c> that does not begin <c>-&gt;</c>.</summary>
        public static readonly Parser<TextSpan> Minus =
            Lexeme((s, p) => p < s.Length && s[p] == '-' && !(p + 1 < s.Length && s[p + 1] == '>') ? 1 : 0, "'-'");

        /// <summary><c>/</c> that does not begin a comment (a complete comment is trivia already; this leaves an unterminated <c>/*</c> to the error reporter).</summary>
        public static readonly Parser<TextSpan> Slash =
            Lexeme((s, p) => p < s.Length && s[p] == '/' && !(p + 1 < s.Length && s[p + 1] == '*') ? 1 : 0, "'/'");

        /// <summary>
        /// A punctuation or keyword token matched by <paramref name="scan"/> after trivia. Hand-written rather than
        /// composed: these are tried (and fail) several times per expression, and a composed token costs a dozen
        /// allocations and a formatted message per failure. Behaves like <c>Parse.Char(c).Named(name).Token()</c>.
        /// </summary>
        private static Parser<TextSpan> Lexeme(Func<string, int, int> scan, string expected) =>
            Lexeme(scan, expected, (s, span) => span);

        private static Parser<T> Lexeme<T>(Func<string, int, int> scan, string expected, Func<string, TextSpan, T> make)
        {
            var expectations = new[] { expected };
            return i =>
            {
                string s = i.Source;
                int start = SkipTrivia(s, i.Position);
                int length = start < s.Length ? scan(s, start) : 0;
                return length > 0
                    ? Result.Success(make(s, new TextSpan(start, length)), ParserInput.MoveTo(i, start + length))
                    : Result.Failure<T>(i, "unexpected token", expectations);
            };
        }

        /// <summary>
        /// A parameter-name pattern: <c>h.*.weight</c>, <c>*.bias</c>, <c>fc1.weight</c> (name characters, <c>.</c> and
        /// <c>*</c>; <c>*</c> stands for any run of characters, dots included). Used by <c>init</c>.
        /// </summary>
        public static readonly Parser<NamePattern> NamePattern =
            Lexeme(ScanPattern, "parameter name pattern", (s, span) => new NamePattern(s.Substring(span.Start, span.Length), span));

        /// <summary>
        /// A name in a pretrained map: <c>encoder.layer.{i}.attention.self.query.weight</c> (name characters, <c>.</c>, and
        /// <c>{capture}</c>s). Starts with a name character or <c>{</c>, so the block's closing <c>}</c> is not one.
        /// </summary>
        public static readonly Parser<NamePattern> MapName =
            Lexeme(ScanMapName, "checkpoint name", (s, span) => new NamePattern(s.Substring(span.Start, span.Length), span));

        /// <summary>The arrow <c>&lt;-</c> of a pretrained map entry.</summary>
        public static readonly Parser<TextSpan> LeftArrow =
            Lexeme((s, p) => p + 1 < s.Length && s[p] == '<' && s[p + 1] == '-' ? 2 : 0, "'<-'");

        /// <summary><c>256</c>, <c>0.1</c>, <c>1e-3</c>, <c>3.0E+2</c>. Out-of-range values are kept (as infinity if need be) and reported by <see cref="SyntaxLimits"/>.</summary>
        public static readonly Parser<NumberSyntax> Number =
            Lexeme(ScanNumber, "number", (s, span) => MakeNumber(s.Substring(span.Start, span.Length), span));

        /// <summary>
        /// <c>"same"</c>: a string argument value, closed on its line, no escapes (the values ops take are plain words).
        /// An unclosed <c>"</c> is not a string: the error lands on it.
        /// </summary>
        public static readonly Parser<StringSyntax> String =
            Lexeme(ScanString, "string", (s, span) => new StringSyntax(s.Substring(span.Start + 1, span.Length - 2), span));

        // ---- hand scanners ---------------------------------------------------------------------------------

        public static bool IsWordStart(char c) => c == '_' || char.IsLetter(c);
        public static bool IsWordPart(char c) => c == '_' || char.IsLetterOrDigit(c);
        private static bool IsDigit(char c) => c >= '0' && c <= '9';

        public static int ScanWord(string s, int start)
        {
            if (start >= s.Length || !IsWordStart(s[start])) return 0;
            int p = start + 1;
            while (p < s.Length && IsWordPart(s[p])) p++;
            return p - start;
        }

        public static int ScanPattern(string s, int start)
        {
            int p = start;
            while (p < s.Length && (IsWordPart(s[p]) || s[p] == '.' || s[p] == '*')) p++;
            return p - start;
        }

        public static int ScanMapName(string s, int start)
        {
            if (start >= s.Length || !(IsWordStart(s[start]) || s[start] == '{')) return 0;
            int p = start;
            while (p < s.Length && (IsWordPart(s[p]) || s[p] == '.' || s[p] == '{' || s[p] == '}')) p++;
            return p - start;
        }

        public static int ScanString(string s, int start)
        {
            if (start >= s.Length || s[start] != '"') return 0;
            int p = start + 1;
            while (p < s.Length && s[p] != '"' && s[p] != '\n' && s[p] != '\r') p++;
            return p < s.Length && s[p] == '"' ? p + 1 - start : 0;
        }

        public static int ScanNumber(string s, int start)
        {
            int p = start;
            while (p < s.Length && IsDigit(s[p])) p++;
            if (p == start) return 0;
            if (p + 1 < s.Length && s[p] == '.' && IsDigit(s[p + 1]))
            {
                p += 2;
                while (p < s.Length && IsDigit(s[p])) p++;
            }
            if (p < s.Length && (s[p] == 'e' || s[p] == 'E'))
            {
                int q = p + 1;
                if (q < s.Length && (s[q] == '+' || s[q] == '-')) q++;
                if (q < s.Length && IsDigit(s[q]))
                {
                    while (q < s.Length && IsDigit(s[q])) q++;
                    p = q;
                }
            }
            return p - start;
        }

        /// <summary>True at a <c>/*</c> that has no <c>*/</c>: the rest of the file is a comment, and one error says so.</summary>
        public static bool IsUnterminatedComment(string s, int position) =>
            position + 1 < s.Length && s[position] == '/' && s[position + 1] == '*' && s.IndexOf("*/", position + 2, StringComparison.Ordinal) < 0;

        /// <summary>The position after any whitespace and complete comments from <paramref name="position"/>.</summary>
        public static int SkipTrivia(string s, int position)
        {
            int p = position;
            while (p < s.Length)
            {
                char c = s[p];
                if (char.IsWhiteSpace(c) || (c == '\uFEFF' && p == 0)) p++;
                else if (c == '/' && p + 1 < s.Length && s[p + 1] == '/')
                {
                    while (p < s.Length && s[p] != '\n' && s[p] != '\r') p++;
                }
                else if (c == '/' && p + 1 < s.Length && s[p + 1] == '*')
                {
                    int close = s.IndexOf("*/", p + 2, StringComparison.Ordinal);
                    if (close < 0) break; // unterminated: leave it for the error reporter
                    p = close + 2;
                }
                else break;
            }
            return p;
        }

        private static NumberSyntax MakeNumber(string text, TextSpan span)
        {
            bool isInteger = text.All(c => c >= '0' && c <= '9');
            double value;
            if (isInteger && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long integer))
            {
                value = integer;
            }
            else
            {
                try
                {
                    value = double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
                }
                catch (OverflowException)
                {
                    value = double.PositiveInfinity; // .NET Framework throws where .NET Core returns infinity
                }
            }
            return new NumberSyntax(text, value, isInteger, span);
        }
    }
}
