using System.Collections.Generic;
using System.Linq;
using ModelDsl.Plan;

namespace ModelDsl.Emit.Cuda
{
    /// <summary>What a <see cref="CublasLtEpilogue"/> computes; the names are those of <c>ModelDsl.Cuda.GemmEpilogue</c>.</summary>
    public enum EpilogueKind
    {
        /// <summary>dense with bias, nothing after it in the chain: <c>C = P + bias</c>.</summary>
        Bias,
        /// <summary>dense → gelu(approximate="tanh"): <c>aux = P + bias</c> (the GELU input the backward reads), <c>Y = gelu(aux)</c>.</summary>
        GeluAuxBias,
        /// <summary>The GEMM giving the gradient at a tanh GELU's output, then gelu' and the dense bias gradient before it.</summary>
        GeluGradientBiasGradient,
        /// <summary>A dense layer's weight gradient <c>dYᵀ·X</c> with its bias gradient <c>Σ_rows dY</c>.</summary>
        BiasGradientOfA,
    }

    /// <summary>
    /// One GEMM of the plan that the GPU session runs through cuBLASLt with an epilogue (<c>GpuContext.SgemmEpilogue</c>,
    /// or <c>GemmBf16Epilogue</c> in a Bf16 session), and the fused elementwise kernel of the plan whose work the epilogue
    /// does instead, which the CUDA module then leaves out. The CPU code is unchanged: it runs the plan's kernels as they are.
    /// </summary>
    public sealed class CublasLtEpilogue
    {
        internal CublasLtEpilogue(EpilogueKind kind, GemmKernel gemm, ElementwiseKernel replaces, PlanBuffer output, PlanBuffer bias, PlanBuffer? aux, PlanBuffer? unwritten)
        {
            Kind = kind;
            Gemm = gemm;
            Replaces = replaces;
            Output = output;
            Bias = bias;
            Aux = aux;
            Unwritten = unwritten;
        }

        public EpilogueKind Kind { get; }
        public GemmKernel Gemm { get; }

        /// <summary>The elementwise kernel this epilogue does the work of: not in the CUDA module, not launched.</summary>
        public ElementwiseKernel Replaces { get; }

        /// <summary>Where the epilogue's C goes: the GEMM's own C, or (gelu's forward and backward) the value after the GELU.</summary>
        public PlanBuffer Output { get; }

        /// <summary>The bias read (forward) or the bias gradient written (backward).</summary>
        public PlanBuffer Bias { get; }

        /// <summary>The GELU input: written by <see cref="EpilogueKind.GeluAuxBias"/>, read by <see cref="EpilogueKind.GeluGradientBiasGradient"/>.</summary>
        public PlanBuffer? Aux { get; }

        /// <summary>
        /// A buffer of the plan the GPU never writes (the gradient at the GELU's output, which the dGELU epilogue keeps in
        /// registers): the GPU session does not allocate it. Null for the other epilogues.
        /// </summary>
        public PlanBuffer? Unwritten { get; }
    }

    /// <summary>
    /// Finds the GEMMs of a plan that cuBLASLt epilogues can fuse with the elementwise kernel next to them, like llm.c's
    /// <c>matmul.cuh</c>. Each pattern is matched exactly, so anything else in the chain (dropout, a residual add, an
    /// activation other than the tanh GELU, an accumulating gradient) keeps the kernel:
    /// <list type="bullet">
    /// <item>forward, a GEMM then a kernel writing only <c>C = C + bias</c>: <see cref="EpilogueKind.Bias"/>;</item>
    /// <item>forward, a GEMM then <c>C = C + bias; Y = gelu_tanh(C + bias)</c> (n a multiple of 8, cuBLASLt's alignment of the
    /// aux matrix): <see cref="EpilogueKind.GeluAuxBias"/>;</item>
    /// <item>backward, a GEMM writing dY (assigning) then <c>dX = dY · gelu_tanh_grad(X); dbias = Σ_rows dX</c>, where nothing
    /// else reads or writes dY: <see cref="EpilogueKind.GeluGradientBiasGradient"/>;</item>
    /// <item>backward, a kernel writing only <c>dbias = Σ_rows dY</c> then the weight-gradient GEMM <c>dYᵀ·X</c>:
    /// <see cref="EpilogueKind.BiasGradientOfA"/>.</item>
    /// </list>
    /// Bias gradients must be assigned, not accumulated: cuBLASLt writes them.
    /// </summary>
    internal static class CublasLtEpilogues
    {
        /// <summary>cuBLASLt's alignment (in floats) of the leading dimension of a GELU epilogue's aux matrix.</summary>
        public const int AuxAlignment = 8;

