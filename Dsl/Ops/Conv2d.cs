using System.Collections.Generic;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;

using static ModelDsl.Plan.L;

namespace ModelDsl.Ops
{
    /// <summary>
    /// <c>conv2d(channels, kernel, stride=1, padding=0, bias=true)</c>, square kernels. <see cref="Padding"/> is the
    /// padding the kernels apply on each side: <c>padding="same"</c> is (kernel − 1)/2, <c>"valid"</c> 0.
    /// </summary>
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
                Signature.IntOrWord("padding", 0, 0, "same", "valid"),
                Signature.Bool("bias", true)))
        {
        }

        public override Shape? Check(OpContext c)
        {
            if (!c.RequireDType(0, DType.F32) | !c.RequireRank(0, 4, "[N, C, H, W]")) return null;
            if (!c.RequireKnown(0, 1, "the channel dimension (it sizes the weight)")) return null;
            long k = c.Int("kernel"), s = c.Int("stride");
            if (!TryPadding(c, k, s, out long p)) return null;
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

        /// <summary>
        /// An integer padding, or PyTorch's words: "valid" is 0; "same" keeps H and W, which with stride 1 and an odd
        /// kernel is (kernel − 1)/2 on each side. PyTorch refuses "same" with a stride above 1 (the output would not be
        /// the input's size), and pads an even kernel unevenly (one more after than before), which these kernels do
        /// not take: both are MDL0313 at the argument.
        /// </summary>
        private static bool TryPadding(OpContext c, long k, long s, out long padding)
        {
            padding = c.Int("padding");
            string? word = c.Word("padding");
            if (word is null) return true;
            padding = 0;
            if (word == "valid") return true;
            string F(long v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (s != 1)
            {
                c.Diagnostics.ReportUnsupportedOption(c.SpanOf("padding"), c.Name, "padding=\"same\" with stride " + F(s),
                    "\"same\" keeps the input's height and width, which a stride above 1 cannot (PyTorch refuses it too)",
                    "give the padding as an integer (padding=" + F(k / 2) + " pads kernel/2 on each side)");
                return false;
            }
            if (k % 2 == 0)
            {
                c.Diagnostics.ReportUnsupportedOption(c.SpanOf("padding"), c.Name, "padding=\"same\" with kernel " + F(k),
                    "an even kernel needs one more row and column of padding after than before, and the kernels pad both sides equally",
                    "use an odd kernel, or an integer padding");
                return false;
            }
            padding = (k - 1) / 2;
            return true;
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

        public override LayerCalls? Calls(Kernel kernel) => kernel switch
        {
            Conv2dKernel k => Does(
                Join($"{k.Output}{k.Output.Shape} = conv2d({k.Input}, {k.Weight})", k.Bias is null ? null : F($" + {k.Bias}"), $": im2col and one GEMM per image, images across threads"),
                Call("Conv2d", "Forward", Geometry(k.Sizes), Buffer(k.Input), Buffer(k.Weight), Buffer(k.Bias), Buffer(k.Output), Buffer(k.Workspace)))
                .WithWorkspace(k.Workspace, Call("Conv2d", "WorkspaceSize", Geometry(k.Sizes)))
                .OnGpu(Join($"{k.Output}{k.Output.Shape} = conv2d({k.Input}, {k.Weight})", k.Bias is null ? null : F($" + {k.Bias}"),
                    $": every image's columns (im2col) into {k.Workspace} in one launch, then y[n] = W·col[n] for every image n in one strided-batched GEMM (cuBLAS)",
                    k.Bias is null ? null : F($", then the bias"))),
            Conv2dBackwardKernel k => Does(
                Join($"{k.WeightGradient} Σ_images {k.OutputGradient}·colᵀ", k.BiasGradient is null ? null : F($", {k.BiasGradient} Σ {k.OutputGradient}"),
                    k.InputGradient is null ? F($" ({k.Input} needs no gradient)") : F($", {k.InputGradient} col2im({k.Weight}ᵀ·{k.OutputGradient})")),
                Call("Conv2d", "Backward", Geometry(k.Sizes), Buffer(k.Input), Buffer(k.Weight), Buffer(k.OutputGradient), Gradient(k.InputGradient), Gradient(k.WeightGradient),
                    Gradient(k.BiasGradient), Buffer(k.Workspace),
                    Flag("accumulateInputGradient", k.InputGradient?.Accumulate ?? false), Flag("accumulateParameterGradients", SameFlag(k, k.WeightGradient, k.BiasGradient))))
                .OnGpu(Join($"{k.WeightGradient} Σ_images {k.OutputGradient}·colᵀ", k.BiasGradient is null ? null : F($", {k.BiasGradient} Σ {k.OutputGradient}"),
                    k.InputGradient is null ? F($" ({k.Input} needs no gradient)") : F($", {k.InputGradient} col2im({k.Weight}ᵀ·{k.OutputGradient})"),
                    $": strided-batched GEMMs (cuBLAS) over the images on the columns the forward left in {k.Workspace}: each image's dy·colᵀ, then their sum over the images as one GEMM by a row of ones",
                    k.InputGradient is null ? null : F($", then dcol (over the columns) and col2im over the whole batch"))),
            _ => null,
        };

        /// <summary>The runtime's <c>Conv2dGeometry</c>.</summary>
        private static LayerArgument Geometry(Conv2dSizes s) => L.Geometry("Conv2dGeometry",
            Size(s.Batch), Size(s.Channels), Size(s.Height), Size(s.Width), Int(s.OutChannels), Int(s.Kernel), Int(s.Stride), Int(s.Padding));

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
