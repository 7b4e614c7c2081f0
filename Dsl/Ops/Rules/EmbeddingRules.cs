using ModelDsl.IR;
using ModelDsl.Shapes;

namespace ModelDsl.Ops.Rules
{
    /// <summary><c>embedding(num, dim)</c> on i32 ids: [...] → [..., dim]; weight [num, dim].</summary>
    internal static class EmbeddingRule
    {
        public static readonly Signature Signature = new Signature(Signature.Tensor(), Signature.Int("num"), Signature.Int("dim"));

        public static Shape? Apply(OpContext c)
        {
            if (!c.RequireDType(0, DType.I32)) return null;
            Dim num = c.IntDim("num"), dim = c.IntDim("dim");
            c.Attr("num", num.Value);
            c.Attr("dim", dim.Value);
            c.AddParameter("weight", new Shape(num, dim), InitKind.Normal002, num.Value, dim.Value);
            var dims = new Dim[c.InputShape.Rank + 1];
            for (int i = 0; i < c.InputShape.Rank; i++) dims[i] = c.InputShape[i];
            dims[dims.Length - 1] = dim;
            return new Shape(dims);
        }
    }

    /// <summary><c>positional(max_len)</c> on [B, T, d]: adds a learned row per position; weight [max_len, d]; T ≤ max_len.</summary>
    internal static class PositionalRule
    {
        public static readonly Signature Signature = new Signature(Signature.Tensor(), Signature.Int("max_len"));

        public static Shape? Apply(OpContext c)
        {
            if (!c.RequireDType(0, DType.F32) | !c.RequireRank(0, 3, "[B, T, d]")) return null;
            if (!c.RequireKnown(0, 2, "the last dimension (it sizes the table)")) return null;
            Dim maxLen = c.IntDim("max_len"), t = c.InputShape[1], d = c.InputShape[2];
            if (t.IsKnown && t.Value > maxLen.Value)
            {
                c.Diagnostics.ReportSequenceTooLong(c.InputSpan, c.InputName, t, maxLen, c.InputShape);
                return null;
            }
            c.Attr("max_len", maxLen.Value);
            c.AddParameter("weight", new Shape(maxLen, d), InitKind.Normal002, maxLen.Value, d.Value);
            return c.InputShape;
        }
    }
}
