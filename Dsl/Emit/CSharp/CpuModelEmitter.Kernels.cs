using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ModelDsl.IR;
using ModelDsl.Plan;

namespace ModelDsl.Emit.CSharp
{
    public sealed partial class CpuModelEmitter : CSharpEmitter
    {
        private void EmitForward()
        {
            Section("Forward pass");
            _w.Line("/// <summary>Computes every value the output and the loss need; in training mode dropout draws this step's masks.</summary>");
            _w.Open("private void RunForward(Workspace w, bool training)");
            BindSymbols();
            foreach (var kernel in _plan.Forward) EmitKernel(kernel, forward: true);
            _w.Close();
        }

        private void EmitBackward()
        {
            if (_plan.Loss is null) return;
            Section("Backward pass (reverse-mode, derived at build time)");
            _w.Line("/// <summary>Gradients of the loss, from d_prediction (written by RunLoss) back to every parameter.</summary>");
            _w.Open("private void RunBackward(Workspace w)");
            BindSymbols();
            if (BackwardReadsTraining) _w.Line("const bool training = true; // backward draws the same dropout masks as the training forward pass");
            foreach (var kernel in _plan.Backward)
            {
                if (_plan.RecomputeBefore(kernel) is { } segment)
                {
                    RecomputeHeader(segment);
                    foreach (var recomputed in segment.Forward) EmitKernel(recomputed, forward: true);
                    _w.Line();
                    _w.Line($"// ── backward of block {segment.Instance.Path}");
                }
                EmitKernel(kernel, forward: false);
            }
            _w.Close();
        }

        private void EmitLoss()
        {
            var loss = _plan.Loss;
            if (loss is null) return;
            Section("Loss");
            var origin = loss.Origins[0];
            _w.Line($"/// <summary>{Escape(origin.Description)} ({_fileName}:{Line(origin.Span)}): the mean loss, and with <paramref name=\"withGradient\"/> d loss / d {loss.Prediction.Name} in the same pass.</summary>");
            _w.Open("private float RunLoss(Workspace w, bool withGradient)");
            BindSymbols();
            LineDirective(origin.Span);
            string rows = Size(loss.Rows), cols = Size(loss.Cols);
            string prediction = $"global::System.MemoryExtensions.AsSpan({Ref(loss.Prediction)}, 0, {rows} * {cols})";
            string gradient = loss.PredictionGradient is null ? "default" : $"global::System.MemoryExtensions.AsSpan({Ref(loss.PredictionGradient)}, 0, {rows} * {cols})";
            switch (loss.Kind)
            {
                case LossKind.CrossEntropy:
                    // label_smoothing is passed only when set, so a plain cross_entropy reads as before.
                    string smoothing = loss.LabelSmoothing == 0 ? "" : $", labelSmoothing: {Literal(loss.LabelSmoothing)}";
                    _w.Line(loss.LabelSmoothing == 0
                        ? $"// softmax + cross-entropy over {rows} rows of {cols} classes: one pass per row, the softmax never stored"
                        : $"// softmax + cross-entropy over {rows} rows of {cols} classes against (1 − ε)·onehot + ε/{cols}, ε = {Literal(loss.LabelSmoothing)}: one pass per row, the softmax never stored");
                    _w.Line($"return withGradient");
                    _w.Line($"    ? global::ModelDsl.Runtime.Cpu.Reductions.SoftmaxCrossEntropy({prediction}, global::System.MemoryExtensions.AsSpan({Ref(loss.Target)}, 0, {rows}), {rows}, {cols}, {gradient}{smoothing})");
                    _w.Line($"    : global::ModelDsl.Runtime.Cpu.Reductions.SoftmaxCrossEntropyLoss({prediction}, global::System.MemoryExtensions.AsSpan({Ref(loss.Target)}, 0, {rows}), {rows}, {cols}{smoothing});");
                    break;
                case LossKind.BceWithLogits:
                    _w.Line($"return global::ModelDsl.Runtime.Cpu.Losses.BceWithLogits({prediction}, global::System.MemoryExtensions.AsSpan({Ref(loss.Target)}, 0, {rows} * {cols}), withGradient ? {gradient} : default, withGradient);");
                    break;
                default:
                    _w.Line($"return global::ModelDsl.Runtime.Cpu.Losses.Mse({prediction}, global::System.MemoryExtensions.AsSpan({Ref(loss.Target)}, 0, {rows} * {cols}), withGradient ? {gradient} : default, withGradient);");
                    break;
            }
            _w.Directive("#line default");
            _w.Close();
        }

