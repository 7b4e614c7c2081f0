using System.Collections.Generic;
using ModelDsl.Diagnostics;
using ModelDsl.IR;
using ModelDsl.Syntax;
using ModelDsl.Text;

namespace ModelDsl.Binding
{
    // PLACEHOLDER until the binder lands.
    public static class Binder
    {
        public static IReadOnlyList<ModelGraph> Bind(ModelFileSyntax syntax, SourceText text, DiagnosticBag diagnostics) => new ModelGraph[0];
    }
}
