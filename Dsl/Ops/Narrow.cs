using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ModelDsl.Emit.Onnx;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;

using static ModelDsl.Plan.L;

namespace ModelDsl.Ops
{
    /// <summary><c>select(axis, index)</c>: the axis normalised (non-negative), the index as written (negative: from the end).</summary>
    public sealed record SelectAttributes(int Axis, long Index) : OpAttributes
    {
        public override IReadOnlyList<KeyValuePair<string, AttributeValue>> Describe() => new[] { Pair("axis", (long)Axis), Pair("index", Index) };
    }

    /// <summary><c>slice(axis, start=0, end)</c>: the axis normalised, the bounds as written (negative: from the end; no end: to the end).</summary>
    public sealed record SliceAttributes(int Axis, long Start, long? End) : OpAttributes
    {
        public override IReadOnlyList<KeyValuePair<string, AttributeValue>> Describe() =>
            End is long end
                ? new[] { Pair("axis", (long)Axis), Pair("start", Start), Pair("end", end) }
                : new[] { Pair("axis", (long)Axis), Pair("start", Start) };
    }

    /// <summary>
    /// <c>select(axis, index)</c> (PyTorch's <c>x.select(axis, index)</c>, <c>x[:, 0]</c>): one position of an axis, the
    /// axis removed: <c>select(axis=1, index=0)</c> takes the [CLS] row of [B, T, d] as [B, d]; a negative index counts
    /// from the end. The index is checked against a known axis here and against a symbolic one at run time. The
    /// gradient goes back to that position, the others get 0. Kernels: <c>Runtime/Cpu/Layers/Narrow.cs</c>,
    /// <c>md_narrow_*</c> (CUDA), shared with <see cref="Slice"/>.
    /// </summary>
    internal sealed class Select : OpRule<SelectAttributes>
    {
        public static readonly Select Rule = new Select();

        private Select()
            : base("select", OpKind.Select, new Signature(Signature.Tensor(), Signature.Int("axis", min: null), Signature.Int("index", min: null)))
        {
        }

        public override Shape? Check(OpContext c)
        {
            if (!c.RequireDType(0, DType.F32) | !c.RequireMinRank(0, 2, "[..., n, ...] (the output keeps at least one axis)")) return null;
            if (!Axes.TryNormalize(c, "axis", c.InputShape.Rank, out int axis)) return null;
            long index = c.Int("index");
            Dim length = c.InputShape[axis];
            if (length.IsKnown && (index < -length.Value || index >= length.Value))
            {
                c.Diagnostics.ReportIndexOutOfRange(c.SpanOf("index"), c.Name, "index", index, axis, length, c.InputName,
                    "valid: " + Num(-length.Value) + ".." + Num(length.Value - 1));
                return null;
            }
            c.SetAttributes(new SelectAttributes(axis, index));
            return new Shape(c.InputShape.Dims.Where((_, a) => a != axis).ToList());
        }

        public override Planning Planning => Planning.Layer;

        // y[o, i] = x[o, index, i] (x viewed as [outer, length, inner] around the axis)
        public override Kernel PlanForward(IPlanContext p, OpNode op) =>
            NarrowPlan.Forward(p, op, Attributes(op).Axis, Attributes(op).Index, Dim.Known(1));

        // dx[o, index, i] (+)= dy[o, i], the other positions (+)= 0
        public override IEnumerable<Kernel> PlanBackward(IPlanContext p, OpNode op, Kernel forward) => NarrowPlan.Backward(p, op, forward);

        public override LayerCalls? Calls(Kernel kernel) => NarrowPlan.Calls(kernel);

        public override OpCost Cost(OpNode op, CostContext c) => OpCost.Free;

        // Gather with a one-element index keeps the axis (size 1); Squeeze drops it
        public override void LowerOnnx(IOnnxContext o, OpNode op)
        {
            var a = Attributes(op);
            string output = o.Output;
            string gathered = o.Fresh(op.Output.Name + "/gathered");
            o.Emit("Gather", new[] { o.Input(0), o.Constant(op.Output.Name + "/index", new[] { a.Index }) }, gathered, OnnxAttribute.Int("axis", a.Axis));
            o.Emit("Squeeze", new[] { gathered, o.Constant(op.Output.Name + "/axis", new long[] { a.Axis }) }, output);
        }

