using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;
using ModelDsl.Text;

namespace ModelDsl.Emit.CSharp
{
    /// <summary>
    /// What the two C# emitters of a model class share: the plan and its source, the writer, the identifiers the class's
    /// files give .model names (one <see cref="NameScope"/> rule for both halves, so a buffer's workspace field has the same
    /// name on the CPU and the GPU, which the parity checks rely on), and the pieces both halves write alike (sizes over
    /// the symbols, the workspace cache, <c>Prepare</c>'s checks, the public methods' guard). <see cref="CpuModelEmitter"/>
    /// writes the CPU half (<c>{Model}.Training.g.cs</c>), <see cref="GpuHostEmitter"/> the GPU half (<c>{Model}.Gpu.g.cs</c>).
    /// </summary>
    public abstract class CSharpEmitter
    {
        private protected readonly TrainingPlan _plan;

        private protected readonly SourceText _source;

        private protected readonly string _fileName;

        private protected readonly CodeWriter _w = new CodeWriter();

        /// <summary>The C# property of each parameter (<c>logits.0.weight</c> → <c>Logits0Weight</c>), for its value and gradient buffers alike.</summary>
        private protected readonly Dictionary<ParameterInfo, string> _parameterProperties = new Dictionary<ParameterInfo, string>();

        /// <summary>The C# property of each layer state (<c>bn.running_mean</c> → <c>BnRunningMean</c>), a <c>ModelDsl.Runtime.StateBuffer</c>.</summary>
        private protected readonly Dictionary<StateInfo, string> _stateProperties = new Dictionary<StateInfo, string>();

        private protected readonly IReadOnlyList<string> _symbols;

        private protected ModelGraph Model => _plan.Model;

        /// <summary>The identifiers this file gives the .model's names (buffers, symbols, inputs, parameters).</summary>
        private protected readonly NameScope _names;

        private protected CSharpEmitter(TrainingPlan plan, SourceText source)
        {
            _plan = plan;
            _source = source;
            _fileName = System.IO.Path.GetFileName(source.Path);
            _symbols = plan.Model.SymbolicDimensions;
            _className = CSharpNames.ClassName(plan.Model.Name);
            _names = new NameScope(CSharpNames.Reserved(plan.Model.Name), CSharpNames.Numbered, CSharpNames.Prefixes);
            // Claimed in a fixed order (symbols, then buffers in plan order, then parameter properties), so the
            // identifiers and any suffix they need are deterministic.
            foreach (var symbol in _symbols) SymbolLocal(symbol);
            foreach (var b in plan.Buffers) Name(b);
            foreach (var p in plan.Parameters) _parameterProperties[p.Parameter!] = _names.Claim(p.Parameter!, PascalCase(p.Parameter!.Name));
            foreach (var s in plan.Model.States) _stateProperties[s] = _names.Claim(s, PascalCase(s.Name));
        }

        /// <summary>The model class's name in C#: the model's name, as a verbatim identifier where it is a C# keyword.</summary>
        private protected readonly string _className;

        /// <summary>The C# identifier of a buffer (a workspace field, and the local of a loop body that reads or writes it).</summary>
        private protected string Name(PlanBuffer b) => _names.Claim(b, b.Name);

        private protected void Section(string title)
        {
            _w.Line();
            _w.Line($"// ───── {title} " + new string('─', System.Math.Max(3, 90 - title.Length)));
            _w.Line();
        }

        /// <summary>Optimizer state buffers per parameter (0 without an optimizer); every optimizer is named, none is defaulted.</summary>
        private protected int StateCount() => Model.Optimizer?.Settings switch
        {
            null => 0,
            Ops.SgdSettings => 1,
            Ops.AdamSettings => 2,
            Ops.RmspropSettings rmsprop => rmsprop.StateCount,
            var other => throw new System.InvalidOperationException($"no state count for {other.GetType().Name}"),
        };

