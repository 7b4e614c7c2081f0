using ModelDsl.Text;

namespace ModelDsl.IR
{
    /// <summary>The arithmetic of a model's GPU session (docs/cuda.md "Precision"). The CPU code is FP32 in every mode.</summary>
    public enum Precision
    {
        /// <summary>FP32 everywhere: the GPU matches the CPU reference to rounding (the default).</summary>
        Fp32,

        /// <summary>FP32 storage; cuBLAS's FP32 matrix products on tensor cores with TF32 operands (10 mantissa bits).</summary>
        Tf32,

        /// <summary>
        /// Mixed precision: the matrix products take BF16 operands (8 significant bits) and accumulate in FP32; FP32
        /// master weights, gradients and optimizer state, FP32 layer norm, softmax and loss.
        /// </summary>
        Bf16,
    }

    /// <summary>A model's <c>precision</c> statement, resolved: the mode, and where it was declared (default when not).</summary>
    public sealed class PrecisionInfo
    {
        public static readonly PrecisionInfo Default = new PrecisionInfo(Precision.Fp32, default);

        public PrecisionInfo(Precision mode, TextSpan span)
        {
            Mode = mode;
            Span = span;
        }

        public Precision Mode { get; }

        /// <summary>The <c>precision</c> statement; default when the model has none.</summary>
        public TextSpan Span { get; }

        /// <summary>As the .model writes it: <c>fp32</c>, <c>tf32</c>, <c>bf16</c>.</summary>
        public string Describe() => Mode.ToString().ToLowerInvariant();
    }
}