        /// <summary>Every epilogue of <paramref name="plan"/>, keyed by its GEMM and by the kernel it replaces.</summary>
        public static IReadOnlyDictionary<Kernel, CublasLtEpilogue> Find(TrainingPlan plan)
        {
            var found = new Dictionary<Kernel, CublasLtEpilogue>();
            // precision bf16 takes the same epilogues: its Bf16 session runs them on the operands' BF16 copies
            // (GpuContext.GemmBf16Epilogue, FP32 C, bias and aux), its Fp32 and Tf32 sessions as any model does.
            void Add(CublasLtEpilogue? e)
            {
                if (e is null) return;
                found[e.Gemm] = e;
                found[e.Replaces] = e;
            }
            for (int i = 0; i + 1 < plan.Forward.Count; i++)
            {
                if (plan.Forward[i] is GemmKernel g && plan.Forward[i + 1] is ElementwiseKernel e) Add(Forward(g, e));
            }
            for (int i = 0; i + 1 < plan.Backward.Count; i++)
            {
                if (found.ContainsKey(plan.Backward[i])) continue;
                if (plan.Backward[i] is GemmKernel g && plan.Backward[i + 1] is ElementwiseKernel e) Add(GeluBackward(plan, g, e));
                else if (plan.Backward[i] is ElementwiseKernel sum && plan.Backward[i + 1] is GemmKernel weight) Add(BiasGradient(sum, weight));
            }
            // A recomputed block instance's scratch is memory its instances share in turns (PlanBuffer.SharesScratch): a dGELU
            // epilogue leaves its dY unwritten, and so unallocated, only where every value in that memory is left unwritten too.
            var unwritten = new HashSet<PlanBuffer>(found.Values.Where(e => e.Unwritten is not null).Select(e => e.Unwritten!.ValueRoot));
            foreach (var e in found.Values.Distinct().Where(e => e.Unwritten is not null).ToList())
            {
                if (!plan.Buffers.Any(b => b.Root == e.Unwritten!.Root && !unwritten.Contains(b.ValueRoot))) continue;
                found.Remove(e.Gemm);
                found.Remove(e.Replaces);
            }
            return found;
        }

        private static CublasLtEpilogue? Forward(GemmKernel g, ElementwiseKernel e)
        {
            if (g.Accumulate || e.UsesDropout || e.ColumnSums.Count > 0 || !e.Rows.Equals(g.M) || !e.Cols.Equals(g.N)) return null;
            var c = g.C;
            if (e.Outputs.Count == 1)
            {
                var o = e.Outputs[0];
                if (o.Target != c || o.Accumulate || BiasAdd(o.Value, c) is not { } bias) return null;
                return new CublasLtEpilogue(EpilogueKind.Bias, g, e, c, bias, null, null);
            }
            if (e.Outputs.Count == 2 && g.N.IsKnown && g.N.Value % AuxAlignment == 0)
            {
                var pre = e.Outputs.FirstOrDefault(o => o.Target == c);
                var post = e.Outputs.FirstOrDefault(o => o.Target != c);
                if (pre is null || post is null || pre.Accumulate || post.Accumulate || post.Target.Root == c.Root) return null;
                if (BiasAdd(pre.Value, c) is not { } bias) return null;
                if (post.Value is not UnaryExpr { Op: UnaryOp.GeluTanh } gelu || BiasAdd(gelu.Operand, c) != bias) return null;
                return new CublasLtEpilogue(EpilogueKind.GeluAuxBias, g, e, post.Target, bias, c, null);
            }
            return null;
        }

        private static CublasLtEpilogue? GeluBackward(TrainingPlan plan, GemmKernel g, ElementwiseKernel e)
        {
            if (g.Accumulate || e.UsesDropout || !e.Rows.Equals(g.M) || !e.Cols.Equals(g.N) || !g.N.IsKnown || g.N.Value % AuxAlignment != 0) return null;
            if (e.Outputs.Count != 1 || e.ColumnSums.Count != 1) return null;
            var o = e.Outputs[0];
            var s = e.ColumnSums[0];
            var dy = g.C;
            if (o.Accumulate || s.Accumulate || o.Target.Root == dy.Root) return null;
            if (GeluGradient(o.Value, dy) is not { } input || GeluGradient(s.Value, dy) != input) return null;
            if (!OnlyTouchedBy(plan, dy, g, e)) return null;
            return new CublasLtEpilogue(EpilogueKind.GeluGradientBiasGradient, g, e, o.Target, s.Target, input, dy);
        }

