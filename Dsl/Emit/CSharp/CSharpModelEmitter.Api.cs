using System.Collections.Generic;
using System.Linq;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;

namespace ModelDsl.Emit.CSharp
{
    public sealed partial class CSharpModelEmitter
    {
        /// <summary>The class count when the output is the logits a cross-entropy loss reads (so <c>Predict</c> makes sense).</summary>
        private string? ClassifierOutput =>
            Model.Loss is { Kind: LossKind.CrossEntropy } loss && loss.Prediction.Id == Model.Output.Id && Model.Output.Shape.Rank >= 2
                ? Size(Model.Output.Shape.Last)
                : null;

        private static string TensorType(DType dtype) => dtype == DType.I32 ? "global::ModelDsl.Runtime.IntTensor" : "global::ModelDsl.Runtime.Tensor";

        private static string ElementType(DType dtype) => dtype == DType.I32 ? "int" : "float";

        private IEnumerable<TensorValue> CallerValues(bool withLabels) => withLabels ? Model.Inputs.Concat(Model.Labels) : Model.Inputs;

        private string Parameters(bool withLabels) => string.Join(", ", CallerValues(withLabels).Select(v => $"{TensorType(v.DType)} {Identifier(v)}"));

        /// <summary>
        /// Prepare's arguments: the caller's name for messages, the step messages report (<c>Step + 1</c> for the calls that
        /// train, the current <c>Step</c> otherwise), then the inputs and labels.
        /// </summary>
        private string Arguments(bool withLabels, string caller, string step = "Step") =>
            string.Join(", ", new[] { CallerName(caller), step }.Concat(Model.Inputs.Select(Identifier)).Concat(Model.Labels.Select(v => withLabels ? Identifier(v) : "null")));

        /// <summary>The quoted method name messages use: <c>"FashionMlp.TrainStep"</c>.</summary>
        private string CallerName(string method) => Quote($"{Model.Name}.{method}");

        /// <summary>The first line of every public method: one caller at a time per instance (docs/training.md, "Threads").</summary>
        private void EnterGuard(string method) => _w.Line($"using var call = _guard.Enter({CallerName(method)});");

        private string Identifier(TensorValue value) => Name(_plan.Buffers.First(b => b.Value == value && (b.Kind == BufferKind.Input || b.Kind == BufferKind.Label)));

