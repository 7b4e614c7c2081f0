using System.Collections.Generic;
using ModelDsl.Emit.Onnx;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;
using static ModelDsl.Plan.E;

using static ModelDsl.Plan.L;

namespace ModelDsl.Ops
{
    /// <summary>
    /// <c>attention(heads, causal=false, bias=true, dropout=0, mask=m)</c> (the mask is the op's second input, not an
    /// attribute). <see cref="Dropout"/>: the probability of dropping an attention probability in training, in [0, 1).
    /// </summary>
    public sealed record AttentionAttributes(long Heads, bool Causal, bool Bias, double Dropout = 0) : OpAttributes
    {
        public override IReadOnlyList<KeyValuePair<string, AttributeValue>> Describe() =>
            new[] { Pair("heads", Heads), Pair("causal", Causal), Pair("bias", Bias), Pair("dropout", Dropout) };
    }

    /// <summary>
    /// <c>attention(heads, causal=false, bias=true, dropout=0, mask=m)</c>: multi-head self-attention, [B, T, d] → [B, T, d], d
    /// divisible by heads. The optional key padding mask m [B, T] (f32 or i32, 1 = real token, 0 = padding) is the op's
    /// second input: padded keys get the logit bias (1 − m)·(−10000) after the 1/√dh scale, exactly as BERT's (and
    /// all-MiniLM-L6-v2's) ONNX graph, so a fully padded row stays finite; it combines with causal and gets no gradient.
    /// <c>dropout=p</c> drops attention probabilities in training (softmax, then dropout with the kept ones scaled by
    /// 1/(1 − p), then ·V: nn.MultiheadAttention's dropout, BERT's attention_probs_dropout_prob); the mask comes from the
    /// `dropout` op's counter-based stream with a dropout slot of its own, is drawn again in the backward, and is absent
    /// at inference and in ONNX export. nn.MultiheadAttention's layout: in_proj_weight [3d, d], in_proj_bias [3d], out_proj.weight [d, d],
    /// out_proj.bias [d]. Planned as a head whose product is out_proj; below it in_proj (a GEMM and a bias loop) and the
    /// attention core. Kernels: <c>Runtime/Cpu/Layers/Attention.cs</c>, <c>md_attention_*</c> in the CUDA layer library.
    /// </summary>
    internal sealed class Attention : HeadRule<AttentionAttributes>
    {
        public static readonly Attention Rule = new Attention();

        private Attention()
            : base("attention", OpKind.Attention, new Signature(
                Signature.Tensor(),
                Signature.Int("heads"),
                Signature.Bool("causal", false),
                Signature.Bool("bias", true),
                Signature.Real("dropout", 0, 0, 1, maxExclusive: true),
                new ParamSpec("mask", ParamKind.Tensor, optional: true)))
        {
        }

        /// <summary>Only x: the mask selects keys and gets no gradient (as a boolean key_padding_mask in PyTorch).</summary>
        public override bool IsDifferentiable(int input) => input == 0;

        /// <summary>
        /// m [B, T] with x's B and T (MDL0323 at the mask otherwise). Either element type is a mask (f32 and i32 are the
        /// only ones), read as 0/1: the kernels compute (1 − m)·(−10000) for any value, as BERT's graph does.
        /// </summary>
        private static bool CheckMask(OpContext c)
        {
            if (c.Inputs.Count < 2) return true;
            var mask = c.Inputs[1];
            var expected = new Shape(c.InputShape[0], c.InputShape[1]);
            if (!mask.Shape.Equals(expected))
            {
                c.Diagnostics.ReportMaskShape(c.InputSpans[1], c.Name, c.InputNames[1], expected, c.InputName, mask.Shape);
                return false;
            }
            return true;
        }

