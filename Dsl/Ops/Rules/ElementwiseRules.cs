using ModelDsl.Shapes;

namespace ModelDsl.Ops.Rules
{
    /// <summary><c>add(a, b)</c>, <c>mul(a, b)</c>, <c>a + b</c>, <c>a * b</c>: two tensors of the same shape and type.</summary>
    internal static class ElementwiseRule
    {
        public static readonly Signature Signature = new Signature(Signature.Tensor("a"), Signature.Tensor("b"));

        public static Shape? Apply(OpContext c)
        {
            var a = c.Inputs[0];
            var b = c.Inputs[1];
            if (!a.Shape.Equals(b.Shape))
            {
                c.Diagnostics.ReportElementwiseShapeMismatch(c.CallSpan, c.Name, c.InputNames[0], a.Shape, c.InputNames[1], b.Shape);
                return null;
            }
            if (a.DType != b.DType)
            {
                c.Diagnostics.ReportDTypeMismatch(c.InputSpans[1], c.Name, c.InputNames[1], a.DType, b.DType, b.Shape);
                return null;
            }
            return a.Shape;
        }
    }
}
