using System.Collections.Generic;
using System.Linq;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;

namespace ModelDsl.Autodiff
{
    public sealed partial class PlanBuilder
    {
        // concat(x₀, x₁, …, axis): y = the inputs side by side along axis.
        //   Seen as matrices whose rows are the dims before axis: xᵢ [rows, dᵢ·inner] fills y [rows, D·inner] from column
        //   offsetᵢ = (d₀ + … + dᵢ₋₁)·inner (inner: the dims after axis; D = Σ dᵢ).
        //   Backward: y is a copy of each xᵢ, so dxᵢ (+)= dy[:, offsetᵢ : offsetᵢ + dᵢ·inner].

        private ConcatKernel ConcatForward(OpNode op, Origin[] origins)
        {
            var (axis, rows, inner) = ConcatGeometry(op);
            var parts = new List<ConcatPart>();
            long offset = 0;
            foreach (var input in op.Inputs)
            {
                long size = input.Shape[axis].Value;
                parts.Add(new ConcatPart(Value(input), Dim.Known(size).Multiply(inner), ConcatOffset(offset, inner)));
                offset += size;
            }
            return new ConcatKernel(KernelName("fwd", "concat"), origins, axis, rows, Dim.Known(offset).Multiply(inner), parts, Value(op.Output));
        }

        private IEnumerable<Kernel> ConcatBackward(OpNode op, ConcatKernel forward, Origin[] origins)
        {
            var parts = new List<ConcatGradientPart>();
            for (int i = 0; i < op.Inputs.Count; i++)
            {
                if (!_requiresGradient.Contains(op.Inputs[i].Id)) continue;
                var part = forward.Parts[i];
                parts.Add(new ConcatGradientPart(ContributeGradient(Gradient(op.Inputs[i])), part.Width, part.Offset));
            }
            if (parts.Count > 0) yield return new ConcatBackwardKernel(KernelName("bwd", "concat"), origins, forward.Rows, forward.OutputWidth, Gradient(op.Output), parts);
        }

        private static (int Axis, Dim Rows, Dim Inner) ConcatGeometry(OpNode op)
        {
            var shape = op.Output.Shape;
            int axis = (int)op.Attribute("axis")!.AsInteger;
            Dim rows = shape.Dims.Take(axis).Aggregate(Dim.Known(1), (acc, d) => acc.Multiply(d));
            Dim inner = shape.Dims.Skip(axis + 1).Aggregate(Dim.Known(1), (acc, d) => acc.Multiply(d));
            return (axis, rows, inner);
        }

        /// <summary>Where an input's columns start: 0 as a plain 0 (not 0·T).</summary>
        private static Dim ConcatOffset(long offset, Dim inner) => offset == 0 ? Dim.Known(0) : Dim.Known(offset).Multiply(inner);
    }
}
