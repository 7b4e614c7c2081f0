using ModelDsl.Diagnostics;

namespace ModelDsl.Text
{
    // PLACEHOLDER until the parser lands.
    public static class TextChecks
    {
        public static bool Check(SourceText text, DiagnosticBag diagnostics) => true;
    }
}
