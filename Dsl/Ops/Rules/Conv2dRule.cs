using ModelDsl.IR;
using ModelDsl.Shapes;

namespace ModelDsl.Ops.Rules
{
    /// <summary>
    /// <c>conv2d(channels, kernel, stride=1, padding=0, bias=true)</c>: [N, C, H, W] → [N, channels, H', W'] with
    /// H' = floor((H + 2·padding − kernel)/stride) + 1 (PyTorch); weight [channels, C, k, k], bias [channels].
    /// </summary>
    internal static class Conv2dRule
    {
        public static readonly Signature Signature = new Signature(
            Signature.Tensor(),
            Signature.Int("channels"),
            new ParamSpec("kernel", ParamKind.IntOrTuple, min: 1),
            Signature.Int("stride", 1),
            Signature.Int("padding", 0, min: 0),
            Signature.Bool("bias", true));

        public static Shape? Apply(OpContext c)
        {
            if (!c.RequireDType(0, DType.F32) | !c.RequireRank(0, 4, "[N, C, H, W]")) return null;
            if (!c.RequireKnown(0, 1, "the channel dimension (it sizes the weight)")) return null;
            long k = c.Int("kernel"), s = c.Int("stride"), p = c.Int("padding");
            Dim channels = c.IntDim("channels");
            Dim inChannels = c.InputShape[1];
            if (!Spatial.TryOutput(c, 2, k, s, p, out Dim h) || !Spatial.TryOutput(c, 3, k, s, p, out Dim w)) return null;
            bool bias = c.Bool("bias");
            c.Attr("channels", channels.Value);
            c.Attr("kernel", k);
            c.Attr("stride", s);
            c.Attr("padding", p);
            c.Attr("bias", bias);
            long fanIn = checked(inChannels.Value * k * k), fanOut = checked(channels.Value * k * k);
            c.AddParameter("weight", new Shape(channels, inChannels, Dim.Known(k), Dim.Known(k)), InitKind.KaimingUniform, fanIn, fanOut);
            if (bias) c.AddParameter("bias", new Shape(channels), InitKind.Zeros, fanIn, fanOut);
            return new Shape(c.InputShape[0], channels, h, w);
        }
    }

    /// <summary><c>max_pool2d</c>, <c>avg_pool2d</c>(kernel, stride=kernel, padding=0): [N, C, H, W] → [N, C, H', W'].</summary>
    internal static class Pool2dRule
    {
        public static readonly Signature Signature = new Signature(
            Signature.Tensor(),
            new ParamSpec("kernel", ParamKind.IntOrTuple, min: 1),
            new ParamSpec("stride", ParamKind.IntOrTuple, min: 1, optional: true),
            Signature.Int("padding", 0, min: 0));

        public static Shape? Apply(OpContext c)
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
            c.Attr("kernel", k);
            c.Attr("stride", s);
            c.Attr("padding", p);
            return new Shape(c.InputShape[0], c.InputShape[1], h, w);
        }
    }

    internal static class Spatial
    {
        /// <summary>floor((H + 2p − k)/s) + 1; a symbolic H only passes through unchanged "same" windows.</summary>
        public static bool TryOutput(OpContext c, int axis, long k, long s, long p, out Dim result)
        {
            Dim input = c.InputShape[axis];
            result = input;
            if (!input.IsKnown)
            {
                if (s == 1 && 2 * p + 1 == k) return true;
                c.Diagnostics.ReportSymbolicNotAllowed(c.InputSpan, c.Name, c.InputName, axis == 2 ? "the height" : "the width", input, c.InputShape);
                return false;
            }
            long padded = checked(input.Value + 2 * p);
            if (k > padded)
            {
                c.Diagnostics.ReportKernelTooLarge(c.SpanOf("kernel"), c.Name, k, axis == 2 ? "height" : "width", input, p, c.InputName);
                return false;
            }
            result = Dim.Known((padded - k) / s + 1);
            return true;
        }
    }
}
