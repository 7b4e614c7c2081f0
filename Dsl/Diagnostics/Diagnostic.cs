using ModelDsl.Text;

namespace ModelDsl.Diagnostics
{
    public enum DiagnosticSeverity
    {
        Warning,
        Error,
    }

    /// <summary>One problem found in a <c>.model</c> file: which rule (<see cref="Descriptor"/>), where, and the message.</summary>
    public sealed record Diagnostic(DiagnosticDescriptor Descriptor, TextSpan Span, string Message)
    {
        public string Id => Descriptor.Id;
        public DiagnosticSeverity Severity => Descriptor.Severity;
        public bool IsError => Descriptor.Severity == DiagnosticSeverity.Error;

        /// <summary>Formats the diagnostic the way csc and msbuild print theirs: <c>path(line,col): error MDL0007: message</c>.</summary>
        public string Format(SourceText text)
        {
            var start = text.GetLinePosition(Span.Start);
            string severity = Severity == DiagnosticSeverity.Error ? "error" : "warning";
            return $"{text.Path}({start.Line + 1},{start.Character + 1}): {severity} {Id}: {Message}";
        }

        public override string ToString() => $"{Id} {Span}: {Message}";
    }
}
