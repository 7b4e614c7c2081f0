using System.Collections.Generic;
using System.Linq;
using ModelDsl.Binding;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;

namespace ModelDsl.Ops
{
    /// <summary><c>flatten(start=1)</c>: the first merged axis, normalised against the input's rank.</summary>
    public sealed record FlattenAttributes(int Start) : OpAttributes
    {
        public override IReadOnlyList<KeyValuePair<string, AttributeValue>> Describe() => new[] { Pair("start", (long)Start) };
    }

    /// <summary><c>reshape([...])</c>: the target shape, −1 for a symbolic dimension.</summary>
    public sealed record ReshapeAttributes(IReadOnlyList<long> Shape) : OpAttributes
    {
        public override IReadOnlyList<KeyValuePair<string, AttributeValue>> Describe() => new[] { Pair("shape", Shape) };

        public bool Equals(ReshapeAttributes? other) => other is not null && Shape.SequenceEqual(other.Shape);

        public override int GetHashCode() => Shape.Count;
    }

    /// <summary>
    /// flatten and reshape: the output is the input viewed with another shape (row-major order unchanged), so the
    /// planner aliases the output's buffer (and its gradient) to the input's and the kernels do nothing but say so.
    /// No runtime or CUDA kernel.
    /// </summary>
    internal abstract class ViewRule<T> : OpRule<T> where T : OpAttributes
    {
        protected ViewRule(string name, OpKind kind, Signature signature)
            : base(name, kind, signature, outputType: null)
        {
        }

        public override Planning Planning => Planning.Layer;

        public override bool IsView => true;

        // y is x's memory (PlanBuffer.AliasOf)
        public override Kernel PlanForward(IPlanContext p, OpNode op) =>
            new ReshapeKernel(p.KernelName("fwd", Name), new[] { p.Origin(op) }, p.Value(op.Inputs[0]), p.Value(op.Output));

        // dx is dy's memory: nothing to do but say so
        public override IEnumerable<Kernel> PlanBackward(IPlanContext p, OpNode op, Kernel forward)
        {
            if (p.NeedsGradient(op.Inputs[0]))
                yield return new ReshapeKernel(p.KernelName("bwd", Name), new[] { p.Origin(op) }, p.Gradient(op.Inputs[0]), p.Gradient(op.Output));
        }

        public override OpCost Cost(OpNode op, CostContext c) => OpCost.Free;
    }

    /// <summary><c>flatten(start=1)</c>: [N, a, b, ...] → [N, a·b·...] (axes from <c>start</c> merged).</summary>
    internal sealed class Flatten : ViewRule<FlattenAttributes>
    {
        public static readonly Flatten Rule = new Flatten();

        private Flatten()
            : base("flatten", OpKind.Flatten, new Signature(Signature.Tensor(), Signature.Int("start", 1, min: null)))
        {
        }

        public override Shape? Check(OpContext c)
        {
            int rank = c.InputShape.Rank;
            if (!Axes.TryNormalize(c, "start", rank, out int start)) return null;
            c.SetAttributes(new FlattenAttributes(start));
            var dims = c.InputShape.Dims.Take(start).ToList();
            dims.Add(c.InputShape.Dims.Skip(start).Aggregate(Dim.Known(1), (a, d) => a.Multiply(d)));
            return new Shape(dims);
        }

        // Reshape with 0 (copy the input's dim) for the kept axes and -1 for the rest: works with symbolic dims.
        public override void LowerOnnx(IOnnxContext o, OpNode op)
        {
            string output = o.Output;
            var shape = Enumerable.Repeat(0L, Attributes(op).Start).Concat(new[] { -1L }).ToList();
            o.Emit("Reshape", new[] { o.Input(0), o.Constant(op.Output.Name + "/shape", shape) }, output);
        }
    }

    /// <summary><c>reshape([B, T, heads, d/heads])</c>: same element count; one entry may be -1.</summary>
    internal sealed class Reshape : ViewRule<ReshapeAttributes>
    {
        public static readonly Reshape Rule = new Reshape();

        private Reshape()
            : base("reshape", OpKind.Reshape, new Signature(Signature.Tensor(), new ParamSpec("shape", ParamKind.List)))
        {
        }

        public override Shape? Check(OpContext c)
        {
            var list = c.List("shape");
            if (list is null) return null;
            var dims = new List<Dim?>();
            int inferred = -1;
            for (int i = 0; i < list.Elements.Count; i++)
            {
                switch (list.Elements[i])
                {
                    case IntValue iv when iv.Integer == -1 && inferred < 0:
                        inferred = i;
                        dims.Add(null);
                        break;
                    case IntValue iv when iv.Integer >= 1:
                        dims.Add(iv.ToDim());
                        break;
                    case DimValue dv:
                        dims.Add(dv.Dim);
                        break;
                    default:
                        c.Diagnostics.ReportInvalidDimension(list.Spans[i], "reshape entries must be positive dimensions, with at most one -1");
                        return null;
                }
            }
            Dim total = c.InputShape.ElementCount();
            Dim known = dims.Where(d => d is not null).Aggregate(Dim.Known(1), (a, d) => a.Multiply(d!));
            if (inferred >= 0)
            {
                if (!total.TryDivide(known, out Dim rest))
                {
                    c.Diagnostics.ReportReshapeMismatch(c.SpanOf("shape"), c.InputName, c.InputShape, total, "[" + string.Join(", ", dims.Select(d => d?.ToString() ?? "-1")) + "]", known, true);
                    return null;
                }
                dims[inferred] = rest;
            }
            else if (!known.Equals(total))
            {
                c.Diagnostics.ReportReshapeMismatch(c.SpanOf("shape"), c.InputName, c.InputShape, total, "[" + string.Join(", ", dims.Select(d => d!.ToString())) + "]", known, false);
                return null;
            }
            var shape = new Shape(dims.Select(d => d!).ToArray());
            c.SetAttributes(new ReshapeAttributes(shape.Dims.Select(d => d.IsKnown ? d.Value : -1L).ToList()));
            return shape;
        }

        public override void LowerOnnx(IOnnxContext o, OpNode op)
        {
            string output = o.Output;
            o.Emit("Reshape", new[] { o.Input(0), o.Constant(op.Output.Name + "/shape", Target(op)) }, output);
        }

        /// <summary>The ONNX Reshape target: fixed sizes as is, a symbolic dim equal to the input's at that axis as 0, at most one other as -1.</summary>
        private static List<long> Target(OpNode op)
        {
            var input = op.Inputs[0].Shape;
            var target = new List<long>();
            bool inferred = false;
            for (int i = 0; i < op.Output.Shape.Rank; i++)
            {
                Dim d = op.Output.Shape[i];
                if (d.IsKnown) target.Add(d.Value);
                else if (i < input.Rank && input[i].Equals(d)) target.Add(0);
                else if (!inferred)
                {
                    inferred = true;
                    target.Add(-1);
                }
                else throw new System.NotSupportedException($"reshape '{op.LayerPath}' to {op.Output.Shape.ToExpression()} needs more than one inferred dimension.");
            }
            return target;
        }
    }
}
