using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Runtime.Intrinsics;
using System.Text.RegularExpressions;
using ModelDsl.Autodiff;
using ModelDsl.Emit.Cuda;
using ModelDsl.Emit.Onnx;
using ModelDsl.IR;
using ModelDsl.Ops;
using ModelDsl.Plan;

namespace ModelDsl.Dsl.Tests
{
    /// <summary>
    /// Every op in the catalogue has every part (docs/adding-an-op.md): typed attributes its shape rule sets, forward
    /// and backward planning, a cost, an ONNX lowering or a stated reason, a CPU kernel and a CUDA kernel. Checked by
    /// reflection over <see cref="OpCatalog.All"/> and by planning, costing, lowering and emitting a small model per op:
    /// the kernels the plan has for the op must render as calls to runtime methods that exist (CPU) and as launches of
    /// kernels the CUDA source defines.
    /// </summary>
    public sealed class OpCompletenessTests
    {
        /// <summary>One small trainable model per op: <c>out</c> is computed with the op, from a value that needs a gradient where it can.</summary>
        private static readonly IReadOnlyDictionary<string, string> Samples = new Dictionary<string, string>
        {
            ["dense"] = Model("f32[B, 4]", "x -> dense(3) -> dense(2)", "f32[B, 2]"),
            ["relu"] = Model("f32[B, 4]", "x -> dense(3) -> relu", "f32[B, 3]"),
            ["gelu"] = Model("f32[B, 4]", "x -> dense(3) -> gelu", "f32[B, 3]"),
            ["sigmoid"] = Model("f32[B, 4]", "x -> dense(3) -> sigmoid", "f32[B, 3]"),
            ["tanh"] = Model("f32[B, 4]", "x -> dense(3) -> tanh", "f32[B, 3]"),
            ["silu"] = Model("f32[B, 4]", "x -> dense(3) -> silu", "f32[B, 3]"),
            ["leaky_relu"] = Model("f32[B, 4]", "x -> dense(3) -> leaky_relu(0.2)", "f32[B, 3]"),
            ["elu"] = Model("f32[B, 4]", "x -> dense(3) -> elu", "f32[B, 3]"),
            ["softmax"] = Model("f32[B, 4]", "x -> dense(3) -> softmax", "f32[B, 3]"),
            ["dropout"] = Model("f32[B, 4]", "x -> dense(3) -> dropout(0.5)", "f32[B, 3]"),
            ["layer_norm"] = Model("f32[B, 4]", "x -> dense(3) -> layer_norm", "f32[B, 3]"),
            ["batch_norm"] = Model("f32[B, 1, 6, 6]", "x -> conv2d(2, 3) -> batch_norm -> flatten", "f32[B, 32]"),
            ["conv2d"] = Model("f32[B, 1, 6, 6]", "x -> conv2d(2, 3) -> conv2d(2, 3, padding=1) -> flatten", "f32[B, 32]"),
            ["max_pool2d"] = Model("f32[B, 1, 6, 6]", "x -> conv2d(2, 3) -> max_pool2d(2) -> flatten", "f32[B, 8]"),
            ["avg_pool2d"] = Model("f32[B, 1, 6, 6]", "x -> conv2d(2, 3) -> avg_pool2d(2) -> flatten", "f32[B, 8]"),
            ["mean"] = Model("f32[B, T, 4]", "x -> dense(5) -> mean(axis=1)", "f32[B, 5]"),
            ["sum"] = Model("f32[B, T, 4]", "x -> dense(5) -> sum(axis=-1, keepdim=true)", "f32[B, T, 1]"),
            ["max"] = Model("f32[B, T, 4]", "x -> dense(5) -> max(axis=1)", "f32[B, 5]"),
            ["select"] = Model("f32[B, T, 4]", "x -> dense(5) -> select(axis=1, index=0)", "f32[B, 5]"),
            ["slice"] = Model("f32[B, 6, 4]", "x -> dense(5) -> slice(axis=1, start=1, end=-1)", "f32[B, 4, 5]"),
            ["permute"] = Model("f32[B, 3, 4]", "x -> dense(5) -> permute(0, 2, 1)", "f32[B, 5, 3]"),
            ["global_max_pool2d"] = Model("f32[B, 1, H, W]", "x -> conv2d(2, 3, padding=\"same\") -> global_max_pool2d", "f32[B, 2]"),
            ["global_avg_pool2d"] = Model("f32[B, 1, H, W]", "x -> conv2d(2, 3, padding=\"same\") -> global_avg_pool2d", "f32[B, 2]"),
            ["flatten"] = Model("f32[B, 1, 6, 6]", "x -> conv2d(2, 3) -> flatten", "f32[B, 32]"),
            ["reshape"] = Model("f32[B, 4]", "x -> dense(6) -> reshape([B, 2, 3])", "f32[B, 2, 3]"),
            ["embedding"] = Model("i32[B, 5]", "x -> embedding(10, 4)", "f32[B, 5, 4]"),
            ["positional"] = Model("f32[B, 5, 4]", "x -> dense(4) -> positional(8)", "f32[B, 5, 4]"),
            ["lstm"] = Model("f32[B, 5, 4]", "x -> dense(4) -> lstm(3, return_sequences=true, bidirectional=true) -> lstm(3)", "f32[B, 3]"),
            ["gru"] = Model("f32[B, 5, 4]", "x -> dense(4) -> gru(3, return_sequences=true) -> gru(2, bidirectional=true)", "f32[B, 4]"),
            ["attention"] = Model("f32[B, 5, 4]", "x -> dense(4) -> attention(2, causal=true, dropout=0.1)", "f32[B, 5, 4]"),
            ["add"] = Model("f32[B, 4]", "add(x -> dense(3), x -> dense(3))", "f32[B, 3]"),
            ["mul"] = Model("f32[B, 4]", "mul(x -> dense(3), x -> dense(3))", "f32[B, 3]"),
            ["concat"] = Model("f32[B, 4]", "concat(x -> dense(3), x -> dense(2))", "f32[B, 5]"),
        };

