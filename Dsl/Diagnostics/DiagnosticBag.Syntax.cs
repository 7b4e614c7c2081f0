using System.Globalization;
using ModelDsl.Text;

namespace ModelDsl.Diagnostics
{
    // MDL0001-MDL0006: the text could not be read as a .model file (TextChecks and the parser report these).
    public sealed partial class DiagnosticBag
    {
        /// <summary>MDL0001. <paramref name="found"/> is already quoted ("')'") or "end of file"; <paramref name="expected"/> is plain words.</summary>
        public void ReportSyntaxError(TextSpan span, string found, string expected) =>
            Report(DiagnosticCatalog.SyntaxError, span, $"unexpected {found}; expected {expected}");

        /// <summary>MDL0002: an integer that does not fit in 64 bits, or a real that overflows to infinity.</summary>
        public void ReportInvalidNumber(TextSpan span, string text, bool isInteger) =>
            Report(DiagnosticCatalog.InvalidNumber, span, isInteger
                ? $"integer literal '{Shorten(text)}' does not fit in 64 bits"
                : $"real literal '{Shorten(text)}' is too large: it is not a finite number");

        /// <summary>MDL0003 for brackets: <c>( [ {</c> together nested deeper than <paramref name="limit"/>.</summary>
        public void ReportNestingTooDeep(TextSpan span, int limit) =>
            Report(DiagnosticCatalog.NestingTooDeep, span, $"brackets are nested more than {limit} levels deep");

        /// <summary>MDL0003 for operators: an expression whose tree is deeper than <paramref name="limit"/> (e.g. a 100,000-term sum).</summary>
        public void ReportExpressionTooDeep(TextSpan span, int limit) =>
            Report(DiagnosticCatalog.NestingTooDeep, span, $"expression is nested more than {limit} levels deep; split it into several bindings");

        /// <summary>MDL0004: the first character that cannot appear in a UTF-8 text file (NUL, U+FFFD, control characters, lone surrogates).</summary>
        public void ReportInvalidText(TextSpan span, char character, LinePosition position) =>
            Report(DiagnosticCatalog.InvalidText, span,
                $"file is not valid UTF-8 text: character U+{((int)character).ToString("X4", CultureInfo.InvariantCulture)} at line {position.Line + 1}, column {position.Character + 1}");

        /// <summary>MDL0005</summary>
        public void ReportFileTooLarge(TextSpan span, long bytes, long limit) =>
            Report(DiagnosticCatalog.FileTooLarge, span,
                $"file is too large: {bytes.ToString("N0", CultureInfo.InvariantCulture)} bytes; the limit is {limit.ToString("N0", CultureInfo.InvariantCulture)} bytes (1 MiB)");

        /// <summary>MDL0006 (warning): the file parsed but has no <c>model</c> declaration, so nothing is generated.</summary>
        public void ReportNoModel(TextSpan span) =>
            Report(DiagnosticCatalog.NoModel, span, "file declares no model, so no class is generated; add 'model Name { ... }'");

        private static string Shorten(string text) => text.Length <= 40 ? text : text.Substring(0, 37) + "...";
    }
}
