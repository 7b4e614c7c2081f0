using System.Collections.Generic;
using System.Linq;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;

namespace ModelDsl.Emit.CSharp
{
    /// <summary>
    /// The CPU half's one workspace (docs/generated-code.md, "Workspace memory"): every activation, gradient and working
    /// buffer is a field of one <c>Workspace</c> per model instance, sized for the largest binding of the symbolic
    /// dimensions it has served (or <c>ReserveWorkspace</c>'s) and reused, from its start, by every smaller one. The
    /// kernels take their sizes as arguments (never an array's length), so a buffer longer than a call needs computes the
    /// same values as one of exactly that size. Memory is bounded by one buffer set at the largest shapes; a binding every
    /// buffer already holds allocates nothing, so length-bucketed batches (a new T nearly every step) cost nothing after
    /// the longest has been seen.
    /// </summary>
    public sealed partial class CpuModelEmitter : CSharpEmitter
    {
        private void EmitWorkspace()
        {
            Section("Buffers: one workspace, sized for the largest shapes seen and reused by smaller ones");
            var planned = _plan.Buffers.Where(b => b.IsPlanned).ToList();
            string symbols = _symbols.Count == 0 ? "the shapes" : string.Join(", ", _symbols);
            _w.Line("/// <summary>");
            _w.Line($"/// Activations and gradients, one set per model instance. Each buffer is sized for the largest binding of {symbols} it has");
            _w.Line("/// served (or ReserveWorkspace's) and reused from its start by every smaller one: the kernels take their sizes as arguments.");
            _w.Line("/// </summary>");
            _w.Line(GeneratedFile.GeneratedCode);
            _w.Open("private sealed class Workspace");
            if (_symbols.Count > 0) _w.Line($"public int {string.Join(", ", _symbols.Select(SymbolLocal))}; // the current binding (Bind)");
            _w.Line("public long Bytes; // what the buffers hold: WorkspaceBytes");
            if (GradientOnly(planned).Count > 0) _w.Line("public bool GradientsBound; // whether the gradients' buffers hold the current binding (BindGradients)");
            foreach (var b in _plan.Buffers.Where(b => b.Kind == BufferKind.Input || b.Kind == BufferKind.Label))
            {
                _w.Line($"public {ElementType(b.DType)}[] {Name(b)} = global::System.Array.Empty<{ElementType(b.DType)}>(); // {b.Kind.ToString().ToLowerInvariant()} {b.DType.ToSource()}{ShapeText(b.Shape)}, bound per call");
            }
            foreach (var b in planned)
            {
                _w.Line($"public {ElementType(b.DType)}[] {Name(b)} = global::System.Array.Empty<{ElementType(b.DType)}>(); // {BufferComment(b)}{SharedScratchNote(b)}");
            }
            _w.Line("public global::ModelDsl.Runtime.Tensor Output = null!; // set by the first Bind, then reshaped in place");
            if (Model.Outputs.Count > 1) _w.Line($"public {OutputsType} Outputs = null!; // Output and the other outputs' tensors");
            if (ClassifierOutput is not null) _w.Line("public global::ModelDsl.Runtime.IntTensor Predicted = null!;");
            if (Model.Loss is not null) _w.Line("public global::ModelDsl.Runtime.KernelTrace? Trace; // set only while a failed step is re-run with a check after every kernel");
            _w.Line();
            EmitBind(planned);
            _w.Close();
            _w.Line();

            _w.Line("/// <summary>The one workspace: every call binds its shapes to it (Prepare), under the guard.</summary>");
            _w.Line("private readonly Workspace _workspace = new Workspace();");
            _w.Line();
            _w.Line("/// <summary>");
            _w.Line("/// The bytes the workspace's buffers hold now (activations, gradients, working memory, Predicted): for diagnostics.");
            _w.Line(_symbols.Count == 0
                ? "/// Allocated by the first call, then constant."
                : $"/// It grows only when a call needs more than a buffer holds, to the largest {symbols} seen (or reserved), never per call.");
            _w.Line("/// </summary>");
            _w.Line("public long WorkspaceBytes => global::System.Threading.Volatile.Read(ref _workspace.Bytes);");
            EmitReserveWorkspace();
            _w.Line();
            _w.Line("/// <summary>The workspace with this call's binding (<paramref name=\"bound\"/>, as Prepare bound it).</summary>");
            _w.Open("private Workspace WorkspaceFor(global::System.ReadOnlySpan<int> bound)");
            _w.Line("_workspace.Bind(bound);");
            _w.Line("return _workspace;");
            _w.Close();
            _w.Line();

            EmitPrepareHeader();
            foreach (var v in Model.Inputs) _w.Line($"w.{Identifier(v)} = {Identifier(v)}.Data;");
            foreach (var v in Model.Labels) _w.Line($"if ({Identifier(v)} is not null) w.{Identifier(v)} = {Identifier(v)}.Data;");
            for (int i = 0; i < _plan.Outputs.Count; i++)
            {
                if (_plan.Outputs[i].Root.Kind == BufferKind.Input) _w.Line($"{Name(_plan.Outputs[i].Root)}.Span.CopyTo({OutputTensor(i)}.Span);");
            }
            _w.Line("return w;");
            _w.Close();
        }

