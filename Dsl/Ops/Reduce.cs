using System.Collections.Generic;
using System.Linq;
using ModelDsl.Emit.Onnx;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;

using static ModelDsl.Plan.L;

namespace ModelDsl.Ops
{
    /// <summary><c>mean|sum|max(axis, keepdim=false, mask=m)</c>: the axis normalised; whether a mask is given is the node's second input.</summary>
    public sealed record ReduceAttributes(int Axis, bool KeepDim) : OpAttributes
    {
        public override IReadOnlyList<KeyValuePair<string, AttributeValue>> Describe() => new[] { Pair("axis", (long)Axis), Pair("keepdim", KeepDim) };
    }

    /// <summary>
    /// <c>mean(axis)</c>, <c>sum(axis)</c>, <c>max(axis)</c> (PyTorch's <c>x.mean(dim)</c>, <c>x.sum(dim)</c>,
    /// <c>x.max(dim).values</c>), <c>keepdim=false</c> by default. An optional <c>mask=m</c> whose shape is x's axes up to
    /// and including the reduced one ([B, T] for <c>mean(axis=1)</c> over [B, T, d]; 0/1, f32 or i32) weighs the
    /// positions: <c>mean(axis=1, mask=m)</c> is sentence-transformers' mean pooling over real tokens,
    /// Σ x·m / max(Σ m, 1e-9); <c>sum</c> gives Σ x·m; <c>max</c> ignores the masked positions (0 where all are). Max: the
    /// first winner takes the gradient, as PyTorch. The mask is data and gets no gradient. Kernels:
    /// <c>Runtime/Cpu/Layers/Reduce.cs</c>, <c>md_reduce_*</c> (CUDA).
    /// </summary>
    internal sealed class Reduce : OpRule<ReduceAttributes>
    {
        public static readonly Reduce Mean = new Reduce("mean", OpKind.ReduceMean);
        public static readonly Reduce Sum = new Reduce("sum", OpKind.ReduceSum);
        public static readonly Reduce Max = new Reduce("max", OpKind.ReduceMax);

        private Reduce(string name, OpKind kind)
            : base(name, kind, new Signature(Signature.Tensor(), Signature.Int("axis", min: null), Signature.Bool("keepdim", false),
                new ParamSpec("mask", ParamKind.Tensor, optional: true)))
        {
        }

        private bool IsMax => Kind == OpKind.ReduceMax;

        public override Shape? Check(OpContext c)
        {
            bool ok = c.RequireDType(0, DType.F32) & c.RequireMinRank(0, 2, "[..., n, ...] (the output keeps at least one axis)");
            if (!ok || !Axes.TryNormalize(c, "axis", c.InputShape.Rank, out int axis)) return null;
            if (c.Inputs.Count > 1)
            {
                var mask = c.Inputs[1];
                var expected = new Shape(c.InputShape.Dims.Take(axis + 1).ToList());
                if (!mask.Shape.Equals(expected))
                {
                    c.Diagnostics.ReportMaskShapeMismatch(c.InputSpans[1], c.Name, c.InputNames[1], expected, mask.Shape, c.InputName, axis);
                    return null;
                }
            }
            bool keep = c.Bool("keepdim");
            c.SetAttributes(new ReduceAttributes(axis, keep));
            var dims = c.InputShape.Dims.ToList();
            if (keep) dims[axis] = Dim.Known(1);
            else dims.RemoveAt(axis);
            return new Shape(dims);
        }

        public override Planning Planning => Planning.Layer;

        // x viewed as [outer, length, inner] around the axis, y as [outer, inner]; the mask [outer, length] (f32 or i32).
        // sum: y = Σ_t x·w;  mean: y = Σ_t x·w / max(Σ_t w, 1e-9) (no mask: / length);  max: the max over unmasked t,
        // each winner's t saved (i32 [outer, inner], −1 when every t is masked)
        public override Kernel PlanForward(IPlanContext p, OpNode op)
        {
            var shape = op.Inputs[0].Shape;
            int axis = Attributes(op).Axis;
            Dim outer = shape.Dims.Take(axis).Aggregate(Dim.Known(1), (acc, d) => acc.Multiply(d));
            Dim inner = shape.Dims.Skip(axis + 1).Aggregate(Dim.Known(1), (acc, d) => acc.Multiply(d));
            var mask = op.Inputs.Count > 1 ? p.Value(op.Inputs[1]) : null;
            var indices = IsMax ? p.NewBuffer(op.Output.Name + ".indices", BufferKind.Saved, op.Output.Shape, DType.I32) : null;
            return new ReduceKernel(p.KernelName("fwd", Name), new[] { p.Origin(op) }, op.Kind, outer, shape[axis], inner, p.Value(op.Inputs[0]), mask, p.Value(op.Output), indices);
        }

