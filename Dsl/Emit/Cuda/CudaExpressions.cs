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

        /// <summary>
        /// The float value of <paramref name="element"/>, an element of <paramref name="buffer"/>: an activation is
        /// <c>md_act</c> and widens through <c>md_load</c> (exact; the identity when md_act is float), anything else is float.
        /// </summary>
        public static string Load(PlanBuffer buffer, string element) => ActivationStorage.IsActivation(buffer) ? $"md_load({element})" : element;

        /// <summary>
        /// The statement storing <paramref name="value"/> (a float) into <paramref name="element"/> of <paramref name="buffer"/>,
        /// assigned or added: an activation rounds once through <c>md_act_from</c> (an addition widens, adds in float, then
        /// rounds), anything else is stored as the float.
        /// </summary>
        public static string Store(PlanBuffer buffer, string element, string value, bool accumulate)
        {
            if (!ActivationStorage.IsActivation(buffer)) return $"{element} {(accumulate ? "+=" : "=")} {value};";
            return accumulate ? $"{element} = md_act_from(md_load({element}) + {value});" : $"{element} = md_act_from({value});";
        }

        /// <summary>The C element type of <paramref name="buffer"/> in a kernel: <c>md_act</c>, <c>int</c> or <c>float</c>.</summary>
        public static string ElementType(PlanBuffer buffer) =>
            buffer.DType == Shapes.DType.I32 ? "int" : ActivationStorage.IsActivation(buffer) ? "md_act" : "float";

        /// <param name="name">The kernel's parameter for a buffer.</param>
        public static ExpressionDialect Kernel(System.Func<PlanBuffer, string> name) =>
            new ExpressionDialect("v", (local, value) => $"float {local} = {value};",
                Literals.Cuda,
                load => Load(load.Buffer, $"{name(load.Buffer)}[{(load.Broadcast == Broadcast.Column ? "c" : "i")}]"),
                Functions,
                mask =>
                {
                    string s = mask.Slot.ToString(CultureInfo.InvariantCulture);
                    return $"md_dropout_mask(seed{s}[0], (unsigned int)i, p{s}, scale{s})";
                });
    }
}