        public override Shape? Check(OpContext c)
        {
            if (!c.RequireDType(0, DType.F32) | !c.RequireRank(0, 3, "[B, T, d]")) return null;
            if (!c.RequireKnown(0, 2, "the model dimension (it sizes the weights)") | !CheckMask(c)) return null;
            Dim d = c.InputShape[2], heads = c.IntDim("heads");
            if (d.Value % heads.Value != 0)
            {
                c.Diagnostics.ReportNotDivisible(c.SpanOf("heads"), c.Name, c.InputName, heads, d);
                return null;
            }
            bool bias = c.Bool("bias");
            c.SetAttributes(new AttentionAttributes(heads.Value, c.Bool("causal"), bias, c.Real("dropout")));
            Dim d3 = Dim.Known(checked(3 * d.Value), "3*" + (d.Label ?? d.ToExpression()));
            c.AddParameter("in_proj_weight", new Shape(d3, d), InitKind.XavierUniform, d.Value, d3.Value);
            if (bias) c.AddParameter("in_proj_bias", new Shape(d3), InitKind.Zeros, d.Value, d3.Value);
            c.AddParameter("out_proj.weight", new Shape(d, d), InitKind.XavierUniform, d.Value, d.Value);
            if (bias) c.AddParameter("out_proj.bias", new Shape(d), InitKind.Zeros, d.Value, d.Value);
            return c.InputShape;
        }

        /// <summary>The dropout probability as the kernels use it (0: none).</summary>
        public static float Probability(OpNode op) => (float)Attributes(op).Dropout;

        /// <summary>Whether the node drops attention probabilities in training (it then has a dropout slot).</summary>
        public static bool DropsProbabilities(OpNode op) => op.Kind == OpKind.Attention && Attributes(op).Dropout > 0;

        public override string ProductName => "attention_out_proj";

        public override ParameterInfo Weight(OpNode op) => Owned(op, "out_proj.weight");

        public override ParameterInfo? Bias(OpNode op) => OwnedOrNull(op, "out_proj.bias");

        /// <summary>
        /// Forward up to out_proj: <c>qkv = x·in_proj_weightᵀ + in_proj_bias</c> (a GEMM and a bias loop), then the
        /// attention core on q, k, v read in place from qkv. Returns the core's output (the context), which out_proj multiplies.
        /// </summary>
        public override PlanBuffer PlanProductInput(IPlanContext p, OpNode op, List<Kernel> kernels)
        {
            var origins = new[] { p.Origin(op) };
            var x = p.Value(op.Inputs[0]);
            var shape = op.Inputs[0].Shape;
            var (m, d) = Matrix(shape);
            var d3 = Dim.Known(3 * d.Value);
            var qkv = p.NewBuffer(op.Output.Name + ".qkv", BufferKind.Activation, new Shape(shape[0], shape[1], d3), DType.F32);
            // qkv[M, 3d] = x[M, d] · in_proj_weight[3d, d]ᵀ
            kernels.Add(new GemmKernel(p.KernelName("fwd", "attention_in_proj"), origins, false, true, m, d3, d, x, p.Parameter(Owned(op, "in_proj_weight")), qkv, accumulate: false));
            if (OwnedOrNull(op, "in_proj_bias") is { } bias)
            {
                var add = new ElementwiseOutput(qkv, Add(Load(qkv), Column(p.Parameter(bias))), accumulate: false);
                kernels.Add(p.Elementwise(p.KernelName("fwd", "attention_in_proj_bias"), op, m, d3, new[] { add }, new ColumnSumOutput[0]));
            }

            var a = Attributes(op);
            var context = p.NewBuffer(op.Output.Name + ".context", BufferKind.Activation, shape, DType.F32);
            // The part of the workspace the plan fixes: the probabilities P [B, heads, T, T]; the runtime adds the backward's per-thread scratch.
            var workspace = p.NewBuffer(op.Output.Name + ".workspace", BufferKind.Workspace, new Shape(shape[0], Dim.Known(a.Heads), shape[1], shape[1]), DType.F32);
            var mask = op.Inputs.Count > 1 ? p.Value(op.Inputs[1]) : null;
            var dropout = a.Dropout > 0 ? new AttentionDropout(Probability(op), p.DropoutSlot(op)) : null;
            long headDim = d.Value / a.Heads;
            var core = new AttentionKernel(p.KernelName("fwd", "attention"), origins, shape[0], shape[1], a.Heads, headDim, a.Causal, qkv, context, workspace, mask, dropout,
                tensorCores: AttentionKernel.UsesTensorCores(headDim, dropout is not null, p.Precision == Precision.Bf16));
            kernels.Add(core);
            p.Memo(op, "core", () => core);
            return context;
        }

        /// <summary>The context's gradient, written by out_proj's dX GEMM: always needed (in_proj's weight needs it).</summary>
        public override PlanBuffer ProductInputGradient(IPlanContext p, OpNode op) => ContextGradient(p, op);

