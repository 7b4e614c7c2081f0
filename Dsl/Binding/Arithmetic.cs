using System;
using ModelDsl.Diagnostics;
using ModelDsl.Shapes;
using ModelDsl.Syntax;
using ModelDsl.Text;

namespace ModelDsl.Binding
{
    /// <summary>
    /// Constant folding for config arithmetic and dimensions: integers (checked, exact division), reals, and
    /// symbolic dimensions (<c>B*T</c>, <c>4*B</c>, exact division). Tensor arithmetic is the binder's job.
    /// </summary>
    internal static class Arithmetic
    {
        public static string Symbol(BinaryOperator op) => op switch
        {
            BinaryOperator.Add => "+",
            BinaryOperator.Subtract => "-",
            BinaryOperator.Multiply => "*",
            _ => "/",
        };

        public static Value Fold(BinaryOperator op, Value left, Value right, TextSpan span, string text, DiagnosticBag bag)
        {
            try
            {
                switch (left, right)
                {
                    case (IntValue a, IntValue b):
                        return Integers(op, a.Integer, b.Integer, span, text, bag);
                    case (IntValue or RealValue, IntValue or RealValue):
                        return Reals(op, AsReal(left), AsReal(right), span, text, bag);
                    case (IntValue or DimValue, IntValue or DimValue):
                        return Dims(op, AsDim(left), AsDim(right), span, text, bag);
                }
            }
            catch (OverflowException)
            {
                bag.ReportOverflow(span, text);
                return ErrorValue.Instance;
            }
            bag.ReportOperatorType(span, Symbol(op), left.KindName, right.KindName);
            return ErrorValue.Instance;
        }

        public static Value Negate(Value operand, TextSpan span, string text, DiagnosticBag bag)
        {
            switch (operand)
            {
                case IntValue i when i.Integer != long.MinValue: return new IntValue(-i.Integer, text);
                case IntValue: bag.ReportOverflow(span, text); return ErrorValue.Instance;
                case RealValue r: return new RealValue(-r.Real);
                case ErrorValue: return operand;
                case TensorRef: bag.ReportTensorArithmetic(span, "-"); return ErrorValue.Instance;
                default: bag.ReportOperatorType(span, "-", operand.KindName, operand.KindName); return ErrorValue.Instance;
            }
        }

        private static double AsReal(Value v) => v is IntValue i ? i.Integer : ((RealValue)v).Real;
        private static Dim AsDim(Value v) => v is IntValue i ? i.ToDim() : ((DimValue)v).Dim;

        private static Value Integers(BinaryOperator op, long a, long b, TextSpan span, string text, DiagnosticBag bag)
        {
            switch (op)
            {
                case BinaryOperator.Add: return new IntValue(checked(a + b), text);
                case BinaryOperator.Subtract: return new IntValue(checked(a - b), text);
                case BinaryOperator.Multiply: return new IntValue(checked(a * b), text);
                default:
                    if (b == 0) { bag.ReportDivisionByZero(span, text); return ErrorValue.Instance; }
                    if (b == -1) return new IntValue(checked(-a), text);
                    if (a % b != 0) { bag.ReportInexactDivision(span, text, Num(a), Num(b)); return ErrorValue.Instance; }
                    return new IntValue(a / b, text);
            }
        }

        private static Value Reals(BinaryOperator op, double a, double b, TextSpan span, string text, DiagnosticBag bag)
        {
            if (op == BinaryOperator.Divide && b == 0) { bag.ReportDivisionByZero(span, text); return ErrorValue.Instance; }
            double r = op switch
            {
                BinaryOperator.Add => a + b,
                BinaryOperator.Subtract => a - b,
                BinaryOperator.Multiply => a * b,
                _ => a / b,
            };
            if (double.IsNaN(r) || double.IsInfinity(r)) { bag.ReportOverflow(span, text); return ErrorValue.Instance; }
            return new RealValue(r);
        }

        private static Value Dims(BinaryOperator op, Dim a, Dim b, TextSpan span, string text, DiagnosticBag bag)
        {
            switch (op)
            {
                case BinaryOperator.Multiply:
                    return new DimValue(a.Multiply(b));
                case BinaryOperator.Divide:
                    if (b.IsKnown && b.Value == 0) { bag.ReportDivisionByZero(span, text); return ErrorValue.Instance; }
                    if (a.TryDivide(b, out var q)) return q.IsKnown ? new IntValue(q.Value, text) : new DimValue(q);
                    bag.ReportInexactDivision(span, text, a.ToExpression(), b.ToExpression());
                    return ErrorValue.Instance;
                default:
                    bag.ReportInvalidDimension(span, $"'{text}': symbolic dimensions can only be multiplied or divided exactly, not added or subtracted");
                    return ErrorValue.Instance;
            }
        }

        private static string Num(long v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
