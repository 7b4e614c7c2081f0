using System;
using System.Collections.Generic;
using System.Linq;
using ModelDsl.Text;
using Sprache;

namespace ModelDsl.Syntax
{
    /// <summary>
    /// Error recovery, so one pass reports every independent syntax error. A body (<c>{ statement* }</c>) and the
    /// file (<c>declaration*</c>) are read item by item; when an item fails, MDL0001 is reported at the token where it
    /// failed, and reading resumes at the next line that looks like the start of an item. Resumption counts
    /// <c>( [</c> so a broken multi-line call is skipped whole, and skips lines that continue the broken statement
    /// (<c>-&gt; dense(10)</c>), so one mistake gives one error.
    /// </summary>
    internal static class Recovery
    {
        private static readonly string[] DeclarationKeywords = { "config", "block", "model" };

        /// <summary>
        /// <c>{ item* }</c>. Fails (consuming nothing) only when there is no <c>{</c>; after it, it always succeeds:
        /// failed items are reported and replaced by <paramref name="errorNode"/> (or dropped when it is null), and a
        /// missing <c>}</c> is reported where the body ends. <paramref name="validate"/> checks each parsed item
        /// (<see cref="SyntaxLimits"/>) and returns it, its replacement, or null to drop it.
        /// </summary>
        public static Parser<(IReadOnlyList<T> Items, TextSpan Close)> Braced<T>(
            Parser<T> item, Func<TextSpan, T>? errorNode, Func<T, ParseContext, T?> validate)
            where T : class => i =>
        {
            var open = Lexical.Symbol('{')(i);
            if (!open.WasSuccessful) return Result.Failure<(IReadOnlyList<T>, TextSpan)>(open.Remainder, open.Message, open.Expectations);

            var context = ((ParserInput)i).Context;
            string s = i.Source;
            var items = new List<T>();
            int position = open.Remainder.Position;
            while (true)
            {
                position = SkipSeparators(s, position);
                if (position >= s.Length || Lexical.IsUnterminatedComment(s, position))
                {
                    ReportExpected(context, position, "'}'");
                    position = s.Length;
                    return Result.Success(((IReadOnlyList<T>)items, new TextSpan(position, 0)), ParserInput.MoveTo(i, position));
                }
                if (s[position] == '}')
                {
                    return Result.Success(((IReadOnlyList<T>)items, new TextSpan(position, 1)), ParserInput.MoveTo(i, position + 1));
                }
                if (DeclarationKeywords.Contains(WordAt(s, position)))
                {
                    // `model B {` inside a body: the `}` of this one is missing. End here so B is parsed as a declaration.
                    ReportExpected(context, position, "'}'");
                    return Result.Success(((IReadOnlyList<T>)items, new TextSpan(position, 0)), ParserInput.MoveTo(i, position));
                }

                var parsed = TryParse(item, context, position);
                if (parsed.WasSuccessful)
                {
                    var kept = validate(parsed.Value, context);
                    if (kept != null) items.Add(kept);
                    position = parsed.Remainder.Position;
                    continue;
                }

                int end = SkipAfterError(s, position, parsed.Remainder.Position, topLevel: false);
                if (errorNode != null) items.Add(errorNode(TrimEnd(s, position, end)));
                position = end;
            }
        };

        /// <summary><c>declaration*</c> to the end of the file, resuming after a broken one at the next line starting with <c>config</c>, <c>block</c> or <c>model</c>.</summary>
        public static IReadOnlyList<DeclarationSyntax> TopLevel(Parser<DeclarationSyntax> declaration, Func<DeclarationSyntax, ParseContext, DeclarationSyntax> validate, ParseContext context)
        {
            string s = context.Text.Text;
            var declarations = new List<DeclarationSyntax>();
            int position = 0;
            while (true)
            {
                position = SkipSeparators(s, position);
                if (position >= s.Length) return declarations;
                if (Lexical.IsUnterminatedComment(s, position))
                {
                    ReportExpected(context, position, "'config', 'block' or 'model'");
                    return declarations;
                }

                var parsed = TryParse(declaration, context, position);
                if (parsed.WasSuccessful)
                {
                    declarations.Add(validate(parsed.Value, context));
                    position = parsed.Remainder.Position;
                    continue;
                }
                position = SkipAfterError(s, position, parsed.Remainder.Position, topLevel: true);
            }
        }

        /// <summary>Parses one item; reports MDL0001 (or MDL0003 if the host's stack runs short) when it fails.</summary>
        private static IResult<T> TryParse<T>(Parser<T> item, ParseContext context, int position)
        {
            var input = new ParserInput(context, position);
            IResult<T> result;
            try
            {
                result = item(input);
            }
            catch (InsufficientExecutionStackException)
            {
                context.Diagnostics.ReportNestingTooDeep(Describe(context.Text.Text, position).Span, TextChecks.MaxNesting);
                return Result.Failure<T>(input, "stack", new string[0]);
            }
            catch (ParseException exception)
            {
                // Sprache's guard against left recursion; the grammar has none, but never let it escape.
                result = Result.Failure<T>(input, exception.Message, new string[0]);
            }

            if (!result.WasSuccessful)
            {
                ReportExpected(context, result.Remainder.Position, DescribeExpectations(result.Expectations));
            }
            else if (result.Remainder.Position <= position)
            {
                // Items always consume input; if one ever did not, fail rather than loop.
                ReportExpected(context, position, DescribeExpectations(new string[0]));
                return Result.Failure<T>(input, "no progress", new string[0]);
            }
            return result;
        }