        private void EmitPublicApi()
        {
            Section("Inference and training");
            var output = Model.Output;
            string inputDocs = string.Join(", ", Model.Inputs.Select(v => $"<paramref name=\"{Identifier(v)}\"/> {v.DType.ToSource()}{v.Shape.ToExpression()}"));
            _w.Line($"/// <summary>");
            _w.Line($"/// Runs the model (dropout off) on {inputDocs} and returns <c>{output.Name}</c> {output.DType.ToSource()}{output.Shape.ToExpression()}.");
            _w.Line("/// The returned tensor belongs to the model and is overwritten by the next call.");
            _w.Line($"/// </summary>");
            _w.Open($"public global::ModelDsl.Runtime.Tensor Forward({Parameters(false)})");
            EnterGuard("Forward");
            _w.Line($"var w = Prepare({Arguments(false, "Forward")});");
            _w.Line("RunForward(w, training: false);");
            _w.Line("return w.Output;");
            _w.Close();

            if (ClassifierOutput is { } classes)
            {
                _w.Line();
                _w.Line($"/// <summary>The most likely class of each row (argmax of <c>{output.Name}</c> over its {classes} classes); the tensor belongs to the model and is reused.</summary>");
                _w.Open($"public global::ModelDsl.Runtime.IntTensor Predict({Parameters(false)})");
                EnterGuard("Predict");
                _w.Line($"var w = Prepare({Arguments(false, "Predict")});");
                _w.Line("RunForward(w, training: false);");
                _w.Line($"global::ModelDsl.Runtime.Metrics.ArgMax(w.Output.Span, w.Predicted.Length, {classes}, w.Predicted.Data);");
                _w.Line("return w.Predicted;");
                _w.Close();
            }

            if (Model.Loss is null) return;
            string labels = string.Join(", ", Model.Labels.Select(v => $"<paramref name=\"{Identifier(v)}\"/> {v.DType.ToSource()}{v.Shape.ToExpression()}"));
            _w.Line();
            _w.Line("/// <summary>");
            _w.Line($"/// One training step on a batch: forward (dropout on), {Model.Loss.Kind.ToSource()} loss against {labels}, backward, then the");
            _w.Line("/// optimizer. Returns the batch's mean loss (before the update). Allocates nothing once the batch size has been seen.");
            _w.Line("/// Throws <see cref=\"global::ModelDsl.Runtime.NonFiniteException\"/> (and changes nothing) when an input, the loss, a gradient or the update is NaN or ±∞.");
            _w.Line("/// </summary>");
            _w.Open($"public float TrainStep({Parameters(true)})");
            EnterGuard("TrainStep");
            _w.Line($"var w = Prepare({Arguments(true, "TrainStep", "Step + 1")});");
            _w.Line($"float loss = Gradients(w, {CallerName("TrainStep")});");
            if (Model.Optimizer is not null) _w.Line($"Update({CallerName("TrainStep")});");
            _w.Line("return loss;");
            _w.Close();
            _w.Line();
            _w.Line("/// <summary>");
            _w.Line("/// Forward (dropout on), loss and backward without updating: each parameter's <c>Gradient</c> then holds d loss / d parameter,");
            _w.Line("/// for callers with their own optimizer. Returns the batch's mean loss; the loss and gradients are checked as in <c>TrainStep</c>.");
            _w.Line("/// </summary>");
            _w.Open($"public float ComputeGradients({Parameters(true)})");
            EnterGuard("ComputeGradients");
            _w.Line($"return Gradients(Prepare({Arguments(true, "ComputeGradients", "Step + 1")}), {CallerName("ComputeGradients")});");
            _w.Close();
            _w.Line();
            _w.Line("/// <summary>The batch's mean loss with dropout off and no gradients: for validation and test sets. A non-finite loss throws.</summary>");
            _w.Open($"public float Evaluate({Parameters(true)})");
            EnterGuard("Evaluate");
            _w.Line($"var w = Prepare({Arguments(true, "Evaluate")});");
            _w.Line("RunForward(w, training: false);");
            _w.Line("float loss = RunLoss(w, withGradient: false);");
            _w.Line($"_guard.Loss({CallerName("Evaluate")}, loss, Step);");
            _w.Line("return loss;");
            _w.Close();
            _w.Line();
            _w.Line("/// <summary>");
            _w.Line("/// Forward, loss and backward, then the non-finite guard (docs/training.md, \"Non-finite values\"): the loss and every");
            _w.Line("/// gradient are checked before any optimizer runs, so a step that throws leaves parameters, optimizer state and Step");
            _w.Line("/// as they were. On a failure the step is run again with a check after every kernel, to name where the first");
            _w.Line("/// non-finite value appeared (the dropout masks depend only on Seed and Step, so the re-run computes the same values).");
            _w.Line("/// </summary>");
            _w.Open("private float Gradients(Workspace w, string caller)");
            _w.Line("RunForward(w, training: true);");
            _w.Line("float loss = RunLoss(w, withGradient: true);");
            _w.Line("RunBackward(w);");
            _w.Line("if (_guard.CheckFinite && !_guard.StepIsFinite(loss))");
            _w.Open("");
            _w.Line("string found = TraceKernels(w);");
            _w.Line("_guard.Loss(caller, loss, Step + 1, found);");
            _w.Line("_guard.Gradients(caller, Step + 1, found);");
            _w.Close();
            _w.Line("return loss;");
            _w.Close();
            EmitTraceKernels();
            EmitSaveLoad();
        }

        /// <summary>
        /// <c>TraceKernels</c>: the debug re-run behind a non-finite loss or gradient. Every planned buffer and gradient is
        /// cleared, then forward, loss and backward run again with a scan of all of them after each kernel; the first kernel
        /// after which a NaN or ±∞ shows up is the one that produced it. Costly (kernels × buffers), so only on failure.
        /// </summary>
        private void EmitTraceKernels()
        {
            _w.Line();
            _w.Line("/// <summary>Runs the failed step again, checking every buffer after each kernel; returns where the first non-finite value appeared.</summary>");
            _w.Open("private string TraceKernels(Workspace w)");
            var floats = _plan.Buffers.Where(b => b.IsPlanned && b.DType != DType.I32).Select(b => $"({Quote(b.Name)}, w.{Name(b)})")
                .Concat(_plan.Parameters.Select(p => $"({Quote("gradient of " + p.Parameter!.Name)}, {_parameterProperties[p.Parameter!]}.Gradient)"));
            _w.Line($"var trace = new global::ModelDsl.Runtime.KernelTrace(Parameters, new (string, float[])[] {{ {string.Join(", ", floats)} }});");
            _w.Line("w.Trace = trace;");
            _w.Line("try");
            _w.Open("");
            _w.Line("RunForward(w, training: true);");
            _w.Line("RunLoss(w, withGradient: true);");
            _w.Line($"trace.After(\"loss\", {Quote($"{_fileName}:{Line(_plan.Loss!.Origins[0].Span)}")});");
            _w.Line("RunBackward(w);");
            _w.Close();
            _w.Line("finally");
            _w.Open("");
            _w.Line("w.Trace = null;");
            _w.Close();
            _w.Line("return trace.Result;");
            _w.Close();
        }

