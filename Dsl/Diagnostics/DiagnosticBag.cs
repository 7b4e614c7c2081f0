using System.Collections;
using System.Collections.Generic;
using System.Linq;
using ModelDsl.Text;

namespace ModelDsl.Diagnostics
{
    /// <summary>
    /// Collects diagnostics while a file is parsed and checked. There is one <c>ReportXxx</c> method per
    /// situation and the message text lives only in those methods (minsk's DiagnosticBag). The methods are
    /// split by stage over partial files: DiagnosticBag.Syntax.cs, .Names.cs, .Structure.cs, .Shapes.cs.
    /// </summary>
    public sealed partial class DiagnosticBag : IEnumerable<Diagnostic>
    {
        private readonly List<Diagnostic> _diagnostics = new List<Diagnostic>();

        public int Count => _diagnostics.Count;
        public bool HasErrors => _diagnostics.Any(d => d.IsError);

        public void AddRange(IEnumerable<Diagnostic> diagnostics) => _diagnostics.AddRange(diagnostics);

        public void Report(DiagnosticDescriptor descriptor, TextSpan span, string message) =>
            _diagnostics.Add(new Diagnostic(descriptor, span, message));

        /// <summary>The diagnostics in source order (then by ID), with exact duplicates removed.</summary>
        public IReadOnlyList<Diagnostic> ToSortedList() =>
            _diagnostics
                .Distinct()
                .OrderBy(d => d.Span.Start)
                .ThenBy(d => d.Id, System.StringComparer.Ordinal)
                .ThenBy(d => d.Message, System.StringComparer.Ordinal)
                .ToList();

        public IEnumerator<Diagnostic> GetEnumerator() => _diagnostics.GetEnumerator();
        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
