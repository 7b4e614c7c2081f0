using System.Collections.Generic;
using ModelDsl.Emit.Onnx;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;

using static ModelDsl.Plan.L;

namespace ModelDsl.Ops
{
    /// <summary><c>softmax(axis=-1)</c>: the axis normalised against the input's rank.</summary>
    public sealed record SoftmaxAttributes(int Axis) : OpAttributes
    {
        public override IReadOnlyList<KeyValuePair<string, AttributeValue>> Describe() => new[] { Pair("axis", (long)Axis) };
    }

    /// <summary>
    /// <c>softmax(axis=-1)</c>: same shape, normalised along one axis. Kernels: <c>Runtime/Cpu/Layers/Softmax.cs</c>,
    /// <c>md_softmax_*</c> in the CUDA layer library (rows).
    /// </summary>
    internal sealed class Softmax : OpRule<SoftmaxAttributes>
    {
        public static readonly Softmax Rule = new Softmax();

        private Softmax()
            : base("softmax", OpKind.Softmax, new Signature(Signature.Tensor(), Signature.Int("axis", -1, min: null)))
        {
        }

        public override Shape? Check(OpContext c)
        {
            if (!c.RequireDType(0, DType.F32)) return null;
            if (!Axes.TryNormalize(c, "axis", c.InputShape.Rank, out int axis)) return null;
            c.SetAttributes(new SoftmaxAttributes(axis));
            return c.InputShape;
        }

        public override Planning Planning => Planning.Layer;

        public override string? NotPlannable(OpNode op) =>
            Attributes(op).Axis == op.Output.Shape.Rank - 1 ? null
                : $"over axis {Attributes(op).Axis} of {op.Inputs[0].Shape}, but the generated code computes softmax over the last axis only; lay the tensor out with that axis last";

        // y = softmax(x) per row of a [rows, cols] view
        public override Kernel PlanForward(IPlanContext p, OpNode op)
        {
            var (rows, cols) = Matrix(op.Inputs[0].Shape);
            return new SoftmaxKernel(p.KernelName("fwd", "softmax"), new[] { p.Origin(op) }, rows, cols, p.Value(op.Inputs[0]), p.Value(op.Output));
        }

        // dx (+)= y ⊙ (dy − Σ_row dy·y), from the forward's output
        public override IEnumerable<Kernel> PlanBackward(IPlanContext p, OpNode op, Kernel forward)
        {
            var softmax = (SoftmaxKernel)forward;
            if (p.NeedsGradient(op.Inputs[0]))
                yield return new SoftmaxBackwardKernel(p.KernelName("bwd", "softmax"), new[] { p.Origin(op) }, softmax.Rows, softmax.Cols, softmax.Output, p.Gradient(op.Output), InputGradient(p, op)!);
        }

        public override LayerCalls? Calls(Kernel kernel) => kernel switch
        {
            SoftmaxKernel k => Does($"{k.Output} = softmax({k.Input}) over rows of {k.Cols}",
                Call("Softmax", "Forward", Size(k.Rows), Size(k.Cols), Buffer(k.Input), Buffer(k.Output))),
            SoftmaxBackwardKernel k => Does($"{k.InputGradient} {k.Output} ⊙ ({k.OutputGradient} − Σ_row {k.OutputGradient}·{k.Output})",
                Call("Softmax", "Backward", Size(k.Rows), Size(k.Cols), Buffer(k.Output), Buffer(k.OutputGradient), Gradient(k.InputGradient), Flag("accumulate", k.InputGradient.Accumulate))),
            _ => null,
        };

        // exp, sum, divide, max and subtract per element; the backward a dot product per row and a multiply-subtract
        public override OpCost Cost(OpNode op, CostContext c) => OpCost.PerElement(c.Output(op), 5, 4);

        public override void LowerOnnx(IOnnxContext o, OpNode op) =>
            o.Emit("Softmax", new[] { o.Input(0) }, o.Output, OnnxAttribute.Int("axis", Attributes(op).Axis));
    }
}
