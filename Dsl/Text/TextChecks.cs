using ModelDsl.Diagnostics;

namespace ModelDsl.Text
{
    /// <summary>
    /// Cheap linear checks that run before the parser and make it safe on any input: the size limit, that the
    /// text is text, and the bracket nesting limit. The Sprache grammar recurses once per bracket level, so
    /// without the nesting check a file of 100,000 <c>(</c> would overflow the stack, which kills the process
    /// (a <see cref="System.StackOverflowException"/> cannot be caught). Returns false when the file must not be parsed.
    /// </summary>
    public static class TextChecks
    {
        /// <summary>The largest file accepted, in UTF-8 bytes.</summary>
        public const int MaxFileBytes = 1024 * 1024;

        /// <summary>The deepest bracket nesting accepted, counting <c>( [ {</c> together.</summary>
        public const int MaxNesting = 64;

        public static bool Check(SourceText text, DiagnosticBag diagnostics) =>
            CheckSize(text, diagnostics) && CheckCharacters(text, diagnostics) && CheckNesting(text, diagnostics);

        private static bool CheckSize(SourceText text, DiagnosticBag diagnostics)
        {
            string s = text.Text;
            if (s.Length <= MaxFileBytes / 3) return true; // at most 3 UTF-8 bytes per UTF-16 char
            long bytes = 0;
            int firstOver = -1;
            for (int i = 0; i < s.Length; i++)
            {
                char c = s[i];
                if (c < 0x80) bytes += 1;
                else if (c < 0x800) bytes += 2;
                else if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { bytes += 4; i++; }
                else bytes += 3;
                if (firstOver < 0 && bytes > MaxFileBytes) firstOver = i;
            }
            if (firstOver < 0) return true;
            diagnostics.ReportFileTooLarge(new TextSpan(0, 0), bytes, MaxFileBytes);
            return false;
        }

        private static bool CheckCharacters(SourceText text, DiagnosticBag diagnostics)
        {
            string s = text.Text;
            for (int i = 0; i < s.Length; i++)
            {
                char c = s[i];
                bool bad;
                if (c == '\t' || c == '\r' || c == '\n') bad = false;
                else if (c == '\uFEFF') bad = i != 0; // a byte order mark is fine at the start only
                else if (char.IsHighSurrogate(c))
                {
                    bad = !(i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]));
                    if (!bad) { i++; continue; }
                }
                else bad = char.IsControl(c) || c == '\uFFFD' || char.IsLowSurrogate(c);

                if (bad)
                {
                    diagnostics.ReportInvalidText(new TextSpan(i, 1), c, text.GetLinePosition(i));
                    return false;
                }
            }
            return true;
        }

        private static bool CheckNesting(SourceText text, DiagnosticBag diagnostics)
        {
            string s = text.Text;
            int depth = 0;
            for (int i = 0; i < s.Length; i++)
            {
                char c = s[i];
                if (c == '/' && i + 1 < s.Length && s[i + 1] == '/')
                {
                    while (i < s.Length && s[i] != '\n' && s[i] != '\r') i++;
                }
                else if (c == '/' && i + 1 < s.Length && s[i + 1] == '*')
                {
                    int close = s.IndexOf("*/", i + 2, System.StringComparison.Ordinal);
                    i = close < 0 ? s.Length : close + 1;
                }
                else if (c == '(' || c == '[' || c == '{')
                {
                    if (++depth > MaxNesting)
                    {
                        diagnostics.ReportNestingTooDeep(new TextSpan(i, 1), MaxNesting);
                        return false;
                    }
                }
                else if ((c == ')' || c == ']' || c == '}') && depth > 0)
                {
                    depth--;
                }
            }
            return true;
        }
    }
}