        /// <summary>Reports MDL0001 at the token at or after <paramref name="position"/>, unless an error was already reported there (a cascade).</summary>
        private static void ReportExpected(ParseContext context, int position, string expected)
        {
            string s = context.Text.Text;
            int at = Lexical.SkipTrivia(s, position);
            if (at == context.LastSyntaxErrorPosition || context.ReportedUnterminatedComment) return;
            context.LastSyntaxErrorPosition = at;
            context.ReportedUnterminatedComment = Lexical.IsUnterminatedComment(s, at);
            var (found, span) = Describe(s, at);
            context.Diagnostics.ReportSyntaxError(span, found, expected);
        }

        /// <summary>The token at <paramref name="at"/> in words, and its span (at least one character; zero-length at the end).</summary>
        internal static (string Found, TextSpan Span) Describe(string s, int at)
        {
            if (at >= s.Length) return ("end of file", new TextSpan(s.Length, 0));
            int length = Lexical.ScanWord(s, at);
            if (length == 0) length = Lexical.ScanNumber(s, at);
            if (length > 0)
            {
                string text = s.Substring(at, length);
                if (text.Length > 40) text = text.Substring(0, 37) + "...";
                return ("'" + text + "'", new TextSpan(at, length));
            }
            if (string.CompareOrdinal(s, at, "/*", 0, 2) == 0) return ("'/*' (a comment that is never closed)", new TextSpan(at, 2));
            if (string.CompareOrdinal(s, at, "->", 0, 2) == 0) return ("'->'", new TextSpan(at, 2));
            if (char.IsHighSurrogate(s[at]) && at + 1 < s.Length) return ("'" + s.Substring(at, 2) + "'", new TextSpan(at, 2));
            return ("'" + s[at] + "'", new TextSpan(at, 1));
        }

        internal static string DescribeExpectations(IEnumerable<string> expectations)
        {
            var names = expectations.Where(e => !string.IsNullOrEmpty(e)).Distinct().ToList();
            if (names.Count == 0) return "a statement";
            if (names.Count == 1) return names[0];
            return string.Join(", ", names.Take(names.Count - 1)) + " or " + names[names.Count - 1];
        }

        /// <summary>
        /// Where to resume after an item that started at <paramref name="start"/> failed at <paramref name="error"/>:
        /// the first line start after the error that looks like a new item (see <see cref="IsResumePoint"/>), or,
        /// in a body, a <c>}</c> at or after the error. Comments are skipped whole.
        /// </summary>
        private static int SkipAfterError(string s, int start, int error, bool topLevel)
        {
            int depth = 0, braces = 0;
            int p = start;
            while (p < s.Length)
            {
                char c = s[p];
                if (c == '/' && p + 1 < s.Length && s[p + 1] == '/')
                {
                    while (p < s.Length && s[p] != '\n' && s[p] != '\r') p++;
                    continue;
                }
                if (c == '/' && p + 1 < s.Length && s[p + 1] == '*')
                {
                    int close = s.IndexOf("*/", p + 2, StringComparison.Ordinal);
                    p = close < 0 ? s.Length : close + 2;
                    continue;
                }
                // In a body, braces the broken statement opened (a pretrained map's) are skipped whole.
                if (!topLevel && c == '{') braces++;
                else if (!topLevel && c == '}' && braces > 0) braces--;
                else if (!topLevel && c == '}' && p >= error) return p;
                if (c == '(' || c == '[') depth++;
                else if (c == ')' || c == ']') depth--;
                else if (c == '\n' || c == '\r')
                {
                    int next = p + 1;
                    if (c == '\r' && next < s.Length && s[next] == '\n') next++;
                    if (next > error && braces == 0 && IsResumePoint(s, next, depth, topLevel)) return next;
                    p = next;
                    continue;
                }
                p++;
            }
            return s.Length;
        }

        /// <summary>
        /// A line that starts a declaration; in a body also one that starts a statement keyword, a <c>}</c>, or
        /// <c>name =</c> outside open brackets (inside them it is more likely a named argument of the broken call).
        /// </summary>
        private static bool IsResumePoint(string s, int lineStart, int depth, bool topLevel)
        {
            int q = lineStart;
            while (q < s.Length && (s[q] == ' ' || s[q] == '\t')) q++;
            if (q >= s.Length) return true;
            string word = WordAt(s, q);
            if (DeclarationKeywords.Contains(word)) return true;
            if (topLevel) return false;
            if (s[q] == '}' || StatementGrammar.StartsStatement(word)) return true;
            if (depth > 0 || word.Length == 0 || Lexical.Keywords.Contains(word)) return false;
            int r = q + word.Length;
            while (r < s.Length && (s[r] == ' ' || s[r] == '\t')) r++;
            return r < s.Length && s[r] == '=';
        }

        private static string WordAt(string s, int position)
        {
            int length = Lexical.ScanWord(s, position);
            return length == 0 ? "" : s.Substring(position, length);
        }

        private static int SkipSeparators(string s, int position)
        {
            while (true)
            {
                position = Lexical.SkipTrivia(s, position);
                if (position < s.Length && s[position] == ';') position++;
                else return position;
            }
        }

        private static TextSpan TrimEnd(string s, int start, int end)
        {
            while (end > start && char.IsWhiteSpace(s[end - 1])) end--;
            return TextSpan.FromBounds(start, Math.Max(start, end));
        }
    }
}