        private static string Model(string input, string expression, string label) =>
            $"model M {{\n    input x: {input}\n    label y: {label}\n    out = {expression}\n    output out\n    loss mse(out, y)\n    optimizer sgd(lr=0.1)\n}}\n";

        public static IEnumerable<object[]> Ops() => OpCatalog.All.Select(o => new object[] { o.Name });

        [Fact]
        public void Every_op_in_the_catalogue_has_a_sample_model_and_nothing_else_does()
        {
            Assert.Equal(OpCatalog.All.Select(o => o.Name).OrderBy(n => n, StringComparer.Ordinal), Samples.Keys.OrderBy(n => n, StringComparer.Ordinal));
            Assert.Equal(OpCatalog.All.Count, OpCatalog.All.Select(o => o.Kind).Distinct().Count());
            Assert.Equal(Enum.GetValues(typeof(OpKind)).Length, OpCatalog.All.Count);
        }

        [Theory]
        [MemberData(nameof(Ops))]
        public void Attributes_are_a_typed_record_set_by_the_shape_rule_with_every_argument(string name)
        {
            var (rule, _, node) = Sample(name);
            Assert.True(typeof(OpAttributes).IsAssignableFrom(rule.AttributesType), $"{name}: {rule.AttributesType.Name} is not an OpAttributes");
            Assert.True(rule.AttributesType.IsSealed, $"{name}: {rule.AttributesType.Name} is not sealed");
            Assert.Equal(rule.AttributesType, node.Attributes.GetType());
            // Every constant argument (defaults filled in by the signature) is parsed into the record; tie is the parameter itself.
            // An argument whose default is none (optional without a default: embedding's padding_idx) may be left out when none.
            var described = node.Attributes.Describe().Select(a => a.Key).ToList();
            var arguments = rule.Signature.Parameters.Where(p => p.IsConstant && p.Kind != ParamKind.ParamRef)
                .Where(p => !(p.Optional && p.Default is null) || described.Contains(p.Name)).Select(p => p.Name).ToList();
            Assert.Equal(arguments, described.Where(k => k != "tied"));
        }

