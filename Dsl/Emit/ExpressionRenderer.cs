using System.Collections.Generic;
using System.Globalization;
using ModelDsl.Plan;

namespace ModelDsl.Emit
{
    /// <summary>
    /// How one backend writes the pieces of a fused loop body (tinygrad's <c>renderer/cstyle.py</c>: one walk, a table of
    /// op texts per backend): a constant, a load of element i (or of column c, for a broadcast row), each unary op's
    /// function, each binary operator, a dropout mask, and the declaration of a local. The C# dialects are in
    /// <c>CSharp/CSharpExpressions.cs</c> (a Vector256 body and its scalar tail), CUDA C's in <c>Cuda/CudaExpressions.cs</c>.
    /// </summary>
    internal sealed class ExpressionDialect
    {
        public ExpressionDialect(string localPrefix, System.Func<string, string, string> declare, System.Func<float, string> constant,
            System.Func<LoadExpr, string> load, IReadOnlyDictionary<UnaryOp, string> functions, System.Func<DropoutMaskExpr, string> dropoutMask)
        {
            LocalPrefix = localPrefix;
            Declare = declare;
            Constant = constant;
            Load = load;
            Functions = functions;
            DropoutMask = dropoutMask;
        }

        /// <summary>The numbered locals' prefix (<c>v</c> for <c>v3</c>); the emitter's name scope reserves it.</summary>
        public string LocalPrefix { get; }

        /// <summary>A local's declaration from its name and value: <c>var v3 = …;</c>, <c>float v3 = …;</c>.</summary>
        public System.Func<string, string, string> Declare { get; }

        public System.Func<float, string> Constant { get; }

        public System.Func<LoadExpr, string> Load { get; }

        /// <summary>The function each unary op calls, with the same formula in every backend (Runtime/Cpu/Activations, the CUDA prelude).</summary>
        public IReadOnlyDictionary<UnaryOp, string> Functions { get; }

        public System.Func<DropoutMaskExpr, string> DropoutMask { get; }

        /// <summary>The binary operators: + − × read the same in C# and CUDA C.</summary>
        public static readonly IReadOnlyDictionary<BinaryOp, string> Operators = new Dictionary<BinaryOp, string>
        {
            [BinaryOp.Add] = "+",
            [BinaryOp.Subtract] = "-",
            [BinaryOp.Multiply] = "*",
        };
    }

    /// <summary>
    /// Renders the expressions of one fused loop body as a sequence of locals in a backend's <see cref="ExpressionDialect"/>,
    /// each distinct sub-expression once (expressions are DAGs: a value used by two outputs is computed once, and a buffer
    /// is loaded once per index). Every backend walks the same way, so all evaluate the same formula in the same order.
    /// </summary>
    internal sealed class ExpressionRenderer
    {
        private readonly ExpressionDialect _dialect;
        private readonly Dictionary<Expr, string> _locals = new Dictionary<Expr, string>(); // by reference: Expr has no value equality
        private readonly Dictionary<(PlanBuffer, Broadcast), string> _loads = new Dictionary<(PlanBuffer, Broadcast), string>();
        private readonly List<string> _lines = new List<string>();

        public ExpressionRenderer(ExpressionDialect dialect) => _dialect = dialect;

        public IReadOnlyList<string> Lines => _lines;

        /// <summary>Returns the local (or literal) holding <paramref name="expr"/>, emitting what it needs first.</summary>
        public string Render(Expr expr)
        {
            if (expr is ConstExpr constant) return _dialect.Constant(constant.Value);
            if (_locals.TryGetValue(expr, out var existing)) return existing;
            if (expr is LoadExpr load && _loads.TryGetValue((load.Buffer, load.Broadcast), out var loaded))
            {
                _locals[expr] = loaded;
                return loaded;
            }

            string value = expr switch
            {
                LoadExpr l => _dialect.Load(l),
                UnaryExpr unary => $"{Function(unary.Op)}({Render(unary.Operand)})",
                BinaryExpr binary => $"{Render(binary.Left)} {ExpressionDialect.Operators[binary.Op]} {Render(binary.Right)}",
                DropoutMaskExpr mask => _dialect.DropoutMask(mask),
                _ => throw new System.InvalidOperationException("unknown expression " + expr.GetType().Name),
            };
            string name = _dialect.LocalPrefix + _lines.Count.ToString(CultureInfo.InvariantCulture);
            _lines.Add(_dialect.Declare(name, value));
            _locals[expr] = name;
            if (expr is LoadExpr first) _loads[(first.Buffer, first.Broadcast)] = name;
            return name;
        }