        private protected override string WorkspaceCall => "WorkspaceFor(bound)";

        /// <summary>
        /// <c>Workspace.Bind</c> (what every call needs: activations, saved values, working memory, the output tensors) and
        /// <c>BindGradients</c> (the activations' gradients, only for a call that trains). A buffer shorter than the binding
        /// needs grows to exactly that (a new, zeroed array), the others are kept; the output tensors take the new shape in
        /// place unless their array moved.
        /// </summary>
        private void EmitBind(List<PlanBuffer> planned)
        {
            string fit = "global::ModelDsl.Runtime.WorkspaceBuffers.";
            string Tail(string buffer, string layout) => $"ModelName, SymbolNames, bound, {Quote($"'{buffer}' {layout}")})";
            string Dims(Shape shape) => $"[{string.Join(", ", shape.Dims.Select(Size))}]";
            void Fit(PlanBuffer b)
            {
                string count = b.Kind == BufferKind.Workspace && WorkspaceSizeCall(b) is { } call ? call : DoubleCount(new[] { b.Shape.ElementCount() });
                string layout = b.Kind == BufferKind.Workspace ? "(working memory)" : ShapeText(b.Shape);
                _w.Line($"grown += {fit}Fit(ref {Name(b)}, {count}, {Tail(b.Name, layout)};");
            }
            var gradients = GradientOnly(planned);
            string symbols = _symbols.Count == 0 ? "" : $" ({string.Join(", ", _symbols)})";
            _w.Line("/// <summary>");
            string wait = gradients.Count > 0 ? " (the gradients wait for BindGradients)" : "";
            _w.Line($"/// Makes <paramref name=\"bound\"/>{symbols} the current binding for what every call needs{wait}. A");
            _w.Line("/// buffer shorter than the binding needs grows to exactly that (a new array of zeros; the old one is dropped), the others");
            _w.Line("/// are kept as they are; the output tensors take the new shape in place. A binding the buffers hold allocates nothing.");
            _w.Line("/// </summary>");
            _w.Open("public void Bind(global::System.ReadOnlySpan<int> bound)");
            string same = string.Concat(_symbols.Select((s, i) => $" && {SymbolLocal(s)} == bound[{i}]"));
            _w.Line($"if (Output is not null{same}) return;");
            for (int i = 0; i < _symbols.Count; i++) _w.Line($"{SymbolLocal(_symbols[i])} = bound[{i}];");
            if (gradients.Count > 0) _w.Line("GradientsBound = false;");
            _w.Line("long grown = 0; // bytes added");
            foreach (var b in planned.Where(b => !gradients.Contains(b))) Fit(b);
            var first = _plan.Outputs[0];
            _w.Line(first.Root.IsPlanned
                ? $"{fit}View(ref Output, {Name(first.Root)}, {Dims(first.Shape)});"
                : $"grown += {fit}Fit(ref Output, {Dims(first.Shape)}, {Tail("Output", ShapeText(first.Shape))};");
            if (ClassifierOutput is not null)
            {
                var output = _plan.Outputs[PredictionOutput];
                var leading = new Shape(output.Shape.Dims.Take(output.Shape.Rank - 1).ToArray());
                _w.Line($"grown += {fit}Fit(ref Predicted, {Dims(leading)}, {Tail("Predicted", ShapeText(leading))};");
            }
            if (Model.Outputs.Count > 1)
            {
                // The other outputs' tensors are properties of Outputs: reshaped in place while no buffer moved, else new.
                var others = Enumerable.Range(1, _plan.Outputs.Count - 1).ToList();
                string reshaped = string.Concat(others.Select(i => $" || !{fit}Reshape(Outputs.{OutputProperty(i)}, {Dims(_plan.Outputs[i].Shape)})"));
                string Tensor(int i)
                {
                    var o = _plan.Outputs[i];
                    return o.Root.IsPlanned
                        ? $"new global::ModelDsl.Runtime.Tensor({Name(o.Root)}, {string.Join(", ", o.Shape.Dims.Select(Size))})"
                        : $"{fit}Own({Dims(o.Shape)}, {Tail(o.Name, ShapeText(o.Shape))}";
                }
                _w.Line($"if (Outputs is null || grown != 0{reshaped})");
                _w.Line($"    Outputs = new {OutputsType}(Output, {string.Join(", ", others.Select(Tensor))});");
            }
            _w.Line("Bytes += grown;");
            _w.Close();
            if (gradients.Count == 0) return;

            _w.Line();
            _w.Line("/// <summary>The activations' gradients for the current binding (TrainStep and ComputeGradients): Forward, Predict and Evaluate never size them.</summary>");
            _w.Open("public void BindGradients()");
            _w.Line("if (GradientsBound) return;");
            _w.Line($"global::System.ReadOnlySpan<int> bound = [{string.Join(", ", _symbols.Select(SymbolLocal))}];");
            _w.Line("long grown = 0; // bytes added");
            foreach (var b in gradients) Fit(b);
            _w.Line("Bytes += grown;");
            _w.Line("GradientsBound = true;");
            _w.Close();
        }