        [Theory]
        [MemberData(nameof(Ops))]
        public void Forward_and_backward_are_planned(string name)
        {
            var (rule, graph, node) = Sample(name);
            switch (rule.Planning)
            {
                case Planning.Elementwise:
                    Assert.NotNull(rule.Elementwise);
                    break;
                case Planning.Head:
                    Assert.IsAssignableFrom<IHeadRule>(rule);
                    break;
                case Planning.Layer:
                    Assert.True(Overrides(rule, nameof(OpRule.PlanForward)), $"{name} is a layer without PlanForward");
                    Assert.True(Overrides(rule, nameof(OpRule.PlanBackward)), $"{name} is a layer without PlanBackward");
                    break;
            }

            Assert.Null(rule.NotPlannable(node));
            var plan = PlanBuilder.TryBuild(graph, out var unsupported);
            Assert.Null(unsupported);
            Assert.NotNull(plan);
            Assert.NotEmpty(KernelsOf(plan!.Forward, node));
            Assert.NotNull(Compile(name).Compiled.Plan); // and the back-end entry plans it too
            Assert.NotEmpty(KernelsOf(plan.Backward, node));
        }

        [Theory]
        [MemberData(nameof(Ops))]
        public void Cost_is_counted(string name)
        {
            var (rule, compiled, node) = Compile(name);
            var cost = rule.Cost(node, new CostContext(compiled.Graph, new Dictionary<string, long> { ["B"] = 2 }));
            Assert.True(cost.Forward >= 0 && cost.Backward >= 0, $"{name}: negative cost");
            // Anything with parameters has gradients to compute.
            if (node.Parameters.Count > 0) Assert.True(cost.Backward > 0, $"{name}: a layer with parameters and no backward FLOPs");
            var total = Analysis.CostModel.Estimate(compiled, new Dictionary<string, long> { ["B"] = 2 });
            Assert.Contains(total.Layers, l => l.Node == node && l.ForwardFlops == cost.Forward && l.BackwardFlops == cost.Backward);
        }

        [Theory]
        [MemberData(nameof(Ops))]
        public void Onnx_lowering_exists_or_the_rule_says_why_not(string name)
        {
            var (rule, graph, node) = Sample(name);
            var lowered = OnnxLowering.TryLower(graph, out var error, out var unsupported);
            if (rule.NotExportable is { } reason)
            {
                Assert.False(Overrides(rule, nameof(OpRule.LowerOnnx)), $"{name} both lowers and says it cannot");
                Assert.True(reason.Length > 20 && !reason.EndsWith(".", StringComparison.Ordinal), $"{name}: the reason is a clause for a message: '{reason}'");
                Assert.Null(lowered);
                Assert.Same(node, unsupported);
                Assert.Contains(name, error);
                Assert.Contains(reason, error); // the user is told why
                return;
            }
            Assert.True(Overrides(rule, nameof(OpRule.LowerOnnx)), $"{name} has neither an ONNX lowering nor a reason");
            Assert.True(lowered is not null, error);
            Assert.NotEmpty(lowered!.Nodes);
        }