        /// <summary>The runtime's optimizer method (<c>Optimizers.X</c>) and the guard's check of the same name.</summary>
        private protected static string OptimizerMethod(OptimizerInfo optimizer) => optimizer.Kind switch
        {
            OptimizerKind.Sgd => "Sgd",
            OptimizerKind.Adam => "Adam",
            OptimizerKind.AdamW => "AdamW",
            OptimizerKind.Rmsprop => "Rmsprop",
            _ => throw new System.InvalidOperationException($"no runtime method for optimizer {optimizer.Kind}"),
        };

        /// <summary>
        /// An optimizer's hyperparameters after the learning rate, as <c>Optimizers.Sgd/Adam/AdamW/Rmsprop</c> and the guard
        /// take them: <c>momentum, weight_decay, nesterov: …</c>, <c>beta1, beta2, eps, weight_decay</c> or
        /// <c>alpha, eps, weight_decay, momentum, centered: …</c>.
        /// </summary>
        private protected static string HyperArguments(OptimizerInfo optimizer) => HyperArguments(optimizer, Literal(optimizer.Settings.WeightDecay));

        /// <summary>
        /// <see cref="HyperArguments(OptimizerInfo)"/> with <paramref name="weightDecay"/> (a literal, or the guard's array of
        /// one per parameter group) in the weight decay's place.
        /// </summary>
        private protected static string HyperArguments(OptimizerInfo optimizer, string weightDecay) => optimizer.Settings switch
        {
            Ops.SgdSettings sgd => $"{Literal(sgd.Momentum)}, {weightDecay}, nesterov: {(sgd.Nesterov ? "true" : "false")}",
            Ops.AdamSettings adam => $"{Literal(adam.Beta1)}, {Literal(adam.Beta2)}, {Literal(adam.Eps)}, {weightDecay}",
            Ops.RmspropSettings rmsprop => $"{Literal(rmsprop.Alpha)}, {Literal(rmsprop.Eps)}, {weightDecay}, {Literal(rmsprop.Momentum)}, centered: {(rmsprop.Centered ? "true" : "false")}",
            _ => throw new System.InvalidOperationException($"no hyperparameters for {optimizer.Kind.ToSource()}"),
        };

        /// <summary>
        /// Tells the guard which parameters are frozen, so the update check skips them (they have no state), and which
        /// parameter group each grouped parameter is in, so the check uses the group's learning rate and weight decay.
        /// </summary>
        private protected void EmitFrozenGuard(string guard)
        {
            for (int k = 0; k < _plan.Parameters.Count; k++)
            {
                var p = _plan.Parameters[k].Parameter!;
                if (Model.Controls.IsFrozen(p)) _w.Line($"{guard}.Freeze({k}); // {p.Name} is frozen");
                else if (Model.Controls.GroupOf(p) is { } group) _w.Line($"{guard}.Group({k}, {Model.Controls.GroupIndex(p)}); // {p.Name}: group {group.Name}");
            }
        }

        /// <summary>Whether the model declares parameter groups (and has an optimizer to apply them).</summary>
        private protected bool HasGroups => Model.Optimizer is not null && Model.Controls.Groups.Count > 0;

        /// <summary>
        /// Group <paramref name="index"/>'s learning rate over the optimizer's (1 for group 0 and for a group that keeps it),
        /// divided by the optimizer's lr as a float (the LearningRate it starts as), so a group's rate rounds to exactly its
        /// lr while LearningRate is unchanged.
        /// </summary>
        private protected double GroupRateRatio(int index)
        {
            if (index == 0 || Model.Controls.Groups[index - 1].LearningRate is not { } lr) return 1.0;
            return lr / (double)(float)Model.Optimizer!.Settings.LearningRate;
        }

        /// <summary>Group <paramref name="index"/>'s weight decay: its own, or the optimizer's (group 0, or a group that keeps it).</summary>
        private protected double GroupWeightDecay(int index) =>
            index > 0 && Model.Controls.Groups[index - 1].WeightDecay is { } wd ? wd : Model.Optimizer!.Settings.WeightDecay;