        /// <summary>
        /// The buffers only the loss's gradient and the backward pass use: activation gradients that no other buffer is a
        /// view of (by construction none is; checked rather than assumed).
        /// </summary>
        private HashSet<PlanBuffer> GradientOnly(List<PlanBuffer> planned)
        {
            var forwardRoots = new HashSet<PlanBuffer>(_plan.Buffers.Where(b => b.Kind != BufferKind.Gradient).Select(b => b.Root));
            return new HashSet<PlanBuffer>(planned.Where(b => b.Kind == BufferKind.Gradient && !forwardRoots.Contains(b)));
        }

        /// <summary>A layer's working memory: the runtime's <c>WorkspaceSize</c> call for it (it depends on the thread count), or null.</summary>
        private string? WorkspaceSizeCall(PlanBuffer b)
        {
            foreach (var kernel in _plan.Forward)
            {
                if (kernel.Calls is { WorkspaceSize: { } size } calls && calls.Workspace == b) return Expression(size);
            }
            return null;
        }

        /// <summary>
        /// <c>ReserveWorkspace(int B, int T)</c>: sizes every buffer for those sizes now, so that a loop over shapes no larger
        /// never grows the workspace (the sizes grow with each symbol). Only for a model with symbolic dimensions.
        /// </summary>
        private void EmitReserveWorkspace()
        {
            if (_symbols.Count == 0) return;
            string list = string.Join(", ", _symbols.Select(s => $"<paramref name=\"{SymbolLocal(s)}\"/>"));
            _w.Line();
            _w.Line("/// <summary>");
            _w.Line($"/// Sizes the workspace now for calls whose {string.Join(", ", _symbols)} {(_symbols.Count == 1 ? "is" : "are")} at most {list}: every buffer gets what those sizes need, so");
            _w.Line("/// a loop over smaller shapes (length-bucketed batches, a partial last batch) never grows it. Optional: without it the");
            _w.Line("/// buffers grow to the largest shapes the calls bring. Computes nothing; the next call binds its own shapes.");
            _w.Line("/// </summary>");
            bool gradients = HasGradientBuffers;
            if (gradients) _w.Line("/// <param name=\"training\">Also the gradients' buffers, which TrainStep and ComputeGradients use (false: only what Forward, Predict and Evaluate need).</param>");
            _w.Open($"public void ReserveWorkspace({string.Join(", ", _symbols.Select(s => $"int {SymbolLocal(s)}"))}{(gradients ? ", bool training = true" : "")})");
            EnterGuard("ReserveWorkspace");
            foreach (var s in _symbols) _w.Line($"global::System.ArgumentOutOfRangeException.ThrowIfNegativeOrZero({SymbolLocal(s)});");
            _w.Line($"global::System.Span<int> bound = stackalloc int[] {{ {string.Join(", ", _symbols.Select(SymbolLocal))} }};");
            EmitSizeLimits(CallerName("ReserveWorkspace"));
            _w.Line("_workspace.Bind(bound);");
            if (gradients) _w.Line("if (training) _workspace.BindGradients();");
            _w.Close();
        }

        /// <summary>Whether the workspace has buffers only a call that trains uses (<c>BindGradients</c>).</summary>
        private bool HasGradientBuffers => GradientOnly(_plan.Buffers.Where(b => b.IsPlanned).ToList()).Count > 0;
    }
}
