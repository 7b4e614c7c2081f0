using System.Collections.Generic;
using System.Linq;
using ModelDsl.Diagnostics;
using ModelDsl.IR;
using ModelDsl.Shapes;
using ModelDsl.Syntax;
using ModelDsl.Text;

namespace ModelDsl.Binding
{
    /// <summary>
    /// The checker's entry point: evaluates the config constants, collects the blocks, then binds each model
    /// (<see cref="ModelBinder"/>). A model with any error is left out of the result; the others still return.
    /// </summary>
    public static class Binder
    {
        public static IReadOnlyList<ModelGraph> Bind(ModelFileSyntax syntax, SourceText text, DiagnosticBag diagnostics) =>
            Bind(syntax, text, diagnostics, new SuggestionBudget());

        /// <summary>Binds with a given "did you mean" budget (tests measure the work through it).</summary>
        internal static IReadOnlyList<ModelGraph> Bind(ModelFileSyntax syntax, SourceText text, DiagnosticBag diagnostics, SuggestionBudget suggestions)
        {
            var declarations = syntax?.Declarations?.Where(d => d is not null).ToList() ?? new List<DeclarationSyntax>();
            var constants = new Scope(null);
            var blocks = new Dictionary<string, BlockSyntax>();
            var file = new FileContext(text, constants, blocks, suggestions);
            var models = new List<ModelSyntax>();
            var topNames = new Dictionary<string, TextSpan>();

            foreach (var declaration in declarations)
            {
                var name = declaration switch
                {
                    BlockSyntax b => b.Name,
                    ModelSyntax m => m.Name,
                    _ => null,
                };
                if (name is null || string.IsNullOrEmpty(name.Text)) continue;
                if (topNames.TryGetValue(name.Text, out var first))
                {
                    diagnostics.ReportDuplicateModel(name.Span, name.Text, file.Line(first));
                    continue;
                }
                topNames[name.Text] = name.Span;
                if (declaration is BlockSyntax block)
                {
                    blocks[name.Text] = block;
                    CheckBlockStructure(block, diagnostics, file);
                }
                else models.Add((ModelSyntax)declaration);
            }

            var evaluator = new ModelBinder(file, diagnostics, null);
            foreach (var config in declarations.OfType<ConfigSyntax>())
            {
                foreach (var entry in config.Entries ?? new ConfigEntrySyntax[0])
                {
                    if (entry?.Name is null || string.IsNullOrEmpty(entry.Name.Text) || entry.Value is null) continue;
                    var value = evaluator.EvaluateConstant(entry.Value, constants);
                    if (value is IntValue i) value = new IntValue(i.Integer, entry.Name.Text);
                    if (!constants.TryDeclare(new Symbol(entry.Name.Text, SymbolKind.Constant, value, entry.Name.Span), out var existing))
                    {
                        diagnostics.ReportDuplicateName(entry.Name.Span, entry.Name.Text, file.Line(existing.Span));
                    }
                }
            }

            var result = new List<ModelGraph>();
            foreach (var model in models)
            {
                var graph = new ModelBinder(file, diagnostics, model).BindModel();
                if (graph is not null) result.Add(graph);
            }
            return result;
        }

        /// <summary>
        /// A tensor parameter's type (<c>mask: i32[B, T]</c>), checked once per block: a known element type (MDL0207), no
        /// default (MDL0326), and each dimension a single name (a constant or untyped parameter gives its value, any
        /// other name is a symbol bound by the first argument that has it) or arithmetic over constants and the block's
        /// untyped parameters (MDL0326 otherwise). The arguments are checked against it at each use (MDL0322).
        /// </summary>
        private static void CheckTensorParameters(BlockSyntax block, DiagnosticBag diagnostics, FileContext file)
        {
            var parameters = (block.Parameters ?? new BlockParameterSyntax[0]).Where(p => p?.Name is not null).ToList();
            var constants = new HashSet<string>(parameters.Skip(1).Where(p => p.Type is null).Select(p => p.Name.Text));
            foreach (var p in parameters)
            {
                if (p.Type is null) continue;
                if (p.Default is not null)
                    diagnostics.ReportInvalidTensorParameter(p.Default.Span, block.Name.Text, p.Name.Text, "a tensor parameter takes no default (the caller passes the tensor)");
                if (p.Type.DType is not null && !DTypeNames.TryParse(p.Type.DType.Text, out _)) diagnostics.ReportUnknownDType(p.Type.DType.Span, p.Type.DType.Text);
                foreach (var dim in p.Type.Dimensions ?? new ExpressionSyntax[0])
                {
                    if (dim is null || dim is NameSyntax) continue;
                    var unknown = Names(dim).FirstOrDefault(n => !constants.Contains(n) && file.Constants.Lookup(n) is null);
                    if (unknown is not null)
                        diagnostics.ReportInvalidTensorParameter(dim.Span, block.Name.Text, p.Name.Text,
                            $"a dimension is a number, a single name (a constant, or a symbol like T) or arithmetic over constants, but '{file.Compact(dim.Span)}' computes with the symbol {unknown}");
                }
            }
        }