        private static PlanBuffer ContextGradient(IPlanContext p, OpNode op) => p.Memo(op, "context gradient", () =>
        {
            var core = p.Memo<AttentionKernel>(op, "core", () => throw new System.InvalidOperationException("attention backward before its forward"));
            return p.NewBuffer("d_" + op.Output.Name + ".context", BufferKind.Gradient, core.Output.Shape, DType.F32);
        });

        /// <summary>
        /// Backward below out_proj: the core's backward into dqkv, then in_proj's:
        /// <c>d_in_proj_bias (+)= Σ_rows dqkv</c>, <c>d_in_proj_weight (+)= dqkvᵀ·x</c>, <c>dx (+)= dqkv·in_proj_weight</c>.
        /// </summary>
        public override IEnumerable<Kernel> PlanBackwardBelowProduct(IPlanContext p, OpNode op)
        {
            var origins = new[] { p.Origin(op) };
            var core = p.Memo<AttentionKernel>(op, "core", () => throw new System.InvalidOperationException("attention backward before its forward"));
            var qkv = core.Qkv;
            var dqkv = p.NewBuffer("d_" + op.Output.Name + ".qkv", BufferKind.Gradient, qkv.Shape, DType.F32);
            yield return new AttentionBackwardKernel(p.KernelName("bwd", "attention"), origins, core.Batch, core.Steps, core.Heads, core.HeadDim, core.Causal,
                qkv, core.Workspace, ContextGradient(p, op), p.Contribute(dqkv), core.Mask, core.Dropout, core.Output, core.TensorCores);

            var x = p.Value(op.Inputs[0]);
            var (m, d) = Matrix(op.Inputs[0].Shape);
            var d3 = qkv.Shape.Last;
            if (OwnedOrNull(op, "in_proj_bias") is { } bias)
            {
                var sum = p.ContributeSum(p.ParameterGradient(bias), Load(dqkv));
                yield return p.Elementwise(p.KernelName("bwd", "attention_in_proj_bias"), op, m, d3, new ElementwiseOutput[0], new[] { sum });
            }
            var weight = Owned(op, "in_proj_weight");
            var dw = p.ParameterGradient(weight);
            // d_in_proj_weight[3d, d] (+)= dqkv[M, 3d]ᵀ · x[M, d]
            yield return new GemmKernel(p.KernelName("bwd", "attention_in_proj_dW"), origins, true, false, d3, d, m, dqkv, x, dw, accumulate: !p.FirstWrite(dw));
            if (p.NeedsGradient(op.Inputs[0]))
            {
                // dx[M, d] (+)= dqkv[M, 3d] · in_proj_weight[3d, d]
                var dx = p.Gradient(op.Inputs[0]);
                yield return new GemmKernel(p.KernelName("bwd", "attention_in_proj_dX"), origins, false, false, m, d, d3, dqkv, p.Parameter(weight), dx, accumulate: !p.FirstWrite(dx));
            }
        }

        public override LayerCalls? Calls(Kernel kernel) => kernel switch
        {
            // heads of 64 in a bf16 model, no dropout (AttentionKernel.UsesTensorCores): the GPU runs flashattention.cuh
            AttentionKernel { TensorCores: true } k => ForwardCalls(k).OnGpu(
                $"{k.Output}{k.Output.Shape} = {Probabilities(k.Mask, k.Causal, k.HeadDim, k.Dropout)}·v per head ({k.Heads} heads), q, k, v read in place from {k.Qkv} (columns 0, {k.ModelDim}, 2·{k.ModelDim}); on tensor cores (md_flashattention_*: mma.sync, BF16 products, FP32 accumulation; heads of 64, precision bf16): P is never stored, {k.Workspace} keeps each row's max and log-sum",
                Call("FlashAttention", "Forward", ForwardArguments(k))),
            AttentionKernel k => ForwardCalls(k)
                .OnGpu($"{k.Output}{k.Output.Shape} = {Probabilities(k.Mask, k.Causal, k.HeadDim, k.Dropout)}·v per head ({k.Heads} heads), q, k, v read in place from {k.Qkv} (columns 0, {k.ModelDim}, 2·{k.ModelDim}); fused (flash-style): P is never stored, {k.Workspace} keeps each row's max and log-sum"),
            AttentionBackwardKernel { TensorCores: true } k => BackwardCalls(k).OnGpu(
                $"{k.QkvGradient} (dq, dk, dv) from {k.OutputGradient} on tensor cores (md_flashattention_*: mma.sync, BF16 products, FP32 accumulation; heads of 64, precision bf16), recomputing P from q, k{MaskText(k.Mask)} and the row statistics in {k.Workspace}: dq and each row's D = rowsum({k.OutputGradient} ⊙ {k.Output}) first, then dk and dv",
                TensorCoreBackward(k)),
            AttentionBackwardKernel k => BackwardCalls(k)
                .OnGpu($"{k.QkvGradient} (dq, dk, dv) from {k.OutputGradient}, recomputing P from q, k{MaskText(k.Mask)} and the row statistics in {k.Workspace}{DropoutAgain(k.Dropout)}: dq and each row's D first, then dk and dv"),
            _ => null,
        };

