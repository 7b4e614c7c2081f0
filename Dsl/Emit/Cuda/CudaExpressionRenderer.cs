using System.Collections.Generic;
using System.Globalization;
using ModelDsl.Plan;

namespace ModelDsl.Emit.Cuda
{
    /// <summary>
    /// Renders the expressions of one fused kernel body as CUDA C locals (<c>float v3 = ...;</c>), each distinct
    /// sub-expression once, exactly like the C# emitter's loop bodies, so both backends evaluate the same formula in
    /// the same order. Element <c>i</c> of the [rows, cols] domain is in <c>i</c>; its column in <c>c</c>.
    /// </summary>
    internal sealed class CudaExpressionRenderer
    {
        private readonly Dictionary<Expr, string> _locals = new Dictionary<Expr, string>(); // by reference, like ExprWalker
        private readonly Dictionary<string, string> _loads = new Dictionary<string, string>(System.StringComparer.Ordinal);
        private readonly List<string> _lines = new List<string>();
        private readonly System.Func<PlanBuffer, string> _name;

        public CudaExpressionRenderer(System.Func<PlanBuffer, string> name) => _name = name;

        public IReadOnlyList<string> Lines => _lines;

        public string Render(Expr expr)
        {
            if (expr is ConstExpr constant) return Literal(constant.Value);
            if (_locals.TryGetValue(expr, out var existing)) return existing;

            string value;
            switch (expr)
            {
                case LoadExpr load:
                {
                    string index = load.Broadcast == Broadcast.Column ? "c" : "i";
                    string key = load.Buffer.Name + "@" + index;
                    if (_loads.TryGetValue(key, out var loaded))
                    {
                        _locals[expr] = loaded;
                        return loaded;
                    }
                    string local = Declare($"{_name(load.Buffer)}[{index}]");
                    _loads[key] = local;
                    _locals[expr] = local;
                    return local;
                }
                case UnaryExpr unary:
                    value = $"{Function(unary.Op)}({Render(unary.Operand)})";
                    break;
                case BinaryExpr binary:
                    value = $"{Render(binary.Left)} {Operator(binary.Op)} {Render(binary.Right)}";
                    break;
                case DropoutMaskExpr mask:
                {
                    string s = mask.Slot.ToString(CultureInfo.InvariantCulture);
                    value = $"md_dropout_mask(seed{s}, (unsigned int)i, p{s}, scale{s})";
                    break;
                }
                default:
                    throw new System.InvalidOperationException("unknown expression " + expr.GetType().Name);
            }

            string name = Declare(value);
            _locals[expr] = name;
            return name;
        }

        private string Declare(string value)
        {
            string name = "v" + _lines.Count.ToString(CultureInfo.InvariantCulture);
            _lines.Add($"float {name} = {value};");
            return name;
        }

        /// <summary>The prelude's device function for each op (same formulas as <c>ModelDsl.Runtime.Cpu.Activations</c>).</summary>
        internal static string Function(UnaryOp op) => op switch
        {
            UnaryOp.Relu => "md_relu",
            UnaryOp.Sigmoid => "md_sigmoid",
            UnaryOp.Tanh => "md_tanh",
            UnaryOp.Gelu => "md_gelu",
            UnaryOp.Silu => "md_silu",
            UnaryOp.PositiveMask => "md_positive_mask",
            UnaryOp.GeluGrad => "md_gelu_grad",
            UnaryOp.SiluGrad => "md_silu_grad",
            UnaryOp.NegativeExpM1 => "md_negative_exp_m1",
            _ => throw new System.InvalidOperationException("no CUDA function for " + op),
        };

        private static string Operator(BinaryOp op) => CSharp.ExpressionRenderer.Operator(op); // + - * read the same in C# and CUDA C

        public static string Literal(float value)
        {
            if (float.IsPositiveInfinity(value)) return "INFINITY";
            if (float.IsNegativeInfinity(value)) return "(-INFINITY)";
            if (float.IsNaN(value)) return "NAN";
            return CSharp.ExpressionRenderer.Literal(value); // a finite float reads the same in both: 1.5f, 1e-08f
        }
    }
}
