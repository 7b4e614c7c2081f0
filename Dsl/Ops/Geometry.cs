using ModelDsl.Emit.Onnx;
using ModelDsl.Shapes;

namespace ModelDsl.Ops
{
    /// <summary>Axis arguments: negative counts from the end; out of range is MDL0309.</summary>
    internal static class Axes
    {
        public static bool TryNormalize(OpContext c, string name, int rank, out int axis)
        {
            long given = c.Int(name);
            axis = (int)(given < 0 ? given + rank : given);
            if (given >= -rank && given < rank) return true;
            c.Diagnostics.ReportAxisOutOfRange(c.SpanOf(name), c.Name, name, given, rank, c.InputName);
            return false;
        }
    }

    /// <summary>Square windows over the two spatial axes of [N, C, H, W] (conv2d, pooling).</summary>
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

        /// <summary>ONNX kernel_shape, pads and strides of a square window.</summary>
        public static OnnxAttribute[] OnnxWindow(long kernel, long stride, long padding) => new[]
        {
            OnnxAttribute.Ints("kernel_shape", new[] { kernel, kernel }),
            OnnxAttribute.Ints("pads", new[] { padding, padding, padding, padding }),
            OnnxAttribute.Ints("strides", new[] { stride, stride }),
        };
    }
}