        /// <summary>The CPU's forward call (the GPU's too, unless on tensor cores).</summary>
        private static LayerCalls ForwardCalls(AttentionKernel k) => Does(
                $"{k.Output}{k.Output.Shape} = {Probabilities(k.Mask, k.Causal, k.HeadDim, k.Dropout)}·v per head ({k.Heads} heads), q, k, v read in place from {k.Qkv} (columns 0, {k.ModelDim}, 2·{k.ModelDim}); P kept in {k.Workspace}",
                Call("Attention", "Forward", WithDropout(k.Dropout, ForwardArguments(k))))
            .WithWorkspace(k.Workspace, Call("Attention", "WorkspaceSize", Size(k.Batch), Size(k.Steps), Int(k.Heads)));

        /// <summary>The CPU's backward call (the GPU's too, unless on tensor cores).</summary>
        private static LayerCalls BackwardCalls(AttentionBackwardKernel k) => Does(
            $"{k.QkvGradient} (dq, dk, dv) from {k.OutputGradient} and the P saved in {k.Workspace}{DropoutAgain(k.Dropout)}",
            Call("Attention", "Backward", WithDropout(k.Dropout, WithMask(k.Mask, Size(k.Batch), Size(k.Steps), Int(k.Heads), Int(k.HeadDim), Flag("causal", k.Causal),
                Buffer(k.Qkv), Buffer(k.Qkv, 1, k.ModelDim), Buffer(k.Qkv, 2, k.ModelDim), Int(3, k.ModelDim), Buffer(k.OutputGradient), Buffer(k.Workspace),
                Gradient(k.QkvGradient), Buffer(k.QkvGradient.Buffer, 1, k.ModelDim), Buffer(k.QkvGradient.Buffer, 2, k.ModelDim), Flag("accumulate", k.QkvGradient.Accumulate)))));

        /// <summary>The forward's arguments before any dropout's: the same for <c>Attention.Forward</c> and <c>FlashAttention.Forward</c>.</summary>
        private static LayerArgument[] ForwardArguments(AttentionKernel k) =>
            WithMask(k.Mask, Size(k.Batch), Size(k.Steps), Int(k.Heads), Int(k.HeadDim), Flag("causal", k.Causal),
                Buffer(k.Qkv), Buffer(k.Qkv, 1, k.ModelDim), Buffer(k.Qkv, 2, k.ModelDim), Int(3, k.ModelDim), Buffer(k.Output), Buffer(k.Workspace));

        /// <summary><c>FlashAttention.Backward</c>: <c>Attention.Backward</c>'s arguments with the forward's output before dOut (its D reads it).</summary>
        private static LayerCall TensorCoreBackward(AttentionBackwardKernel k) =>
            Call("FlashAttention", "Backward", WithMask(k.Mask, Size(k.Batch), Size(k.Steps), Int(k.Heads), Int(k.HeadDim), Flag("causal", k.Causal),
                Buffer(k.Qkv), Buffer(k.Qkv, 1, k.ModelDim), Buffer(k.Qkv, 2, k.ModelDim), Int(3, k.ModelDim),
                Buffer(k.Output ?? throw new System.InvalidOperationException($"{k.Name}: the tensor-core backward needs the forward's output")),
                Buffer(k.OutputGradient), Buffer(k.Workspace),
                Gradient(k.QkvGradient), Buffer(k.QkvGradient.Buffer, 1, k.ModelDim), Buffer(k.QkvGradient.Buffer, 2, k.ModelDim), Flag("accumulate", k.QkvGradient.Accumulate)));