        /// <summary>A double literal that round-trips (<c>1.4142135623730951</c>, <c>1.0</c>): gains and group rate ratios keep double precision.</summary>
        private protected static string DoubleLiteral(double value)
        {
            string text = value.ToString("R", CultureInfo.InvariantCulture);
            return text.IndexOfAny(new[] { '.', 'E', 'e' }) < 0 ? text + ".0" : text;
        }

        /// <summary>What group <paramref name="index"/> is, for comments: <c>group no_decay (m.model:12: weight_decay=0)</c>, or <c>no group</c>.</summary>
        private protected string GroupText(int index) =>
            index == 0 ? "no group" : $"group {Model.Controls.Groups[index - 1].Name} ({_fileName}:{Line(Model.Controls.Groups[index - 1].Span)}: {Model.Controls.Groups[index - 1].Describe()})";

        private protected int Line(TextSpan span) => _source.GetLinePosition(span.Start).Line + 1;

        private protected static string Literal(double value) => Literals.CSharp((float)value);

        /// <summary>A .model number as the source would write it, for comments: <c>1</c>, <c>0.5</c>, <c>1E-05</c>.</summary>
        private protected static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

        internal static string Quote(string text) => "\"" + text.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

        /// <summary><c>logits.0.weight</c> → <c>Logits0Weight</c>.</summary>
        private protected static string PascalCase(string name)
        {
            var sb = new System.Text.StringBuilder();
            bool upper = true;
            foreach (char ch in name)
            {
                if (!char.IsLetterOrDigit(ch))
                {
                    upper = true;
                    continue;
                }
                sb.Append(upper ? char.ToUpperInvariant(ch) : ch);
                upper = false;
            }
            string result = sb.ToString();
            return result.Length == 0 || char.IsDigit(result[0]) ? "P" + result : result;
        }

        /// <summary>A dimension as a C# expression over the bound symbol locals (<c>B*T</c>, <c>256</c>).</summary>
        private protected string Size(Dim dim)
        {
            var parts = new List<string>();
            if (dim.Coefficient != 1 || dim.Symbols.Count == 0) parts.Add(dim.Coefficient.ToString(CultureInfo.InvariantCulture));
            parts.AddRange(dim.Symbols.Select(SymbolLocal));
            return string.Join(" * ", parts);
        }

        /// <summary>The C# local (and workspace field) holding a symbolic dimension: its own name (<c>B</c>) unless that is taken.</summary>
        private protected string SymbolLocal(string symbol) => _names.Claim("symbol " + symbol, symbol);

        private protected static string ShapeText(Shape shape) => shape.ToExpression();

        /// <summary>The index in <see cref="ModelGraph.Outputs"/> of the loss's prediction, or -1 (no loss, or it reads a value that is no output).</summary>
        private protected int PredictionOutput => Model.Loss is { } loss ? Model.Outputs.ToList().FindIndex(o => o.Id == loss.Prediction.Id) : -1;

        /// <summary>The class count when an output is the logits a cross-entropy loss reads (so <c>Predict</c> makes sense): Predict follows the loss's prediction.</summary>
        private protected string? ClassifierOutput =>
            Model.Loss is { Kind: LossKind.CrossEntropy } && PredictionOutput >= 0 && Model.Outputs[PredictionOutput].Shape.Rank >= 2
                ? Size(Model.Outputs[PredictionOutput].Shape.Last)
                : null;

        /// <summary>With several <c>output</c> lines: the nested class <c>ForwardAll</c> returns (<c>TinyOutputs</c>); one-output models have none.</summary>
        private protected string OutputsType => CSharpNames.OutputsType(Model.Name);

