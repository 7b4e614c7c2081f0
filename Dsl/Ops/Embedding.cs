using System.Collections.Generic;
using ModelDsl.Emit.Onnx;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;

using static ModelDsl.Plan.L;

namespace ModelDsl.Ops
{
    /// <summary>
    /// <c>embedding(num, dim, padding_idx=k)</c>: the table's rows and columns, and the padding row (in [0, num), negative
    /// written values already counted from the end), or null for none.
    /// </summary>
    public sealed record EmbeddingAttributes(long Num, long Dim, long? PaddingIndex) : OpAttributes
    {
        public override IReadOnlyList<KeyValuePair<string, AttributeValue>> Describe() => PaddingIndex is long k
            ? new[] { Pair("num", Num), Pair("dim", Dim), Pair("padding_idx", k) }
            : new[] { Pair("num", Num), Pair("dim", Dim) };

        /// <summary>The padding row as the runtime takes it: -1 for none.</summary>
        public long PaddingRow => PaddingIndex ?? -1;
    }

    /// <summary>
    /// <c>embedding(num, dim, padding_idx=none)</c> on i32 ids: [...] → [..., dim]; weight [num, dim]. Ids of a model input
    /// are checked to lie in [0, num) on entry. With <c>padding_idx=k</c> (PyTorch's): row k starts at zero and never
    /// receives a gradient (k negative counts from the end). Kernels: <c>Runtime/Cpu/Layers/Embedding.cs</c>, <c>md_embedding_*</c> (CUDA tables).
    /// </summary>
    internal sealed class Embedding : OpRule<EmbeddingAttributes>
    {
        public static readonly Embedding Rule = new Embedding();

        private Embedding()
            : base("embedding", OpKind.Embedding, new Signature(Signature.Tensor(), Signature.Int("num"), Signature.Int("dim"),
                new ParamSpec("padding_idx", ParamKind.Int, min: null, optional: true)))
        {
        }

        public override Shape? Check(OpContext c)
        {
            if (!c.RequireDType(0, DType.I32)) return null;
            Dim num = c.IntDim("num"), dim = c.IntDim("dim");
            long? padding = null;
            if (c.IsGiven("padding_idx"))
            {
                long k = c.Int("padding_idx");
                if (k < -num.Value || k >= num.Value)
                {
                    c.Diagnostics.ReportArgumentOutOfRange(c.SpanOf("padding_idx"), "embedding", "padding_idx", k, $"in [{-num.Value}, {num.Value - 1}]");
                    return null;
                }
                padding = k < 0 ? k + num.Value : k;
            }
            c.SetAttributes(new EmbeddingAttributes(num.Value, dim.Value, padding));
            var weight = c.AddParameter("weight", new Shape(num, dim), InitKind.Normal002, num.Value, dim.Value);
            if (padding is long row) weight.ZeroRow = row;
            var dims = new Dim[c.InputShape.Rank + 1];
            for (int i = 0; i < c.InputShape.Rank; i++) dims[i] = c.InputShape[i];
            dims[dims.Length - 1] = dim;
            return new Shape(dims);
        }

        public override Planning Planning => Planning.Layer;

        // y[i, :] = weight[ids[i], :]
        public override Kernel PlanForward(IPlanContext p, OpNode op)
        {
            var origin = p.Origin(op);
            var x = p.Value(op.Inputs[0]);
            var count = op.Inputs[0].Shape.ElementCount();
            var a = Attributes(op);
            if (x.Root.Kind == BufferKind.Input) p.CheckIds(x.Root, count, a.Num, origin, $"embedding '{op.LayerPath}'");
            return new EmbeddingKernel(p.KernelName("fwd", "embedding"), new[] { origin }, count, a.Num, a.Dim, x, p.Parameter(Owned(op, "weight")), p.Value(op.Output));
        }