        /// <summary>"softmax(q·kᵀ/√dh + mask bias, causal)", wrapped in "dropout(…, p)" when the probabilities are dropped in training.</summary>
        private static string Probabilities(PlanBuffer? mask, bool causal, long headDim, AttentionDropout? dropout)
        {
            string softmax = $"softmax(q·kᵀ/√{headDim}{MaskText(mask)}{(causal ? ", causal" : "")})";
            return dropout is null ? softmax : $"dropout({softmax}, p={dropout.Probability.ToString("R", System.Globalization.CultureInfo.InvariantCulture)} in training)";
        }

        /// <summary>", the dropout mask drawn again from its seed" in the backward's comment, or nothing without dropout.</summary>
        private static string DropoutAgain(AttentionDropout? dropout) => dropout is null ? "" : ", the dropout mask (slot " + dropout.Slot.ToString(System.Globalization.CultureInfo.InvariantCulture) + ") drawn again from its seed";

        /// <summary>The call's arguments, then the dropout probability and seed when the probabilities are dropped (none otherwise).</summary>
        private static LayerArgument[] WithDropout(AttentionDropout? dropout, LayerArgument[] arguments) =>
            dropout is null ? arguments : System.Linq.Enumerable.ToArray(System.Linq.Enumerable.Concat(arguments, DropoutMask(dropout.Slot, dropout.Probability)));

        /// <summary>" + (1 − m)·(−10000) for m" in a kernel comment, or nothing without a mask.</summary>
        private static string MaskText(PlanBuffer? mask) => mask is null ? "" : " + (1 − " + mask.Name + ")·(−10000)";

        /// <summary>The call's arguments, then the key padding mask as f32 and as i32: the one it is, the other null (both null without one).</summary>
        private static LayerArgument[] WithMask(PlanBuffer? mask, params LayerArgument[] arguments)
        {
            var all = new List<LayerArgument>(arguments)
            {
                Buffer(mask?.DType == DType.F32 ? mask : null),
                Buffer(mask?.DType == DType.I32 ? mask : null),
            };
            return all.ToArray();
        }

        // the three in projections and out_proj (2·B·T·d·4d), QKᵀ and AV (2·2·B·T²·d), the softmax (~5 per score);
        // backward twice the products and the softmax once
        public override OpCost Cost(OpNode op, CostContext c)
        {
            checked
            {
                var x = op.Inputs[0].Shape;
                long batch = c.Size(x[0]), steps = c.Size(x[1]), d = c.Size(x[2]);
                long projections = 2 * batch * steps * d * 4 * d;
                long scores = 2 * 2 * batch * steps * steps * d;
                long softmax = 5 * batch * Attributes(op).Heads * steps * steps;
                return new OpCost(projections + scores + softmax, 2 * (projections + scores) + softmax);
            }
        }