        /// <summary>The property of <see cref="OutputsType"/> holding output <paramref name="index"/>: the value's own name, as the workspace names its buffer.</summary>
        private protected string OutputProperty(int index) => Name(_plan.Outputs[index]);

        /// <summary>
        /// The workspace expression for output <paramref name="index"/>'s host tensor: <c>w.Output</c> for the first, which
        /// <c>Forward</c> returns, else its property of <c>w.Outputs</c>.
        /// </summary>
        private protected string OutputTensor(int index) => index == 0 ? "w.Output" : $"w.Outputs.{OutputProperty(index)}";

        /// <summary>The nested <c>{Model}Outputs</c> class of a model with several outputs: one read-only tensor property per output line.</summary>
        private protected void EmitOutputsType()
        {
            _w.Line("/// <summary>");
            _w.Line($"/// What <c>ForwardAll</c> returns: one tensor per <c>output</c> line of {_fileName}, in declaration order. The tensors");
            _w.Line("/// belong to the model (or GPU session) and are overwritten by the next call.");
            _w.Line("/// </summary>");
            _w.Open($"public sealed class {OutputsType}");
            var parameters = Model.Outputs.Select((o, i) => $"global::ModelDsl.Runtime.Tensor {OutputProperty(i)}");
            _w.Open($"internal {OutputsType}({string.Join(", ", parameters)})");
            for (int i = 0; i < Model.Outputs.Count; i++) _w.Line($"this.{OutputProperty(i)} = {OutputProperty(i)};");
            _w.Close();
            for (int i = 0; i < Model.Outputs.Count; i++)
            {
                var o = Model.Outputs[i];
                _w.Line();
                _w.Line($"/// <summary><c>{o.Name}</c> {o.DType.ToSource()}{o.Shape.ToExpression()} ({_fileName} line {Line(o.Span)}){(i == 0 ? "; also what <c>Forward</c> returns" : "")}.</summary>");
                _w.Line($"public global::ModelDsl.Runtime.Tensor {OutputProperty(i)} {{ get; }}");
            }
            _w.Close();
        }

        private protected static string TensorType(DType dtype) => dtype == DType.I32 ? "global::ModelDsl.Runtime.IntTensor" : "global::ModelDsl.Runtime.Tensor";

        private protected static string ElementType(DType dtype) => dtype == DType.I32 ? "int" : "float";

        private protected IEnumerable<TensorValue> CallerValues(bool withLabels) => withLabels ? Model.Inputs.Concat(Model.Labels) : Model.Inputs;

        private protected string Parameters(bool withLabels) => string.Join(", ", CallerValues(withLabels).Select(v => $"{TensorType(v.DType)} {Identifier(v)}"));

        /// <summary>
        /// Prepare's arguments: the caller's name for messages, the step messages report (<c>Step + 1</c> for the calls that
        /// train, the current <c>Step</c> otherwise), then the inputs and labels.
        /// </summary>
        private protected string Arguments(bool withLabels, string caller, string step = "Step") =>
            string.Join(", ", new[] { CallerName(caller), step }.Concat(Model.Inputs.Select(Identifier)).Concat(Model.Labels.Select(v => withLabels ? Identifier(v) : "null")));

        /// <summary>The quoted method name messages use: <c>"FashionMlp.TrainStep"</c>.</summary>
        private protected string CallerName(string method) => Quote($"{Model.Name}.{method}");

        /// <summary>The first line of every public method: one caller at a time per instance (docs/training.md, "Threads").</summary>
        private protected void EnterGuard(string method) => _w.Line($"using var call = _guard.Enter({CallerName(method)});");

        private protected string Identifier(TensorValue value) => Name(_plan.Buffers.First(b => b.Value == value && (b.Kind == BufferKind.Input || b.Kind == BufferKind.Label)));

