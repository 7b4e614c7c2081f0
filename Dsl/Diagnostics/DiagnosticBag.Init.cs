using System.Collections.Generic;
using System.Linq;
using ModelDsl.Text;

namespace ModelDsl.Diagnostics
{
    // init statements and pretrained maps (MDL0121, MDL0122, MDL0216, MDL0217, MDL0320, MDL0321). Message text for these IDs lives only here.
    public sealed partial class DiagnosticBag
    {
        public void ReportUnknownInitializer(TextSpan span, string name, string? suggestion, IEnumerable<string> known) =>
            Report(DiagnosticCatalog.UnknownInitializer, span, $"'{name}' is not an initialiser{DidYouMean(suggestion)} (initialisers: {string.Join(", ", known)})");

        /// <param name="statement">"init", ...: the statement whose pattern this is.</param>
        /// <param name="parameters">The model's parameter names, for the message (the first few are listed).</param>
        public void ReportPatternMatchesNothing(TextSpan span, string statement, string pattern, string model, string? suggestion, IReadOnlyList<string> parameters)
        {
            const int Shown = 6;
            string list = string.Join(", ", parameters.Take(Shown)) + (parameters.Count > Shown ? $", … ({parameters.Count} in all)" : "");
            string hint = suggestion is not null ? $"; did you mean '{suggestion}'?" : parameters.Count > 0 ? $"; its parameters: {list}" : "; it has no parameters";
            Report(DiagnosticCatalog.PatternMatchesNothing, span, $"{statement} pattern '{pattern}' matches no parameter of model '{model}'{hint}");
        }

        public void ReportInitNeedsFans(TextSpan span, string initializer, string parameter, string shape) =>
            Report(DiagnosticCatalog.InitNeedsFans, span,
                $"{initializer} computes fan-in and fan-out from a parameter of rank 2 or more, but '{parameter}' is {shape}; narrow the pattern (e.g. '*.weight') or give biases zeros");

        public void ReportParameterMappedTwice(TextSpan span, string parameter, int firstLine) =>
            Report(DiagnosticCatalog.ParameterMappedTwice, span, $"'{parameter}' already has a source (line {firstLine}); each parameter comes from one map entry");

        public void ReportInvalidMapSource(TextSpan span, string problem) =>
            Report(DiagnosticCatalog.InvalidMapSource, span, problem);

        public void ReportMapRankMismatch(TextSpan span, string source, string parameter, string shape, string need) =>
            Report(DiagnosticCatalog.MapRankMismatch, span, $"{source} {need}, but '{parameter}' is {shape}");
    }
}
