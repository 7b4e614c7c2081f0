using System.Collections.Generic;
using System.Linq;
using ModelDsl.Binding;
using ModelDsl.Diagnostics;
using ModelDsl.IR;
using ModelDsl.Syntax;
using ModelDsl.Text;

namespace ModelDsl
{
    /// <summary>
    /// Runs the front end over one <c>.model</c> file: text checks, parse (with recovery), bind and shape-check.
    /// Every stage reports into one bag so a single pass shows all independent errors. Never throws on bad input.
    /// </summary>
    public static class Compilation
    {
        public static CompilationResult Compile(SourceText text)
        {
            var diagnostics = new DiagnosticBag();
            if (!TextChecks.Check(text, diagnostics))
            {
                return new CompilationResult(text, null, new ModelGraph[0], diagnostics.ToSortedList());
            }

            ModelFileSyntax syntax = ModelParser.Parse(text, diagnostics);
            // A model the back end could not build (sizes past 32-bit indexing, too many kernels) is reported here, at
            // its .model line, and left out, so `check` and the build agree.
            IReadOnlyList<ModelGraph> models = Binder.Bind(syntax, text, diagnostics)
                .Where(model => Analysis.BuildLimits.Check(model, diagnostics))
                .ToList();
            return new CompilationResult(text, syntax, models, diagnostics.ToSortedList());
        }

        public static CompilationResult Compile(string path, string text) => Compile(new SourceText(path, text));
    }

    public sealed class CompilationResult
    {
        public CompilationResult(SourceText text, ModelFileSyntax? syntax, IReadOnlyList<ModelGraph> models, IReadOnlyList<Diagnostic> diagnostics)
        {
            Text = text;
            Syntax = syntax;
            Models = models;
            Diagnostics = diagnostics;
        }

        public SourceText Text { get; }
        public ModelFileSyntax? Syntax { get; }

        /// <summary>The models that checked without errors (a model with an error is left out, the others stay).</summary>
        public IReadOnlyList<ModelGraph> Models { get; }

        public IReadOnlyList<Diagnostic> Diagnostics { get; }
        public bool HasErrors => Diagnostics.Any(d => d.IsError);
    }
}