        /// <summary>
        /// <c>string binding = $"B = {B}";</c> at the top of a workspace constructor: what a buffer-size message reports (once
        /// per binding, so the allocation does not matter).
        /// </summary>
        private protected void EmitBindingText()
        {
            string text = _symbols.Count == 0 ? "the declared shapes" : string.Join(", ", _symbols.Select(s => $"{s} = {{{SymbolLocal(s)}}}"));
            _w.Line($"string binding = $\"{text}\"; // for BufferSize's message when a buffer would not fit in an array");
        }

        /// <summary>
        /// A buffer's element count as an array length, through <c>BufferSize.Elements</c>: the product in double, so a batch
        /// too large gives a message naming the binding and the buffer rather than an OverflowException.
        /// </summary>
        private protected string Elements(string buffer, Shape shape) => Elements(buffer, new[] { shape.ElementCount() }, shape.ToExpression());

        /// <summary>As above for a sum of terms (a library kernel's working memory), described by <paramref name="layout"/>.</summary>
        private protected string Elements(string buffer, IEnumerable<Dim> terms, string layout) =>
            $"global::ModelDsl.Runtime.BufferSize.Elements(ModelName, binding, {Quote($"'{buffer}' {layout}")}, {DoubleCount(terms)})";

        /// <summary>A sum of element counts in double over the symbol locals (<c>384d * B * T</c>), so no product overflows.</summary>
        private protected string DoubleCount(IEnumerable<Dim> terms)
        {
            string Term(Dim count)
            {
                var parts = new List<string> { count.Coefficient.ToString(System.Globalization.CultureInfo.InvariantCulture) + "d" };
                parts.AddRange(count.Symbols.Select(SymbolLocal));
                return string.Join(" * ", parts);
            }
            return string.Join(" + ", terms.Select(Term));
        }

        /// <summary>
        /// <c>_workspaces</c> and <c>WorkspaceFor</c>: the last four workspaces by binding of the symbols, most recent first
        /// (the GPU half; a workspace pushed out frees its device memory). The CPU half keeps one workspace and grows it
        /// (CpuModelEmitter.Workspace.cs).
        /// </summary>
        private protected void EmitWorkspaceCache(string summary, string create, bool disposeEvicted)
        {
            _w.Line($"/// <summary>{summary}</summary>");
            _w.Line("private readonly Workspace?[] _workspaces = new Workspace?[4];");
            _w.Line();
            _w.Open($"private Workspace WorkspaceFor({string.Join(", ", _symbols.Select(s => $"int {SymbolLocal(s)}"))})");
            _w.Line("for (int i = 0; i < _workspaces.Length; i++)");
            _w.Open("");
            string match = _symbols.Count == 0 ? "" : " && " + string.Join(" && ", _symbols.Select(s => $"found.{SymbolLocal(s)} == {SymbolLocal(s)}"));
            _w.Line($"if (_workspaces[i] is {{ }} found{match}) return found;");
            _w.Close();
            _w.Line($"var planned = {create};");
            if (disposeEvicted) _w.Line("_workspaces[^1]?.Dispose();");
            _w.Line("global::System.Array.Copy(_workspaces, 0, _workspaces, 1, _workspaces.Length - 1);");
            _w.Line("_workspaces[0] = planned;");
            _w.Line("return planned;");
            _w.Close();
            _w.Line();
        }