        // dweight[ids[i], :] += dy[i, :] (scatter-add; assigning clears the table gradient first), skipping ids equal to
        // padding_idx (PyTorch's: that row's gradient stays zero). The ids have no gradient.
        public override IEnumerable<Kernel> PlanBackward(IPlanContext p, OpNode op, Kernel forward)
        {
            var embedding = (EmbeddingKernel)forward;
            yield return new EmbeddingBackwardKernel(p.KernelName("bwd", "embedding"), new[] { p.Origin(op) }, embedding.Count, embedding.Num, embedding.Dim, Attributes(op).PaddingRow, embedding.Ids,
                p.Gradient(op.Output), ParameterGradient(p, op, "weight"));
        }

        public override LayerCalls? Calls(Kernel kernel) => kernel switch
        {
            EmbeddingKernel k => Does($"{k.Output}{k.Output.Shape} = rows of {k.Table} picked by the ids in {k.Ids}",
                Call("Embedding", "Forward", Size(k.Count), Int(k.Num), Int(k.Dim), Buffer(k.Ids), Buffer(k.Table), Buffer(k.Output)))
                .OnGpu($"{k.Output}{k.Output.Shape} = rows of {k.Table} picked by the ids in {k.Ids} (checked on entry)"),
            EmbeddingBackwardKernel k => Does(
                $"{k.TableGradient.Buffer}[id] {(k.TableGradient.Accumulate ? "+=" : "= (zeroed, then) +=")} the rows of {k.OutputGradient}, for each id in {k.Ids}{Padding(k)}",
                Call("Embedding", "Backward", Size(k.Count), Int(k.Num), Int(k.Dim), Int(k.PaddingIndex), Buffer(k.Ids), Buffer(k.OutputGradient), Gradient(k.TableGradient), Flag("accumulate", k.TableGradient.Accumulate)))
                .OnGpu($"{k.TableGradient.Buffer}[id] {(k.TableGradient.Accumulate ? "+=" : "= (zeroed, then) +=")} the rows of {k.OutputGradient}, for each id in {k.Ids}{Padding(k)} (float atomics: the order of a repeated id's adds varies on a GPU)"),
            _ => null,
        };

        private static string Padding(EmbeddingBackwardKernel k) => k.PaddingIndex >= 0 ? $" but {k.PaddingIndex} (padding_idx)" : "";

        // a copy forward; one add per output element backward
        public override OpCost Cost(OpNode op, CostContext c) => new OpCost(0, c.Output(op));

        // Rows of the table picked by the ids: Gather along axis 0 takes int32 indices of any shape. padding_idx only
        // changes training (the row's initial zero lives in the exported weight), so inference is the same Gather.
        public override void LowerOnnx(IOnnxContext o, OpNode op)
        {
            string output = o.Output;
            o.Emit("Gather", new[] { o.Use(Owned(op, "weight")), o.Input(0) }, output, OnnxAttribute.Int("axis", 0));
        }
    }

    /// <summary><c>positional(max_len)</c>: the table's rows, the longest sequence.</summary>
    public sealed record PositionalAttributes(long MaxLength) : OpAttributes
    {
        public override IReadOnlyList<KeyValuePair<string, AttributeValue>> Describe() => new[] { Pair("max_len", MaxLength) };
    }

    /// <summary>
    /// <c>positional(max_len)</c> on [B, T, d]: adds a learned row per position; weight [max_len, d]; T ≤ max_len (checked
    /// on entry when T is symbolic). Kernels: <c>Runtime/Cpu/Layers/Positional.cs</c>, <c>md_positional_*</c> (CUDA tables).
    /// </summary>
    internal sealed class Positional : OpRule<PositionalAttributes>
    {
        public static readonly Positional Rule = new Positional();

        private Positional()
            : base("positional", OpKind.PositionalEmbedding, new Signature(Signature.Tensor(), Signature.Int("max_len")))
        {
        }

