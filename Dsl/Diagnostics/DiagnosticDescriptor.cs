namespace ModelDsl.Diagnostics
{
    /// <summary>
    /// The stable identity of a diagnostic: its ID, severity and a one-line title.
    /// The message text of each occurrence is built in <see cref="DiagnosticBag"/>; the generator maps each
    /// descriptor to a Roslyn <c>DiagnosticDescriptor</c> with the same ID, title and severity.
    /// </summary>
    public sealed record DiagnosticDescriptor(string Id, DiagnosticSeverity Severity, string Title, string Category);
}