        [Theory]
        [MemberData(nameof(Ops))]
        public void Cpu_kernels_exist_for_what_the_plan_asks(string name)
        {
            var (_, compiled, node) = Compile(name);
            var plan = compiled.Plan!;
            string code = compiled.CSharpSource("Test")!;
            var runtime = typeof(Runtime.Cpu.Activations).Assembly;
            foreach (var kernel in KernelsOf(plan.Forward.Concat(plan.Backward), node))
            {
                switch (kernel)
                {
                    case GemmKernel:
                        break; // Runtime/Cpu/Sgemm
                    case ElementwiseKernel loop:
                        foreach (var op in UnaryOps(loop))
                        {
                            var method = typeof(Runtime.Cpu.Activations).GetMethod(op.ToString(), new[] { typeof(float) });
                            Assert.True(method is not null && method.IsStatic, $"{name}: Runtime.Cpu.Activations.{op}(float) is missing");
                            Assert.NotNull(typeof(Runtime.Cpu.Activations).GetMethod(op.ToString(), new[] { typeof(Vector256<float>) }));
                        }
                        break;
                    case ReshapeKernel view:
                        Assert.Same(view.Input.Root, view.Output.Root); // a view: no kernel at all
                        break;
                    default:
                    {
                        // The rule states the calls (OpRule.Calls); each names a runtime method with that many parameters.
                        Assert.True(kernel.Calls is not null, $"{name}: {kernel.Name} is a layer kernel whose rule states no runtime calls");
                        foreach (var call in kernel.Calls!.Calls.Concat(kernel.Calls.WorkspaceSize is { } size ? new[] { size } : new LayerCall[0]))
                        {
                            var type = runtime.GetType("ModelDsl.Runtime.Cpu.Layers." + call.Class);
                            Assert.True(type?.GetMethods(BindingFlags.Public | BindingFlags.Static).Any(m => m.Name == call.Method && m.GetParameters().Length == call.Arguments.Count) == true,
                                $"{name}: {kernel.Name} calls {call.Class}.{call.Method} with {call.Arguments.Count} arguments, which the runtime lacks");
                        }
                        string block = Block(code, kernel.Name);
                        var calls = Regex.Matches(block, @"global::ModelDsl\.Runtime\.Cpu\.Layers\.(\w+)\.(\w+)\(").Cast<Match>().ToList();
                        Assert.True(calls.Count > 0, $"{name}: {kernel.Name} renders no runtime call:\n{block}");
                        foreach (var call in calls)
                        {
                            var type = runtime.GetType("ModelDsl.Runtime.Cpu.Layers." + call.Groups[1].Value);
                            Assert.True(type?.GetMethods(BindingFlags.Public | BindingFlags.Static).Any(m => m.Name == call.Groups[2].Value) == true,
                                $"{name}: {kernel.Name} calls {call.Value} which the runtime lacks");
                        }
                        break;
                    }
                }
            }
        }

        [Theory]
        [MemberData(nameof(Ops))]
        public void Cuda_kernels_exist_for_what_the_plan_asks(string name)
        {
            var (_, compiled, node) = Compile(name);
            var plan = compiled.Plan!;
            var module = compiled.Cuda!;
            Assert.NotEmpty(compiled.GpuSource("Test")!);
            foreach (var kernel in KernelsOf(plan.Forward.Concat(plan.Backward), node))
            {
                switch (kernel)
                {
                    case GemmKernel:
                        break; // cuBLAS
                    case ElementwiseKernel loop when module.Epilogues.TryGetValue(loop, out var epilogue):
                        // No kernel: a cuBLASLt epilogue on the GEMM beside it does the work (docs/cuda.md, "GEMM epilogues").
                        Assert.Contains($"_context.SgemmEpilogue(global::ModelDsl.Cuda.GemmEpilogue.{epilogue.Kind},", compiled.GpuSource("Test")!);
                        Assert.Contains($"// {loop.Name}: no kernel: cuBLASLt's", module.Source);
                        break;
                    case ElementwiseKernel loop:
                        Assert.True(module.Launches.ContainsKey(loop), $"{name}: {loop.Name} has no CUDA kernel");
                        AssertDefines(module, module.Launches[loop].Name);
                        foreach (var op in UnaryOps(loop))
                            Assert.Contains($"float {CudaExpressions.Function(op)}(float", module.Source);
                        break;
                    case ReshapeKernel:
                        break;
                    default:
                        // A layer kernel: its family's library file is in the module, and the GPU host calls its launcher
                        // in ModelDsl.Cuda.Layers (which checks each launch against the file's kernel signatures).
                        Assert.True(CudaEmitter.FamilyOf(kernel) is not null, $"{name}: {kernel.Name} has no CUDA layer family");
                        foreach (var family in CudaEmitter.FamiliesOf(kernel)) Assert.Contains(CudaLayerLibrary.Source(family), module.Source);
                        AssertCallsLauncher(compiled.GpuSource("Test")!, kernel.Name);
                        break;
                }
            }
        }