        public override Shape? Check(OpContext c)
        {
            if (!c.RequireDType(0, DType.F32) | !c.RequireRank(0, 3, "[B, T, d]")) return null;
            if (!c.RequireKnown(0, 2, "the last dimension (it sizes the table)")) return null;
            Dim maxLen = c.IntDim("max_len"), t = c.InputShape[1], d = c.InputShape[2];
            if (t.IsKnown && t.Value > maxLen.Value)
            {
                c.Diagnostics.ReportSequenceTooLong(c.InputSpan, c.InputName, t, maxLen, c.InputShape);
                return null;
            }
            c.SetAttributes(new PositionalAttributes(maxLen.Value));
            c.AddParameter("weight", new Shape(maxLen, d), InitKind.Normal002, maxLen.Value, d.Value);
            return c.InputShape;
        }

        public override Planning Planning => Planning.Layer;

        // y[b, t] = x[b, t] + weight[t]
        public override Kernel PlanForward(IPlanContext p, OpNode op)
        {
            var origin = p.Origin(op);
            var shape = op.Inputs[0].Shape;
            long maxLength = Attributes(op).MaxLength;
            if (!shape[1].IsKnown) p.LimitSize(shape[1], maxLength, origin, $"positional(max_len={maxLength}) '{op.LayerPath}'");
            return new PositionalKernel(p.KernelName("fwd", "positional"), new[] { origin }, shape[0], shape[1], maxLength, shape.Last.Value,
                p.Value(op.Inputs[0]), p.Parameter(Owned(op, "weight")), p.Value(op.Output));
        }

        // dx (+)= dy,  dweight[t] (+)= Σ_b dy[b, t] (rows past T get zero)
        public override IEnumerable<Kernel> PlanBackward(IPlanContext p, OpNode op, Kernel forward)
        {
            var positional = (PositionalKernel)forward;
            var dx = InputGradient(p, op);
            yield return new PositionalBackwardKernel(p.KernelName("bwd", "positional"), new[] { p.Origin(op) }, positional.Batch, positional.Steps, positional.MaxLength, positional.Dim,
                p.Gradient(op.Output), dx, ParameterGradient(p, op, "weight"));
        }

        public override LayerCalls? Calls(Kernel kernel) => kernel switch
        {
            PositionalKernel k => Does($"{k.Output}[b, t] = {k.Input}[b, t] + {k.Table}[t]   ({k.Steps} ≤ {k.MaxLength}, checked on entry)",
                Call("Positional", "Forward", Size(k.Batch), Size(k.Steps), Int(k.MaxLength), Int(k.Dim), Buffer(k.Input), Buffer(k.Table), Buffer(k.Output))),
            PositionalBackwardKernel k => Does(
                Join($"{k.TableGradient.Buffer}[t] {(k.TableGradient.Accumulate ? "+=" : "=")} Σ_b {k.OutputGradient}[b, t]", k.InputGradient is null ? null : F($", {k.InputGradient} {k.OutputGradient}")),
                Call("Positional", "Backward", Size(k.Batch), Size(k.Steps), Int(k.MaxLength), Int(k.Dim), Buffer(k.OutputGradient), Gradient(k.InputGradient), Gradient(k.TableGradient),
                    Flag("accumulateInputGradient", k.InputGradient?.Accumulate ?? false), Flag("accumulateTableGradient", k.TableGradient.Accumulate))),
            _ => null,
        };

        // one add per element, either way
        public override OpCost Cost(OpNode op, CostContext c) => OpCost.PerElement(c.Output(op), 1, 1);

        // x + weight[:T]: T read from x's shape at run time, so any sequence length up to max_len works.
        public override void LowerOnnx(IOnnxContext o, OpNode op)
        {
            string output = o.Output;
            string steps = o.Fresh(op.Output.Name + "/T");
            o.Emit("Shape", new[] { o.Input(0) }, steps, OnnxAttribute.Int("start", 1), OnnxAttribute.Int("end", 2));
            string rows = o.Fresh(op.Output.Name + "/rows");
            o.Emit("Slice", new[] { o.Use(Owned(op, "weight")), o.Constant(op.Output.Name + "/start", new long[] { 0 }), steps, o.Constant(op.Output.Name + "/axis", new long[] { 0 }) }, rows);
            o.Emit("Add", new[] { o.Input(0), rows }, output);
        }
    }
}
