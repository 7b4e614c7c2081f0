using System.Collections.Generic;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;

namespace ModelDsl.Ops
{
    /// <summary><c>conv2d(channels, kernel, stride=1, padding=0, bias=true)</c>, square kernels.</summary>
    public sealed record Conv2dAttributes(long Channels, long Kernel, long Stride, long Padding, bool Bias) : OpAttributes
    {
        public override IReadOnlyList<KeyValuePair<string, AttributeValue>> Describe() =>
            new[] { Pair("channels", Channels), Pair("kernel", Kernel), Pair("stride", Stride), Pair("padding", Padding), Pair("bias", Bias) };
    }

    /// <summary>
    /// <c>conv2d(channels, kernel, stride=1, padding=0, bias=true)</c>: [N, C, H, W] → [N, channels, H', W'] with
    /// H' = floor((H + 2·padding − kernel)/stride) + 1 (PyTorch); weight [channels, C, k, k], bias [channels].
    /// Kernels: <c>Runtime/Cpu/Layers/Conv2d*.cs</c> (im2col + GEMM), <c>md_conv2d_*</c> in the CUDA layer library.
    /// </summary>
    internal sealed class Conv2d : OpRule<Conv2dAttributes>
    {
        public static readonly Conv2d Rule = new Conv2d();

        private Conv2d()
            : base("conv2d", OpKind.Conv2d, new Signature(
                Signature.Tensor(),
                Signature.Int("channels"),
                new ParamSpec("kernel", ParamKind.IntOrTuple, min: 1),
                Signature.Int("stride", 1),
                Signature.Int("padding", 0, min: 0),
                Signature.Bool("bias", true)))
        {
        }

        public override Shape? Check(OpContext c)
        {
            if (!c.RequireDType(0, DType.F32) | !c.RequireRank(0, 4, "[N, C, H, W]")) return null;
            if (!c.RequireKnown(0, 1, "the channel dimension (it sizes the weight)")) return null;
            long k = c.Int("kernel"), s = c.Int("stride"), p = c.Int("padding");
            Dim channels = c.IntDim("channels");
            Dim inChannels = c.InputShape[1];
            if (!Spatial.TryOutput(c, 2, k, s, p, out Dim h) || !Spatial.TryOutput(c, 3, k, s, p, out Dim w)) return null;
            bool bias = c.Bool("bias");
            c.SetAttributes(new Conv2dAttributes(channels.Value, k, s, p, bias));
            long fanIn = checked(inChannels.Value * k * k), fanOut = checked(channels.Value * k * k);
            c.AddParameter("weight", new Shape(channels, inChannels, Dim.Known(k), Dim.Known(k)), InitKind.KaimingUniform, fanIn, fanOut);
            if (bias) c.AddParameter("bias", new Shape(channels), InitKind.Zeros, fanIn, fanOut);
            return new Shape(c.InputShape[0], channels, h, w);
        }

        public override Planning Planning => Planning.Layer;

        /// <summary>The sizes the kernels take, from the shapes and the attributes.</summary>
        private static Conv2dSizes Sizes(OpNode op)
        {
            var input = op.Inputs[0].Shape;
            var output = op.Output.Shape;
            var a = Attributes(op);
            return new Conv2dSizes(input[0], input[1], input[2], input[3], output[1].Value, a.Kernel, a.Stride, a.Padding, output[2], output[3]);
        }

        // y = conv2d(x, weight) + bias: im2col into the workspace, one GEMM per image
        public override Kernel PlanForward(IPlanContext p, OpNode op)
        {
            var sizes = Sizes(op);
            // The part of the workspace the plan fixes: one column matrix [C·k·k, H'·W']; the runtime adds the
            // dW/db partials and one slot per thread.
            var patch = sizes.Channels.Multiply(Dim.Known(sizes.Kernel * sizes.Kernel));
            var workspace = p.NewBuffer(op.Output.Name + ".workspace", BufferKind.Workspace, new Shape(patch, sizes.OutHeight.Multiply(sizes.OutWidth)), DType.F32);
            var bias = OwnedOrNull(op, "bias");
            return new Conv2dKernel(p.KernelName("fwd", "conv2d"), new[] { p.Origin(op) }, sizes, p.Value(op.Inputs[0]), p.Parameter(Owned(op, "weight")),
                bias is null ? null : p.Parameter(bias), p.Value(op.Output), workspace);
        }

        // dweight (+)= Σ_images dy[n]·col[n]ᵀ,  dbias (+)= Σ dy,  dx (+)= col2im(weightᵀ·dy[n]) (unfolding the input again)
        public override IEnumerable<Kernel> PlanBackward(IPlanContext p, OpNode op, Kernel forward)
        {
            var conv = (Conv2dKernel)forward;
            var dx = InputGradient(p, op);
            var dw = ParameterGradient(p, op, "weight");
            var db = conv.Bias is null ? null : ParameterGradient(p, op, "bias");
            yield return new Conv2dBackwardKernel(p.KernelName("bwd", "conv2d"), new[] { p.Origin(op) }, conv.Sizes, conv.Input, conv.Weight, p.Gradient(op.Output), dx, dw, db, conv.Workspace);
        }

        // 2·C·k² per output element (+ the bias); the backward twice that (dx and dW)
        public override OpCost Cost(OpNode op, CostContext c)
        {
            checked
            {
                long output = c.Output(op), k = Attributes(op).Kernel, channels = c.Size(op.Inputs[0].Shape[1]);
                return new OpCost(2 * output * channels * k * k + output, 2 * (2 * output * channels * k * k) + output);
            }
        }

        public override void LowerOnnx(IOnnxContext o, OpNode op)
        {
            string output = o.Output;
            var inputs = new List<string> { o.Input(0), o.Use(Owned(op, "weight")) };
            if (OwnedOrNull(op, "bias") is { } bias) inputs.Add(o.Use(bias));
            var a = Attributes(op);
            o.Emit("Conv", inputs, output, Spatial.OnnxWindow(a.Kernel, a.Stride, a.Padding));
        }
    }
}
