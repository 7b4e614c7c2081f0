using System.Collections.Generic;
using System.Linq;
using ModelDsl.Emit.Onnx;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;

using static ModelDsl.Plan.L;

namespace ModelDsl.Ops
{
    /// <summary><c>max_pool2d</c>, <c>avg_pool2d</c>(kernel, stride=kernel, padding=0), square windows.</summary>
    public sealed record Pool2dAttributes(long Kernel, long Stride, long Padding) : OpAttributes
    {
        public override IReadOnlyList<KeyValuePair<string, AttributeValue>> Describe() => new[] { Pair("kernel", Kernel), Pair("stride", Stride), Pair("padding", Padding) };
    }

    /// <summary>
    /// <c>max_pool2d</c>, <c>avg_pool2d</c>(kernel, stride=kernel, padding=0): [N, C, H, W] → [N, C, H', W']. Max pooling
    /// saves each window's winner for the backward; average pooling counts padding in the k² divisor (PyTorch's
    /// count_include_pad=True). Kernels: <c>Runtime/Cpu/Layers/{Max,Avg}Pool2d.cs</c>, <c>md_*_pool2d_*</c> (CUDA).
    /// </summary>
    internal sealed class Pool2d : OpRule<Pool2dAttributes>
    {
        public static readonly Pool2d Max = new Pool2d("max_pool2d", OpKind.MaxPool2d, PoolKind.Max);
        public static readonly Pool2d Average = new Pool2d("avg_pool2d", OpKind.AvgPool2d, PoolKind.Average);

        private readonly PoolKind _kind;

        private Pool2d(string name, OpKind kind, PoolKind pool)
            : base(name, kind, new Signature(
                Signature.Tensor(),
                new ParamSpec("kernel", ParamKind.IntOrTuple, min: 1),
                new ParamSpec("stride", ParamKind.IntOrTuple, min: 1, optional: true),
                Signature.Int("padding", 0, min: 0)))
        {
            _kind = pool;
        }

        public override Shape? Check(OpContext c)
        {
            if (!c.RequireDType(0, DType.F32) | !c.RequireRank(0, 4, "[N, C, H, W]")) return null;
            long k = c.Int("kernel"), p = c.Int("padding");
            long s = c.IsGiven("stride") ? c.Int("stride") : k;
            if (p * 2 > k)
            {
                c.Diagnostics.ReportArgumentOutOfRange(c.SpanOf("padding"), c.Name, "padding", p, "at most half the kernel (" + k.ToString(System.Globalization.CultureInfo.InvariantCulture) + ")");
                return null;
            }
            if (!Spatial.TryOutput(c, 2, k, s, p, out Dim h) || !Spatial.TryOutput(c, 3, k, s, p, out Dim w)) return null;
            c.SetAttributes(new Pool2dAttributes(k, s, p));
            return new Shape(c.InputShape[0], c.InputShape[1], h, w);
        }

        public override Planning Planning => Planning.Layer;

        private static Pool2dSizes Sizes(OpNode op)
        {
            var input = op.Inputs[0].Shape;
            var output = op.Output.Shape;
            var a = Attributes(op);
            return new Pool2dSizes(input[0], input[1], input[2], input[3], a.Kernel, a.Stride, a.Padding, output[2], output[3]);
        }

        // max: y = max over each window, the winners' indices saved (i32 [N, C, H', W']); average: y = mean over each window
        public override Kernel PlanForward(IPlanContext p, OpNode op)
        {
            var indices = _kind == PoolKind.Max ? p.NewBuffer(op.Output.Name + ".indices", BufferKind.Saved, op.Output.Shape, DType.I32) : null;
            return new Pool2dKernel(p.KernelName("fwd", Name), new[] { p.Origin(op) }, _kind, Sizes(op), p.Value(op.Inputs[0]), p.Value(op.Output), indices);
        }

        // max: dx (+)= dy scattered to the saved winners; average: each dy spread evenly over its window
        public override IEnumerable<Kernel> PlanBackward(IPlanContext p, OpNode op, Kernel forward)
        {
            var pool = (Pool2dKernel)forward;
            if (p.NeedsGradient(op.Inputs[0]))
                yield return new Pool2dBackwardKernel(p.KernelName("bwd", Name), new[] { p.Origin(op) }, pool.Kind, pool.Sizes, p.Gradient(op.Output), pool.Indices, InputGradient(p, op)!);
        }

        public override LayerCalls? Calls(Kernel kernel) => kernel switch
        {
            Pool2dKernel k when k.Kind == PoolKind.Max => Does(
                $"{k.Output}{k.Output.Shape} = max over each {k.Sizes.Kernel}×{k.Sizes.Kernel} window of {k.Input}; {k.Indices!} keeps the winners for the backward",
                Call("MaxPool2d", "Forward", Geometry(k.Sizes), Buffer(k.Input), Buffer(k.Output), Buffer(k.Indices))),
            Pool2dKernel k => Does(
                $"{k.Output}{k.Output.Shape} = mean over each {k.Sizes.Kernel}×{k.Sizes.Kernel} window of {k.Input}",
                Call("AvgPool2d", "Forward", Geometry(k.Sizes), Buffer(k.Input), Buffer(k.Output))),
            Pool2dBackwardKernel k when k.Kind == PoolKind.Max => Does(
                $"{k.InputGradient} {k.OutputGradient} scattered to the winners in {k.Indices!}",
                Call("MaxPool2d", "Backward", Geometry(k.Sizes), Buffer(k.OutputGradient), Buffer(k.Indices), Gradient(k.InputGradient), Flag("accumulate", k.InputGradient.Accumulate)))
                .OnGpu($"{k.InputGradient} {k.OutputGradient} gathered from the outputs whose winner in {k.Indices!} is the element"),
            Pool2dBackwardKernel k => Does(
                $"{k.InputGradient} {k.OutputGradient} spread evenly over each window",
                Call("AvgPool2d", "Backward", Geometry(k.Sizes), Buffer(k.OutputGradient), Gradient(k.InputGradient), Flag("accumulate", k.InputGradient.Accumulate)))
                .OnGpu($"{k.InputGradient} {k.OutputGradient} spread evenly over each window (gathered per input element)"),
            _ => null,
        };

        /// <summary>The runtime's <c>Pool2dGeometry</c>.</summary>
        private static LayerArgument Geometry(Pool2dSizes s) => L.Geometry("Pool2dGeometry",
            Size(s.Batch), Size(s.Channels), Size(s.Height), Size(s.Width), Int(s.Kernel), Int(s.Stride), Int(s.Padding));

        // one compare or add per input element, either way
        public override OpCost Cost(OpNode op, CostContext c) => new OpCost(c.Input(op), c.Input(op));

        public override void LowerOnnx(IOnnxContext o, OpNode op)
        {
            var a = Attributes(op);
            var window = Spatial.OnnxWindow(a.Kernel, a.Stride, a.Padding);
            if (_kind == PoolKind.Max) o.Emit("MaxPool", new[] { o.Input(0) }, o.Output, window);
            // PyTorch's default count_include_pad=True: padding counts in the k² divisor.
            else o.Emit("AveragePool", new[] { o.Input(0) }, o.Output, window.Concat(new[] { OnnxAttribute.Int("count_include_pad", 1) }).ToArray());
        }
    }
}
