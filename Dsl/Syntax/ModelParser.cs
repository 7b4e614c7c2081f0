using ModelDsl.Diagnostics;
using ModelDsl.Text;

namespace ModelDsl.Syntax
{
    // PLACEHOLDER until the parser lands: replaced by the Sprache grammar.
    public static class ModelParser
    {
        public static ModelFileSyntax Parse(SourceText text, DiagnosticBag diagnostics) =>
            new ModelFileSyntax(new DeclarationSyntax[0], new TextSpan(0, text.Length));
    }
}