        /// <summary>The names an expression mentions.</summary>
        internal static IEnumerable<string> Names(ExpressionSyntax? expression)
        {
            switch (expression)
            {
                case NameSyntax n when n.Name is not null:
                    yield return n.Name.Text;
                    break;
                case BinarySyntax b:
                    foreach (var name in Names(b.Left).Concat(Names(b.Right))) yield return name;
                    break;
                case NegateSyntax neg:
                    foreach (var name in Names(neg.Operand)) yield return name;
                    break;
            }
        }

        /// <summary>Checked once per block, not per use: statements a block may not hold, and exactly one return.</summary>
        private static void CheckBlockStructure(BlockSyntax block, DiagnosticBag diagnostics, FileContext file)
        {
            var parameterNames = new Dictionary<string, TextSpan>();
            foreach (var p in block.Parameters ?? new BlockParameterSyntax[0])
            {
                if (p?.Name is null || string.IsNullOrEmpty(p.Name.Text)) continue;
                if (parameterNames.TryGetValue(p.Name.Text, out var first)) diagnostics.ReportDuplicateName(p.Name.Span, p.Name.Text, file.Line(first));
                else parameterNames[p.Name.Text] = p.Name.Span;
            }
            CheckTensorParameters(block, diagnostics, file);
            TextSpan? firstReturn = null;
            foreach (var statement in block.Body ?? new StatementSyntax[0])
            {
                switch (statement)
                {
                    case InputSyntax s: diagnostics.ReportStatementNotAllowed(s.Span, s.IsLabel ? "label" : "input", "a block (a block's input is its first parameter)"); break;
                    case OutputSyntax s: diagnostics.ReportStatementNotAllowed(s.Span, "output", "a block (use 'return')"); break;
                    case LossSyntax s: diagnostics.ReportStatementNotAllowed(s.Span, "loss", "a block"); break;
                    case OptimizerSyntax s: diagnostics.ReportStatementNotAllowed(s.Span, "optimizer", "a block"); break;
                    case PretrainedSyntax s: diagnostics.ReportStatementNotAllowed(s.Span, "pretrained", "a block (write it in the model)"); break;
                    case InitSyntax s: diagnostics.ReportStatementNotAllowed(s.Span, "init", "a block (write it in the model, with a pattern over the block's parameter names)"); break;
                    case ControlSyntax s: diagnostics.ReportStatementNotAllowed(s.Span, s.Word.Text, "a block (training controls belong to the model, next to its optimizer)"); break;
                    case PrecisionSyntax s: diagnostics.ReportStatementNotAllowed(s.Span, "precision", "a block (the precision is the model's, written in the model)"); break;
                    case FreezeSyntax s: diagnostics.ReportStatementNotAllowed(s.Span, "freeze", "a block (write it in the model, with a pattern over the block's parameter names)"); break;
                    case RecomputeSyntax s: diagnostics.ReportStatementNotAllowed(s.Span, "recompute", "a block (write it in the model: 'recompute " + block.Name.Text + "')"); break;
                    case GroupSyntax s: diagnostics.ReportStatementNotAllowed(s.Span, "group", "a block (write it in the model, with a pattern over the block's parameter names)"); break;
                    case ReturnSyntax r:
                        if (firstReturn is TextSpan f) diagnostics.ReportDuplicateDeclaration(r.Span, "return", file.Line(f));
                        else firstReturn = r.Span;
                        break;
                }
            }
            if (firstReturn is null) diagnostics.ReportMissingReturn(block.Name.Span, block.Name.Text);
        }
    }
}
