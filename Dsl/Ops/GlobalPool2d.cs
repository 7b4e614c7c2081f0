using System.Collections.Generic;
using ModelDsl.Emit.Onnx;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;

using static ModelDsl.Plan.L;

namespace ModelDsl.Ops
{
    /// <summary>
    /// <c>global_avg_pool2d</c>, <c>global_max_pool2d</c>: [N, C, H, W] → [N, C], the mean or the max over each
    /// H×W plane (PyTorch's <c>adaptive_avg_pool2d(x, 1)</c> / <c>adaptive_max_pool2d(x, 1)</c> then flatten; Keras'
    /// <c>GlobalAveragePooling2D</c>). H and W may be symbolic: the kernels take the plane's size at run time. Max
    /// saves each plane's winner (its index in the plane, the first on ties) for the backward. Kernels:
    /// <c>Runtime/Cpu/Layers/GlobalPool2d.cs</c>, <c>md_globalpool2d_*</c> (CUDA).
    /// </summary>
    internal sealed class GlobalPool2d : OpRule<NoAttributes>
    {
        public static readonly GlobalPool2d Average = new GlobalPool2d("global_avg_pool2d", OpKind.GlobalAvgPool2d, PoolKind.Average);
        public static readonly GlobalPool2d Max = new GlobalPool2d("global_max_pool2d", OpKind.GlobalMaxPool2d, PoolKind.Max);

        private readonly PoolKind _kind;

        private GlobalPool2d(string name, OpKind kind, PoolKind pool)
            : base(name, kind, new Signature(Signature.Tensor()))
        {
            _kind = pool;
        }

        public override Shape? Check(OpContext c)
        {
            if (!c.RequireDType(0, DType.F32) | !c.RequireRank(0, 4, "[N, C, H, W]")) return null;
            c.SetAttributes(NoAttributes.Instance);
            return new Shape(c.InputShape[0], c.InputShape[1]);
        }

        public override Planning Planning => Planning.Layer;

        /// <summary>Planes = N·C, each of Area = H·W elements (either may be symbolic).</summary>
        private static (Dim Planes, Dim Area) Sizes(OpNode op)
        {
            var input = op.Inputs[0].Shape;
            return (input[0].Multiply(input[1]), input[2].Multiply(input[3]));
        }

        // average: y[plane] = Σ x[plane, :] / (H·W);  max: y[plane] = max x[plane, :], the winner's index saved (i32 [N, C])
        public override Kernel PlanForward(IPlanContext p, OpNode op)
        {
            var (planes, area) = Sizes(op);
            var indices = _kind == PoolKind.Max ? p.NewBuffer(op.Output.Name + ".indices", BufferKind.Saved, op.Output.Shape, DType.I32) : null;
            return new GlobalPool2dKernel(p.KernelName("fwd", Name), new[] { p.Origin(op) }, _kind, planes, area, p.Value(op.Inputs[0]), p.Value(op.Output), indices);
        }

        // average: dx[plane, :] (+)= dy[plane] / (H·W);  max: dx[plane, winner] (+)= dy[plane], the other elements get 0
        public override IEnumerable<Kernel> PlanBackward(IPlanContext p, OpNode op, Kernel forward)
        {
            var pool = (GlobalPool2dKernel)forward;
            if (p.NeedsGradient(op.Inputs[0]))
                yield return new GlobalPool2dBackwardKernel(p.KernelName("bwd", Name), new[] { p.Origin(op) }, pool.Kind, pool.Planes, pool.Area, p.Gradient(op.Output), pool.Indices, InputGradient(p, op)!);
        }

        public override LayerCalls? Calls(Kernel kernel) => kernel switch
        {
            GlobalPool2dKernel k when k.Kind == PoolKind.Max => Does(
                $"{k.Output}{k.Output.Shape} = max over each H×W plane of {k.Input}; {k.Indices!} keeps the winners for the backward",
                Call("GlobalMaxPool2d", "Forward", Size(k.Planes), Size(k.Area), Buffer(k.Input), Buffer(k.Output), Buffer(k.Indices))),
            GlobalPool2dKernel k => Does(
                $"{k.Output}{k.Output.Shape} = mean over each H×W plane of {k.Input}",
                Call("GlobalAvgPool2d", "Forward", Size(k.Planes), Size(k.Area), Buffer(k.Input), Buffer(k.Output))),
            GlobalPool2dBackwardKernel k when k.Kind == PoolKind.Max => Does(
                $"{k.InputGradient} {k.OutputGradient} at each plane's winner in {k.Indices!}, 0 elsewhere",
                Call("GlobalMaxPool2d", "Backward", Size(k.Planes), Size(k.Area), Buffer(k.OutputGradient), Buffer(k.Indices), Gradient(k.InputGradient), Flag("accumulate", k.InputGradient.Accumulate))),
            GlobalPool2dBackwardKernel k => Does(
                $"{k.InputGradient} {k.OutputGradient} spread evenly over each plane",
                Call("GlobalAvgPool2d", "Backward", Size(k.Planes), Size(k.Area), Buffer(k.OutputGradient), Gradient(k.InputGradient), Flag("accumulate", k.InputGradient.Accumulate))),
            _ => null,
        };

        // one add or compare per input element, either way
        public override OpCost Cost(OpNode op, CostContext c) => new OpCost(c.Input(op), c.Input(op));

        // GlobalAveragePool / GlobalMaxPool give [N, C, 1, 1]; Flatten(axis=1) makes it [N, C]
        public override void LowerOnnx(IOnnxContext o, OpNode op)
        {
            string output = o.Output;
            string pooled = o.Fresh(op.Output.Name + "/pooled");
            o.Emit(_kind == PoolKind.Max ? "GlobalMaxPool" : "GlobalAveragePool", new[] { o.Input(0) }, pooled);
            o.Emit("Flatten", new[] { pooled }, output, OnnxAttribute.Int("axis", 1));
        }
    }
}