        private static string Num(long v) => v.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// <c>slice(axis, start=0, end)</c> (PyTorch's <c>x.narrow</c> / <c>x[:, start:end]</c>): positions start .. end − 1
    /// of an axis; negative bounds count from the end, no end means to the end. On a known axis the bounds must give a
    /// non-empty range inside it (PyTorch would clamp; a slice that silently takes less is a bug here, so it is MDL0324).
    /// On a symbolic axis the length must still be a dimension: start and end of the same sign (<c>start=0, end=k</c>,
    /// or <c>start=-k</c>), or the whole axis; the bounds are then checked at run time. Kernels as <see cref="Select"/>.
    /// </summary>
    internal sealed class Slice : OpRule<SliceAttributes>
    {
        public static readonly Slice Rule = new Slice();

        private Slice()
            : base("slice", OpKind.Slice, new Signature(Signature.Tensor(), Signature.Int("axis", min: null), Signature.Int("start", 0, min: null),
                new ParamSpec("end", ParamKind.Int, optional: true)))
        {
        }

        public override Shape? Check(OpContext c)
        {
            if (!c.RequireDType(0, DType.F32)) return null;
            if (!Axes.TryNormalize(c, "axis", c.InputShape.Rank, out int axis)) return null;
            long start = c.Int("start");
            long? end = c.IsGiven("end") ? c.Int("end") : null;
            Dim length = c.InputShape[axis];
            Dim count;
            if (length.IsKnown)
            {
                long n = length.Value;
                long s = start < 0 ? start + n : start, e = end is long given ? (given < 0 ? given + n : given) : n;
                string range = "rows " + Num(s) + ".." + Num(e - 1);
                if (s < 0 || s >= n)
                {
                    c.Diagnostics.ReportIndexOutOfRange(c.SpanOf("start"), c.Name, "start", start, axis, length, c.InputName, "valid: " + Num(-n) + ".." + Num(n - 1));
                    return null;
                }
                if (e > n || e <= s)
                {
                    c.Diagnostics.ReportIndexOutOfRange(c.SpanOf("end"), c.Name, "end", end ?? n, axis, length, c.InputName,
                        e <= s ? range + " are empty; end must come after start (" + Num(s) + ")" : "valid: " + Num(s + 1 - n) + "..-1 or " + Num(s + 1) + ".." + Num(n));
                    return null;
                }
                count = Dim.Known(e - s);
            }
            else if (end is long e && (start >= 0) == (e >= 0))
            {
                if (e <= start)
                {
                    c.Diagnostics.ReportIndexOutOfRange(c.SpanOf("end"), c.Name, "end", e, axis, length, c.InputName,
                        "the slice is empty; end must come after start (" + Num(start) + ")");
                    return null;
                }
                count = Dim.Known(e - start);
            }
            else if (end is null && start <= 0)
            {
                count = start == 0 ? length : Dim.Known(-start);
            }
            else
            {
                c.Diagnostics.ReportSymbolicNotAllowed(c.CallSpan, c.Name, c.InputName,
                    "axis " + Num(axis) + " (start=" + Num(start) + (end is long e2 ? " with end=" + Num(e2) : " with no end") + " takes a number of rows that depends on it)",
                    length, c.InputShape);
                return null;
            }
            c.SetAttributes(new SliceAttributes(axis, start, end));
            var dims = c.InputShape.Dims.ToArray();
            dims[axis] = count;
            return new Shape(dims);
        }

        public override Planning Planning => Planning.Layer;

        // y[o, r, i] = x[o, begin + r, i] (begin = start, + length when negative)
        public override Kernel PlanForward(IPlanContext p, OpNode op)
        {
            var a = Attributes(op);
            return NarrowPlan.Forward(p, op, a.Axis, a.Start, op.Output.Shape[a.Axis]);
        }

        // dx[o, begin + r, i] (+)= dy[o, r, i], the other rows (+)= 0
        public override IEnumerable<Kernel> PlanBackward(IPlanContext p, OpNode op, Kernel forward) => NarrowPlan.Backward(p, op, forward);