        private void EmitOptimizer()
        {
            var optimizer = Model.Optimizer;
            if (optimizer is null) return;
            Section("Optimizer");
            string hyper = string.Join(", ", optimizer.Hyperparameters.Select(h => $"{h.Key}={h.Value.ToString("R", CultureInfo.InvariantCulture)}"));
            _w.Line($"/// <summary>One {optimizer.Kind.ToSource()} step over every parameter ({_fileName}:{Line(optimizer.Span)}: {hyper}) using their current gradients.</summary>");
            _w.Open("public void ApplyGradients()");
            EnterGuard("ApplyGradients");
            _w.Line("// The gradients may have been changed by the caller since ComputeGradients: checked again, like in TrainStep.");
            _w.Line($"_guard.Gradients({CallerName("ApplyGradients")}, Step + 1);");
            _w.Line($"Update({CallerName("ApplyGradients")});");
            _w.Close();
            _w.Line();
            _w.Line("/// <summary>");
            _w.Line("/// The update itself, after the guard has ruled out a non-finite result (docs/training.md, \"Non-finite values\"): a");
            _w.Line("/// learning rate so large that a parameter or optimizer state would overflow is refused before anything is written.");
            _w.Line("/// </summary>");
            _w.Open("private void Update(string caller)");
            string lr = "LearningRate";
            // The hyperparameters after the learning rate, as the guard and the runtime's Optimizers take them.
            string arguments = HyperArguments(optimizer);
            string method = OptimizerMethod(optimizer);
            var frozen = _plan.Parameters.Where(p => Model.Controls.IsFrozen(p.Parameter!)).ToList();
            if (frozen.Count > 0)
            {
                _w.Line($"// freeze ({_fileName}:{Line(Model.Controls.FrozenSpan)}): frozen parameters keep their values; their gradients are set to zero, as if");
                _w.Line("// never computed (PyTorch's requires_grad=False), so clipping and the checks see only the trained ones.");
                foreach (var p in frozen) _w.Line($"global::System.Array.Clear({_parameterProperties[p.Parameter!]}.Gradient);");
            }
            if (Model.Controls.Clip is { } clip)
            {
                _w.Line($"// clip_grad_norm({Number(clip.MaxNorm)}) ({_fileName}:{Line(clip.Span)}): torch.nn.utils.clip_grad_norm_, every gradient scaled by");
                _w.Line("// max_norm / (‖g‖ + 1e-6) when the global norm ‖g‖ exceeds max_norm, before the optimizer reads them.");
                _w.Line($"global::ModelDsl.Runtime.GradientClipping.ClipByGlobalNorm(Parameters, {Literal(clip.MaxNorm)});");
            }
            if (HasGroups)
            {
                string scaled = Model.Controls.Schedule is { } s ? $" and by schedule {s.Describe()} ({_fileName}:{Line(s.Span)})" : "";
                _w.Line($"// Parameter groups: this update's rate for each, LearningRate scaled by the group's lr over the optimizer's{scaled}.");
                for (int g = 0; g <= Model.Controls.Groups.Count; g++) _w.Line($"_groupRates[{g}] = GroupLearningRate({g}); // {GroupText(g)}");
                _w.Line($"_guard.{method}(caller, Step + 1, _groupRates, {HyperArguments(optimizer, "GroupWeightDecays")});");
            }
            else
            {
                if (Model.Controls.Schedule is { } schedule)
                {
                    _w.Line($"// schedule {schedule.Describe()} ({_fileName}:{Line(schedule.Span)}): this update's rate.");
                    _w.Line("float lr = ScheduledLearningRate;");
                    lr = "lr";
                }
                _w.Line($"_guard.{method}(caller, Step + 1, {lr}, {arguments});");
            }
            _w.Line("Step++;");
            LineDirective(optimizer.Span);
            foreach (var p in _plan.Parameters)
            {
                string name = _parameterProperties[p.Parameter!];
                if (Model.Controls.IsFrozen(p.Parameter!))
                {
                    _w.Line($"// {p.Parameter!.Name}: frozen, not updated");
                    continue;
                }
                if (HasGroups)
                {
                    int g = Model.Controls.GroupIndex(p.Parameter!);
                    if (g > 0) _w.Line($"// {p.Parameter!.Name}: {GroupText(g)}");
                    lr = $"_groupRates[{g}]";
                    arguments = HyperArguments(optimizer, Literal(GroupWeightDecay(g)));
                }
                _w.Line(optimizer.Settings switch
                {
                    Ops.SgdSettings => $"global::ModelDsl.Runtime.Optimizers.Sgd({name}.Value, {name}.Gradient, {name}.State1, {lr}, {arguments});",
                    Ops.AdamSettings => $"global::ModelDsl.Runtime.Optimizers.{method}({name}.Value, {name}.Gradient, {name}.State1, {name}.State2, {lr}, {arguments}, Step);",
                    // state 1 = square_avg; state 2 = momentum_buffer (momentum > 0) or grad_avg (centered), the other span empty.
                    Ops.RmspropSettings rmsprop => $"global::ModelDsl.Runtime.Optimizers.Rmsprop({name}.Value, {name}.Gradient, {name}.State1, "
                        + $"{(rmsprop.Momentum != 0 ? name + ".State2" : "default")}, {(rmsprop.Centered ? name + ".State2" : "default")}, {lr}, {arguments});",
                    var other => throw new System.InvalidOperationException($"no CPU update for {other.GetType().Name}"),
                });
                _w.Line($"{name}.MarkChanged();");
            }
            _w.Directive("#line default");
            _w.Close();
        }