        /// <summary>
        /// Opens <c>Prepare</c>: the runtime shape checks (only what the compiler could not know), binding the symbols,
        /// finding the workspace, and checking class ids before any work so a bad label names the model, the method and the
        /// label. The CPU and GPU halves then bind their inputs their own way and close it.
        /// </summary>
        private protected void EmitPrepareHeader()
        {
            string prepareParams = string.Join(", ", new[] { "string caller", "int step" }
                .Concat(Model.Inputs.Select(v => $"{TensorType(v.DType)} {Identifier(v)}"))
                .Concat(Model.Labels.Select(v => $"{TensorType(v.DType)}? {Identifier(v)}")));
            _w.Line("/// <summary>");
            _w.Line("/// Checks every tensor against its declared shape and every float one for NaN and ±∞ (<paramref name=\"step\"/> is the step");
            _w.Line("/// messages report), binds the symbolic dimensions and returns their workspace.");
            _w.Line("/// </summary>");
            _w.Open($"private Workspace Prepare({prepareParams})");
            _w.Line($"global::System.Span<int> bound = stackalloc int[{System.Math.Max(1, _symbols.Count)}];");
            foreach (var v in Model.Inputs.Concat(Model.Labels))
            {
                bool label = Model.Labels.Contains(v);
                string name = Identifier(v);
                string check = $"global::ModelDsl.Runtime.ShapeCheck.Input(caller, {Quote(v.Name)}, {Quote(v.Shape.ToExpression())}, {name}.Shape, [{string.Join(", ", v.Shape.Dims.Select(ExpectedDim))}], bound, SymbolNames);";
                if (label)
                {
                    _w.Line($"if ({name} is not null) {check}");
                }
                else
                {
                    _w.Line($"global::System.ArgumentNullException.ThrowIfNull({name});");
                    _w.Line(check);
                }
            }
            var floats = Model.Inputs.Concat(Model.Labels).Where(v => v.DType != DType.I32).ToList();
            if (floats.Count > 0) _w.Line("// Non-finite inputs and targets are refused here, before any kernel reads them (one vectorised pass each).");
            foreach (var v in floats)
            {
                _w.Line($"_guard.{(Model.Labels.Contains(v) ? "Target" : "Input")}(caller, {Quote(v.Name)}, {Identifier(v)}, step);");
            }
            EmitSizeLimits("caller");
            _w.Line($"var w = {WorkspaceCall};");
            var crossEntropy = Model.Loss is { Kind: LossKind.CrossEntropy } loss ? loss : null;
            if (crossEntropy is null && _plan.EntryChecks.IdRanges.Count == 0) return;
            foreach (var symbol in _symbols) _w.Line($"int {SymbolLocal(symbol)} = w.{SymbolLocal(symbol)};");
            foreach (var ids in _plan.EntryChecks.IdRanges)
            {
                _w.Line($"global::ModelDsl.Runtime.ShapeCheck.Ids(caller, {Quote(ids.Input.Value!.Name)}, global::System.MemoryExtensions.AsSpan({Name(ids.Input)}.Data, 0, {Size(ids.Length)}), {ids.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)}, {Quote(ids.Layer)});");
            }
            if (crossEntropy is not null)
            {
                string label = Identifier(crossEntropy.Target);
                _w.Line($"if ({label} is not null) global::ModelDsl.Runtime.ShapeCheck.Labels(caller, {Quote(crossEntropy.Target.Name)}, global::System.MemoryExtensions.AsSpan({label}.Data, 0, {Size(crossEntropy.Target.Shape.ElementCount())}), {Size(crossEntropy.Prediction.Shape.Last)});");
            }
        }

        /// <summary>How <c>Prepare</c> gets the workspace for the symbols in <c>bound</c>: the GPU half's cache lookup by default.</summary>
        private protected virtual string WorkspaceCall => $"WorkspaceFor({string.Join(", ", _symbols.Select((s, i) => $"bound[{i}]"))})";

        /// <summary>The limits a layer puts on a bound symbol (positional's max_len), checked before any workspace is sized.</summary>
        private protected void EmitSizeLimits(string caller)
        {
            foreach (var limit in _plan.EntryChecks.SizeLimits)
            {
                string layer = $"{limit.Layer} at {_fileName}:{Line(limit.Origin.Span)}";
                _w.Line($"global::ModelDsl.Runtime.ShapeCheck.AtMost({caller}, {Quote(limit.Input.Value!.Name)}, {Quote(limit.Dimension)}, {BoundSize(limit.Size)}, {limit.Maximum.ToString(System.Globalization.CultureInfo.InvariantCulture)}, {Quote(layer)});");
            }
        }

