using System.Collections.Generic;
using System.Globalization;
using ModelDsl.Plan;

namespace ModelDsl.Emit.CSharp
{
    /// <summary>
    /// Renders the expressions of one fused loop body as a sequence of locals, each distinct sub-expression once
    /// (expressions are DAGs: a value used by two outputs is computed once). The same walk renders the Vector256
    /// body (<c>v3</c> locals) and the scalar tail (<c>s3</c> locals), so both compute the same formula.
    /// </summary>
    internal sealed class ExpressionRenderer
    {
        private readonly bool _vector;
        private readonly Dictionary<Expr, string> _locals = new Dictionary<Expr, string>(); // by reference: Expr has no value equality
        private readonly Dictionary<string, string> _loads = new Dictionary<string, string>(System.StringComparer.Ordinal);
        private readonly List<string> _lines = new List<string>();
        private readonly System.Func<DropoutMaskExpr, (string Seed, string P, string Scale)> _dropout;
        private readonly System.Func<PlanBuffer, string> _name;

        public ExpressionRenderer(bool vector, System.Func<PlanBuffer, string> name, System.Func<DropoutMaskExpr, (string Seed, string P, string Scale)> dropout)
        {
            _vector = vector;
            _name = name;
            _dropout = dropout;
        }

        public IReadOnlyList<string> Lines => _lines;

        /// <summary>Returns the local (or literal) holding <paramref name="expr"/>, emitting what it needs first.</summary>
        public string Render(Expr expr)
        {
            if (expr is ConstExpr constant)
            {
                string literal = Literal(constant.Value);
                return _vector ? $"global::System.Runtime.Intrinsics.Vector256.Create({literal})" : literal;
            }
            if (_locals.TryGetValue(expr, out var existing)) return existing;

            string value;
            switch (expr)
            {
                case LoadExpr load:
                {
                    string index = load.Broadcast == Broadcast.Column ? "(nuint)c" : "i";
                    string key = load.Buffer.Name + "@" + index;
                    if (_loads.TryGetValue(key, out var loaded))
                    {
                        _locals[expr] = loaded;
                        return loaded;
                    }
                    value = _vector
                        ? $"global::System.Runtime.Intrinsics.Vector256.LoadUnsafe(ref {_name(load.Buffer)}, {index})"
                        : $"global::System.Runtime.CompilerServices.Unsafe.Add(ref {_name(load.Buffer)}, {(load.Broadcast == Broadcast.Column ? "c" : "(nint)i")})";
                    string local = Declare(value);
                    _loads[key] = local;
                    _locals[expr] = local;
                    return local;
                }
                case UnaryExpr unary:
                    value = $"global::ModelDsl.Runtime.Cpu.Activations.{unary.Op}({Render(unary.Operand)})";
                    break;
                case BinaryExpr binary:
                    value = $"{Render(binary.Left)} {Operator(binary.Op)} {Render(binary.Right)}";
                    break;
                case DropoutMaskExpr mask:
                {
                    var (seed, p, scale) = _dropout(mask);
                    value = _vector ? $"global::ModelDsl.Runtime.Cpu.Dropout.Mask({seed}, (int)i, v{p}, v{scale})" : $"global::ModelDsl.Runtime.Cpu.Dropout.Mask({seed}, (int)i, {p}, {scale})";
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
            string name = (_vector ? "v" : "s") + _lines.Count.ToString(CultureInfo.InvariantCulture);
            _lines.Add($"var {name} = {value};");
            return name;
        }

        public void Statement(string line) => _lines.Add(line);

        internal static string Operator(BinaryOp op) => op switch
        {
            BinaryOp.Add => "+",
            BinaryOp.Subtract => "-",
            _ => "*",
        };

        public static string Literal(float value)
        {
            if (float.IsPositiveInfinity(value)) return "float.PositiveInfinity";
            if (float.IsNegativeInfinity(value)) return "float.NegativeInfinity";
            if (float.IsNaN(value)) return "float.NaN";
            string text = value.ToString("R", CultureInfo.InvariantCulture);
            if (text.IndexOf('.') < 0 && text.IndexOf('E') < 0) text += ".0";
            return text.Replace("E", "e") + "f";
        }
    }
}