        private void EmitSaveLoad()
        {
            _w.Line();
            _w.Line("/// <summary>");
            _w.Line("/// Writes parameters, optimizer state, step and learning rate to <paramref name=\"path\"/> as safetensors, with");
            _w.Line("/// PyTorch-style names (<c>fc1.weight</c>, dense weights [out, in]); atomically: a temporary file, then a rename.");
            _w.Line("/// See docs/checkpoints.md.");
            _w.Line("/// Refuses (<see cref=\"global::ModelDsl.Runtime.NonFiniteException\"/>) to write a NaN or ±∞ parameter unless <c>CheckFinite</c> is off.");
            _w.Line("/// </summary>");
            _w.Open("public void Save(string path)");
            EnterGuard("Save");
            _w.Line($"_guard.ParametersForWrite({CallerName("Save")}, \"save\", Step);");
            // A model without an optimizer has no LearningRate to record or restore.
            bool hasRate = Model.Optimizer is not null;
            _w.Line($"global::ModelDsl.Runtime.Safetensors.Save(path, ModelName, Parameters, Step{(hasRate ? ", LearningRate" : "")});");
            _w.Close();
            _w.Line();
            _w.Line("/// <summary>");
            _w.Line("/// Reads a safetensors file written by <see cref=\"Save\"/> or by PyTorch (parameters only: the optimizer state then");
            _w.Line("/// starts from zero); every name, dtype and shape is validated before anything is changed. The learning rate is");
            _w.Line("/// restored when the file records one (a file from PyTorch does not: the current rate is kept).");
            _w.Line("/// </summary>");
            _w.Open("public void Load(string path)");
            EnterGuard("Load");
            if (hasRate)
            {
                _w.Line("Step = global::ModelDsl.Runtime.Safetensors.Load(path, ModelName, Parameters, out float? learningRate);");
                _w.Line("if (learningRate is float rate) LearningRate = rate;");
            }
            else _w.Line("Step = global::ModelDsl.Runtime.Safetensors.Load(path, ModelName, Parameters);");
            _w.Line("_guard.ParametersChanged();");
            _w.Close();
        }

        private void EmitWorkspace()
        {
            Section("Buffers, planned once per binding of the symbolic dimensions");
            var planned = _plan.Buffers.Where(b => b.IsPlanned).ToList();
            _w.Line($"/// <summary>Activations and gradients for one binding of {(_symbols.Count == 0 ? "the shapes" : string.Join(", ", _symbols))}; reused by every call with that binding.</summary>");
            _w.Line(GeneratedFile.GeneratedCode);
            _w.Open("private sealed class Workspace");
            foreach (var symbol in _symbols) _w.Line($"public readonly int {SymbolLocal(symbol)};");
            foreach (var b in _plan.Buffers.Where(b => b.Kind == BufferKind.Input || b.Kind == BufferKind.Label))
            {
                _w.Line($"public {ElementType(b.DType)}[] {Name(b)} = global::System.Array.Empty<{ElementType(b.DType)}>(); // {b.Kind.ToString().ToLowerInvariant()} {b.DType.ToSource()}{ShapeText(b.Shape)}, bound per call");
            }
            foreach (var b in planned)
            {
                _w.Line($"public readonly {ElementType(b.DType)}[] {Name(b)}; // {BufferComment(b)}");
            }
            _w.Line("public readonly global::ModelDsl.Runtime.Tensor Output;");
            if (ClassifierOutput is not null) _w.Line("public readonly global::ModelDsl.Runtime.IntTensor Predicted;");
            if (Model.Loss is not null) _w.Line("public global::ModelDsl.Runtime.KernelTrace? Trace; // set only while a failed step is re-run with a check after every kernel");
            _w.Line();
            string ctorParams = string.Join(", ", _symbols.Select(s => $"int {SymbolLocal(s)}"));
            _w.Open($"public Workspace({ctorParams})");
            foreach (var symbol in _symbols) _w.Line($"this.{SymbolLocal(symbol)} = {SymbolLocal(symbol)};");
            EmitBindingText();
            foreach (var b in planned) _w.Line($"{Name(b)} = new {ElementType(b.DType)}[{AllocationLength(b)}];");
            var output = _plan.Output;
            string outputShape = string.Join(", ", output.Shape.Dims.Select(Size));
            _w.Line(output.Root.IsPlanned ? $"Output = new global::ModelDsl.Runtime.Tensor({Name(output.Root)}, {outputShape});" : $"Output = new global::ModelDsl.Runtime.Tensor(new float[{Elements("Output", output.Shape)}], {outputShape});");
            if (ClassifierOutput is not null)
            {
                var leading = output.Shape.Dims.Take(output.Shape.Rank - 1).ToList();
                string count = Size(new Shape(leading.ToArray()).ElementCount());
                _w.Line($"Predicted = new global::ModelDsl.Runtime.IntTensor(new int[{Elements("Predicted", new Shape(leading.ToArray()))}], {string.Join(", ", leading.Select(Size))});");
            }
            _w.Close();
            _w.Close();
            _w.Line();

            EmitWorkspaceCache(
                "The last few workspaces, most recent first: a training loop alternates between at most two batch sizes.",
                $"new Workspace({string.Join(", ", _symbols.Select(SymbolLocal))})", disposeEvicted: false);

            EmitPrepareHeader();
            foreach (var v in Model.Inputs) _w.Line($"w.{Identifier(v)} = {Identifier(v)}.Data;");
            foreach (var v in Model.Labels) _w.Line($"if ({Identifier(v)} is not null) w.{Identifier(v)} = {Identifier(v)}.Data;");
            if (_plan.Output.Root.Kind == BufferKind.Input) _w.Line($"{Name(_plan.Output.Root)}.Span.CopyTo(w.Output.Span);");
            _w.Line("return w;");
            _w.Close();
        }