        // Opset 20 has no attention operator, so it is written out as the kernels compute it, all heads at once:
        // qkv = x·in_proj_weightᵀ + in_proj_bias [B, T, 3d] → [B, T, 3, heads, hd] → [3, B, heads, T, hd]; q, k, v by Gather
        // on axis 0; scores = (q·√hd⁻¹)·kᵀ [B, heads, T, T]; a mask m (a second graph input) adds (1 − Cast(m))·(−10000)
        // unsqueezed to [B, 1, 1, T], as BERT's exported graphs do; causal: Where(column > row, lowest float, scores), so the
        // softmax gives those exactly 0 as the kernel's skipped entries; P = softmax(scores, last axis); context = P·v
        // → [B, T, heads, hd] → [B, T, d]; out = context·out_proj.weightᵀ + out_proj.bias. T stays symbolic. The graph is
        // the inference pass, so dropout (a training-only mask on P) writes nothing, like the `dropout` op.
        public override void LowerOnnx(IOnnxContext o, OpNode op)
        {
            string output = o.Output;
            var a = Attributes(op);
            long d = op.Inputs[0].Shape[2].Value, heads = a.Heads, headDim = d / a.Heads;
            string name = op.Output.Name;
            string Node(string opType, string hint, string[] inputs, params OnnxAttribute[] attributes)
            {
                string value = o.Fresh(name + "/" + hint);
                o.Emit(opType, inputs, value, attributes);
                return value;
            }
            string Scalar(string hint, OnnxAttribute value)
            {
                string constant = o.Fresh(name + "/" + hint);
                o.Emit("Constant", new string[0], constant, value);
                return constant;
            }

            string qkv = Node("MatMul", "qkv", new[] { o.Input(0), o.Transposed(Owned(op, "in_proj_weight")) });
            if (OwnedOrNull(op, "in_proj_bias") is { } inBias) qkv = Node("Add", "qkv_biased", new[] { qkv, o.Use(inBias) });
            string split = Node("Reshape", "qkv_heads", new[] { qkv, o.Constant(name + "/qkv_shape", new long[] { 0, 0, 3, heads, headDim }) });
            string stacked = Node("Transpose", "qkv_stacked", new[] { split }, OnnxAttribute.Ints("perm", new long[] { 2, 0, 3, 1, 4 }));
            string Part(long index, string hint) => Node("Gather", hint, new[] { stacked, Scalar(hint + "_index", OnnxAttribute.Int("value_int", index)) }, OnnxAttribute.Int("axis", 0));
            string q = Part(0, "q"), k = Part(1, "k"), v = Part(2, "v");

            string scaled = Node("Mul", "q_scaled", new[] { q, Scalar("scale", OnnxAttribute.Float("value_float", (float)(1.0 / System.Math.Sqrt(headDim)))) });
            string keysT = Node("Transpose", "k_T", new[] { k }, OnnxAttribute.Ints("perm", new long[] { 0, 1, 3, 2 }));
            string scores = Node("MatMul", "scores", new[] { scaled, keysT });
            if (op.Inputs.Count > 1)
            {
                // BERT's padding bias: (1 − float(m))·(−10000) [B, T] → [B, 1, 1, T], added to every head's scores
                string mask = op.Inputs[1].DType == DType.F32 ? o.Input(1) : Node("Cast", "mask_f32", new[] { o.Input(1) }, OnnxAttribute.Int("to", 1));
                string padded = Node("Sub", "mask_inverted", new[] { Scalar("mask_one", OnnxAttribute.Float("value_float", 1f)), mask });
                string bias = Node("Mul", "mask_bias", new[] { padded, Scalar("mask_scale", OnnxAttribute.Float("value_float", -10000f)) });
                string keys = Node("Unsqueeze", "mask_bias_keys", new[] { bias, o.Constant(name + "/mask_axes", new long[] { 1, 2 }) });
                scores = Node("Add", "scores_masked", new[] { scores, keys });
            }
            if (a.Causal)
            {
                // future[i, j] = j > i over positions 0..T-1, T read from the input
                string steps = Node("Shape", "T", new[] { o.Input(0) }, OnnxAttribute.Int("start", 1), OnnxAttribute.Int("end", 2));
                string count = Node("Squeeze", "T_scalar", new[] { steps });
                string positions = Node("Range", "positions", new[] { Scalar("zero", OnnxAttribute.Int("value_int", 0)), count, Scalar("one", OnnxAttribute.Int("value_int", 1)) });
                string rows = Node("Unsqueeze", "rows", new[] { positions, o.Constant(name + "/axis1", new long[] { 1 }) });
                string future = Node("Greater", "future", new[] { positions, rows });
                scores = Node("Where", "scores_causal", new[] { future, Scalar("masked", OnnxAttribute.Float("value_float", float.MinValue)), scores });
            }
            string probabilities = Node("Softmax", "P", new[] { scores }, OnnxAttribute.Int("axis", -1));
            string context = Node("MatMul", "context_heads", new[] { probabilities, v });
            string rowsFirst = Node("Transpose", "context_bthd", new[] { context }, OnnxAttribute.Ints("perm", new long[] { 0, 2, 1, 3 }));
            string merged = Node("Reshape", "context", new[] { rowsFirst, o.Constant(name + "/context_shape", new long[] { 0, 0, d }) });

            string outWeight = o.Transposed(Owned(op, "out_proj.weight"));
            if (OwnedOrNull(op, "out_proj.bias") is not { } outBias)
            {
                o.Emit("MatMul", new[] { merged, outWeight }, output);
                return;
            }
            string projected = Node("MatMul", "out_proj", new[] { merged, outWeight });
            o.Emit("Add", new[] { projected, o.Use(outBias) }, output);
        }
    }
}
