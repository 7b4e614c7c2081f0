using System.Collections.Generic;
using System.Globalization;
using ModelDsl.Plan;

namespace ModelDsl.Emit.Cuda
{
    /// <summary>
    /// The CUDA C op map of a fused kernel body (<see cref="ExpressionDialect"/>): <c>float v3</c> locals over the kernel's
    /// pointer parameters, element <c>i</c> of the [rows, cols] domain in <c>i</c>, its column in <c>c</c>; each unary op is
    /// the prelude's device function with the formula of <c>ModelDsl.Runtime.Cpu.Activations</c>.
    /// </summary>
    internal static class CudaExpressions
    {
        private static readonly IReadOnlyDictionary<UnaryOp, string> Functions = new Dictionary<UnaryOp, string>
        {
            [UnaryOp.Relu] = "md_relu",
            [UnaryOp.Sigmoid] = "md_sigmoid",
            [UnaryOp.Tanh] = "md_tanh",
            [UnaryOp.Gelu] = "md_gelu",
            [UnaryOp.GeluTanh] = "md_gelu_tanh",
            [UnaryOp.Silu] = "md_silu",
            [UnaryOp.PositiveMask] = "md_positive_mask",
            [UnaryOp.GeluGrad] = "md_gelu_grad",
            [UnaryOp.GeluTanhGrad] = "md_gelu_tanh_grad",
            [UnaryOp.SiluGrad] = "md_silu_grad",
            [UnaryOp.NegativeExpM1] = "md_negative_exp_m1",
        };

        /// <summary>The prelude's device function for <paramref name="op"/>.</summary>
        public static string Function(UnaryOp op) =>
            Functions.TryGetValue(op, out var function) ? function : throw new System.InvalidOperationException("no CUDA function for " + op);

        /// <param name="name">The kernel's parameter for a buffer.</param>
        public static ExpressionDialect Kernel(System.Func<PlanBuffer, string> name) =>
            new ExpressionDialect("v", (local, value) => $"float {local} = {value};",
                Literals.Cuda,
                load => $"{name(load.Buffer)}[{(load.Broadcast == Broadcast.Column ? "c" : "i")}]",
                Functions,
                mask =>
                {
                    string s = mask.Slot.ToString(CultureInfo.InvariantCulture);
                    return $"md_dropout_mask(seed{s}[0], (unsigned int)i, p{s}, scale{s})";
                });
    }
}