        private void EmitKernel(Kernel kernel, bool forward)
        {
            _w.Line();
            _w.Line($"// {kernel.Name}");
            foreach (var origin in kernel.Origins) _w.Line($"//   {_fileName}:{Line(origin.Span)}  {origin.Description}");
            LineDirective(kernel.Origins[0].Span);
            switch (kernel)
            {
                case GemmKernel gemm: EmitGemm(gemm); break;
                case ElementwiseKernel elementwise: EmitElementwise(elementwise); break;
                default:
                    if (!EmitLayerKernel(kernel)) throw new System.NotSupportedException($"{kernel.Name}: the C# emitter does not render {kernel.GetType().Name}");
                    break;
            }
            _w.Directive("#line default");
            // The debug re-run's hook (TraceKernels): a null check per kernel, nothing more, on the normal path.
            if (_plan.Loss is not null) _w.Line($"w.Trace?.After({Quote(kernel.Name)}, {Quote($"{_fileName}:{Line(kernel.Origins[0].Span)}  {kernel.Origins[0].Description}")});");
        }

        private void EmitGemm(GemmKernel g)
        {
            string m = Size(g.M), n = Size(g.N), k = Size(g.K);
            string lda = g.TransA ? m : k, ldb = g.TransB ? k : n;
            string a = g.TransA ? $"{g.A.Name}ᵀ" : g.A.Name, b = g.TransB ? $"{g.B.Name}ᵀ" : g.B.Name;
            _w.Line($"// {g.C.Name}[{m}, {n}] {(g.Accumulate ? "+=" : "=")} {a} · {b}   (k = {k})");
            // B = a parameter's weights, transposed (the dense forward Y = X·Wᵀ): pass the Parameter itself, so the
            // runtime multiplies by a copy packed once per weight version instead of packing W on every call.
            string bArg = g.TransB && g.B.Root.Kind == BufferKind.Parameter ? _parameterProperties[g.B.Root.Parameter!] : Ref(g.B);
            _w.Line($"global::ModelDsl.Runtime.Cpu.Sgemm.Multiply({Bool(g.TransA)}, {Bool(g.TransB)}, {m}, {n}, {k}, 1f, {Ref(g.A)}, {lda}, {bArg}, {ldb}, {(g.Accumulate ? "1f" : "0f")}, {Ref(g.C)}, {n});");
        }

