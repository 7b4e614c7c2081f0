using System.Collections.Generic;
using System.Linq;
using ModelDsl.Emit.Onnx;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;

using static ModelDsl.Plan.L;

namespace ModelDsl.Ops
{
    /// <summary><c>concat(..., axis=-1)</c>: the axis normalised against the inputs' rank.</summary>
    public sealed record ConcatAttributes(int Axis) : OpAttributes
    {
        public override IReadOnlyList<KeyValuePair<string, AttributeValue>> Describe() => new[] { Pair("axis", (long)Axis) };
    }

    /// <summary>
    /// <c>concat(a, b, ..., axis=-1)</c>: shapes equal except along <c>axis</c>, which adds up. Kernels:
    /// <c>Runtime/Cpu/Layers/Concat.cs</c>, <c>md_concat_*</c> in the CUDA layer library (one call or launch per input).
    /// </summary>
    internal sealed class Concat : OpRule<ConcatAttributes>
    {
        public static readonly Concat Rule = new Concat();

        private Concat()
            : base("concat", OpKind.Concat, new Signature(new ParamSpec("x", ParamKind.Tensors), Signature.Int("axis", -1, min: null)), outputType: null)
        {
        }

        public override Shape? Check(OpContext c)
        {
            var first = c.InputShape;
            if (!Axes.TryNormalize(c, "axis", first.Rank, out int axis)) return null;
            Dim sum = first[axis];
            for (int i = 1; i < c.Inputs.Count; i++)
            {
                var s = c.Inputs[i].Shape;
                bool same = s.Rank == first.Rank && Enumerable.Range(0, s.Rank).All(a => a == axis || s[a].Equals(first[a]));
                if (!same || c.Inputs[i].DType != c.Input.DType)
                {
                    c.Diagnostics.ReportConcatMismatch(c.InputSpans[i], c.InputNames[i], c.Inputs[i].DType, s, c.InputName, c.Input.DType, first, axis);
                    return null;
                }
                if (!sum.IsKnown || !s[axis].IsKnown)
                {
                    c.Diagnostics.ReportSymbolicNotAllowed(c.InputSpans[i], c.Name, c.InputNames[i], "the concatenated axis", s[axis], s);
                    return null;
                }
                sum = Dim.Known(checked(sum.Value + s[axis].Value));
            }
            c.SetAttributes(new ConcatAttributes(axis));
            var dims = first.Dims.ToArray();
            dims[axis] = sum;
            return new Shape(dims);
        }

        public override Planning Planning => Planning.Layer;

        public override string? NotPlannable(OpNode op) => op.Output.DType == DType.F32 ? null
            : "its inputs are i32, but the generated code concatenates f32 tensors only; concatenate the embeddings instead of the ids";

        // y = the inputs side by side along axis. Seen as matrices whose rows are the dims before axis: xᵢ [rows, dᵢ·inner]
        // fills y [rows, D·inner] from column offsetᵢ = (d₀ + … + dᵢ₋₁)·inner (inner: the dims after axis; D = Σ dᵢ).
        public override Kernel PlanForward(IPlanContext p, OpNode op)
        {
            var (axis, rows, inner) = Geometry(op);
            var parts = new List<ConcatPart>();
            long offset = 0;
            foreach (var input in op.Inputs)
            {
                long size = input.Shape[axis].Value;
                parts.Add(new ConcatPart(p.Value(input), Dim.Known(size).Multiply(inner), Offset(offset, inner)));
                offset += size;
            }
            return new ConcatKernel(p.KernelName("fwd", "concat"), new[] { p.Origin(op) }, axis, rows, Dim.Known(offset).Multiply(inner), parts, p.Value(op.Output));
        }

        // y is a copy of each xᵢ, so dxᵢ (+)= dy[:, offsetᵢ : offsetᵢ + dᵢ·inner] for each input that needs a gradient
        public override IEnumerable<Kernel> PlanBackward(IPlanContext p, OpNode op, Kernel forward)
        {
            var concat = (ConcatKernel)forward;
            var parts = new List<ConcatGradientPart>();
            for (int i = 0; i < op.Inputs.Count; i++)
            {
                if (!p.NeedsGradient(op.Inputs[i])) continue;
                var part = concat.Parts[i];
                parts.Add(new ConcatGradientPart(p.Contribute(p.Gradient(op.Inputs[i])), part.Width, part.Offset));
            }
            if (parts.Count > 0) yield return new ConcatBackwardKernel(p.KernelName("bwd", "concat"), new[] { p.Origin(op) }, concat.Rows, concat.OutputWidth, p.Gradient(op.Output), parts);
        }

        public override LayerCalls? Calls(Kernel kernel) => kernel switch
        {
            ConcatKernel k => new LayerCalls(
                $"{k.Output}{k.Output.Shape} = concat({string.Join(", ", k.Parts.Select(p => p.Input.Name))}) along axis {k.Axis}: each input copied into its columns of the [{k.Rows}, {k.OutputWidth}] rows",
                k.Parts.Select(part => Call("Concat", "Forward", Size(k.Rows), Size(part.Width), Size(k.OutputWidth), Size(part.Offset), Buffer(part.Input), Buffer(k.Output))).ToList())
                .OnGpu($"{k.Output}{k.Output.Shape} = concat({string.Join(", ", k.Parts.Select(p => p.Input.Name))}) along axis {k.Axis}: one launch per input, copying it into its columns of the [{k.Rows}, {k.OutputWidth}] rows"),
            ConcatBackwardKernel k => new LayerCalls(
                Join(k.Parts.Select((p, i) => (System.FormattableString)$"{(i == 0 ? "" : ", ")}{p.Gradient} {k.OutputGradient}[:, {new ColumnRange(p.Offset, p.Width)}]").ToArray()),
                k.Parts.Select(part => Call("Concat", "Backward", Size(k.Rows), Size(part.Width), Size(k.OutputWidth), Size(part.Offset), Buffer(k.OutputGradient), Gradient(part.Gradient),
                    Flag("accumulate", part.Gradient.Accumulate))).ToList())
                .OnGpu(Join(k.Parts.Select((p, i) => (System.FormattableString)$"{(i == 0 ? "" : ", ")}{p.Gradient} {k.OutputGradient}[:, {new ColumnRange(p.Offset, p.Width)}]")
                    .Concat(new[] { (System.FormattableString)$": one launch per input" }).ToArray())),
            _ => null,
        };

        private static (int Axis, Dim Rows, Dim Inner) Geometry(OpNode op)
        {
            var shape = op.Output.Shape;
            int axis = Attributes(op).Axis;
            Dim rows = shape.Dims.Take(axis).Aggregate(Dim.Known(1), (acc, d) => acc.Multiply(d));
            Dim inner = shape.Dims.Skip(axis + 1).Aggregate(Dim.Known(1), (acc, d) => acc.Multiply(d));
            return (axis, rows, inner);
        }

        /// <summary>Where an input's columns start: 0 as a plain 0 (not 0·T).</summary>
        private static Dim Offset(long offset, Dim inner) => offset == 0 ? Dim.Known(0) : Dim.Known(offset).Multiply(inner);

        public override OpCost Cost(OpNode op, CostContext c) => OpCost.Free;

        public override void LowerOnnx(IOnnxContext o, OpNode op)
        {
            var inputs = Enumerable.Range(0, op.Inputs.Count).Select(o.Input).ToArray();
            o.Emit("Concat", inputs, o.Output, OnnxAttribute.Int("axis", Attributes(op).Axis));
        }
    }
}