        // sum/mean: dx[o, t, i] (+)= dy[o, i]·w[o, t] (/ the forward's denominator);  max: dx[o, winner, i] (+)= dy[o, i], 0 elsewhere.
        // The mask gets no gradient.
        public override IEnumerable<Kernel> PlanBackward(IPlanContext p, OpNode op, Kernel forward)
        {
            var reduce = (ReduceKernel)forward;
            if (p.NeedsGradient(op.Inputs[0]))
                yield return new ReduceBackwardKernel(p.KernelName("bwd", Name), new[] { p.Origin(op) }, reduce, p.Gradient(op.Output), InputGradient(p, op)!);
        }

        public override LayerCalls? Calls(Kernel kernel) => kernel switch
        {
            ReduceKernel k when k.Kind == OpKind.ReduceMax => Does(
                $"{k.Output}{k.Output.Shape} = max over the middle axis of {k.Input} as [{k.Outer}, {k.Length}, {k.Inner}]{Masked(k)}; {k.Indices!} keeps the winners for the backward",
                Call("ReduceMax", "Forward", Size(k.Outer), Size(k.Length), Size(k.Inner), FloatMask(k), IntMask(k), Buffer(k.Input), Buffer(k.Output), Buffer(k.Indices))),
            ReduceKernel k => Does(
                $"{k.Output}{k.Output.Shape} = {(k.Kind == OpKind.ReduceMean ? "mean" : "sum")} over the middle axis of {k.Input} as [{k.Outer}, {k.Length}, {k.Inner}]{Masked(k)}",
                Call("ReduceSum", "Forward", Size(k.Outer), Size(k.Length), Size(k.Inner), Flag("mean", k.Kind == OpKind.ReduceMean), FloatMask(k), IntMask(k), Buffer(k.Input), Buffer(k.Output))),
            ReduceBackwardKernel k when k.Forward.Kind == OpKind.ReduceMax => Does(
                $"{k.InputGradient} {k.OutputGradient} at each winner in {k.Forward.Indices!}, 0 elsewhere",
                Call("ReduceMax", "Backward", Size(k.Forward.Outer), Size(k.Forward.Length), Size(k.Forward.Inner), Buffer(k.OutputGradient), Buffer(k.Forward.Indices),
                    Gradient(k.InputGradient), Flag("accumulate", k.InputGradient.Accumulate))),
            ReduceBackwardKernel k => Does(
                $"{k.InputGradient} {k.OutputGradient} spread over the middle axis{Masked(k.Forward)}{(k.Forward.Kind == OpKind.ReduceMean ? ", divided as the forward" : "")}",
                Call("ReduceSum", "Backward", Size(k.Forward.Outer), Size(k.Forward.Length), Size(k.Forward.Inner), Flag("mean", k.Forward.Kind == OpKind.ReduceMean),
                    FloatMask(k.Forward), IntMask(k.Forward), Buffer(k.OutputGradient), Gradient(k.InputGradient), Flag("accumulate", k.InputGradient.Accumulate))),
            _ => null,
        };

        private static string Masked(ReduceKernel k) => k.Mask is null ? "" : $", weighed by {k.Mask.Name}";

        private static LayerArgument FloatMask(ReduceKernel k) => Buffer(k.Mask is { DType: DType.F32 } m ? m : null);

        private static LayerArgument IntMask(ReduceKernel k) => Buffer(k.Mask is { DType: DType.I32 } m ? m : null);

        // one add (a multiply-add with a mask) or compare per input element, either way
        public override OpCost Cost(OpNode op, CostContext c) =>
            op.Inputs.Count > 1 && !IsMax ? new OpCost(checked(2 * c.Input(op)), checked(2 * c.Input(op))) : new OpCost(c.Input(op), c.Input(op));

