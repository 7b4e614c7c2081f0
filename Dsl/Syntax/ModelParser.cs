using System.Linq;
using ModelDsl.Diagnostics;
using ModelDsl.Text;

namespace ModelDsl.Syntax
{
    /// <summary>
    /// Parses a <c>.model</c> file into a <see cref="ModelFileSyntax"/>, reporting every independent syntax error
    /// (MDL0001-MDL0003, MDL0006). Never throws on bad input; run <see cref="TextChecks"/> first, which bounds the
    /// bracket nesting the recursive grammar relies on.
    /// <para>The grammar lives in <see cref="Lexical"/> (tokens), <see cref="ExpressionGrammar"/>,
    /// <see cref="StatementGrammar"/> and <see cref="DeclarationGrammar"/>; <see cref="Recovery"/> reads bodies and
    /// the file item by item so a broken one is reported and skipped; <see cref="SyntaxLimits"/> checks numbers and depth.</para>
    /// </summary>
    public static class ModelParser
    {
        public static ModelFileSyntax Parse(SourceText text, DiagnosticBag diagnostics)
        {
            var context = new ParseContext(text, diagnostics);
            var declarations = Recovery.TopLevel(DeclarationGrammar.Declaration, DeclarationGrammar.Validate, context);

            if (context.LastSyntaxErrorPosition < 0 && !declarations.OfType<ModelSyntax>().Any())
            {
                diagnostics.ReportNoModel(new TextSpan(0, 0));
            }
            return new ModelFileSyntax(declarations, new TextSpan(0, text.Length));
        }
    }
}