        public override LayerCalls? Calls(Kernel kernel) => NarrowPlan.Calls(kernel);

        public override OpCost Cost(OpNode op, CostContext c) => OpCost.Free;

        // Slice(x, starts, ends, axes); no end is INT64_MAX (ONNX clamps it to the axis)
        public override void LowerOnnx(IOnnxContext o, OpNode op)
        {
            var a = Attributes(op);
            string output = o.Output;
            o.Emit("Slice", new[]
            {
                o.Input(0),
                o.Constant(op.Output.Name + "/start", new[] { a.Start }),
                o.Constant(op.Output.Name + "/end", new[] { a.End ?? long.MaxValue }),
                o.Constant(op.Output.Name + "/axis", new long[] { a.Axis }),
            }, output);
        }

        private static string Num(long v) => v.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>The kernels select and slice share: x viewed as [outer, length, inner] around the axis.</summary>
    internal static class NarrowPlan
    {
        public static Kernel Forward(IPlanContext p, OpNode op, int axis, long start, Dim count)
        {
            var shape = op.Inputs[0].Shape;
            Dim outer = shape.Dims.Take(axis).Aggregate(Dim.Known(1), (acc, d) => acc.Multiply(d));
            Dim inner = shape.Dims.Skip(axis + 1).Aggregate(Dim.Known(1), (acc, d) => acc.Multiply(d));
            Dim length = shape[axis];
            // A known axis gets its start resolved here, so the generated call reads as the rows it takes.
            long resolved = length.IsKnown && start < 0 ? start + length.Value : start;
            return new NarrowKernel(p.KernelName("fwd", op.Kind.ToSource()), new[] { p.Origin(op) }, outer, length, inner, resolved, count, p.Value(op.Inputs[0]), p.Value(op.Output));
        }

        public static IEnumerable<Kernel> Backward(IPlanContext p, OpNode op, Kernel forward)
        {
            if (!p.NeedsGradient(op.Inputs[0])) yield break;
            yield return new NarrowBackwardKernel(p.KernelName("bwd", op.Kind.ToSource()), new[] { p.Origin(op) }, (NarrowKernel)forward, p.Gradient(op.Output),
                p.Contribute(p.Gradient(op.Inputs[0])));
        }

        public static LayerCalls? Calls(Kernel kernel) => kernel switch
        {
            NarrowKernel k => Does(
                $"{k.Output}{k.Output.Shape} = {k.Input}{k.Input.Shape} viewed as [{k.Outer}, {k.Length}, {k.Inner}], rows {Rows(k)} of the middle axis (a copy)",
                Call("Narrow", "Forward", Size(k.Outer), Size(k.Length), Size(k.Inner), Int(k.Start), Size(k.Count), Buffer(k.Input), Buffer(k.Output))),
            NarrowBackwardKernel k => Does(
                $"{k.InputGradient} {k.OutputGradient} on rows {Rows(k.Forward)} of the middle axis of [{k.Forward.Outer}, {k.Forward.Length}, {k.Forward.Inner}], 0 on the others",
                Call("Narrow", "Backward", Size(k.Forward.Outer), Size(k.Forward.Length), Size(k.Forward.Inner), Int(k.Forward.Start), Size(k.Forward.Count),
                    Buffer(k.OutputGradient), Gradient(k.InputGradient), Flag("accumulate", k.InputGradient.Accumulate))),
            _ => null,
        };

        /// <summary>"3", "0..3", "T-1" (a start from the end of a symbolic axis), "T-4..T-1".</summary>
        private static string Rows(NarrowKernel k)
        {
            string At(long offset) => k.Start < 0 ? k.Length.ToExpression() + (offset < 0 ? "-" + (-offset).ToString(CultureInfo.InvariantCulture) : "") : offset.ToString(CultureInfo.InvariantCulture);
            if (!k.Count.IsKnown) return "all";
            long last = k.Start + k.Count.Value - 1;
            return k.Count.Value == 1 ? At(k.Start) : At(k.Start) + ".." + At(last);
        }
    }
}