        /// <summary>A size over the symbols as bound so far in <c>Prepare</c> (<c>bound[1]</c> for T), before the workspace exists.</summary>
        private protected string BoundSize(Dim dim)
        {
            var parts = new List<string>();
            if (dim.Coefficient != 1 || dim.Symbols.Count == 0) parts.Add(dim.Coefficient.ToString(System.Globalization.CultureInfo.InvariantCulture));
            parts.AddRange(dim.Symbols.Select(s => $"bound[{_symbols.ToList().IndexOf(s)}]"));
            return string.Join(" * ", parts);
        }

        /// <summary>ShapeCheck's encoding: a fixed size, or -(slot+1) for a symbolic dimension.</summary>
        private protected string ExpectedDim(Dim dim)
        {
            if (dim.IsKnown) return dim.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (dim.Coefficient == 1 && dim.Symbols.Count == 1) return (-(_symbols.ToList().IndexOf(dim.Symbols[0]) + 1)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            throw new System.NotSupportedException($"input dimension {dim} must be a number or a single symbol");
        }

        private protected static string Bool(bool value) => value ? "true" : "false";

        private protected static string Escape(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");

        /// <summary>A rule's comment template with this emitter's text for buffers, gradients, sizes and shapes.</summary>
        private protected string Comment(System.FormattableString comment) =>
            string.Format(System.Globalization.CultureInfo.InvariantCulture, comment.Format, comment.GetArguments().Select(CommentValue).ToArray());

        private object? CommentValue(object? value) => value switch
        {
            PlanBuffer b => b.Name,
            GradientOutput g => Writes(g),
            Shapes.Dim d => Size(d),
            Shapes.Shape s => ShapeText(s),
            ColumnRange r => Columns(r.Offset, r.Width),
            long l => Int(l),
            int i => Int(i),
            _ => value,
        };

        private protected static string Writes(GradientOutput g) => $"{g.Buffer.Name} {(g.Accumulate ? "+=" : "=")}";

        private protected static string Int(long value) => value.ToString(CultureInfo.InvariantCulture);

        /// <summary>
        /// One argument of a runtime layer call (<see cref="LayerCall"/>), as C#. The CPU call and the GPU launcher take the
        /// same arguments; the halves differ only in how they write a buffer (<see cref="LayerBuffer"/>).
        /// </summary>
        private protected string LayerArgument(Plan.LayerArgument argument) => argument switch
        {
            SizeArgument s => Size(s.Size),
            IntArgument i => i.Factor == 1 ? Int(i.Value) : $"{Int(i.Factor)} * {Int(i.Value)}",
            FloatArgument f => Literals.CSharp(f.Value),
            FlagArgument f => $"{f.Name}: {Bool(f.Value)}",
            BufferArgument { Buffer: null } => "default",
            BufferArgument b when b.Offset == 0 => LayerBuffer(b.Buffer!, null),
            BufferArgument b => LayerBuffer(b.Buffer!, b.OffsetFactor == 1 ? Int(b.Offset) : $"{Int(b.OffsetFactor)} * {Int(b.Offset)}"),
            GeometryArgument => "in geometry",
            TrainingArgument => "training: training",
            CounterArgument c => StateObject(c.State),
            DropoutProbabilityArgument d => $"dropout: training ? {Literals.CSharp(d.Probability)} : 0f",
            DropoutSeedArgument d => $"dropoutSeed: {DropoutSeed(d.Slot)}",
            _ => throw new System.InvalidOperationException("unknown layer argument " + argument.GetType().Name),
        };

        /// <summary>The seed of dropout slot <paramref name="slot"/> at this step: <c>Dropout.Seed(Seed, Step, slot, DropoutStream)</c> on the model's properties.</summary>
        private protected abstract string DropoutSeed(int slot);

        /// <summary>
        /// Whether a backward kernel draws a dropout mask (a fused loop through dropout, or a layer call with a
        /// <see cref="DropoutProbabilityArgument"/>): the backward pass then declares <c>training</c> true.
        /// </summary>
        private protected static bool DrawsDropout(Kernel kernel) =>
            kernel is ElementwiseKernel e ? e.UsesDropout : kernel.Calls?.Calls.Any(c => c.Arguments.OfType<DropoutProbabilityArgument>().Any()) == true;

        /// <summary>
        /// Whether the backward pass needs <c>training</c> declared: a backward kernel draws a dropout mask, or a recomputed
        /// block's forward kernel reads the mode (its dropout, a layer call's <c>training: training</c>).
        /// </summary>
        private protected bool BackwardReadsTraining =>
            _plan.Backward.Any(DrawsDropout)
            || _plan.Recompute.SelectMany(s => s.Forward).Any(k => DrawsDropout(k) || k.Calls?.Calls.Any(c => c.Arguments.OfType<TrainingArgument>().Any()) == true);

        /// <summary>
        /// For a buffer whose memory recomputed block uses share (<c>recompute Block</c>): the workspace field's comment
        /// suffix naming them (<c>; scratch of the recomputed h.1.0 … h.1.3</c>), else "".
        /// </summary>
        private protected string SharedScratchNote(PlanBuffer b)
        {
            var uses = _plan.Recompute.Where(s => s.Scratch.Any(x => x.Root == b)).Select(s => s.Instance.Path).ToList();
            if (uses.Count < 2) return "";
            return $"; scratch of the recomputed {(uses.Count == 2 ? uses[0] + " and " + uses[1] : uses[0] + " … " + uses[uses.Count - 1] + $" ({uses.Count} uses)")}";
        }

        /// <summary>
        /// The header of a recomputation in the backward pass (<c>recompute Block</c>): which instance, from which .model line,
        /// why its forward kernels run again, and whose buffers they write.
        /// </summary>
        private protected void RecomputeHeader(RecomputeSegment segment)
        {
            var instance = segment.Instance;
            _w.Line();
            _w.Line($"// ── recompute block {instance.Path} ({instance.Block}, {_fileName}:{Line(instance.Use)}) " + new string('─', System.Math.Max(4, 80 - instance.Path.Length - instance.Block.Length)));
            _w.Line($"// recompute {instance.Block} ({_fileName}:{Line(instance.Declaration)}): the forward pass kept only what the rest of the model reads of");
            _w.Line($"// {instance.Path} (its inputs and output), so its {segment.Forward.Count} forward kernels run again here, in training mode (the same");
            _w.Line("// dropout masks: each is drawn from Seed, Step and its slot), " + (segment.SharesWith == instance
                ? $"into its {segment.Scratch.Count} scratch buffers (which later instances share),"
                : $"into {segment.SharesWith.Path}'s {segment.Scratch.Count} scratch buffers (shared),"));
            _w.Line($"// and its backward kernels below read them.");
        }

        /// <summary>The model's <c>ModelDsl.Runtime.StateBuffer</c> of a layer state (a counter's, passed to the runtime that counts on it).</summary>
        private protected abstract string StateObject(StateInfo state);

        /// <summary>A buffer passed to a runtime layer call, from <paramref name="offset"/> elements on (null: from its start).</summary>
        private protected abstract string LayerBuffer(PlanBuffer buffer, string? offset);

        private protected void BindSymbols()
        {
            foreach (var symbol in _symbols) _w.Line($"int {SymbolLocal(symbol)} = w.{SymbolLocal(symbol)};");
        }

        /// <summary>A column range for comments: <c>3:15</c>, or <c>3*T : 3*T + 12*T</c> with symbols.</summary>
        private protected string Columns(Dim offset, Dim width) =>
            offset.IsKnown && width.IsKnown ? $"{Int(offset.Value)}:{Int(offset.Value + width.Value)}" : $"{Size(offset)} : {Size(offset)} + {Size(width)}";
    }
}