        private string Function(UnaryOp op) =>
            _dialect.Functions.TryGetValue(op, out var function) ? function : throw new System.InvalidOperationException($"no function for {op} in this backend");
    }

    /// <summary>Float literals as each backend writes them: <c>1.5f</c>, <c>1e-08f</c>; C#'s and CUDA C's infinities and NaN.</summary>
    internal static class Literals
    {
        public static string CSharp(float value)
        {
            if (float.IsPositiveInfinity(value)) return "float.PositiveInfinity";
            if (float.IsNegativeInfinity(value)) return "float.NegativeInfinity";
            if (float.IsNaN(value)) return "float.NaN";
            string text = value.ToString("R", CultureInfo.InvariantCulture);
            if (text.IndexOf('.') < 0 && text.IndexOf('E') < 0) text += ".0";
            return text.Replace("E", "e") + "f";
        }

        public static string Cuda(float value)
        {
            if (float.IsPositiveInfinity(value)) return "INFINITY";
            if (float.IsNegativeInfinity(value)) return "(-INFINITY)";
            if (float.IsNaN(value)) return "NAN";
            return CSharp(value); // a finite float reads the same in both: 1.5f, 1e-08f
        }
    }

    /// <summary>
    /// An expression as the formula a fused loop's header comment shows, in the plan's buffer names:
    /// <c>logits_2 = dropout(relu(logits_0 + logits_0_bias))</c>. A value multiplied by a dropout mask reads
    /// <c>dropout(…)</c> (forward, and backward, which scales the gradient by the same mask).
    /// </summary>
    internal static class ExpressionFormula
    {
        /// <summary>Past this length a formula ends in … (a long backward chain stays one readable line).</summary>
        private const int MaxLength = 160;

        /// <summary>Each output of a fused kernel as <c>target = formula</c> (<c>+=</c> where it accumulates), then each column sum as <c>target = Σ_rows formula</c>.</summary>
        public static IEnumerable<string> Formulas(this ElementwiseKernel kernel)
        {
            foreach (var o in kernel.Outputs) yield return $"{o.Target.Name} {(o.Accumulate ? "+=" : "=")} {Of(o.Value)}";
            foreach (var sum in kernel.ColumnSums) yield return $"{sum.Target.Name} {(sum.Accumulate ? "+=" : "=")} Σ_rows {Of(sum.Value)}";
        }

        public static string Of(Expr expr)
        {
            string text = Write(expr, 0);
            return text.Length <= MaxLength ? text : text.Substring(0, MaxLength - 1) + "…";
        }

        /// <param name="context">The precedence around it: 0 anywhere, 1 an operand of + or −'s right side, 2 an operand of ×.</param>
        private static string Write(Expr expr, int context)
        {
            switch (expr)
            {
                case LoadExpr load: return load.Buffer.Name;
                case ConstExpr constant: return constant.Value.ToString("G7", CultureInfo.InvariantCulture);
                case DropoutMaskExpr mask: return $"dropout_mask{mask.Slot.ToString(CultureInfo.InvariantCulture)}";
                case UnaryExpr unary: return $"{Snake(unary.Op.ToString())}({Write(unary.Operand, 0)})";
                case BinaryExpr { Op: BinaryOp.Multiply } dropout when dropout.Right is DropoutMaskExpr || dropout.Left is DropoutMaskExpr:
                    return $"dropout({Write(dropout.Right is DropoutMaskExpr ? dropout.Left : dropout.Right, 0)})";
                case BinaryExpr binary:
                {
                    int own = binary.Op == BinaryOp.Multiply ? 2 : 1;
                    string text = $"{Write(binary.Left, own == 2 ? 2 : 0)} {(binary.Op == BinaryOp.Multiply ? "·" : ExpressionDialect.Operators[binary.Op])} {Write(binary.Right, own)}";
                    return context > own || (context == own && own == 1) ? $"({text})" : text;
                }
                default: return "?";
            }
        }

        /// <summary><c>PositiveMask</c> → <c>positive_mask</c>.</summary>
        private static string Snake(string name)
        {
            var sb = new System.Text.StringBuilder();
            for (int i = 0; i < name.Length; i++)
            {
                if (char.IsUpper(name[i]) && i > 0 && !char.IsDigit(name[i - 1])) sb.Append('_');
                sb.Append(char.ToLowerInvariant(name[i]));
            }
            return sb.ToString();
        }
    }
}