        /// <summary>
        /// <c>string binding = $"B = {B}";</c> at the top of a workspace constructor: what a buffer-size message reports (once
        /// per binding, so the allocation does not matter).
        /// </summary>
        private void EmitBindingText()
        {
            string text = _symbols.Count == 0 ? "the declared shapes" : string.Join(", ", _symbols.Select(s => $"{s} = {{{SymbolLocal(s)}}}"));
            _w.Line($"string binding = $\"{text}\"; // for BufferSize's message when a buffer would not fit in an array");
        }

        /// <summary>
        /// A buffer's element count as an array length, through <c>BufferSize.Elements</c>: the product in double, so a batch
        /// too large gives a message naming the binding and the buffer rather than an OverflowException.
        /// </summary>
        private string Elements(string buffer, Shape shape) => Elements(buffer, new[] { shape.ElementCount() }, shape.ToExpression());

        /// <summary>As above for a sum of terms (a library kernel's working memory), described by <paramref name="layout"/>.</summary>
        private string Elements(string buffer, IEnumerable<Dim> terms, string layout)
        {
            string Term(Dim count)
            {
                var parts = new List<string> { count.Coefficient.ToString(System.Globalization.CultureInfo.InvariantCulture) + "d" };
                parts.AddRange(count.Symbols.Select(SymbolLocal));
                return string.Join(" * ", parts);
            }
            return $"global::ModelDsl.Runtime.BufferSize.Elements(ModelName, binding, {Quote($"'{buffer}' {layout}")}, {string.Join(" + ", terms.Select(Term))})";
        }

        /// <summary>
        /// <c>_workspaces</c> and <c>WorkspaceFor</c>: the last four workspaces by binding of the symbols, most recent first
        /// (the CPU and GPU halves alike; a GPU workspace pushed out frees its device memory).
        /// </summary>
        private void EmitWorkspaceCache(string summary, string create, bool disposeEvicted)
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
        private void EmitPrepareHeader()
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
            foreach (var limit in _plan.EntryChecks.SizeLimits)
            {
                string layer = $"{limit.Layer} at {_fileName}:{Line(limit.Origin.Span)}";
                _w.Line($"global::ModelDsl.Runtime.ShapeCheck.AtMost(caller, {Quote(limit.Input.Value!.Name)}, {Quote(limit.Dimension)}, {BoundSize(limit.Size)}, {limit.Maximum.ToString(System.Globalization.CultureInfo.InvariantCulture)}, {Quote(layer)});");
            }
            _w.Line($"var w = WorkspaceFor({string.Join(", ", _symbols.Select((s, i) => $"bound[{i}]"))});");
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

        /// <summary>A size over the symbols as bound so far in <c>Prepare</c> (<c>bound[1]</c> for T), before the workspace exists.</summary>
        private string BoundSize(Dim dim)
        {
            var parts = new List<string>();
            if (dim.Coefficient != 1 || dim.Symbols.Count == 0) parts.Add(dim.Coefficient.ToString(System.Globalization.CultureInfo.InvariantCulture));
            parts.AddRange(dim.Symbols.Select(s => $"bound[{_symbols.ToList().IndexOf(s)}]"));
            return string.Join(" * ", parts);
        }

        /// <summary>ShapeCheck's encoding: a fixed size, or -(slot+1) for a symbolic dimension.</summary>
        private string ExpectedDim(Dim dim)
        {
            if (dim.IsKnown) return dim.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (dim.Coefficient == 1 && dim.Symbols.Count == 1) return (-(_symbols.ToList().IndexOf(dim.Symbols[0]) + 1)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            throw new System.NotSupportedException($"input dimension {dim} must be a number or a single symbol");
        }
    }
}