        // ReduceMean / ReduceSum / ReduceMax over [axis] (axes as an input, opset 18+). With a mask m (cast to float,
        // unsqueezed over the axes after the reduced one): sum = ReduceSum(x·m); mean = that / Max(ReduceSum(m), 1e-9);
        // max = ReduceMax(Where(m ≠ 0, x, −∞)), then Where(any unmasked, that, 0).
        public override void LowerOnnx(IOnnxContext o, OpNode op)
        {
            var a = Attributes(op);
            string output = o.Output;
            string x = o.Input(0);
            var keep = OnnxAttribute.Int("keepdims", a.KeepDim ? 1 : 0);
            string axes = o.Constant(op.Output.Name + "/axes", new long[] { a.Axis });
            if (op.Inputs.Count == 1)
            {
                o.Emit(Kind == OpKind.ReduceMax ? "ReduceMax" : Kind == OpKind.ReduceMean ? "ReduceMean" : "ReduceSum", new[] { x, axes }, output, keep);
                return;
            }
            string mask = o.Input(1);
            if (op.Inputs[1].DType != DType.F32)
            {
                string cast = o.Fresh(op.Output.Name + "/mask_f32");
                o.Emit("Cast", new[] { mask }, cast, OnnxAttribute.Int("to", 1));
                mask = cast;
            }
            int rank = op.Inputs[0].Shape.Rank;
            if (a.Axis + 1 < rank)
            {
                string unsqueezed = o.Fresh(op.Output.Name + "/mask_b");
                var trailing = Enumerable.Range(a.Axis + 1, rank - a.Axis - 1).Select(i => (long)i).ToArray();
                o.Emit("Unsqueeze", new[] { mask, o.Constant(op.Output.Name + "/mask_axes", trailing) }, unsqueezed);
                mask = unsqueezed;
            }
            if (IsMax)
            {
                string real = o.Fresh(op.Output.Name + "/real");
                o.Emit("Cast", new[] { mask }, real, OnnxAttribute.Int("to", 9));
                string filled = o.Fresh(op.Output.Name + "/filled");
                o.Emit("Where", new[] { real, x, FloatConstant(o, op.Output.Name + "/minus_inf", float.NegativeInfinity) }, filled);
                string best = o.Fresh(op.Output.Name + "/best");
                o.Emit("ReduceMax", new[] { filled, axes }, best, keep);
                string realFloat = o.Fresh(op.Output.Name + "/real_f32");
                o.Emit("Cast", new[] { real }, realFloat, OnnxAttribute.Int("to", 1));
                string anyFloat = o.Fresh(op.Output.Name + "/any_f32");
                o.Emit("ReduceMax", new[] { realFloat, axes }, anyFloat, keep);
                string any = o.Fresh(op.Output.Name + "/any");
                o.Emit("Cast", new[] { anyFloat }, any, OnnxAttribute.Int("to", 9));
                o.Emit("Where", new[] { any, best, FloatConstant(o, op.Output.Name + "/zero", 0f) }, output);
                return;
            }
            string weighed = o.Fresh(op.Output.Name + "/weighed");
            o.Emit("Mul", new[] { x, mask }, weighed);
            if (Kind == OpKind.ReduceSum)
            {
                o.Emit("ReduceSum", new[] { weighed, axes }, output, keep);
                return;
            }
            string total = o.Fresh(op.Output.Name + "/sum");
            o.Emit("ReduceSum", new[] { weighed, axes }, total, keep);
            string count = o.Fresh(op.Output.Name + "/count");
            o.Emit("ReduceSum", new[] { mask, axes }, count, keep);
            string clamped = o.Fresh(op.Output.Name + "/count_clamped");
            o.Emit("Max", new[] { count, FloatConstant(o, op.Output.Name + "/min_count", 1e-9f) }, clamped);
            o.Emit("Div", new[] { total, clamped }, output);
        }

        private static string FloatConstant(IOnnxContext o, string hint, float value)
        {
            string name = o.Fresh(hint);
            o.Emit("Constant", new string[0], name, OnnxAttribute.Float("value_float", value));
            return name;
        }
    }
}