        private static CublasLtEpilogue? BiasGradient(ElementwiseKernel e, GemmKernel g)
        {
            if (e.UsesDropout || e.Outputs.Count != 0 || e.ColumnSums.Count != 1 || !g.TransA) return null;
            var s = e.ColumnSums[0];
            if (s.Accumulate || s.Value is not LoadExpr { Broadcast: Broadcast.None } load) return null;
            if (load.Buffer.Root != g.A.Root || !g.M.Equals(e.Cols) || !g.K.Equals(e.Rows)) return null;
            return new CublasLtEpilogue(EpilogueKind.BiasGradientOfA, g, e, g.C, s.Target, null, null);
        }

        /// <summary>The bias of <c>C + bias</c> (either order), or null.</summary>
        private static PlanBuffer? BiasAdd(Expr value, PlanBuffer c)
        {
            if (value is not BinaryExpr { Op: BinaryOp.Add } add) return null;
            if (add.Left is LoadExpr { Broadcast: Broadcast.None } l && l.Buffer == c && add.Right is LoadExpr { Broadcast: Broadcast.Column } r) return r.Buffer;
            if (add.Right is LoadExpr { Broadcast: Broadcast.None } l2 && l2.Buffer == c && add.Left is LoadExpr { Broadcast: Broadcast.Column } r2) return r2.Buffer;
            return null;
        }

        /// <summary>The GELU input X of <c>dY · gelu_tanh_grad(X)</c> (either order), or null.</summary>
        private static PlanBuffer? GeluGradient(Expr value, PlanBuffer dy)
        {
            if (value is not BinaryExpr { Op: BinaryOp.Multiply } mul) return null;
            PlanBuffer? Match(Expr gradient, Expr derivative) =>
                gradient is LoadExpr { Broadcast: Broadcast.None } g && g.Buffer == dy
                && derivative is UnaryExpr { Op: UnaryOp.GeluTanhGrad, Operand: LoadExpr { Broadcast: Broadcast.None } x } ? x.Buffer : null;
            return Match(mul.Left, mul.Right) ?? Match(mul.Right, mul.Left);
        }

        /// <summary>True when no kernel of the plan but <paramref name="writer"/> and <paramref name="reader"/> touches <paramref name="buffer"/>'s memory.</summary>
        private static bool OnlyTouchedBy(TrainingPlan plan, PlanBuffer buffer, Kernel writer, Kernel reader)
        {
            foreach (var kernel in plan.Forward.Concat(plan.Backward))
            {
                if (kernel == writer || kernel == reader) continue;
                // By value, not memory: another recomputed block instance's buffer in the same scratch is another value (PlanBuffer.ValueRoot).
                if (Touches(kernel) is not { } touched || touched.Any(b => b.ValueRoot == buffer.ValueRoot)) return false;
            }
            return plan.Loss is not { } loss || !new[] { loss.Prediction, loss.Target, loss.PredictionGradient }.Any(b => b?.ValueRoot == buffer.ValueRoot);
        }

        /// <summary>Every buffer a kernel reads or writes, or null for a kind this pass does not know (assumed to touch anything).</summary>
        private static IEnumerable<PlanBuffer>? Touches(Kernel kernel) => kernel switch
        {
            GemmKernel g => new[] { g.A, g.B, g.C },
            ElementwiseKernel e => e.Outputs.Select(o => o.Target).Concat(e.ColumnSums.Select(s => s.Target))
                .Concat(e.Outputs.Select(o => o.Value).Concat(e.ColumnSums.Select(s => s.Value)).SelectMany(ExprWalker.Nodes).OfType<LoadExpr>().Select(l => l.Buffer)),
            LossKernel l => new[] { l.Prediction, l.Target, l.PredictionGradient }.Where(b => b is not null).Select(b => b!),
            ReshapeKernel r => new[] { r.Input, r.Output },
            _ when kernel.Calls is { } calls => calls.Calls.SelectMany(c => c.Arguments).OfType<BufferArgument>().Where(a => a.Buffer is not null).Select(a => a.Buffer!)
                .Concat(calls.Workspace is { } w ? new[] { w } : System.Array.Empty<PlanBuffer>()),
            _ => null,
        };
    }
}