        private void EmitElementwise(ElementwiseKernel kernel)
        {
            string rows = Size(kernel.Rows), cols = Size(kernel.Cols);
            var buffers = kernel.Outputs.Select(o => o.Target).Concat(kernel.ColumnSums.Select(s => s.Target))
                .Concat(kernel.Outputs.SelectMany(o => Loads(o.Value))).Concat(kernel.ColumnSums.SelectMany(s => Loads(s.Value)))
                .Distinct().ToList();
            var dropouts = kernel.Outputs.SelectMany(o => Masks(o.Value)).Concat(kernel.ColumnSums.SelectMany(s => Masks(s.Value)))
                .GroupBy(m => m.Slot).Select(g => g.First()).ToList();

            _w.Line($"// one pass over [{rows}, {cols}]:");
            foreach (var formula in kernel.Formulas()) _w.Line("//   " + formula);
            _w.Open("");
            _w.Line($"int rows = {rows}, cols = {cols};");
            foreach (var b in buffers) _w.Line($"ref {ElementType(b.DType)} {Name(b)} = ref global::System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference({Ref(b)});");
            foreach (var mask in dropouts)
            {
                string s = mask.Slot.ToString(CultureInfo.InvariantCulture);
                float scale = 1f / (1f - mask.Probability);
                _w.Line($"uint seed{s} = global::ModelDsl.Runtime.Cpu.Dropout.Seed(Seed, Step, {s}, DropoutStream);");
                _w.Line($"float p{s} = training ? {Literals.CSharp(mask.Probability)} : 0f, scale{s} = training ? {Literals.CSharp(scale)} : 1f;");
                _w.Line($"var vp{s} = global::System.Runtime.Intrinsics.Vector256.Create(p{s});");
                _w.Line($"var vscale{s} = global::System.Runtime.Intrinsics.Vector256.Create(scale{s});");
            }
            foreach (var sum in kernel.ColumnSums.Where(s => !s.Accumulate)) _w.Line($"global::System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref {Name(sum.Target)}, cols).Clear();");

            _w.Open("for (int r = 0; r < rows; r++)");
            _w.Line("int c = 0;");
            _w.Open("for (; c <= cols - global::System.Runtime.Intrinsics.Vector256<float>.Count; c += global::System.Runtime.Intrinsics.Vector256<float>.Count)");
            _w.Line("nuint i = (nuint)(r * cols + c);");
            EmitBody(kernel, vector: true);
            _w.Close();
            _w.Open("for (; c < cols; c++)");
            _w.Line("int i = r * cols + c;");
            EmitBody(kernel, vector: false);
            _w.Close();
            _w.Close();
            _w.Close();
        }

        private void EmitBody(ElementwiseKernel kernel, bool vector)
        {
            (string, string, string) Dropout(DropoutMaskExpr m)
            {
                string s = m.Slot.ToString(CultureInfo.InvariantCulture);
                return ("seed" + s, "p" + s, "scale" + s);
            }
            var renderer = new ExpressionRenderer(vector ? CSharpExpressions.VectorBody(Name, Dropout) : CSharpExpressions.ScalarTail(Name, Dropout));
            var results = kernel.Outputs.Select(o => renderer.Render(o.Value)).ToList();
            var sums = kernel.ColumnSums.Select(s => renderer.Render(s.Value)).ToList();
            foreach (var line in renderer.Lines) _w.Line(line);
            for (int k = 0; k < kernel.Outputs.Count; k++)
            {
                var o = kernel.Outputs[k];
                string target = Name(o.Target);
                if (vector)
                {
                    _w.Line(o.Accumulate
                        ? $"global::System.Runtime.Intrinsics.Vector256.StoreUnsafe(global::System.Runtime.Intrinsics.Vector256.LoadUnsafe(ref {target}, i) + {results[k]}, ref {target}, i);"
                        : $"global::System.Runtime.Intrinsics.Vector256.StoreUnsafe({results[k]}, ref {target}, i);");
                }
                else
                {
                    _w.Line($"global::System.Runtime.CompilerServices.Unsafe.Add(ref {target}, i) {(o.Accumulate ? "+=" : "=")} {results[k]};");
                }
            }
            for (int k = 0; k < kernel.ColumnSums.Count; k++)
            {
                string target = Name(kernel.ColumnSums[k].Target);
                _w.Line(vector
                    ? $"global::System.Runtime.Intrinsics.Vector256.StoreUnsafe(global::System.Runtime.Intrinsics.Vector256.LoadUnsafe(ref {target}, (nuint)c) + {sums[k]}, ref {target}, (nuint)c);"
                    : $"global::System.Runtime.CompilerServices.Unsafe.Add(ref {target}, c) += {sums[k]};");
            }
        }

        private static IEnumerable<PlanBuffer> Loads(Expr expr) => ExprWalker.Nodes(expr).OfType<LoadExpr>().Select(l => l.Buffer);

        private static IEnumerable<DropoutMaskExpr> Masks(Expr expr) => ExprWalker.Nodes(expr).OfType<DropoutMaskExpr>();

        /// <summary>The array behind a buffer as the generated code names it (an alias is its root's array).</summary>
        private string Ref(PlanBuffer b)
        {
            var root = b.Root;
            return root.Kind switch
            {
                BufferKind.Parameter => _parameterProperties[root.Parameter!] + ".Value",
                BufferKind.ParameterGradient => _parameterProperties[root.Parameter!] + ".Gradient",
                BufferKind.State => _stateProperties[root.State!] + ".Value",
                _ => "w." + Name(root),
            };
        }

        private void LineDirective(ModelDsl.Text.TextSpan span) =>
            _w.Directive($"#line {Line(span)} {Quote(_source.Path)}");

    }
}