        /// <summary>The GPU host's block for <paramref name="kernel"/> (from its header comment to the blank line after it) calls a launcher.</summary>
        private static void AssertCallsLauncher(string gpuSource, string kernel)
        {
            int start = gpuSource.IndexOf($"// {kernel}\n", System.StringComparison.Ordinal);
            Assert.True(start >= 0, $"the GPU host has no block for {kernel}");
            int end = gpuSource.IndexOf("\n\n", start, System.StringComparison.Ordinal);
            string block = end < 0 ? gpuSource.Substring(start) : gpuSource.Substring(start, end - start);
            Assert.Matches(@"global::ModelDsl\.Cuda\.Layers\.\w+\.(Forward|Backward)\w*\(_layers, ", block); // ForwardBidirectional too
        }

        private static void AssertDefines(CudaModule module, string kernel) =>
            Assert.True(Regex.IsMatch(module.Source, @"__global__ void (__launch_bounds__\(\d+\) )?" + kernel + @"\("), $"the CUDA source defines no kernel {kernel}");

        private static (OpRule Rule, ModelGraph Graph, OpNode Node) Sample(string name)
        {
            var (rule, compiled, node) = Compile(name);
            return (rule, compiled.Graph, node);
        }

        /// <summary>The sample through the back-end entry; its op is the last of its kind (dense's sample has two: the second has an input gradient).</summary>
        private static (OpRule Rule, CompiledModel Compiled, OpNode Node) Compile(string name)
        {
            Assert.True(OpCatalog.TryGet(name, out var rule));
            var result = Compilation.Compile("m.model", Samples[name]);
            Assert.False(result.HasErrors, name + ": " + string.Join("\n", result.Diagnostics.Select(d => d.Format(result.Text))));
            var compiled = Assert.Single(result.Compiled);
            return (rule, compiled, compiled.Graph.Nodes.Last(n => n.Kind == rule.Kind));
        }

        private static bool Overrides(OpRule rule, string method) =>
            rule.GetType().GetMethods(BindingFlags.Public | BindingFlags.Instance).Where(m => m.Name == method).All(m => m.DeclaringType != typeof(OpRule));

        /// <summary>The plan's kernels that come from <paramref name="node"/>'s call (a fused loop counts for every op in it).</summary>
        private static List<Kernel> KernelsOf(IEnumerable<Kernel> kernels, OpNode node) =>
            kernels.Where(k => k.Origins.Any(o => o.Span.Equals(node.Span))).ToList();

        private static IEnumerable<UnaryOp> UnaryOps(ElementwiseKernel loop) =>
            loop.Outputs.Select(o => o.Value).Concat(loop.ColumnSums.Select(s => s.Value))
                .SelectMany(ExprWalker.Nodes).OfType<UnaryExpr>().Select(u => u.Op).Distinct();

        /// <summary>The generated lines of one kernel: from its <c>// name</c> header to its trace.</summary>
        private static string Block(string code, string kernel)
        {
            int start = code.IndexOf("// " + kernel + "\n", StringComparison.Ordinal);
            Assert.True(start >= 0, $"the generated C# has no block for {kernel}");
            int end = code.IndexOf($"Trace?.After(\"{kernel}\"", start, StringComparison.Ordinal);
            return code.Substring(start, (end < 0 ? code.Length : end) - start);
        }
    }
}
