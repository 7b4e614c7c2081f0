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
    /// Binds one model: statements in source order, expressions (ModelBinder.Expressions.cs), calls and ops
    /// (.Calls.cs), block expansion (.Blocks.cs), inputs (.Inputs.cs), loss and optimizer (.Training.cs), init (.Init.cs), pretrained (.Pretrained.cs).
    /// Failures become <see cref="ErrorValue"/>s that propagate silently, so independent errors all show.
    /// </summary>
    internal sealed partial class ModelBinder
    {
        public const int MaxOps = 100_000;
        private const int MaxDepth = 64;

        private readonly FileContext _file;
        private readonly ModelSyntax? _model;
        private readonly List<OpNode> _nodes = new List<OpNode>();
        private readonly List<ParameterInfo> _parameters = new List<ParameterInfo>();
        private readonly Dictionary<string, ParameterInfo> _parametersByName = new Dictionary<string, ParameterInfo>();
        private readonly List<StateInfo> _states = new List<StateInfo>();
        private readonly List<TensorValue> _inputs = new List<TensorValue>();
        private readonly List<TensorValue> _labels = new List<TensorValue>();
        private readonly List<string> _symbolicDimensions = new List<string>();
        private readonly List<RepeatInfo> _repeats = new List<RepeatInfo>();
        private int _nextValueId;
        private bool _failed;
        private bool _tooLarge;
        private bool _inLoss;
        private int _expressionDepth;
        private int _statementStart;

        public ModelBinder(FileContext file, DiagnosticBag diagnostics, ModelSyntax? model)
        {
            _file = file;
            Diagnostics = diagnostics;
            _model = model;
        }

        /// <summary>Where reports go now; swapped while a block expands so its reports name the use.</summary>
        private DiagnosticBag Diagnostics { get; set; }

        /// <summary>Config entries and defaults: constants only, no ops.</summary>
        public Value EvaluateConstant(ExpressionSyntax expression, Scope scope)
        {
            var v = BindExpression(expression, scope, new LayerNamer("config", 0)).Value;
            if (v is TensorRef || v is ParamRefValue)
            {
                Diagnostics.ReportNotConstant(expression.Span, "config", _file.Compact(expression.Span), v.KindName);
                return ErrorValue.Instance;
            }
            return v;
        }

        public ModelGraph? BindModel()
        {
            var model = _model!;
            int errorsBefore = Diagnostics.Count(d => d.IsError);
            var scope = new Scope(_file.Constants);
            var body = (model.Body ?? new StatementSyntax[0]).Where(s => s is not null).ToList();
            DeclareLater(scope, body);
            DeclareRecompute(body.OfType<RecomputeSyntax>().ToList());

            var outputs = new List<OutputSyntax>();
            LossSyntax? loss = null;
            OptimizerSyntax? optimizer = null;
            var inits = new List<InitSyntax>();
            var controls = new List<ControlSyntax>();
            var freezes = new List<FreezeSyntax>();
            var groups = new List<GroupSyntax>();
            PretrainedSyntax? pretrained = null;
            PrecisionSyntax? precision = null;
            foreach (var statement in body)
            {
                switch (statement)
                {
                    case InputSyntax s: BindInput(s, scope); break;
                    case BindingSyntax s: BindBindingStatement(s, scope, ""); break;
                    case OutputSyntax s: outputs.Add(s); break;
                    case LossSyntax s: Once(ref loss, s, "loss"); break;
                    case OptimizerSyntax s: Once(ref optimizer, s, "optimizer"); break;
                    case InitSyntax s: inits.Add(s); break;
                    case ControlSyntax s: controls.Add(s); break;
                    case FreezeSyntax s: freezes.Add(s); break;
                    case GroupSyntax s: groups.Add(s); break;
                    case PretrainedSyntax s: Once(ref pretrained, s, "pretrained declaration"); break;
                    case PrecisionSyntax s: Once(ref precision, s, "precision"); break;
                    case ReturnSyntax s: Diagnostics.ReportStatementNotAllowed(s.Span, "return", "a model (use 'output')"); break;
                }
            }

            var outputValues = BindOutputs(outputs, scope);
            LossInfo? lossInfo = loss is null ? null : BindLoss(loss, scope);
            OptimizerInfo? optimizerInfo = optimizer is null ? null : BindOptimizer(optimizer, scope);
            // A pattern can match nothing because an erroneous layer declared no parameters: MDL0122 waits for a clean body.
            bool parametersComplete = !_failed && Diagnostics.Count(d => d.IsError) == errorsBefore;
            BindInits(inits, scope, parametersComplete);
            PretrainedInfo? pretrainedInfo = pretrained is null ? null : BindPretrained(pretrained, parametersComplete);
            TrainingControls? controlInfo = controls.Count == 0 && freezes.Count == 0 && groups.Count == 0 ? TrainingControls.None : BindControls(controls, freezes, groups, scope, optimizer, optimizerInfo, loss);

            PrecisionInfo? precisionInfo = precision is null ? PrecisionInfo.Default : BindPrecision(precision);
            CheckRecompute(model.Name.Text, loss is not null);

            if (_inputs.Count == 0 && !body.OfType<InputSyntax>().Any(i => !i.IsLabel)) Diagnostics.ReportMissingInput(model.Name.Span, model.Name.Text);
            if (outputs.Count == 0) Diagnostics.ReportMissingOutput(model.Name.Span, model.Name.Text);
            if (loss is null) Diagnostics.ReportMissingLoss(model.Name.Span, model.Name.Text);
            if (optimizer is null) Diagnostics.ReportMissingOptimizer(model.Name.Span, model.Name.Text);
            ReportUnused(scope);

            bool failed = _failed || Diagnostics.Count(d => d.IsError) > errorsBefore || outputValues is null || (loss is not null && lossInfo is null) || (optimizer is not null && optimizerInfo is null) || controlInfo is null || precisionInfo is null;
            if (failed) return null;
            return new ModelGraph(model.Name.Text, model.Name.Span, _inputs, _labels, _nodes, _parameters, outputValues!, lossInfo, optimizerInfo, _symbolicDimensions) { Repeats = _repeats, Controls = controlInfo!, Pretrained = pretrainedInfo, States = _states, Precision = precisionInfo!, Recomputed = RecomputedInstances() };
        }

        private void Once<T>(ref T? slot, T statement, string what) where T : StatementSyntax
        {
            if (slot is not null) Diagnostics.ReportDuplicateDeclaration(statement.Span, what, _file.Line(slot.Span));
            else slot = statement;
        }

        /// <summary>Remembers names defined later in the body, so an early use says "used before its definition".</summary>
        private static void DeclareLater(Scope scope, IEnumerable<StatementSyntax> body)
        {
            foreach (var s in body)
            {
                var name = s switch
                {
                    InputSyntax i => i.Name,
                    BindingSyntax b => b.Name,
                    _ => null,
                };
                if (name is not null && !string.IsNullOrEmpty(name.Text) && !scope.Later.ContainsKey(name.Text)) scope.Later[name.Text] = name.Span;
            }
        }

        /// <summary><c>name = expression</c>: binds the value and names its layers under <paramref name="prefix"/>.</summary>
        private void BindBindingStatement(BindingSyntax s, Scope scope, string prefix)
        {
            if (s.Name is null || string.IsNullOrEmpty(s.Name.Text) || s.Value is null) return;
            string path = Join(prefix, s.Name.Text);
            var value = BindNamedValue(s.Value, scope, path);
            if (!scope.TryDeclare(new Symbol(s.Name.Text, SymbolKind.Binding, value, s.Name.Span, path), out var existing))
            {
                Diagnostics.ReportDuplicateName(s.Name.Span, s.Name.Text, _file.Line(existing.Span));
            }
        }

        /// <summary>
        /// Every <c>output</c> statement, in source order (the first is the one <c>Forward</c> returns); null when one fails.
        /// Outputs are named by their values (<c>output logits</c> is <c>logits</c>), so each name appears once (MDL0218), and
        /// a label is data only the loss reads, never a result (MDL0219).
        /// </summary>
        private IReadOnlyList<TensorValue>? BindOutputs(List<OutputSyntax> statements, Scope scope)
        {
            var values = new List<TensorValue>();
            var seen = new Dictionary<string, OutputSyntax>(System.StringComparer.Ordinal);
            bool ok = statements.Count > 0;
            foreach (var s in statements)
            {
                // 'output y' with y a label: say so here rather than MDL0208's "use it in the network".
                if (s.Value is NameSyntax n && scope.Lookup(n.Name.Text) is { Kind: SymbolKind.Label } label)
                {
                    label.Used = true;
                    Diagnostics.ReportOutputIsLabel(n.Span, n.Name.Text);
                    ok = false;
                    continue;
                }
                var value = BindOutput(s, scope);
                if (value is null) { ok = false; continue; }
                if (seen.TryGetValue(value.Name, out var first))
                {
                    Diagnostics.ReportDuplicateOutput(s.Value.Span, value.Name, _file.Line(first.Span));
                    ok = false;
                }
                else seen[value.Name] = s;
                values.Add(value);
            }
            return ok ? values : null;
        }

        private TensorValue? BindOutput(OutputSyntax s, Scope scope)
        {
            if (s.Value is null) return null;
            var value = BindNamedValue(s.Value, scope, "output");
            if (value is TensorRef t) return t.Tensor;
            if (value is not ErrorValue) Diagnostics.ReportArgumentType(s.Value.Span, "output", "value", "a tensor", value.KindName);
            return null;
        }

        private void ReportUnused(Scope scope)
        {
            foreach (var symbol in scope.Declared)
            {
                if (symbol.Kind == SymbolKind.Binding && !symbol.Used && !(symbol.Value is ErrorValue) && !scope.MentionedEarly.Contains(symbol.Name)) Diagnostics.ReportUnusedValue(symbol.Span, symbol.Name);
            }
        }

        private static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;

        private TensorValue NewTensor(string name, Shape shape, DType dtype, TextSpan span) => new TensorValue(_nextValueId++, name, shape, dtype, span);
    }

    /// <summary>Numbers the layers of a binding that are not chain stages (nested calls): <c>h.3</c>, <c>h.4</c>.</summary>
    internal sealed class LayerNamer
    {
        private readonly string _base;
        private int _next;

        public LayerNamer(string basePath, int start)
        {
            _base = basePath;
            _next = start;
        }

        public string Next() => _base + "." + (_next++).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
